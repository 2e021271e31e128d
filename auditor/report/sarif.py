"""SARIF 2.1.0: rules as reportingDescriptors, FAIL / ERROR / WAIVED findings as results.

Levels: FAIL critical/high -> error, medium -> warning, low/info -> note; ERROR -> error with the property
`evidence_missing`; WAIVED -> the result with an external suppression. partialFingerprints carry the stable
finding id; IaC findings (a file and line) carry physicalLocation, live ones a logicalLocation.

GitHub code scanning wants artifact URIs relative to the repository root (uriBaseId %SRCROOT%), so a
template path is made relative to `source_root` (default: the working directory, where CI runs the gate);
a file outside it keeps only its logical location, never an absolute path. Each rule's `help` names its
anchor in docs/rules.md (generated from the rule files: python -m auditor.report.ruledoc --write); helpUri is
set only when a documentation URL is configured (CCME_AUDIT_DOCS_URL). A policy finding's violating requests
and the statements that decided them are relatedLocations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Status, finding_id
from auditor.report.common import (
    evidence_lines,
    ordered,
    rule_doc_ref,
    rule_doc_uri,
    rules_by_id,
    source_text,
    version,
)
from auditor.report.evidence import policy_evidence, request_text, statement_text

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks results by this property (CVSS-like scale).
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
REPORTED = (Status.FAIL, Status.ERROR, Status.WAIVED)


def _descriptor(rule_id: str, finding: Finding, description: str | None) -> dict[str, Any]:
    source = finding.source
    help_text = [f"Requirement: {source_text(source)}"]
    if description:
        help_text.append(description.strip())
    if finding.remediation:
        help_text.append(
            "Fix: ccme-audit remediate --format sh|cloudformation|terraform (templates: "
            + ", ".join(finding.remediation)
            + ")"
        )
    md = [f"**Requirement**: {source.document}" + (f", {source.section}" if source.section else "")]
    if source.quote:
        md.append(f"> {source.quote}")
    if source.url:
        md.append(f"Reference: <{source.url}>")
    if description:
        md.append(description.strip())
    return {
        "id": rule_id,
        "name": rule_id.title().replace("-", ""),
        "shortDescription": {"text": finding.title},
        "fullDescription": {"text": (description or finding.title).strip()},
        "help": {"text": "\n".join([*help_text, f"Documentation: {rule_doc_ref(rule_id)}"]),
                 "markdown": "\n\n".join([*md, f"Documentation: [{rule_id}]({rule_doc_ref(rule_id)})"])},
        **({"helpUri": rule_doc_uri(rule_id)} if rule_doc_uri(rule_id) else {}),
        "defaultConfiguration": {"level": _LEVEL[finding.severity]},
        "properties": {
            "severity": finding.severity.value,
            "pack": finding.pack,
            "area": finding.area,
            "resource_type": finding.resource_type,
            "security-severity": _SECURITY_SEVERITY[finding.severity],
            "tags": ["ccme-audit", finding.pack, finding.area],
        },
    }


SRCROOT = "%SRCROOT%"


def relative_uri(file: str, root: Path) -> str | None:
    """The file as a URI relative to root (percent-encoded, '/'-separated), or None when it lies outside."""
    text = _relative_path(file, root)
    if text is None or text in ("", "."):
        return None
    return quote(text, safe="/")


def _relative_path(file: str, root: Path) -> str | None:
    path = Path(file) if Path(file).is_absolute() else Path.cwd() / file
    try:
        rel = Path(os.path.normpath(path)).relative_to(Path(os.path.normpath(root.absolute())))
    except ValueError:
        return None
    return rel.as_posix() if rel.parts and rel.parts[0] != ".." else None


def _localizer(finding: Finding, root: Path) -> Callable[[str], str]:
    """Rewrites the template path, as it was passed, into its path relative to root: IaC resource ids and
    messages embed it, so the same template gives the same text and fingerprint from any checkout. A file
    outside root is named by its file name alone: no absolute path leaves the machine."""
    file = str(finding.location.get("file") or "") if finding.location else ""
    if not file:
        return lambda text: text
    rel = _relative_path(file, root)
    if rel is None:
        rel = Path(file).name if Path(file).is_absolute() or file.startswith("..") else file
    if rel == file:
        return lambda text: text
    return lambda text: text.replace(file, rel)


def _related(finding: Finding, logical: dict[str, Any], local: Callable[[str], str]) -> list[dict[str, Any]]:
    """A policy finding's violating requests, and the statements that decided each, as related locations
    (logical: the resource, and the statement inside its policy)."""
    out: list[dict[str, Any]] = []
    for entry in policy_evidence(finding):
        label = "violating request: " if "request" in entry else ""
        fields = f" (request: {request_text(entry['request'])})" if entry.get("request") else ""
        out.append({"id": len(out) + 1, "message": {"text": local(f"{label}{entry['violation']}{fields}")},
                    "logicalLocations": [logical]})
        for statement in entry.get("statements", []):
            where = {"name": f"statement {statement['number']}",
                     "fullyQualifiedName": f"{logical['fullyQualifiedName']}/policy/Statement/{statement['number']}",
                     "kind": "member"}
            out.append({"id": len(out) + 1, "message": {"text": local(f"decided by {statement_text(statement)}")},
                        "logicalLocations": [where]})
    return out


def _result(finding: Finding, index: int, root: Path) -> dict[str, Any]:
    local = _localizer(finding, root)
    resource_id = local(finding.resource_id)
    fingerprint = finding_id(finding.rule_id, resource_id, finding.region, finding.account)
    evidence = [local(line) for line in evidence_lines(finding)]
    text = local(finding.message)
    if finding.status is Status.ERROR:
        text = f"Evidence missing: {text}"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": "error" if finding.status is Status.ERROR else _LEVEL[finding.severity],
        "kind": "fail",
        "message": {"text": text},
        "partialFingerprints": {"ccmeFindingId/v1": fingerprint},
        "properties": {
            "status": finding.status.value,
            "severity": finding.severity.value,
            "resource_id": resource_id,
            "region": finding.region,
            "account": finding.account,
            "evidence": evidence,
        },
    }
    if finding.status is Status.ERROR:
        result["properties"]["evidence_missing"] = True
    if finding.attribution:
        result["properties"]["changed_by"] = str(finding.attribution.get("text", ""))
    logical = {
        "name": resource_id,
        "fullyQualifiedName": "/".join(
            p for p in (finding.account, finding.region, finding.resource_type, resource_id) if p
        ),
        "kind": "resource",
    }
    location: dict[str, Any] = {"logicalLocations": [logical]}
    file = finding.location.get("file") if finding.location else None
    uri = relative_uri(str(file), root) if file else None
    if finding.location and uri is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
        line = finding.location.get("line")
        if isinstance(line, int) and line >= 1:
            region: dict[str, Any] = {"startLine": line}
            column = finding.location.get("column")
            if isinstance(column, int) and column >= 1:
                region["startColumn"] = column
            physical["region"] = region
        location["physicalLocation"] = physical
    result["locations"] = [location]
    related = _related(finding, logical, local)
    if related:
        result["relatedLocations"] = related
        result["properties"]["policy_evidence"] = [
            {**entry, "violation": local(entry["violation"])} for entry in policy_evidence(finding)]
    if finding.status is Status.WAIVED:
        waiver = finding.waiver or {}
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{waiver.get('reason')} (expires {waiver.get('expires')})",
            }
        ]
    return result


def document(
    evaluation: Evaluation, *, tool_version: str | None = None, source_root: Path | None = None
) -> dict[str, Any]:
    rules = rules_by_id(evaluation)
    descriptors: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for finding in sorted(evaluation.findings, key=lambda f: f.rule_id):
        if finding.rule_id not in index:
            index[finding.rule_id] = len(descriptors)
            rule = rules.get(finding.rule_id)
            descriptors.append(_descriptor(finding.rule_id, finding, rule.description if rule else None))
    root = source_root if source_root is not None else Path.cwd()
    results = [_result(f, index[f.rule_id], root) for f in ordered(evaluation.findings) if f.status in REPORTED]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ccme-audit",
                        "version": version(tool_version),
                        "rules": descriptors,
                    }
                },
                "automationDetails": {"id": f"ccme-audit/{evaluation.account or 'iac'}/"},
                "invocations": [{"executionSuccessful": True, "endTimeUtc": _utc(evaluation.evaluated_at)}],
                "results": results,
                "properties": {
                    "account": evaluation.account,
                    "regions": list(evaluation.regions),
                    "summary": evaluation.summary,
                },
            }
        ],
    }


def _utc(stamp: str) -> str:
    return stamp.replace("+00:00", "Z")


def render(evaluation: Evaluation, *, tool_version: str | None = None, source_root: Path | None = None) -> str:
    doc = document(evaluation, tool_version=tool_version, source_root=source_root)
    return json.dumps(doc, indent=1, default=str) + "\n"
