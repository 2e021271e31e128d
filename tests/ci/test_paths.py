"""`ccme-audit iac .` from a repository root (issue 26): what git ignores and `--skip-path` / `skip_path` globs
are left out of the scanned directories, and counted in one warning line; a file named as an argument is read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.cli import main
from tests.iac.variants import CFN_GOOD

ACCOUNT = ["--pack", "ccme", "--set", "account=111122223333", "--set", "secret_name=ccme-directory-reader"]
MALFORMED = "AWSTemplateFormatVersion: '2010-09-09'\nResources: [\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "infra").mkdir(parents=True)
    shutil.copy(CFN_GOOD, root / "infra" / "stack.yaml")
    (root / "build").mkdir()
    (root / "build" / "generated.yaml").write_text(MALFORMED, encoding="utf-8")
    (root / "tests" / "fixtures").mkdir(parents=True)
    (root / "tests" / "fixtures" / "invalid.yaml").write_text(MALFORMED, encoding="utf-8")
    (root / ".gitignore").write_text("build/\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    return root


def test_gitignore_and_skip_path_leave_files_out(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # build/ is ignored by git; the fixture under tests/ is not: the run refuses it (bad input, one line).
    code, out, err = run(["iac", ".", *ACCOUNT], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "tests/fixtures/invalid.yaml" in err
    code, out, err = run(["iac", ".", *ACCOUNT, "--skip-path", "tests"], capsys)
    assert code == 0 and "1 fail, 0 error" in out  # the advisory confused-deputy finding (info) on the seed's key
    assert "ccme-audit: warning: " in err and "2 path(s) left out (--skip-path tests, .gitignore)" in err
    # The configuration's key does the same; a glob on a file name too.
    (repo / "ccme-audit.yaml").write_text("skip_path: ['invalid.yaml']\n", encoding="utf-8")
    code, out, err = run(["iac", ".", *ACCOUNT], capsys)
    assert code == 0 and "--skip-path invalid.yaml" in err and f"configuration: {repo / 'ccme-audit.yaml'}" in err
    # A file named as an argument is always read, ignored or not.
    code, _, err = run(["iac", "build/generated.yaml", *ACCOUNT], capsys)
    assert code == 2 and "build/generated.yaml" in err
