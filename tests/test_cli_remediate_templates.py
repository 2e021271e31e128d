"""Remediation of a templates' report (through the real entry point): the fix goes to the templates as a
unified diff that `git apply --check` accepts, and a rescan of the patched templates passes the rules it fixes
(and fails nothing new); no live-account command is built from a template's resource; options that cannot
change a report are refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.cli import main

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ["examples/cloudformation/ccme-prerequisites-broken.yaml", "examples/terraform/ccme-prerequisites-broken"]
CONFIG = ["-c", "examples/config/ccme-prerequisites.yaml"]


def fails(report: Path) -> set[tuple[str, str]]:
    data = json.loads(report.read_text())
    return {(f["rule_id"], f["resource_id"]) for f in data["findings"] if f["status"] == "FAIL"}


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_template_report_is_fixed_by_a_patch_that_applies_and_passes(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "before.json"]) == 1
    before = fails(repo / "before.json")
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    err = capsys.readouterr().err
    patch = (repo / "fix.patch").read_text()
    assert patch.startswith("--- a/examples/")
    assert "+      EnableKeyRotation: true" in patch and "+  enable_key_rotation      = true" in patch
    assert "remediate: not patched: CCME-KMS-REGIONALITY-CLUSTERS-EBS" in err  # a new key: a person's call
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "after.json"]) == 1
    after = fails(repo / "after.json")
    fixed = before - after
    assert after <= before  # nothing new fails
    both = {"CCME-KMS-ROTATION-SNS", "CCME-KMS-KEY-DCV-PROXY-EBS", "CCME-VPC-DNS-HOSTNAMES", "CCME-S3-PAB-INTERNALS",
            "CCME-S3-SSE-AES256-USERDATA", "CCME-S3-VERSIONING-INTERNALS", "CCME-S3-VERSIONING-USERDATA"}
    # Terraform sets a bucket's access logging in a resource of its own, changed where the finding is;
    # CloudFormation's LoggingConfiguration names a bucket: a person's call.
    terraform_only = {"CCME-S3-ACCESS-LOGGING-INTERNALS"}
    assert {rule for rule, _ in fixed} == both | terraform_only
    assert len(fixed) == 2 * len(both) + len(terraform_only)
    assert '-    status = "Suspended"\n+    status = "Enabled"' in patch  # in aws_s3_bucket_versioning.internals
    assert "-      kms_master_key_id = aws_kms_alias.s3.name" in patch  # AES256 takes no key
    assert "+      VersioningConfiguration: {Status: Enabled}" in patch
    assert "-        RestrictPublicBuckets: false" in patch  # the nested block is replaced as a whole


def test_no_live_command_is_built_from_a_template(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "r.json"]) == 1
    capsys.readouterr()
    for kind in ("sh", "cloudformation", "terraform"):
        assert main(["remediate", "r.json", "--format", kind]) == 0
        out, err = capsys.readouterr()
        assert "#" not in "".join(line for line in out.splitlines() if not line.lstrip().startswith("#"))
        assert "--key-id" not in out and "vpc-examples" not in out
        assert "`--format patch` writes their fix to the templates" in err


def test_options_that_cannot_change_a_report_are_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN[:1], *CONFIG, "-f", "json", "-o", "r.json"]) == 1
    capsys.readouterr()
    assert main(["remediate", "r.json", "--set", "account=111122223333"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("ccme-audit: error: r.json: --set: --set cannot change a report")


def _drop_resource(text: str, rtype: str, name: str) -> str:
    head = f'resource "{rtype}" "{name}" {{\n'
    start = text.index(head)
    return text[:start] + text[text.index("\n}\n", start) + 3:]


def test_terraform_bucket_settings_missing_resources_are_added_after_the_bucket(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_tf = repo / "examples/terraform/ccme-prerequisites/main.tf"
    text = main_tf.read_text()
    for rtype in ("aws_s3_bucket_versioning", "aws_s3_bucket_logging"):
        text = _drop_resource(text, rtype, "userdata")
    main_tf.write_text(text)
    target = ["examples/terraform/ccme-prerequisites"]
    assert main(["iac", *target, *CONFIG, "-f", "json", "-o", "before.json"]) == 1
    before = {rule for rule, _ in fails(repo / "before.json")}
    assert before == {"CCME-S3-VERSIONING-USERDATA", "CCME-S3-ACCESS-LOGGING-USERDATA"}
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    patch = (repo / "fix.patch").read_text()
    for rtype in ("aws_s3_bucket_versioning", "aws_s3_bucket_logging"):
        assert f'+resource "{rtype}" "userdata" {{\n+  bucket = aws_s3_bucket.userdata.id\n' in patch
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert main(["iac", *target, *CONFIG, "-f", "json", "-o", "after.json"]) == 0
    assert fails(repo / "after.json") == set()


def test_a_bucket_setting_written_inline_is_left_for_a_person(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.report.templatefix import SPLIT_FIXES, SplitEdit, patch_files

    (repo / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  versioning {\n'
                                  '    enabled = false\n  }\n}\n')
    edit = SplitEdit("main.tf", "aws_s3_bucket.b", SPLIT_FIXES["versioning"], "R")
    patch, missed = patch_files([edit], root=repo)
    assert patch == "" and len(missed) == 1 and "sets `versioning` inline" in missed[0][1]
