"""The pre-commit hook (.pre-commit-hooks.yaml), run by pre-commit itself on a temporary git repository.

The fast test turns the shipped hook into a `repo: local` hook with `language: system` (same entry arguments,
files, exclude and serial settings; the entry runs this checkout's `python -m auditor`), so pre-commit needs no
network. The slow one (--runslow) runs `pre-commit try-repo` on this checkout, which builds the hook's
environment from the package index as a user's pre-commit does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
PRE_COMMIT = shutil.which("pre-commit")
needs_pre_commit = pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (pip install pre-commit)")
HOOK = HOOKS[0]


def test_the_hook_runs_ccme_audit_iac_on_template_files() -> None:
    assert [h["id"] for h in HOOKS] == ["ccme-audit-iac"]
    assert HOOK["entry"] == "ccme-audit iac"
    assert HOOK["language"] == "python" and HOOK["require_serial"] is True
    assert HOOK.get("pass_filenames", True) is True
    files, exclude = re.compile(HOOK["files"]), re.compile(HOOK["exclude"])

    def selected(path: str) -> bool:
        return bool(files.search(path)) and not exclude.search(path)

    for path in ("infra/stack.yaml", "infra/stack.yml", "cfn/vpc.json", "tf/main.tf", "cluster.yaml", "x.template"):
        assert selected(path), path
    for path in (".pre-commit-config.yaml", ".github/workflows/ci.yml", "sub/.gitlab-ci.yml", "README.md",
                 "web/package.json", "docker-compose.yml", "main.py", "terraform.tfstate"):
        assert not selected(path), path


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "infra").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "parallelcluster" / "cluster-good.yaml", repo / "infra" / "cluster.yaml")
    (repo / "README.md").write_text("# infra\n")
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    return repo


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
            "GIT_CONFIG_NOSYSTEM": "1"}


def _local_config(repo: Path) -> None:
    hook = {k: v for k, v in HOOK.items() if k not in ("language", "additional_dependencies", "entry")}
    hook.update(language="system", entry=f"{sys.executable} -m auditor iac")
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))


@needs_pre_commit
def test_pre_commit_passes_a_good_template_and_fails_a_broken_one(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _local_config(repo)
    _git(repo, "add", ".")
    env = _env(tmp_path)
    ok = subprocess.run([PRE_COMMIT, "run", "--all-files"], cwd=repo, env=env, capture_output=True, text=True,
                        timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ccme-audit iac" in ok.stdout and "Passed" in ok.stdout

    shutil.copy(ROOT / "examples" / "parallelcluster" / "cluster-bad.yaml", repo / "infra" / "bad.yaml")
    _git(repo, "add", ".")
    bad = subprocess.run([PRE_COMMIT, "run", "--files", "infra/bad.yaml", "README.md"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "infra/bad.yaml" in bad.stdout
    assert "infra/cluster.yaml" not in bad.stdout  # only the files pre-commit passed are checked
    assert "summary:" in bad.stdout and "FAIL" in bad.stdout


@pytest.mark.slow
@needs_pre_commit
def test_pre_commit_try_repo_builds_and_runs_the_shipped_hook(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _git(repo, "add", ".")
    env = {**_env(tmp_path)}
    env.pop("PYTHONPATH")
    proc = subprocess.run([PRE_COMMIT, "try-repo", str(ROOT), "ccme-audit-iac", "--all-files"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Passed" in proc.stdout
