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
    both = {"CCME-KMS-ROTATION-SNS", "CCME-KMS-KEY-DCV-PROXY-EBS", "CCME-VPC-DNS-HOSTNAMES"}
    # Terraform sets a bucket's versioning, public access block and encryption in resources of their own:
    # those are patched in CloudFormation only, and listed for a person in Terraform.
    cloudformation_only = {"CCME-S3-PAB-INTERNALS", "CCME-S3-SSE-AES256-USERDATA", "CCME-S3-VERSIONING-INTERNALS",
                           "CCME-S3-VERSIONING-USERDATA"}
    assert {rule for rule, _ in fixed} == both | cloudformation_only
    assert len(fixed) == 2 * len(both) + len(cloudformation_only)
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
