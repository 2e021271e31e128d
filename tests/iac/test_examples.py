"""The example templates: compliant passes, broken fails on the right resource and line,
and the same account in CloudFormation and in Terraform gets the same verdict per rule."""


from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Status
from auditor.engine.rules import load_rules
from tests.iac import variants

ROOT = variants.ROOT
CFN = variants.CFN_GOOD
TF = variants.TF_GOOD.parent
TODAY = dt.date(2026, 11, 22)
OVERRIDES = [
    ("account", "111122223333"),
    ("secret_name", "ccme-directory-reader"),
    ("certificate_domain", "ccme.example.com"),
    ("iac.complete", True),  # each example is the whole CCME prerequisite set: a missing resource FAILs
]


def audit(paths: Sequence[Path], packs: Sequence[str] = ("ccme",)) -> Evaluation:
    config = load_config(None, OVERRIDES)
    result, _ = audit_paths(paths, config, load_rules(None, list(packs)), today=TODAY)
    return result


def verdicts(result: Evaluation) -> dict[tuple[str, str], str]:
    """(rule id, resource name or id) -> status, with file-specific ids reduced to the logical name."""
    out = {}
    for f in result.findings:
        name = f.resource_name or f.resource_id
        if "#" in name:
            name = name.split("#", 1)[1]
        out[(f.rule_id, name)] = f.status.value
    return out


def by_rule(result: Evaluation, rule_id: str) -> list[tuple[str, Status]]:
    return [(f.resource_name or f.resource_id, f.status) for f in result.findings if f.rule_id == rule_id]


@pytest.fixture(scope="module")
def broken_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("broken")
    cfn = base / "ccme-prerequisites.yaml"
    cfn.write_text(variants.broken_cloudformation(), encoding="utf-8")
    tf = base / "tf"
    tf.mkdir()
    (tf / "main.tf").write_text(variants.broken_terraform(), encoding="utf-8")
    return cfn, tf


@pytest.mark.parametrize("path", [CFN, TF], ids=["cloudformation", "terraform"])
def test_compliant_example_passes_every_iac_rule(path: Path) -> None:
    result = audit([path])
    bad = [
        (f.rule_id, f.resource_id, f.status.value, f.message)
        for f in result.findings
        if f.status not in (Status.PASS, Status.SKIPPED)
    ]
    # Advisory (info), expected: the seed's CloudWatch key policy has no confused-deputy condition.
    assert [(rule, status) for rule, _r, status, _m in bad] == [("CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH", "FAIL")]
    passed = {f.rule_id for f in result.findings if f.status is Status.PASS}
    assert {
        "CCME-KMS-ALIAS-CLOUDWATCH",
        "CCME-S3-PAB-USERDATA",
        "CCME-VPC-DHCP",
        "CCME-NET-TOPOLOGY",
        "CCME-KMS-REGIONALITY-CLUSTERS-EBS",
        "CCME-S3-ACCESS-LOGGING-INTERNALS",
    } <= passed
    skipped = {f.rule_id for f in result.findings if f.status is Status.SKIPPED}
    # The opt-in secret check. (The account-level Block Public Access rule applies to live scans only.)
    assert skipped == {"CCME-SM-PLAINTEXT"}
    assert "CCME-S3-ACCOUNT-PAB" not in {f.rule_id for f in result.findings}


EXPECTED_BROKEN = {
    ("CCME-KMS-ALIAS-CMH-EBS", "alias/ccme/cmh_ebs"): "FAIL",
    ("CCME-KMS-ALIAS-CLOUDWATCH", "alias/ccme/cloudWatch"): "FAIL",
    ("CCME-KMS-ALIAS-NAMING", "alias/ccme/cloudwatch"): "FAIL",
    ("CCME-KMS-KEY-DCV-PROXY-EBS", "alias/ccme/dcv_proxy_ebs"): "FAIL",
    ("CCME-KMS-KEY-FILE-SYSTEMS", "alias/ccme/file_systems"): "FAIL",
    ("CCME-KMS-KEY-LAMBDA", "alias/ccme/lambda"): "ERROR",
    ("CCME-KMS-REGIONALITY-CLUSTERS-EBS", "alias/ccme/clusters_ebs"): "FAIL",
    ("CCME-KMS-ROTATION-SNS", "alias/ccme/sns"): "FAIL",
    ("CCME-KMS-ROTATION-LAMBDA", "alias/ccme/lambda"): "PASS",
    ("CCME-S3-VERSIONING-INTERNALS", "ucit-ccme-internals-eu-west-1"): "FAIL",
    ("CCME-S3-PAB-INTERNALS", "ucit-ccme-internals-eu-west-1"): "FAIL",
    ("CCME-S3-ACCESS-LOGGING-INTERNALS", "ucit-ccme-internals-eu-west-1"): "FAIL",
    ("CCME-S3-SSE-AES256-USERDATA", "ucit-ccme-userdata-eu-west-1"): "FAIL",
    ("CCME-S3-VERSIONING-USERDATA", "ucit-ccme-userdata-eu-west-1"): "FAIL",
    ("CCME-S3-PAB-USERDATA", "ucit-ccme-userdata-eu-west-1"): "PASS",
    ("CCME-VPC-DNS-HOSTNAMES", "VPC-CCME"): "FAIL",
    ("CCME-VPC-DNS-SUPPORT", "VPC-CCME"): "PASS",
}


@pytest.mark.parametrize("which", ["cloudformation", "terraform"])
def test_broken_example_fails_on_the_right_resource(which: str, broken_dirs: tuple[Path, Path]) -> None:
    path = broken_dirs[0] if which == "cloudformation" else broken_dirs[1]
    got = verdicts(audit([path]))
    for key, status in EXPECTED_BROKEN.items():
        assert got.get(key) == status, key
    failing = {k for k, v in got.items() if v in ("FAIL", "ERROR")}
    assert failing == {k for k, v in EXPECTED_BROKEN.items() if v != "PASS"}


def test_findings_carry_file_line_and_logical_name(broken_dirs: tuple[Path, Path]) -> None:
    cfn, tf = broken_dirs
    text = cfn.read_text(encoding="utf-8").splitlines()
    result = audit([cfn])
    finding = next(f for f in result.findings if f.rule_id == "CCME-KMS-KEY-DCV-PROXY-EBS")
    assert finding.location is not None and finding.location["logical_id"] == "DcvProxyEbsKey"
    assert text[finding.location["line"] - 1] == "  DcvProxyEbsKey:"
    result = audit([tf])
    finding = next(f for f in result.findings if f.rule_id == "CCME-S3-VERSIONING-INTERNALS")
    tf_text = (tf / "main.tf").read_text(encoding="utf-8").splitlines()
    assert finding.location is not None and finding.location["logical_id"] == "aws_s3_bucket.internals"
    assert tf_text[finding.location["line"] - 1] == 'resource "aws_s3_bucket" "internals" {'
    lambda_error = next(f for f in result.findings if f.rule_id == "CCME-KMS-KEY-LAMBDA")
    assert "lambda_key_spec" in lambda_error.message


@pytest.mark.parametrize("kind", ["compliant", "broken"])
def test_cloudformation_and_terraform_give_the_same_verdicts(
    kind: str, broken_dirs: tuple[Path, Path]
) -> None:
    cfn, tf = (CFN, TF) if kind == "compliant" else broken_dirs
    a, b = verdicts(audit([cfn])), verdicts(audit([tf]))
    assert a.keys() == b.keys()
    differences = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    assert differences == {}


def test_shipped_broken_examples_are_up_to_date() -> None:
    assert (
        variants.CFN_BROKEN.read_text(encoding="utf-8").split("\n", 1)[1] == variants.broken_cloudformation()
    )
    assert variants.TF_BROKEN.read_text(encoding="utf-8").split("\n", 1)[1] == variants.broken_terraform()


def test_mixed_run_and_kind() -> None:
    from auditor.iac import load_paths

    loaded = load_paths(
        [CFN, ROOT / "examples" / "parallelcluster" / "cluster-good.yaml"],
        region="eu-west-1",
        account="111122223333",
    )
    assert loaded.snapshot.kind == "mixed" and loaded.problems == []
    assert {"cloudformation", "parallelcluster"} == loaded.kinds
