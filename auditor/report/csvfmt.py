"""CSV: one row per finding, the columns of schemas/report-csv.json (a Frictionless Table Schema).

RFC 4180: comma-separated, CRLF line ends, a header row, fields holding a comma, a quote or a line break
are quoted and their quotes doubled. UTF-8 without a byte-order mark.

Safe to open in a spreadsheet: a cell that would start with a character a spreadsheet reads as the start
of a formula (= + - @, their full-width forms, tab, CR, LF) is prefixed with a single quote, so
`=HYPERLINK(...)` in a bucket policy or a resource name shows as text and is never evaluated (OWASP,
"CSV Injection"). The neutralised cell keeps the whole original value after the quote. Control
characters other than tab, CR and LF (ESC and CSI included: `cat report.csv` must not drive the terminal)
become U+FFFD.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding
from auditor.report.common import evidence_lines, help_uri, ordered, rule_doc_ref, source_text

COLUMNS = (
    "finding_id",
    "rule_id",
    "status",
    "severity",
    "title",
    "pack",
    "area",
    "account",
    "region",
    "resource_type",
    "resource_id",
    "resource_name",
    "file",
    "line",
    "message",
    "evidence",
    "source",
    "remediation",
    "waiver",
    "help_url",
)
FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def neutralise(value: str) -> str:
    """A cell a spreadsheet shows as text (a leading formula character gets a quote in front) and a
    terminal prints as text (control characters other than tab, CR, LF become U+FFFD)."""
    value = _CONTROL.sub("\ufffd", value)
    if value and value[0] in FORMULA_START:
        return "'" + value
    return value


def row(finding: Finding) -> dict[str, str]:
    location = finding.location or {}
    waiver = finding.waiver or {}
    line = location.get("line")
    cells = {
        "finding_id": finding.id,
        "rule_id": finding.rule_id,
        "status": finding.status.value,
        "severity": finding.severity.value,
        "title": finding.title,
        "pack": finding.pack,
        "area": finding.area,
        "account": finding.account or "",
        "region": finding.region or "",
        "resource_type": finding.resource_type,
        "resource_id": finding.resource_id,
        "resource_name": finding.resource_name or "",
        "file": str(location.get("file") or ""),
        "line": str(line) if isinstance(line, int) and line >= 1 else "",
        "message": finding.message,
        "evidence": json.dumps(evidence_lines(finding)) if finding.evidence else "",
        "source": source_text(finding.source),
        "remediation": " ".join(finding.remediation),
        "waiver": f"{waiver.get('reason')} (expires {waiver.get('expires')})" if waiver else "",
        "help_url": help_uri(finding.source, finding.rule_id) or rule_doc_ref(finding.rule_id),
    }
    return {name: neutralise(value) for name, value in cells.items()}


def rows(findings: Iterable[Finding]) -> list[dict[str, str]]:
    return [row(f) for f in ordered(findings)]


def render(evaluation: Evaluation, *, tool_version: str | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    writer.writerows(rows(evaluation.findings))
    return out.getvalue()
