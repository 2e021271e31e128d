"""The command line's `--help` pages are a contract: byte-identical to the snapshot in fixtures/cli_help/.

The pages are produced the way a user sees them (`python -m auditor ... --help`, fixed COLUMNS, NO_COLOR), in one
child process that runs the `auditor` package as __main__ once per command. Regenerate (only when a help text is
meant to change) with `python tests/test_cli_help.py --regenerate`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "fixtures" / "cli_help"
ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (
    "", "evaluate", "scan", "collect", "iam-policy", "demo", "report", "remediate", "iac",
    "rules", "rules list", "rules show", "rules validate", "rules schema", "rules params",
    "policy", "policy requirements", "policy check",
    "egress", "egress probe", "egress list", "packages", "packages check", "packages list",
)
SEPARATOR = "\x00--- {} ---\x00\n"
# Runs `python -m auditor <command> --help` for every command in one interpreter (runpy re-executes __main__).
DRIVER = f"""
import runpy, sys
for command in {COMMANDS!r}:
    sys.stdout.write({SEPARATOR!r}.format(command))
    sys.argv = ["ccme-audit", *command.split(), "--help"]
    try:
        runpy.run_module("auditor", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        sys.stdout.write(f"[exit {{exc.code}}]\\n")
    sys.stdout.flush()
"""


def file_name(command: str) -> str:
    return (command.replace(" ", "_") or "ccme-audit") + ".txt"


def help_pages() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE", "TERM")}
    env.update(COLUMNS="100", LINES="50", NO_COLOR="1", TERM="dumb", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", DRIVER], env=env, cwd=ROOT, capture_output=True, check=True)
    pages: dict[str, str] = {}
    for command, chunk in zip(COMMANDS, done.stdout.decode().split("\x00")[2::2], strict=True):
        pages[command] = chunk.lstrip("\n")
    return pages


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return help_pages()


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_unchanged(command: str, pages: dict[str, str]) -> None:
    expected = (SNAPSHOTS / file_name(command)).read_text(encoding="utf-8")
    assert pages[command] == expected
    assert pages[command].rstrip().endswith("[exit 0]")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python tests/test_cli_help.py --regenerate")
    for name, page in help_pages().items():
        (SNAPSHOTS / file_name(name)).write_text(page, encoding="utf-8")
