"""`ccme-audit iac`: exit codes, formats, one line per bad input, and checkov as a second opinion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.engine.findings import Severity, Status
from auditor.iac.checkov import findings as checkov_findings
from tests.iac.variants import CFN_BROKEN, CFN_GOOD, ROOT

ACCOUNT = ["--set", "account=111122223333", "--set", "secret_name=ccme-directory-reader"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_compliant_template_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["iac", str(CFN_GOOD), "--pack", "ccme", *ACCOUNT], capsys)
    # The one FAIL is advisory (info): the seed's CloudWatch key policy has no confused-deputy condition.
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert code == 0 and "1 fail, 0 error" in out
    assert len(fails) == 1 and "CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH" in fails[0]


def test_broken_template_exits_1_and_fail_on_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["iac", str(CFN_BROKEN), "--pack", "ccme", *ACCOUNT], capsys)
    assert code == 1 and "CCME-KMS-KEY-DCV-PROXY-EBS" in out and "ccme-prerequisites-broken.yaml:" in out
    code, _, _ = run(["iac", str(CFN_BROKEN), "--pack", "ccme", *ACCOUNT, "--fail-on", "critical"], capsys)
    assert code == 0


def test_json_report_and_parameter_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = ROOT / "examples" / "terraform" / "ccme-prerequisites-broken"
    out_file = tmp_path / "r.json"
    code, _, _ = run(["iac", str(broken), "--pack", "ccme", *ACCOUNT, "-f", "json", "-o", str(out_file),
                      "--param", "lambda_key_spec=SYMMETRIC_DEFAULT"], capsys)
    report = json.loads(out_file.read_text(encoding="utf-8"))
    lam = [f for f in report["findings"] if f["rule_id"] == "CCME-KMS-KEY-LAMBDA"]
    assert code == 1 and lam[0]["status"] == "PASS"
    assert lam[0]["location"]["logical_id"] == "aws_kms_key.lambda"


def test_malformed_template_is_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources: [\n", encoding="utf-8")
    report = tmp_path / "out.json"
    code, out, err = run(["iac", str(bad), str(CFN_GOOD), "--pack", "ccme", *ACCOUNT, "-f", "json", "-o", str(report)],
                         capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"ccme-audit: error: {bad}: line 3: invalid template:") and "(fix: " in err
    assert not report.exists()  # nothing written half-way


@pytest.mark.parametrize(("argv", "needle"), [
    (["--param", "novalue"], "--param"),
    (["--baseline", "/nonexistent/baseline.yaml"], "file not found"),
    (["--checkov-path", "/nonexistent/checkov"], "checkov not found"),
    (["--format", "pdf"], "unknown format"),
])
def test_bad_input_is_one_line_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["iac", str(CFN_GOOD), *argv], capsys)
    assert code == 2 and needle in err and err.count("\n") == 1


def test_checkov_report_mapping() -> None:
    report = [{"check_type": "cloudformation", "results": {"failed_checks": [
        {"check_id": "CKV_AWS_18", "check_name": "Ensure the S3 bucket has access logging enabled",
         "file_path": "/t.yaml", "file_abs_path": "/src/t.yaml", "file_line_range": [12, 20],
         "resource": "AWS::S3::Bucket.LoggingBucket", "guideline": "https://docs.example/ckv-aws-18",
         "severity": None},
        {"check_id": "CKV_AWS_7", "check_name": "Ensure rotation", "file_path": "/t.yaml",
         "file_line_range": [3, 9], "resource": "AWS::KMS::Key.K", "guideline": None, "severity": "HIGH"},
    ]}}]
    out = checkov_findings(report)
    assert [(f.rule_id, f.pack, f.status, f.severity) for f in out] == [
        ("CKV_AWS_18", "checkov", Status.FAIL, Severity.MEDIUM), ("CKV_AWS_7", "checkov", Status.FAIL, Severity.HIGH)]
    assert out[0].location == {"file": "/src/t.yaml", "line": 12, "logical_id": "AWS::S3::Bucket.LoggingBucket"}
    assert out[0].source.url == "https://docs.example/ckv-aws-18"


def _checkov() -> Path:
    """checkov in a virtual environment of its own (it pins boto3 and packaging), installed from the
    package index once per machine under CCME_AUDIT_CACHE (default ~/.cache/ccme-audit-tests)."""
    cache = Path(os.environ.get("CCME_AUDIT_CACHE") or Path.home() / ".cache" / "ccme-audit-tests")
    venv = cache / "checkov-venv"
    exe = venv / "bin" / "checkov"
    if not exe.exists():
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True,
                              check=False)
        if made.returncode != 0:
            pytest.skip(f"no virtual environment for checkov: {made.stderr.strip().splitlines()[-1:]}")
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "checkov"], capture_output=True,
                              text=True, timeout=900, check=False)
        if done.returncode != 0:
            pytest.skip(f"checkov could not be installed from the package index: "
                        f"{done.stderr.strip().splitlines()[-1:]}")
    return exe


@pytest.mark.skipif(bool(os.environ.get("CCME_AUDIT_NO_CHECKOV")), reason="CCME_AUDIT_NO_CHECKOV is set")
def test_checkov_second_opinion_merges_into_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exe = _checkov()
    target = tmp_path / "t.yaml"
    target.write_text(CFN_GOOD.read_text(encoding="utf-8"), encoding="utf-8")
    out_file = tmp_path / "r.json"
    code, _, err = run(["iac", str(target), "--pack", "ccme", *ACCOUNT, "--checkov-path", str(exe),
                        "-f", "json", "-o", str(out_file)], capsys)
    report = json.loads(out_file.read_text(encoding="utf-8"))
    ours = [f for f in report["findings"] if f["pack"] == "checkov"]
    assert ours, err
    assert all(f["rule_id"].startswith("CKV") and f["location"]["line"] for f in ours)
    assert code == 1  # checkov fails some checks the CCME baseline does not ask for (e.g. KMS key policies)


@pytest.mark.parametrize("content", [None, "README.md", "notes.yaml"])
def test_a_directory_without_templates_is_bad_input(
    tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped path must not pass the gate: no template found is exit 2 with one line, no report."""
    if content:
        (tmp_path / content).write_text("a: 1\n", encoding="utf-8")
    out_file = tmp_path / "r.json"
    code, _, err = run(["iac", str(tmp_path), "--pack", "ccme", *ACCOUNT, "-f", "json", "-o", str(out_file)], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(tmp_path) in lines[0]
    assert "holds no template" in lines[0] and "*.tf" in lines[0]
    assert not out_file.exists()
