"""The rule catalogue as data (issue 26): `rules list --format json` carries source, severity, remediation and the
documentation link; `rules show` takes wildcards and --format json; shell completion is enabled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main

ROOT = Path(__file__).parents[2]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_rules_list_json_is_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "list", "--format", "json"], capsys)
    rules = json.loads(out)
    assert code == 0 and len(rules) > 50
    for rule in rules:
        assert {"id", "title", "pack", "severity", "source", "remediation", "documentation"} <= set(rule)
        assert rule["source"]["document"] and rule["documentation"].endswith(f"rules.md#{rule['id']}")
    [versioning] = [r for r in rules if r["id"] == "CCME-S3-VERSIONING-LOGGING"]
    assert versioning["remediation"] and versioning["severity"] in ("critical", "high", "medium", "low", "info")
    code, _, err = run(["rules", "list", "--format", "yaml"], capsys)
    assert code == 2 and err.count("\n") == 1


def test_rules_show_takes_wildcards_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "show", "ccme-kms-rotation-*", "CCME-S3-VERSIONING-LOGGING", "--format", "json"],
                       capsys)
    shown = json.loads(out)
    ids = [r["id"] for r in shown]
    assert code == 0 and ids[-1] == "CCME-S3-VERSIONING-LOGGING" and len(ids) > 2
    assert all(i.startswith("CCME-KMS-ROTATION-") for i in ids[:-1])
    assert all("assert" in r and "scope" in r and "documentation" in r for r in shown)
    code, out, _ = run(["rules", "show", "CCME-KMS-ROTATION-*"], capsys)
    assert code == 0 and out.count("\n---\n") == len(ids) - 2
    code, out, err = run(["rules", "show", "CCME-NOPE-*"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1


def test_shell_completion_is_enabled(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_CCME_AUDIT_COMPLETE": "complete_bash",
           "COMP_WORDS": "ccme-audit rul", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-m", "auditor"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.split() == ["rules"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "auditor", "--show-completion", "bash"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0 and "_CCME_AUDIT_COMPLETE" in done.stdout
