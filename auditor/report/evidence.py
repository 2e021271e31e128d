"""What a resource-policy finding shows in every format: the violating request (principal, action, resource,
transport / TLS version, the condition values tried) and the statements that decided it.

All of it is data: auditor.policy's decision carries the witness request (Witness.to_json_value) and the
engine puts it in the finding's evidence (`witness`, schemas/report.json); the statements' text comes from
the policy document the finding's resource carries. The violation's words are shown as written beside it;
they are never read back. An entry without a witness (a warning about the policy as a whole, a report saved
by an older version) shows its words only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from auditor.engine.findings import Finding


def request_of(witness: Mapping[str, Any]) -> dict[str, Any]:
    """The request a witness describes, as the formats show it (empty fields left out)."""
    principal = witness.get("principal")
    principal = principal if isinstance(principal, Mapping) else {}
    context = witness.get("context")
    out: dict[str, Any] = {
        "principal": principal.get("description") or principal.get("id") or principal.get("kind"),
        "principal_kind": principal.get("kind"),
        "principal_id": principal.get("id"),
        "action": witness.get("action"),
        "resource": witness.get("resource"),
        "transport": witness.get("transport"),
        "conditions": {str(k): v for k, v in context.items()} if isinstance(context, Mapping) else None,
        "decision": witness.get("decision"),
        "alike": list(witness.get("alike") or []) or None,
    }
    return {k: v for k, v in out.items() if v not in (None, "", {})}


def _policy_document(finding: Finding, path: str | None) -> Mapping[str, Any] | None:
    attributes = (finding.context or {}).get("attributes") or {}
    document = attributes.get(path or "policy") if isinstance(attributes, Mapping) else None
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    return document if isinstance(document, Mapping) else None


def statements_of(witness: Mapping[str, Any], document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The statements that decided the witness (numbered from 1, with their Sid), with their text."""
    out: list[dict[str, Any]] = []
    raw = document.get("Statement") if document else None
    listed = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    for ref in witness.get("deciding_statements") or []:
        if not isinstance(ref, Mapping) or not isinstance(ref.get("number"), int):
            continue
        number = ref["number"]
        item: dict[str, Any] = {"number": number}
        if ref.get("sid"):
            item["sid"] = ref["sid"]
        if 1 <= number <= len(listed):
            item["statement"] = listed[number - 1]
        if item not in out:
            out.append(item)
    return out


def policy_evidence(finding: Finding) -> list[dict[str, Any]]:
    """One entry per violation of a policy requirement: the requirement, the words, the request, the statements."""
    out = []
    for item in finding.evidence:
        violation = item.get("violation")
        if not isinstance(violation, str):
            continue
        entry: dict[str, Any] = {"requirement": item.get("check"), "violation": violation}
        witness = item.get("witness")
        if isinstance(witness, Mapping):
            entry["request"] = request_of(witness)
            statements = statements_of(witness, _policy_document(finding, item.get("path")))
            if statements:
                entry["statements"] = statements
        out.append(entry)
    return out


def statement_text(statement: Mapping[str, Any]) -> str:
    """'statement 2 ("Sid"): {...}' on one line."""
    head = f"statement {statement['number']}" + (f' ("{statement["sid"]}")' if statement.get("sid") else "")
    if "statement" in statement:
        return head + ": " + json.dumps(statement["statement"], sort_keys=True, default=str)
    return head


def request_text(request: Mapping[str, Any]) -> str:
    """The request's fields on one line: 'principal ...; action ...; resource ...; transport ...; ...'."""
    parts = [f"{name} {request[name]}" for name in ("principal", "action", "resource", "transport", "decision")
             if request.get(name)]
    conditions = request.get("conditions")
    if isinstance(conditions, Mapping) and conditions:
        parts.append("conditions " + ", ".join(
            f"{k}={v[0] if isinstance(v, list) and len(v) == 1 else v}" for k, v in conditions.items()))
    return "; ".join(parts)


def lines(entry: Mapping[str, Any]) -> list[str]:
    """The entry as text lines: the violation, the violating request's fields, then each deciding statement."""
    label = "violating request: " if "request" in entry else ""
    out = [f"{entry.get('requirement')}: {label}{entry['violation']}"]
    if entry.get("request"):
        out.append(f"  request: {request_text(entry['request'])}")
    out.extend(f"  decided by {statement_text(s)}" for s in entry.get("statements", []))
    return out
