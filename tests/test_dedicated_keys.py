"""CCME-KMS-DEDICATED-*: each of the nine CCME aliases targets its own key (seed 000, KMS:
"it is MANDATORY to create 9 dedicated customer managed keys"), on moto, CloudFormation and Terraform."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.demo.account import seed_ccme_account
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan
from tests.iac import variants

TODAY = dt.date(2026, 11, 22)
SHARED = {"sns", "s3"}  # their aliases are moved onto the cmh_ebs key in the bad variants


def dedicated_rules() -> list:
    return [r for r in load_rules(None, ["ccme"]) if r.id.startswith("CCME-KMS-DEDICATED-")]


def verdicts(findings) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.rule_id, set()).add(f.status.value)
    return out


@pytest.mark.parametrize("shared", [False, True], ids=["dedicated", "shared"])
def test_moto_account(shared: bool) -> None:
    rules = dedicated_rules()
    with moto_account() as session:
        acct = seed_ccme_account(session, REGION, faults=False)
        if shared:
            kms = session.client("kms", region_name=REGION)
            for suffix in SHARED:
                kms.update_alias(AliasName=f"alias/ccme/{suffix}", TargetKeyId=acct.keys["cmh_ebs"])
        cfg = config()
        result = run_scan(session, cfg, rules)
    got = verdicts(evaluate(result.snapshot, rules, cfg, today=TODAY).findings)
    assert len(got) == 9
    for rule_id, statuses in got.items():
        bad = shared and rule_id in ("CCME-KMS-DEDICATED-CMH-EBS", "CCME-KMS-DEDICATED-SNS", "CCME-KMS-DEDICATED-S3")
        assert statuses == ({"FAIL"} if bad else {"PASS"}), (rule_id, statuses)


def _cfn(shared: bool) -> str:
    text = variants.CFN_GOOD.read_text(encoding="utf-8")
    if shared:
        for ref in ("SnsKey", "S3Key"):
            old = f"TargetKeyId: !Ref {ref}"
            assert old in text, old
            text = text.replace(old, "TargetKeyId: !Ref CmhEbsKey")
    return text


def _tf(shared: bool) -> str:
    text = variants.TF_GOOD.read_text(encoding="utf-8")
    if shared:
        for suffix in SHARED:
            old = f"target_key_id = aws_kms_key.{suffix}.key_id"
            assert old in text, old
            text = text.replace(old, "target_key_id = aws_kms_key.cmh_ebs.key_id")
    return text


@pytest.mark.parametrize("language", ["cloudformation", "terraform"])
@pytest.mark.parametrize("shared", [False, True], ids=["dedicated", "shared"])
def test_templates(language: str, shared: bool, tmp_path: Path) -> None:
    if language == "cloudformation":
        path = tmp_path / "ccme.yaml"
        path.write_text(_cfn(shared), encoding="utf-8")
    else:
        path = tmp_path / "tf"
        path.mkdir()
        (path / "main.tf").write_text(_tf(shared), encoding="utf-8")
    cfg = load_config(None, [("account", "111122223333"), ("iac.complete", True)])
    result, _ = audit_paths([path], cfg, dedicated_rules(), today=TODAY)
    got = verdicts(result.findings)
    assert len(got) == 9
    for rule_id, statuses in got.items():
        bad = shared and rule_id in ("CCME-KMS-DEDICATED-CMH-EBS", "CCME-KMS-DEDICATED-SNS", "CCME-KMS-DEDICATED-S3")
        assert statuses == ({"FAIL"} if bad else {"PASS"}), (rule_id, statuses)
