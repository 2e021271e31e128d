"""CCME-DEPLOY-MGMT-HOST-OS through the iac door: a CCME deployment configuration file (a YAML or JSON mapping
holding management_host_os, seed 000) is read as one ccme.deployment resource; al2023/rhel8/rhel9 pass, another
OS fails, a value that is not an OS name is ERROR; a file that is neither is still refused when named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.rules import load_rules


def _run(path: Path) -> list[tuple[str, str]]:
    rules = [r for r in load_rules(None, ["parallelcluster"]) if r.id == "CCME-DEPLOY-MGMT-HOST-OS"]
    result, problems = audit_paths([path], load_config(None, [("account", "111122223333")]), rules,
                                   today=dt.date(2026, 11, 22))
    assert not [p for p in problems if not p.warning]
    return [(f.status.value, f.location["line"] if f.location else 0) for f in result.findings]


@pytest.mark.parametrize(("text", "suffix", "expected"), [
    ("project: hpc\nmanagement_host_os: rhel8\n", ".yaml", [("PASS", 2)]),
    ("management_host_os: al2023\n", ".yml", [("PASS", 1)]),
    ('{"management_host_os": "rocky9"}\n', ".json", [("FAIL", 1)]),
    ("management_host_os: [al2023]\n", ".yaml", [("ERROR", 1)]),
])
def test_deployment_configuration(tmp_path: Path, text: str, suffix: str, expected: list[tuple[str, int]]) -> None:
    path = tmp_path / f"deployment{suffix}"
    path.write_text(text, encoding="utf-8")
    assert _run(path) == expected


def test_this_tools_configuration_is_not_a_deployment_configuration(tmp_path: Path) -> None:
    """ccme-audit.yaml may set management_host_os (the live check's value): scanning a directory holding it
    does not read it as CCME's deployment configuration."""
    (tmp_path / "ccme-audit.yaml").write_text("management_host_os: ubuntu\n", encoding="utf-8")
    (tmp_path / "deployment.yaml").write_text("management_host_os: rhel9\n", encoding="utf-8")
    rules = [r for r in load_rules(None, ["parallelcluster"]) if r.id == "CCME-DEPLOY-MGMT-HOST-OS"]
    result, _ = audit_paths([tmp_path], load_config(None, [("account", "111122223333")]), rules,
                            today=dt.date(2026, 11, 22))
    assert [(Path(f.resource_id.split("#")[0]).name, f.status.value) for f in result.findings] == [
        ("deployment.yaml", "PASS")]
