"""Formatters behind one interface, chosen by the Format enum.

Each formatter module exposes `render(evaluation, **options) -> str` (option `tool_version` pins the
version printed, for golden files); `EXTENSIONS` names the file each format is written to under --output-dir.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from auditor.engine.evaluate import Evaluation
from auditor.errors import InputError
from auditor.fileio import write_text_atomic


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"
    JUNIT = "junit"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    ASFF = "asff"
    OCSF = "ocsf"
    CSV = "csv"


EXTENSIONS: dict[Format, str] = {
    Format.TEXT: "report.txt",
    Format.JSON: "report.json",
    Format.HTML: "report.html",
    Format.JUNIT: "report.junit.xml",
    Format.SARIF: "report.sarif",
    Format.MARKDOWN: "report.md",
    Format.ASFF: "report.asff.json",
    Format.OCSF: "report.ocsf.json",
    Format.CSV: "report.csv",
}


def formatter(fmt: Format) -> Callable[..., str]:
    from auditor.report import asff, csvfmt, html, jsonfmt, junit, markdown, ocsf, sarif, text

    match fmt:
        case Format.TEXT:
            return text.render
        case Format.JSON:
            return jsonfmt.render
        case Format.HTML:
            return html.render
        case Format.JUNIT:
            return junit.render
        case Format.SARIF:
            return sarif.render
        case Format.MARKDOWN:
            return markdown.render
        case Format.ASFF:
            return asff.render
        case Format.OCSF:
            return ocsf.render
        case Format.CSV:
            return csvfmt.render


def parse_formats(names: Sequence[str]) -> list[Format]:
    out: list[Format] = []
    for name in names:
        for part in name.split(","):
            try:
                fmt = Format(part.strip())
            except ValueError:
                raise InputError(
                    f"unknown format '{part}'",
                    place="--format",
                    fix=f"use one of: {', '.join(f.value for f in Format)}",
                ) from None
            if fmt not in out:
                out.append(fmt)
    return out


def render(evaluation: Evaluation, fmt: Format, *, color: bool = False, tool_version: str | None = None,
           history: Any = None, text_options: Mapping[str, Any] | None = None) -> str:
    """`history` (auditor.report.history.History) adds the rule history to the HTML report; `text_options`
    (auditor.report.text.render's `show`, `quiet`) shape the text report."""
    if fmt is Format.HTML and history is not None:
        from auditor.report import html

        return html.render(evaluation, tool_version=tool_version, history=history)
    if fmt is Format.TEXT:
        from auditor.report import text

        return text.render(evaluation, color=color, **(text_options or {}))
    return formatter(fmt)(evaluation, tool_version=tool_version)


def write_reports(
    evaluation: Evaluation,
    formats: Sequence[Format],
    *,
    output: Path | None = None,
    output_dir: Path | None = None,
    history: Any = None,
    name: str | None = None,
    text_options: Mapping[str, Any] | None = None,
    color: bool | None = None,
) -> list[Path]:
    """Write each format: one format to --output (or stdout), several into --output-dir (as `report.<ext>`, or
    `name` expanded by auditor.report.names: {account}, {date}, {time}, {regions}). `color`: colour the text on
    stdout (None: when stdout is a terminal and NO_COLOR is unset)."""
    if output is not None and len(formats) > 1:
        raise InputError(
            "--output takes one format", place="--output", fix="use --output-dir with several --format values"
        )
    if output is not None and output_dir is not None:
        raise InputError(
            "--output and --output-dir exclude each other", place="--output",
            fix="write one format to --output FILE, or every --format into --output-dir DIR",
        )
    written: list[Path] = []
    if output_dir is not None:
        # Every format is rendered before any is written: a format that cannot be made (bad input, exit 2)
        # leaves no other report behind.
        stem = "report"
        if name is not None:
            from auditor.report.names import file_stem

            stem = file_stem(name, evaluation)
        texts = [(Path(output_dir) / (stem + EXTENSIONS[fmt].removeprefix("report")),
                  render(evaluation, fmt, history=history, text_options=text_options)) for fmt in formats]
        for path, text in texts:
            write_text_atomic(path, text)
            written.append(path)
        return written
    fmt = formats[0] if formats else Format.TEXT
    if output is None:
        if color is None:
            color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write(render(evaluation, fmt, color=color, history=history, text_options=text_options))
    else:
        write_text_atomic(output, render(evaluation, fmt, history=history, text_options=text_options))
        written.append(output)
    return written
