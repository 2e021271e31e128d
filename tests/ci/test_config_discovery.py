"""Configuration discovery (issue 26): ccme-audit.yaml / .ccme-audit.yaml from the working directory up to the
repository root, the file told on stderr, --show-config, CCME_AUDIT_* and the precedence
flags > environment > file > defaults. Hermetic: every test works in its own temporary tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from auditor.cli import main

SNAPSHOT = Path(__file__).parents[1] / "fixtures" / "snapshots" / "ccme-broken.json"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "infra" / "deep").mkdir(parents=True)
    return root


def test_discovered_up_to_the_repository_root_and_told_on_stderr(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ccme-audit.yaml").write_text("kms_prefix: above-the-repo\n", encoding="utf-8")  # never read
    monkeypatch.chdir(repo / "infra" / "deep")
    code, out, err = run(["evaluate", str(SNAPSHOT), "--show-config"], capsys)
    assert code == 0 and yaml.safe_load(out)["kms_prefix"] == "ccme"
    assert f"none found (ccme-audit.yaml or .ccme-audit.yaml from {repo / 'infra' / 'deep'} up to {repo})" in out
    code, _, err = run(["evaluate", str(SNAPSHOT)], capsys)
    assert code == 1 and "ccme-audit: configuration: none found" in err

    (repo / ".ccme-audit.yaml").write_text("kms_prefix: from-root\n", encoding="utf-8")
    code, out, _ = run(["evaluate", str(SNAPSHOT), "--show-config"], capsys)
    assert yaml.safe_load(out)["kms_prefix"] == "from-root" and f"configuration: {repo / '.ccme-audit.yaml'}" in out
    (repo / "infra" / "ccme-audit.yaml").write_text("kms_prefix: nearest\n", encoding="utf-8")
    code, out, err = run(["evaluate", str(SNAPSHOT), "-f", "json"], capsys)
    assert f"ccme-audit: configuration: {repo / 'infra' / 'ccme-audit.yaml'}\n" in err
    assert json.loads(out)["findings"][0]["context"]["params"]["kms_prefix"] == "nearest"


def test_outside_a_repository_only_the_working_directory_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ccme-audit.yaml").write_text("kms_prefix: parent\n", encoding="utf-8")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    code, out, _ = run(["evaluate", str(SNAPSHOT), "--show-config"], capsys)
    assert code == 0 and yaml.safe_load(out)["kms_prefix"] == "ccme"
    assert f"none found (ccme-audit.yaml or .ccme-audit.yaml in {tmp_path / 'work'})" in out


def test_precedence_flags_over_environment_over_file(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "ccme-audit.yaml").write_text("kms_prefix: file\nregions: [eu-west-1]\naccount: '111111111111'\n",
                                          encoding="utf-8")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("CCME_AUDIT_KMS_PREFIX", "env")
    monkeypatch.setenv("CCME_AUDIT_REGIONS", "us-east-1,eu-central-1")
    code, out, _ = run(["evaluate", str(SNAPSHOT), "--show-config", "--set", "kms_prefix=flag"], capsys)
    shown = yaml.safe_load(out)
    assert code == 0 and shown["kms_prefix"] == "flag" and shown["regions"] == ["us-east-1", "eu-central-1"]
    assert shown["account"] == "111111111111"
    assert "with CCME_AUDIT_REGIONS, CCME_AUDIT_KMS_PREFIX" in out
    code, out, _ = run(["evaluate", str(SNAPSHOT), "--show-config"], capsys)
    assert yaml.safe_load(out)["kms_prefix"] == "env"
    # An environment value the schema refuses is bad input, one line.
    monkeypatch.setenv("CCME_AUDIT_ACCOUNT", "not-an-account")
    code, out, err = run(["evaluate", str(SNAPSHOT)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "not-an-account" in err
    # The environment's rule selection, replaced by the flag.
    monkeypatch.delenv("CCME_AUDIT_ACCOUNT")
    monkeypatch.setenv("CCME_AUDIT_CHECK", "CCME-KMS-*")
    code, out, _ = run(["evaluate", str(SNAPSHOT), "-f", "json", "--set", "kms_prefix=ccme"], capsys)
    assert {f["rule_id"][:9] for f in json.loads(out)["findings"]} == {"CCME-KMS-"}
    code, out, _ = run(["evaluate", str(SNAPSHOT), "-f", "json", "--check", "CCME-S3-*"], capsys)
    assert {f["rule_id"][:8] for f in json.loads(out)["findings"]} == {"CCME-S3-"}


def test_an_explicit_config_wins_over_discovery(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "ccme-audit.yaml").write_text("kms_prefix: discovered\n", encoding="utf-8")
    other = repo / "other.yaml"
    other.write_text("kms_prefix: explicit\n", encoding="utf-8")
    monkeypatch.chdir(repo)
    code, out, _ = run(["iac", str(repo), "--config", str(other), "--show-config"], capsys)
    assert code == 0 and yaml.safe_load(out)["kms_prefix"] == "explicit" and f"configuration: {other}" in out
