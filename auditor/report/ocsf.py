"""OCSF: a JSON array of Detection Finding events (class_uid 2004), OCSF schema version 1.5.0, cloud profile.

The layout follows what Prowler emits for its checks: one event per finding (every status, SKIPPED
included: this is a full report, unlike ASFF which Security Hub shows as findings), `status_code` the
ccme-audit status (PASS, FAIL, ERROR, SKIPPED, WAIVED), `status_detail` the message, `status_id` New, or
Suppressed for a WAIVED finding. The Detection Finding class has no `compliance` attribute (the Compliance
Finding class, 2003, has): as Prowler does, the requirement and its status go under
`unmapped.compliance`. An ERROR (evidence missing) is never a pass: `unmapped.compliance.status` is
"Not available" and `status_code` ERROR.

Every emitted event is validated in the tests against the published OCSF 1.5.0 schema (ocsf-json-schema,
offline). OCSF_VERSION pins the schema version written in metadata.version.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Status
from auditor.report.asff import partition
from auditor.report.common import (
    evidence_lines,
    help_uri,
    ordered,
    recommendation,
    source_text,
    status_detail,
    version,
)
from auditor.report.evidence import policy_evidence

OCSF_VERSION = "1.5.0"
CLASS_UID = 2004  # Detection Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE  # 200401: Detection Finding: Create
SEVERITY_ID = {Severity.INFO: 1, Severity.LOW: 2, Severity.MEDIUM: 3, Severity.HIGH: 4, Severity.CRITICAL: 5}
STATUS_NEW, STATUS_SUPPRESSED = 1, 3
COMPLIANCE = {
    Status.PASS: "Pass",
    Status.FAIL: "Fail",
    Status.ERROR: "Not available",
    Status.SKIPPED: "Not applicable",
    Status.WAIVED: "Fail (waived)",
}
ACCOUNT_TYPE_AWS = 10  # account.type_id: AWS Account
PRODUCT = {"name": "ccme-audit", "vendor_name": "ccme-audit"}  # no url_string: the project has no public site


def epoch_ms(stamp: str) -> int:
    return int(dt.datetime.fromisoformat(stamp).timestamp() * 1000)


def event(finding: Finding, *, time_ms: int, tool_version: str, account: str | None) -> dict[str, Any]:
    source = finding.source
    region = finding.region
    acct = finding.account or account
    waived = finding.status is Status.WAIVED
    desc = status_detail(finding)
    resource: dict[str, Any] = {
        "uid": finding.resource_id,
        "type": finding.resource_type,
        "cloud_partition": partition(region),
    }
    if finding.resource_name:
        resource["name"] = finding.resource_name
    if region:
        resource["region"] = region
    if finding.location and finding.location.get("file"):
        resource["data"] = {"file": str(finding.location["file"]), "line": finding.location.get("line")}
    cloud: dict[str, Any] = {"provider": "AWS"}
    if acct:
        cloud["account"] = {"uid": acct, "type_id": ACCOUNT_TYPE_AWS, "type": "AWS Account"}
    if region:
        cloud["region"] = region
    compliance: dict[str, Any] = {
        "status": COMPLIANCE[finding.status],
        "control": finding.rule_id,
        "requirements": [source_text(source)],
        "standards": [source.document],
    }
    unmapped: dict[str, Any] = {
        "compliance": compliance,
        "pack": finding.pack,
        "area": finding.area,
        "finding_id": finding.id,
        "evidence": evidence_lines(finding),
    }
    if waived:
        unmapped["waiver"] = dict(finding.waiver or {})
    remediation: dict[str, Any] = {"desc": recommendation(finding)}
    url = help_uri(source, finding.rule_id)
    if url:
        remediation["references"] = [url]
    evidences = [{"data": entry} for entry in policy_evidence(finding)]
    return {
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": TYPE_UID,
        "type_name": "Detection Finding: Create",
        "time": time_ms,
        "severity_id": SEVERITY_ID[finding.severity],
        "severity": finding.severity.value.capitalize() if finding.severity is not Severity.INFO else "Informational",
        "status_id": STATUS_SUPPRESSED if waived else STATUS_NEW,
        "status": "Suppressed" if waived else "New",
        "status_code": finding.status.value,
        "status_detail": desc,
        "message": finding.title,
        "finding_info": {
            "uid": f"ccme-audit-{finding.id}",
            "title": finding.title,
            "desc": desc,
            "types": [f"ccme-audit/{finding.pack}/{finding.area}"],
            "created_time": time_ms,
            "first_seen_time": time_ms,
            "last_seen_time": time_ms,
            **({"src_url": url} if url else {}),
            "product_uid": "ccme-audit",
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": {**PRODUCT, "version": tool_version},
            "event_code": finding.rule_id,
            "profiles": ["cloud"],
        },
        "cloud": cloud,
        "resources": [resource],
        **({"evidences": evidences} if evidences else {}),
        "remediation": remediation,
        "unmapped": unmapped,
    }


def events(evaluation: Evaluation, *, tool_version: str | None = None) -> list[dict[str, Any]]:
    time_ms = epoch_ms(evaluation.evaluated_at)
    return [event(f, time_ms=time_ms, tool_version=version(tool_version), account=evaluation.account)
            for f in ordered(evaluation.findings)]


def render(evaluation: Evaluation, *, tool_version: str | None = None) -> str:
    """A JSON array, one event a line (json's C encoder)."""
    rows = ",\n".join(json.dumps(e, default=str) for e in events(evaluation, tool_version=tool_version))
    return "[\n" + rows + ("\n" if rows else "") + "]\n"
