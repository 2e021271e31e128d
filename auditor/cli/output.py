"""Output conventions shared by the reporting commands (scan, evaluate, iac):

- the report goes to stdout (or the files asked for); when files are written, the one-line summary and each
  file's path go to stderr, so stdout stays clean for a pipe;
- the text report lists FAIL, ERROR and WAIVED findings (most urgent first) and counts the rest
  (`--show pass,skipped` lists them too, `--quiet` prints the summary line only and no progress);
- colour: `--color always|never`, or `auto`: on a terminal unless NO_COLOR is set (https://no-color.org);
- `--help` shows a value's type only for options that take a value (no `<bool>` on flags).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from auditor.engine.findings import Status
from auditor.errors import InputError


class Color(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


ColorOpt = Annotated[
    Color,
    typer.Option("--color", help="Colour the text report: auto (on a terminal, unless NO_COLOR is set), always, "
                 "never."),
]
ShowOpt = Annotated[
    list[str] | None,
    typer.Option("--show", metavar="<status,...>",
                 help="Also list these statuses in the text report: pass, skipped (FAIL, ERROR and WAIVED are "
                 "always listed; the others are counted)."),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print the summary line only (text), and no progress.")
]

SHOWABLE = {"pass": Status.PASS, "skipped": Status.SKIPPED, "fail": Status.FAIL, "error": Status.ERROR,
            "waived": Status.WAIVED}


@dataclass(frozen=True)
class View:
    """How the text report looks: which statuses are listed, summary only, colour on stdout."""

    show: frozenset[Status] | None = None
    quiet: bool = False
    color: bool | None = None

    def text_options(self) -> dict[str, Any]:
        return {"show": self.show, "quiet": self.quiet}


def use_color(choice: Color | str | None, stream: TextIO | None = None) -> bool:
    """Whether to colour what goes to `stream` (default stdout)."""
    choice = Color(choice or Color.AUTO)
    if choice is Color.ALWAYS:
        return True
    if choice is Color.NEVER:
        return False
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def parse_show(values: Sequence[str] | None) -> frozenset[Status] | None:
    """--show pass,skipped (repeatable, comma-separated) -> the statuses listed; None: the default."""
    if not values:
        return None
    from auditor.report.text import DEFAULT_SHOW

    shown = set(DEFAULT_SHOW)
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if name == "all":
                shown.update(Status)
                continue
            if name not in SHOWABLE:
                raise InputError(f"unknown status '{part.strip()}'", place="--show",
                                 fix="use pass, skipped (or all), comma-separated")
            shown.add(SHOWABLE[name])
    return frozenset(shown)


def view(color: Color | str | None = None, show: Sequence[str] | None = None, quiet: bool = False) -> View:
    return View(show=parse_show(show), quiet=quiet, color=use_color(color))


def emit(evaluation: Any, formats: Sequence[Any], *, output: Path | None = None, output_dir: Path | None = None,
         history: Any = None, look: View | None = None, name: str | None = None) -> list[Path]:
    """Write the report(s) (auditor.app.pipeline.report); when files were written, the summary line and each
    file on stderr (the file lines are left out with --quiet)."""
    from auditor.app.pipeline import report
    from auditor.report.text import summary_line

    look = look or View()
    written = report(evaluation, formats, output=output, output_dir=output_dir, history=history, name=name,
                     text_options=look.text_options(), color=look.color)
    if written:
        sys.stderr.write(summary_line(evaluation) + "\n")
        if not look.quiet:
            for path in written:
                sys.stderr.write(f"wrote {path}\n")
    return written


def _element_type(param: Any) -> str | None:
    """'<str>' for a parameter typed list[str] ('<list[str]>' in typer's help), else None."""
    if not hasattr(param, "display_type"):
        return None
    label = str(param.display_type(None))
    if label.startswith("<list[") and label.endswith("]>"):
        return "<" + label[len("<list["):-2].lower() + ">"
    return None


def _quiet_flag(option: Any) -> Any:
    if option is not None:
        option.metavar = ""
    return option


def tidy_help(command: Any) -> None:
    """No type on a flag's help line (`<bool>` says nothing, --help included), and a repeatable option or
    argument shows its element's type (`<str>`, not `<list[str]>`): set on every command of the tree."""
    for param in getattr(command, "params", []):
        kind = getattr(param, "param_type_name", "")
        element = _element_type(param)
        if kind == "option" and param.metavar is None:
            if getattr(param, "is_flag", False):
                param.metavar = ""
            elif element is not None:
                param.metavar = element
        elif kind == "argument" and element is not None:
            setattr(param, "display_type_rich", lambda ctx, label=element: label)  # noqa: B010
    if hasattr(command, "get_help_option"):
        get_help_option = command.get_help_option
        setattr(command, "get_help_option", lambda ctx: _quiet_flag(get_help_option(ctx)))  # noqa: B010
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


EndpointOpt = Annotated[
    str | None,
    typer.Option("--endpoint-url", metavar="<url>",
                 help="Send every AWS call to this endpoint (an emulator such as moto_server, a proxy); same as "
                 "AWS_ENDPOINT_URL."),
]


def use_endpoint(url: str | None) -> None:
    """--endpoint-url: every client this process creates goes there (botocore's AWS_ENDPOINT_URL)."""
    if url is None:
        return
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"'{url}' is not an http(s) URL", place="--endpoint-url",
                         fix="write e.g. http://127.0.0.1:5000")
    os.environ["AWS_ENDPOINT_URL"] = url


def template_note(findings: Sequence[Any]) -> str:
    """stderr: FAIL findings on templates are not in a live-account bundle; where the fix goes."""
    files = sorted({str((f.location or {}).get("file") or f.resource_id.split("#", 1)[0]) for f in findings})
    return (f"remediate: {len(findings)} FAIL finding(s) on templates ({', '.join(files)}) are not in this bundle: "
            "`--format patch` writes their fix to the templates as a unified diff (git apply)\n")
