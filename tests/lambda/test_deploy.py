"""deploy/: cfn-lint, ccme-audit's own IaC gate, the generated policy, the deterministic zip, light imports."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
TEMPLATES = [DEPLOY / "template.yaml", DEPLOY / "member-role.yaml"]


def build_module() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_build", DEPLOY / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_templates_pass_cfn_lint() -> None:
    api = pytest.importorskip("cfnlint.api")
    for template in TEMPLATES:
        matches = api.lint_file(template)  # every rule, warnings and informational ones included
        assert not matches, [str(m) for m in matches]


def test_generated_policy_is_up_to_date_and_matches_the_collectors() -> None:
    build = build_module()
    assert build.stale_policy() == [], "run: python deploy/build.py --policy"
    actions = build.audit_actions()
    assert json.loads((DEPLOY / "iam-policy.json").read_text())["Statement"][0]["Action"] == actions
    for template in TEMPLATES:
        assert build.template_actions(template.read_text()) == actions
    assert all(a.split(":")[1].startswith(("Describe", "Get", "List", "View")) or a == "apigateway:GET"
               for a in actions), "read-only"
    assert "secretsmanager:GetSecretValue" not in actions and "ce:GetCostAndUsage" not in actions


def test_render_actions_replaces_only_the_marked_block() -> None:
    build = build_module()
    text = "a:\n  x:\n    # BEGIN read-only actions (gen)\n    - old:Thing\n    # END read-only actions\n  y: 1\n"
    assert build.render_actions(text, ["s3:GetObject", "kms:ListKeys"]) == (
        "a:\n  x:\n    # BEGIN read-only actions (gen)\n    - s3:GetObject\n    - kms:ListKeys\n"
        "    # END read-only actions\n  y: 1\n")


def test_zip_is_deterministic(tmp_path: Path) -> None:
    build = build_module()
    src = tmp_path / "site"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("x = 1\n")
    (src / "pkg" / "__pycache__" / "a.cpython-312.pyc").write_bytes(b"junk")
    (src / "pkg-1.0.dist-info").mkdir()
    (src / "pkg-1.0.dist-info" / "direct_url.json").write_text('{"url": "file:///tmp/x"}')
    (src / "pkg-1.0.dist-info" / "METADATA").write_text("Name: pkg\n")
    build.deterministic_zip(src, tmp_path / "a.zip")
    (src / "pkg" / "__init__.py").touch()
    build.deterministic_zip(src, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.namelist() == ["pkg-1.0.dist-info/METADATA", "pkg/__init__.py"]


GATE = ["--param", "AWS::AccountId=123456789012", "--param", "AWS::Region=eu-west-1", "--param", "CodeBucket=code",
        "--param", "AccessLogBucket=ucit-ccme-logging-eu-west-1", "--set", "account=123456789012",
        # Map the report bucket onto a CCME bucket role so the seed's S3 rules judge it.
        "--set", "buckets.internals=ccme-audit-reports-123456789012-eu-west-1"]


@pytest.mark.parametrize("encryption", ["AES256", "aws:kms"])
def test_template_passes_ccme_audits_own_gate_where_rules_apply(encryption: str, tmp_path: Path) -> None:
    pytest.importorskip("cfnlint")
    from auditor.cli import main

    out = tmp_path / "gate.json"
    main(["iac", *map(str, TEMPLATES), *GATE, "--param", f"ReportEncryption={encryption}", "--format", "json",
          "--output", str(out)])
    findings = json.loads(out.read_text())["findings"]
    bucket = "ccme-audit-reports-123456789012-eu-west-1"
    on_bucket = {f["rule_id"]: f["status"] for f in findings if f["resource_id"] == bucket}
    assert {"CCME-S3-VERSIONING-INTERNALS", "CCME-S3-PAB-INTERNALS", "CCME-S3-POLICY-SECURETRANSPORT-INTERNALS",
            "CCME-S3-POLICY-TLS12-INTERNALS", "CCME-S3-ACCESS-LOGGING-INTERNALS"} <= set(on_bucket)
    expected_fail = {"CCME-S3-SSE-AES256-INTERNALS"} if encryption == "aws:kms" else set()
    assert {r for r, s in on_bucket.items() if s != "PASS"} == expected_fail
    assert not [f for f in findings if f["status"] == "ERROR"]
    # The stack is not the whole CCME prerequisite set (no --complete): the prerequisites it does not create
    # (keys, the other buckets) are not judged missing, they are SKIPPED with how to ask for the check.
    assert not [f for f in findings if f["status"] == "FAIL" and f["resource_id"] != bucket]
    existence = {f["rule_id"]: f for f in findings if f["rule_id"].startswith(("CCME-S3-EXISTS-", "CCME-KMS-ALIAS-"))}
    assert existence["CCME-S3-EXISTS-LOGGING"]["status"] == "SKIPPED"
    assert "--complete" in existence["CCME-S3-EXISTS-LOGGING"]["message"]
    assert existence["CCME-S3-EXISTS-INTERNALS"]["status"] == "PASS"
    assert all(f["status"] == "SKIPPED" for r, f in existence.items() if r.startswith("CCME-KMS-ALIAS-"))


def test_handler_import_is_light() -> None:
    code = ("import sys, auditor.aws_lambda.handler as h; assert callable(h.handler); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('checkov', 'cfnlint', 'hcl2', 'moto', 'typer', 'click', 'rich', 'lark')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_handler_run_imports_no_iac_or_cli_modules() -> None:
    # The whole run path (scan, evaluate, reports), not just the import: nothing of the IaC side or the CLI.
    code = ("import sys\n"
            "import auditor.aws_lambda.handler, auditor.multi.orchestrate, auditor.collect.runner, "
            "auditor.report.html, auditor.report.jsonfmt, auditor.engine.evaluate\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('checkov', 'cfnlint', 'hcl2', 'moto', 'typer')"
            " or m.startswith('auditor.iac')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
