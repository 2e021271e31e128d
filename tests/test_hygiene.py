"""House rules CI would otherwise not see: lint, types, the README's commands, the engine's imports."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is not installed (pip install -e '.[dev]')")
def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]


def test_mypy_is_clean() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    test_command = ci[-1]
    assert test_command in readme
    head = readme[: readme.index("##")]
    assert "ccme-audit demo" in head and test_command in head


def test_every_install_uses_the_constraints_file() -> None:
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("##")]
    installs = [line.strip() for line in head.splitlines() if "pip install" in line]
    ci_installs = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                   if "pip install" in line and not line.lstrip().startswith("#")]
    assert len(installs) == 2 and ci_installs, (installs, ci_installs)
    for command in [*installs, *ci_installs]:
        assert "pip install -c constraints.txt -e '.[" in command, command
    assert "-c constraints.txt" in (ROOT / "Dockerfile").read_text()


def test_the_constraints_pin_every_dependency_within_its_bounds() -> None:
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and " " not in version, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    assert "checkov" not in pins, "checkov lives in its own environment, never in constraints.txt"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]
    for text in direct:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt does not pin {requirement.name}: run bash .ci/refresh-constraints"
        assert requirement.specifier.contains(pins[name]), f"{requirement.name}=={pins[name]} is outside {text}"
        if not text.startswith("types-"):
            assert "<" in str(requirement.specifier), f"pyproject.toml: {text} has no upper bound"


def test_the_engine_imports_no_collector_loader_or_report() -> None:
    forbidden = ("auditor.collect", "auditor.iac", "auditor.report", "boto3", "botocore")
    for path in (ROOT / "auditor" / "engine").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_no_import_time_side_effects() -> None:
    code = ("import auditor.cli, auditor.engine.evaluate, sys; auditor.cli._register_optional(); "
            "print('boto3' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", "importing the CLI must not import boto3"
