"""JUnit XML (the layout Jenkins and GitLab read): one testcase per rule and resource.

classname = rule id, name = resource id + region; FAIL is a <failure> with the message and evidence,
ERROR an <error> (evidence missing), SKIPPED and WAIVED are <skipped>. Rendered from
reports/templates/junit.xml.j2 with autoescaping; characters XML 1.0 cannot carry are replaced.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Status
from auditor.report.common import evidence_lines, help_uri, resource_label, rule_doc_ref, source_text, version
from auditor.report.html import environment
from auditor.snapshot import location_text


def _body(finding: Finding) -> str:
    lines = [f"{finding.severity.value}: {finding.title}", f"resource: {resource_label(finding)}"]
    if finding.resource_name and finding.resource_name != finding.resource_id:
        lines.append(f"name: {finding.resource_name}")
    if finding.location:
        lines.append(f"location: {location_text(finding.location)}")
    lines.append(f"message: {finding.message}")
    if finding.attribution:
        lines.append(f"changed: {finding.attribution.get('text')}")
    evidence = evidence_lines(finding)
    if evidence:
        lines.append("evidence:")
        lines.extend(f"  - {line}" for line in evidence)
    lines.append(f"requirement: {source_text(finding.source)}")
    lines.append(f"documentation: {help_uri(finding.source, finding.rule_id) or rule_doc_ref(finding.rule_id)}")
    if finding.remediation:
        lines.append(f"remediation: ccme-audit remediate (templates {', '.join(finding.remediation)})")
    return "\n".join(lines)


def _case(finding: Finding) -> dict[str, Any]:
    case: dict[str, Any] = {"classname": finding.rule_id, "name": resource_label(finding), "kind": None}
    match finding.status:
        case Status.FAIL:
            case.update(kind="failure", type=finding.severity.value, message=finding.message, body=_body(finding))
        case Status.ERROR:
            case.update(kind="error", type="evidence-missing", message=finding.message, body=_body(finding))
        case Status.SKIPPED:
            case.update(kind="skipped", message=finding.message)
        case Status.WAIVED:
            waiver = finding.waiver or {}
            case.update(
                kind="skipped",
                message=f"waived until {waiver.get('expires')}: {waiver.get('reason')} ({finding.message})",
            )
        case Status.PASS:
            pass
    return case


def render(evaluation: Evaluation, *, tool_version: str | None = None) -> str:
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in evaluation.findings:
        groups[(finding.pack, finding.area)].append(finding)
    suites: list[dict[str, Any]] = []
    for (pack, area), findings in sorted(groups.items()):
        findings.sort(key=lambda f: (f.rule_id, f.region or "", f.resource_id))
        suites.append(
            {
                "name": f"{pack}.{area}",
                "pack": pack,
                "tests": len(findings),
                "failures": sum(f.status is Status.FAIL for f in findings),
                "errors": sum(f.status is Status.ERROR for f in findings),
                "skipped": sum(f.status in (Status.SKIPPED, Status.WAIVED) for f in findings),
                "cases": [_case(f) for f in findings],
            }
        )
    total = {key: sum(s[key] for s in suites) for key in ("tests", "failures", "errors")}
    return (
        environment()
        .get_template("junit.xml.j2")
        .render(
            suites=suites,
            total=total,
            timestamp=evaluation.evaluated_at,
            account=evaluation.account or "",
            regions=",".join(evaluation.regions),
            version=version(tool_version),
        )
    )
