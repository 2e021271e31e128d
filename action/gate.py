#!/usr/bin/env python3
"""The GitHub Action's logic (action.yml), kept here so it runs and is tested without GitHub.

    gate.py install   pip-installs ccme-audit: CCME_AUDIT_VERSION from PyPI, or the action's own checkout
    gate.py run       runs `ccme-audit iac` on INPUT_PATHS, writes SARIF (INPUT_SARIF) and Markdown, appends
                      the Markdown to $GITHUB_STEP_SUMMARY, writes exit-code / sarif / markdown to $GITHUB_OUTPUT

`run` always exits 0 so that the SARIF upload step runs; the action's last step exits with the gate's code.
Only the standard library: it runs before ccme-audit is installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEVERITIES = ("critical", "high", "medium", "low", "info")
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!-]*$")


def _fail(message: str) -> int:
    sys.stderr.write(f"::error title=ccme-audit::{message}\n")
    return 2


def install_command(env: Mapping[str, str]) -> list[str]:
    version = env.get("CCME_AUDIT_VERSION", "").strip()
    if not version:
        return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", f"{ROOT}[iac]"]
    if not _VERSION.match(version):
        raise ValueError(f"version '{version}' is not a release number (e.g. 0.2.0)")
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", f"ccme-audit[iac]=={version}"]


def gate_command(env: Mapping[str, str], output_dir: Path) -> list[str]:
    """`python -m auditor iac ...` from the action's inputs (ValueError for an input that cannot be used)."""
    paths = env.get("INPUT_PATHS", "").split()
    if not paths:
        raise ValueError("input 'paths' is empty: name the templates or directories to check")
    fail_on = env.get("INPUT_FAIL_ON", "low").strip() or "low"
    if fail_on not in SEVERITIES:
        raise ValueError(f"input 'fail-on' is '{fail_on}': use one of {', '.join(SEVERITIES)}")
    cmd = [sys.executable, "-m", "auditor", "iac", "--format", "sarif,markdown", "--output-dir", str(output_dir),
           "--fail-on", fail_on]
    config = env.get("INPUT_CONFIG", "").strip()
    if config:
        cmd += ["--config", config]
    for pack in env.get("INPUT_PACK", "").replace(",", " ").split():
        cmd += ["--pack", pack]
    for line in env.get("INPUT_ARGS", "").splitlines():
        cmd += shlex.split(line)
    return [*cmd, "--", *paths]  # '--': a path starting with '-' stays a path


def set_category(sarif: Path, category: str) -> None:
    """upload-sarif takes the category from runs[].automationDetails.id when the file has one (ccme-audit
    writes ccme-audit/<account or iac>/): put the action's category there."""
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    for run in doc.get("runs", []):
        run["automationDetails"] = {**run.get("automationDetails", {}), "id": category.rstrip("/") + "/"}
    sarif.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def _outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    _append(env.get("GITHUB_OUTPUT"), "".join(f"{key}={value}\n" for key, value in values.items()))


def run(env: Mapping[str, str]) -> int:
    sarif_out = Path(env.get("INPUT_SARIF", "").strip() or "ccme-audit.sarif")
    markdown_out = sarif_out.with_suffix(".md")
    with tempfile.TemporaryDirectory(prefix="ccme-audit-") as tmp:
        try:
            cmd = gate_command(env, Path(tmp))
        except ValueError as exc:
            _fail(str(exc))
            _outputs(env, {"exit-code": "2", "sarif": "", "markdown": ""})
            return 0
        sys.stderr.write("ccme-audit: " + shlex.join(cmd[1:]) + "\n")
        code = subprocess.run(cmd, check=False).returncode
        sarif_tmp, markdown_tmp = Path(tmp) / "report.sarif", Path(tmp) / "report.md"
        sarif = markdown = ""
        if sarif_tmp.is_file():
            sarif_out.parent.mkdir(parents=True, exist_ok=True)
            category = env.get("INPUT_CATEGORY", "").strip()
            if category:
                set_category(sarif_tmp, category)
            shutil.move(str(sarif_tmp), sarif_out)
            sarif = str(sarif_out)
        if markdown_tmp.is_file():
            shutil.move(str(markdown_tmp), markdown_out)
            markdown = str(markdown_out)
            _append(env.get("GITHUB_STEP_SUMMARY"), markdown_out.read_text(encoding="utf-8") + "\n")
        else:
            _append(env.get("GITHUB_STEP_SUMMARY"),
                    f"## ccme-audit\n\nThe gate could not run (exit code {code}): see the step's log.\n")
    if code not in (0, 1):
        _fail(f"ccme-audit iac exited with {code} (2: bad input, 3: internal error): see the log above")
    _outputs(env, {"exit-code": str(code), "sarif": sarif, "markdown": markdown})
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    if args == ["install"]:
        try:
            cmd = install_command(env)
        except ValueError as exc:
            return _fail(str(exc))
        return subprocess.run(cmd, check=False).returncode
    if args == ["run"]:
        return run(env)
    sys.stderr.write("usage: gate.py install|run\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
