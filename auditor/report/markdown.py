"""Markdown for a pull-request comment or a CI job summary: summaries, failing findings, collapsed details.

Every value is escaped twice over: HTML special characters become entities (GitHub renders inline HTML) and
Markdown punctuation is backslash-escaped, so a resource name cannot add links, images, tables or markup.
Code blocks use a fence longer than any backtick run inside. The output stays under `max_chars`
(GitHub comments take 65,536 characters): findings past the limit are counted, not cut in half.
"""

from __future__ import annotations

import html
import re
from collections import Counter

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Status
from auditor.report.common import AREAS, evidence_lines, ordered, rule_doc_link, source_text, version
from auditor.report.remediation import sh_for_finding

MAX_CHARS = 60_000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#.!|~<>:])")
_ICON = {
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.PASS: "PASS",
    Status.SKIPPED: "SKIPPED",
    Status.WAIVED: "WAIVED",
}


def esc(value: object) -> str:
    """One line of inline text, safe in a table cell, a summary and a list item."""
    text = " ".join(str("" if value is None else value).split())
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    text = html.escape(text, quote=True)
    text = text.replace("&amp;", "\x00").replace("&lt;", "\x01").replace("&gt;", "\x02").replace("&quot;", "\x03")
    text = text.replace("&#x27;", "\x04")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return (
        text.replace("\x00", "&amp;")
        .replace("\x01", "&lt;")
        .replace("\x02", "&gt;")
        .replace("\x03", "&quot;")
        .replace("\x04", "&#x27;")
    )


def rule_link(rule_id: str) -> str:
    """The rule id, escaped, linked to its entry in docs/rules.md (or the configured documentation URL)."""
    return f"[{esc(rule_id)}]({rule_doc_link(rule_id)})"


def code_block(text: str, lang: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    clean = "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text)
    return f"{fence}{lang}\n{clean.rstrip()}\n{fence}"


def _details(finding: Finding) -> str:
    parts = [f"<details><summary>{esc(finding.rule_id)} on {esc(finding.resource_id)}</summary>", ""]
    parts.append(f"**{esc(finding.title)}**")
    parts.append("")
    parts.append(
        f"- Status: {finding.status.value}, severity {finding.severity.value}, region {esc(finding.region or 'global')}"
    )
    if finding.resource_name and finding.resource_name != finding.resource_id:
        parts.append(f"- Name: {esc(finding.resource_name)}")
    if finding.location:
        line = finding.location.get("line")
        at = f" line {esc(line)}" if isinstance(line, int) and line >= 1 else ""
        parts.append(f"- Location: {esc(finding.location.get('file'))}{at}")
    parts.append(f"- Message: {esc(finding.message)}")
    if finding.attribution:
        parts.append(f"- Who changed it (CloudTrail): {esc(finding.attribution.get('text'))}")
    parts.append(f"- Requirement: {esc(source_text(finding.source))}")
    parts.append(f"- Documentation: {rule_link(finding.rule_id)}")
    evidence = evidence_lines(finding)
    if evidence:
        parts.extend(["", "Observed evidence:", "", code_block("\n".join(evidence))])
    if finding.status is Status.FAIL and finding.remediation:
        fix = sh_for_finding(finding)
        if fix:
            parts.extend(["", "Remediation (AWS CLI, review before running):", "", code_block(fix, "sh")])
    parts.extend(["", "</details>", ""])
    return "\n".join(parts)


def render(evaluation: Evaluation, *, tool_version: str | None = None, max_chars: int = MAX_CHARS) -> str:
    totals = Counter(f.status for f in evaluation.findings)
    head = [
        "## ccme-audit report",
        "",
        f"Account {esc(evaluation.account or 'unknown')}, "
        f"regions {esc(', '.join(evaluation.regions) or 'none')}, "
        f"evaluated {esc(evaluation.evaluated_at)}, ccme-audit {esc(version(tool_version))}.",
        "",
        "| Status | " + " | ".join(s.value for s in Status) + " |",
        "|---|" + "---:|" * len(Status),
        "| findings | " + " | ".join(str(totals.get(s, 0)) for s in Status) + " |",
        "",
    ]
    by_area: dict[str, Counter[Status]] = {}
    for finding in evaluation.findings:
        by_area.setdefault(finding.area, Counter())[finding.status] += 1
    if by_area:
        head += ["| Area | " + " | ".join(s.value for s in Status) + " |", "|---|" + "---:|" * len(Status)]
        for area in [a for a in AREAS if a in by_area] + sorted(a for a in by_area if a not in AREAS):
            head.append(f"| {esc(area)} | " + " | ".join(str(by_area[area].get(s, 0)) for s in Status) + " |")
        head.append("")
    problems = [f for f in ordered(evaluation.findings) if f.status in (Status.FAIL, Status.ERROR)]
    if not problems:
        head.append("No failing finding: every evaluated rule passed, was skipped or is waived.")
        return "\n".join(head) + "\n"
    failing = Counter(f.severity for f in problems)
    head += [
        "Failing by severity: " + ", ".join(f"{s.value} {failing.get(s, 0)}" for s in Severity) + ".",
        "",
        f"### Failing findings ({len(problems)})",
        "",
        "| Status | Severity | Rule | Resource | Region | Message |",
        "|---|---|---|---|---|---|",
    ]
    rows = [
        f"| {_ICON[f.status]} | {f.severity.value} | {rule_link(f.rule_id)} | {esc(f.resource_id)} | "
        f"{esc(f.region or 'global')} | {esc(f.message)}"
        + (f" ({esc(f.attribution.get('text'))})" if f.attribution else "") + " |"
        for f in problems
    ]
    out = "\n".join(head) + "\n"
    tail = "\n### Details\n\n"
    shown_rows = 0
    for row in rows:
        if len(out) + len(row) + 200 > max_chars:
            break
        out += row + "\n"
        shown_rows += 1
    details_budget = max_chars - len(out) - 300
    shown_details = 0
    for finding in problems[:shown_rows]:
        block = _details(finding)
        if len(tail) + len(block) > details_budget:
            break
        tail += block
        shown_details += 1
    if shown_details:
        out += tail
    left_rows, left_details = len(problems) - shown_rows, shown_rows - shown_details
    if left_rows or left_details:
        out += (
            f"\n_{left_rows} more failing findings not listed and {left_details} listed without details, to "
            "stay within the comment size: see the HTML or JSON report._\n"
        )
    return out
