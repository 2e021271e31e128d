"""The README says what the tool does, and a test holds it to that:

- every command of the README's 'Examples' table, run through the real entry point from the repository root,
  gives the exit code and the FAIL / ERROR counts the table documents;
- every `ccme-audit ...` command the README shows names a command that exists and only options that command's
  `--help` lists; every command `ccme-audit --help` lists is shown in the README.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from auditor.cli import main
from tests.test_cli_help import SNAPSHOTS, file_name

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `(ccme-audit [^`]+)` \| (\d) \| (\d+) \| (\d+) \|", re.MULTILINE)
SUMMARY = re.compile(r"summary: .*?(\d+) fail, (\d+) error")


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


EXAMPLES = ROW.findall(section("Examples"))


def test_the_examples_table_is_read() -> None:
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize(("command", "code", "fails", "errors"), EXAMPLES, ids=[row[0][11:80] for row in EXAMPLES])
def test_each_documented_example_gives_the_documented_result(command: str, code: str, fails: str, errors: str,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    got = main([*shlex.split(command)[1:], "--quiet"])
    out, err = capsys.readouterr()
    match = SUMMARY.search(out)
    assert match is not None, (out, err)
    assert (got, match.group(1), match.group(2)) == (int(code), fails, errors), (out, err)


# --- README commands against --help -------------------------------------------------------------------------
COMMANDS = sorted((p.stem.replace("_", " ") for p in SNAPSHOTS.glob("*.txt") if p.stem != "ccme-audit"),
                  key=len, reverse=True)


def readme_commands() -> list[str]:
    """Every `ccme-audit ...` command in a code span or an indented code line of the README."""
    spans = re.findall(r"`(ccme-audit [^`]+)`", README)
    lines = [line.strip() for line in README.splitlines() if line.startswith("    ccme-audit ")]
    found = []
    for text in [*spans, *lines]:
        for part in re.split(r"\s*(?:&&|\|\||;)\s*", text):
            part = part.split("#")[0].strip()
            if part.startswith("ccme-audit "):
                found.append(part)
    return found


def help_page(command: str) -> str:
    return (SNAPSHOTS / file_name(command)).read_text(encoding="utf-8")


def test_readme_commands_use_only_options_their_help_lists() -> None:
    checked = 0
    for text in readme_commands():
        rest = text[len("ccme-audit "):]
        if rest.startswith("-"):
            continue  # ccme-audit --version
        command = next((c for c in COMMANDS if rest == c or rest.startswith(c + " ")), None)
        assert command is not None, f"README shows an unknown command: {text}"
        page = help_page(command)
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b", rest[len(command):]):
            listed = re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", page)
            assert listed, f"{flag} is not in `{command} --help` ({text})"
        checked += 1
    assert checked >= 30


def test_every_command_of_help_is_in_the_readme() -> None:
    top = help_page("")
    listed = re.findall(r"^│ ([a-z][a-z-]+) {2,}", top, re.MULTILINE)
    assert {"scan", "iac", "demo", "evaluate", "remediate"} <= set(listed)
    shown = " ".join(readme_commands())
    missing = [name for name in listed if f"ccme-audit {name}" not in shown]
    assert missing == []
