"""What a resource-policy finding shows in every format: the violating request (principal, action, resource,
transport / TLS version, the condition keys tried) and the statements that decided it, read back from the
words auditor.policy writes ("GetObject on arn:... over TLS 1.0 (...) by anonymous principal is not denied
(...)") and from the policy document the finding's resource carries. A violation this module cannot read is
still shown as written: nothing is dropped, the structured fields are only added."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from auditor.engine.findings import Finding

_REQUEST = re.compile(
    r"^(?P<action>\S+) on (?P<resource>\S+)"
    r"(?: over (?P<transport>plain HTTP|TLS [0-9.]+)(?: \((?P<transport_keys>[^)]*)\))?)?"
    r" by (?P<principal>.+?)"
    r"(?: with (?P<conditions>.+?))?"
    r" is (?P<decision>not denied|not allowed|allowed|denied)\b"
)
_STATEMENT = re.compile(r'statement (\d+)(?: \("((?:[^"\\]|\\.)*)"\))?')


def request_of(violation: str) -> dict[str, str] | None:
    """The request a violation line describes (None when the line is not a request's)."""
    match = _REQUEST.match(violation)
    if match is None:
        return None
    out = {k: v for k, v in match.groupdict().items() if v}
    if "transport" not in out and "aws:SecureTransport=false" in (out.get("conditions") or ""):
        out["transport"] = "plain HTTP"
    return out


def _policy_document(finding: Finding, path: str | None) -> Mapping[str, Any] | None:
    attributes = (finding.context or {}).get("attributes") or {}
    document = attributes.get(path or "policy") if isinstance(attributes, Mapping) else None
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    return document if isinstance(document, Mapping) else None


def statements_of(violation: str, document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The statements a violation names ("statement 2 (\"Sid\")", numbered from 1), with their text."""
    out: list[dict[str, Any]] = []
    raw = document.get("Statement") if document else None
    listed = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    for number_text, sid in _STATEMENT.findall(violation):
        number = int(number_text)
        item: dict[str, Any] = {"number": number}
        if sid:
            item["sid"] = sid
        if 1 <= number <= len(listed):
            item["statement"] = listed[number - 1]
        if item not in out:
            out.append(item)
    return out


def policy_evidence(finding: Finding) -> list[dict[str, Any]]:
    """One entry per violation of a policy requirement: the requirement, the text, the request, the statements."""
    out = []
    for item in finding.evidence:
        violation = item.get("violation")
        if not isinstance(violation, str):
            continue
        entry: dict[str, Any] = {"requirement": item.get("check"), "violation": violation}
        request = request_of(violation)
        if request is not None:
            entry["request"] = request
        statements = statements_of(violation, _policy_document(finding, item.get("path")))
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


def lines(entry: Mapping[str, Any]) -> list[str]:
    """The entry as text lines: the violating request, then each deciding statement."""
    label = "violating request: " if "request" in entry else ""
    out = [f"{entry.get('requirement')}: {label}{entry['violation']}"]
    out.extend(f"  decided by {statement_text(s)}" for s in entry.get("statements", []))
    return out
