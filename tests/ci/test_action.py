"""The GitHub Action: action.yml's structure, and its script (action/gate.py) run offline with fake GitHub files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
SARIF_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
GATE = ROOT / "action" / "gate.py"
EXAMPLES = ROOT / "examples"


def test_action_yml_is_a_composite_action_with_the_required_keys() -> None:
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    assert {"paths", "config", "fail-on", "pack", "sarif", "upload-sarif", "version"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["paths"]["required"] is True
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec or spec.get("required"), name
    for name, spec in ACTION["outputs"].items():
        assert spec["description"] and spec["value"].startswith("${{ steps."), name
    for step in ACTION["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", f"composite run steps need a shell: {step['name']}"
        else:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), f"pin actions by major: {step['uses']}"


def test_inputs_and_outputs_referenced_are_declared_and_written() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(ACTION["inputs"])
    gate_outputs = set(re.findall(r"steps\.gate\.outputs\.([\w-]+)", text))
    assert gate_outputs == {"exit-code", "sarif", "markdown"}
    source = GATE.read_text(encoding="utf-8")
    assert all(f'"{name}"' in source for name in gate_outputs)
    steps = {s["name"]: s for s in ACTION["runs"]["steps"]}
    upload = steps["Upload SARIF to code scanning"]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v3"
    assert upload["with"]["sarif_file"] == "${{ steps.gate.outputs.sarif }}"
    assert "always()" in upload["if"]
    last = ACTION["runs"]["steps"][-1]
    assert "always()" in last["if"] and "GATE_EXIT_CODE" in last["run"]


def _fake_github(tmp_path: Path) -> dict[str, str]:
    out, summary = tmp_path / "github_output", tmp_path / "step_summary"
    out.touch()
    summary.write_text("earlier step\n")
    return {**os.environ, "PYTHONPATH": str(ROOT), "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}


def _run_gate(tmp_path: Path, **inputs: str) -> tuple[int, dict[str, str], str, subprocess.CompletedProcess[str]]:
    env = _fake_github(tmp_path)
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    proc = subprocess.run([sys.executable, str(GATE), "run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    outputs = dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())
    return proc.returncode, outputs, Path(env["GITHUB_STEP_SUMMARY"]).read_text(), proc


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "parallelcluster", tmp_path / "pc")
    shutil.copytree(EXAMPLES / "cloudformation", tmp_path / "cfn")
    return tmp_path


def test_a_failing_template_writes_sarif_summary_and_exit_code_1(repo: Path) -> None:
    code, outputs, summary, proc = _run_gate(
        repo, paths="cfn/ccme-prerequisites-broken.yaml\n pc/cluster-bad.yaml", sarif="out/ccme.sarif",
        fail_on="low", category="infra")
    assert code == 0, proc.stderr  # the step itself succeeds so that the upload runs
    assert outputs == {"exit-code": "1", "sarif": "out/ccme.sarif", "markdown": "out/ccme.md"}
    doc = json.loads((repo / "out" / "ccme.sarif").read_text())
    assert not list(jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(doc))
    assert doc["runs"][0]["automationDetails"]["id"] == "infra/"  # upload-sarif reads the category here
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]
            for loc in r["locations"] if "physicalLocation" in loc}
    assert uris == {"cfn/ccme-prerequisites-broken.yaml", "pc/cluster-bad.yaml"}
    assert summary.startswith("earlier step\n## ccme-audit report")  # appended, not overwritten
    assert "### Failing findings" in summary
    assert summary.strip().endswith((repo / "out" / "ccme.md").read_text().strip())


def test_a_passing_template_gives_exit_code_0(repo: Path) -> None:
    code, outputs, summary, _ = _run_gate(repo, paths="pc/cluster-good.yaml")
    assert code == 0 and outputs["exit-code"] == "0" and outputs["sarif"] == "ccme-audit.sarif"
    run = json.loads((repo / "ccme-audit.sarif").read_text())["runs"][0]
    assert run["results"] == [] and run["automationDetails"]["id"] == "ccme-audit/iac/"  # no category input
    assert "No failing finding" in summary


def test_bad_input_gives_exit_code_2_and_no_sarif(repo: Path) -> None:
    code, outputs, summary, proc = _run_gate(repo, paths="pc/cluster-good.yaml", config="missing.yaml")
    assert code == 0 and outputs == {"exit-code": "2", "sarif": "", "markdown": ""}
    assert "could not run (exit code 2)" in summary
    assert "missing.yaml" in proc.stderr and "::error" in proc.stderr
    code, outputs, _, proc = _run_gate(repo, paths="pc/cluster-good.yaml", fail_on="severe")
    assert outputs["exit-code"] == "2" and "fail-on" in proc.stderr
    code, outputs, _, proc = _run_gate(repo, paths="  ")
    assert outputs["exit-code"] == "2" and "paths" in proc.stderr


def test_fail_on_and_pack_reach_the_gate(repo: Path) -> None:
    _code, outputs, _, _ = _run_gate(repo, paths="pc/cluster-bad.yaml", fail_on="critical", pack="parallelcluster")
    doc = json.loads((repo / "ccme-audit.sarif").read_text())
    severities = {r["properties"]["severity"] for r in doc["runs"][0]["results"]}
    assert severities and "critical" not in severities  # the bad cluster fails, but nothing critical
    assert outputs["exit-code"] == "0"


@pytest.mark.parametrize("gate_code", ["0", "1", "2"])
def test_the_last_step_exits_with_the_gate_code(gate_code: str) -> None:
    last = ACTION["runs"]["steps"][-1]
    proc = subprocess.run(["bash", "-c", last["run"]], env={"GATE_EXIT_CODE": gate_code}, timeout=30)
    assert proc.returncode == int(gate_code)
    assert subprocess.run(["bash", "-c", last["run"]], env={}, timeout=30).returncode == 3  # the gate never ran


def test_install_command_pins_a_version_or_installs_the_checkout() -> None:
    sys.path.insert(0, str(GATE.parent))
    try:
        import gate
    finally:
        sys.path.remove(str(GATE.parent))
    assert gate.install_command({})[-1] == f"{ROOT}[iac]"
    assert gate.install_command({"CCME_AUDIT_VERSION": "0.2.0"})[-1] == "ccme-audit[iac]==0.2.0"
    with pytest.raises(ValueError):
        gate.install_command({"CCME_AUDIT_VERSION": "0.2; curl x | sh"})
    cmd = gate.gate_command({"INPUT_PATHS": "-rf infra", "INPUT_ARGS": "--param KmsPrefix=ccme\n--set account=1"},
                            Path("/o"))
    assert cmd[cmd.index("--"):] == ["--", "-rf", "infra"]
    assert cmd[cmd.index("--param"):cmd.index("--")] == ["--param", "KmsPrefix=ccme", "--set", "account=1"]
