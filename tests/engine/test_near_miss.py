"""A required name's typo (issue 23): near_miss and the at_least_one rules that use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.engine.evaluate import near_miss

CORPUS = Path(__file__).parents[1] / "iac" / "corpus" / "cloudformation"

WANTED = "alias/ccme/cmh_ebs"


@pytest.mark.parametrize("value", [
    "alias/ccme/cmh_ebss",      # a character added
    "alias/ccme/cmh_eb",        # dropped
    "alias/ccme/cmh_ebz",       # changed
    "alias/ccme/cmh_bes",       # two neighbours swapped
    "alias/ccme/cmh-ebs",       # '-' for '_'
    "alias/CCME/CMH_EBS",       # case
    "alias/ccme/Cmh-Ebs",       # both
])
def test_a_small_edit_is_a_near_miss(value: str) -> None:
    assert near_miss(value, WANTED)


@pytest.mark.parametrize("value", [
    WANTED,                     # the name itself is no miss
    "alias/ccme/backup",
    "alias/ccme/cmh_ebs_old",   # three characters added
    "alias/ccme/s3",
    "alias/ccme/mch_bes",       # two edits
])
def test_other_names_are_not(value: str) -> None:
    assert not near_miss(value, WANTED)


def test_s3_and_sns_are_not_near_misses_of_each_other() -> None:
    assert not near_miss("alias/ccme/s3", "alias/ccme/sns")
    assert not near_miss("alias/ccme/sns", "alias/ccme/s3")


@pytest.mark.parametrize("complete", [False, True])
def test_a_near_miss_fails_named_in_every_mode(complete: bool, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The corpus case kms-alias-near-miss(-complete) through the CLI: the FAIL names the alias it resembles."""
    template = CORPUS / "kms-alias-near-miss" / "template.yaml"
    out = tmp_path / "report.json"
    code = main(["iac", str(template), "--check", "CCME-KMS-ALIAS-CMH-EBS", "-f", "json", "-o", str(out),
                 *(["--complete"] if complete else [])])
    capsys.readouterr()
    (finding,) = json.loads(out.read_text(encoding="utf-8"))["findings"]
    assert code == 1 and finding["status"] == "FAIL"
    assert "'alias/ccme/cmh-ebs' is a near miss of 'alias/ccme/cmh_ebs'" in finding["message"]
    assert finding["location"]["logical_id"] == "CmhEbsAlias"
    # Complete: the missing alias is the finding (its id stays that of the required alias); else the typo is.
    assert finding["resource_id"] == ("alias/ccme/cmh_ebs" if complete else "alias/ccme/cmh-ebs")
