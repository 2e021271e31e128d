"""HTML report: one self-contained file (inline CSS and JS, no network), filterable, safe with any value.

The page is rendered by jinja2 with autoescaping (reports/templates/report.html.j2). Findings travel in a
`<script type="application/json">` data island written with `tojson`, which escapes `<`, `>`, `&` and `'`,
so no value can close the script element. The script builds rows with textContent only, and a
Content-Security-Policy lets exactly that one inline script run (by its hash): no injected markup can execute.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from auditor.data import data_dir
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Status
from auditor.report.common import (
    AREAS,
    evidence_lines,
    ordered,
    rule_doc_link,
    rules_by_id,
    source_text,
    version,
    xml_text,
)
from auditor.report.history import History
from auditor.report.remediation import sh_for_finding
from auditor.snapshot import location_text


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["x"] = xml_text
    return env


@cache
def _script() -> tuple[str, str]:
    text = (data_dir("templates") / "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"sha256-{digest}"


def _finding_data(finding: Finding, with_fix: bool, history: History | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "i": finding.id,
        "r": finding.rule_id,
        "s": finding.status.value,
        "v": finding.severity.value,
        "a": finding.area,
        "x": finding.resource_id,
        "g": finding.region or "",
        "m": finding.message,
    }
    if finding.resource_name and finding.resource_name != finding.resource_id:
        data["n"] = finding.resource_name
    if finding.title:
        data["t"] = finding.title
    evidence = evidence_lines(finding)
    if evidence:
        data["e"] = evidence
    if finding.location:
        data["l"] = location_text(finding.location)
    if finding.attribution:
        data["c"] = str(finding.attribution.get("text", ""))
    if finding.waiver:
        data["w"] = f"{finding.waiver.get('reason')} (until {finding.waiver.get('expires')})"
    if history is not None:
        change = history.findings.get(finding.id)
        data["h"] = (f"{change.after} since {change.at} (was {change.before})" if change is not None
                     else f"{finding.status.value} in every report read since {history.first}")
    if with_fix and finding.status is Status.FAIL and finding.remediation:
        fix = sh_for_finding(finding)
        if fix:
            data["f"] = fix
    return data


def page_data(evaluation: Evaluation, *, with_fixes: bool = True, history: History | None = None) -> dict[str, Any]:
    rules = rules_by_id(evaluation)
    sources: dict[str, Any] = {}
    for finding in evaluation.findings:
        if finding.rule_id in sources:
            continue
        rule = rules.get(finding.rule_id)
        source = finding.source
        sources[finding.rule_id] = {
            "doc": source.document,
            "sec": source.section or "",
            "q": source.quote or "",
            "u": source.url if source.url and source.url.startswith("https://") else "",
            "d": (rule.description or "") if rule else "",
            "k": rule_doc_link(finding.rule_id),  # docs/rules.md#ID, or the configured documentation URL
        }
    return {
        "rules": sources,
        "findings": [_finding_data(f, with_fixes, history) for f in ordered(evaluation.findings)],
    }


def render(evaluation: Evaluation, *, tool_version: str | None = None, with_fixes: bool = True,
           history: History | None = None) -> str:
    """The page; with `history` (auditor.report.history.build), a "Rule history" section and, in each
    finding's details, when its status last changed."""
    script, script_hash = _script()
    by_area: dict[str, Counter[str]] = {}
    for finding in evaluation.findings:
        by_area.setdefault(finding.area, Counter())[finding.status.value] += 1
    areas = [a for a in AREAS if a in by_area] + sorted(a for a in by_area if a not in AREAS)
    totals = Counter(f.status.value for f in evaluation.findings)
    failing = Counter(f.severity.value for f in evaluation.findings if f.status in (Status.FAIL, Status.ERROR))
    template = environment().get_template("report.html.j2")
    return template.render(
        evaluation=evaluation,
        version=version(tool_version),
        statuses=[s.value for s in Status],
        severities=[s.value for s in Severity],
        areas=areas,
        by_area=by_area,
        totals=totals,
        failing=failing,
        data=page_data(evaluation, with_fixes=with_fixes, history=history),
        history=history,
        script=Markup(script),  # noqa: S704 - the shipped report.js, not data
        script_hash=script_hash,
        source_text=source_text,
        doc_link=rule_doc_link,
    )
