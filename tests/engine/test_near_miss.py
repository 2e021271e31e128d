"""A required name's typo (issue 23): near_miss and the at_least_one rules that use it."""

from __future__ import annotations

import pytest

from auditor.engine.evaluate import near_miss

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
