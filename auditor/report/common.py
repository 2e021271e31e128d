"""Shared pieces of the formatters: ordering, rule lookup, and reading a saved JSON report back."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema

from auditor import __version__
from auditor.data import data_dir
from auditor.engine.evaluate import Evaluation, retry_waits
from auditor.engine.findings import Finding, Severity, Source, Status
from auditor.engine.rules import Rule
from auditor.errors import InputError
from auditor.fileio import parse_json, read_text

AREAS = ("kms", "s3", "network", "services", "os", "packages", "provisioner")
STATUS_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WAIVED: 2, Status.SKIPPED: 3, Status.PASS: 4}
# There is no canonical public site for the rule documentation: links to it are made only when a base URL is
# configured (CCME_AUDIT_DOCS_URL, e.g. https://git.example.org/ccme-audit/blob/main/docs/rules.md); otherwise
# the formats that can name a file point at docs/rules.md relatively (RULES_DOC).
DOCS_URL_ENV = "CCME_AUDIT_DOCS_URL"
RULES_DOC = "docs/rules.md"


_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """Text XML 1.0 can carry (escaping is autoescape's job): other characters become U+FFFD."""
    return _INVALID_XML.sub("\ufffd", "" if value is None else str(value))


def version(tool_version: str | None) -> str:
    return tool_version or __version__


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Most urgent first: FAIL, ERROR, then by severity, rule and resource."""
    return sorted(
        findings,
        key=lambda f: (STATUS_ORDER[f.status], -f.severity.rank, f.rule_id, f.region or "", f.resource_id),
    )


def rules_by_id(evaluation: Evaluation) -> dict[str, Rule]:
    return {rule.id: rule for rule in evaluation.rules}


def docs_base() -> str | None:
    """The configured documentation base URL (CCME_AUDIT_DOCS_URL), or None."""
    base = os.environ.get(DOCS_URL_ENV, "").strip()
    return base if base.startswith(("https://", "http://")) else None


def rule_doc_uri(rule_id: str) -> str | None:
    """The rule's entry in the documentation (anchor = the rule id), when a base URL is configured."""
    base = docs_base()
    return f"{base}#{rule_id}" if base else None


def rule_doc_ref(rule_id: str) -> str:
    """Where the rule is documented: its URL when configured, else docs/rules.md#ID (relative to the repo)."""
    return rule_doc_uri(rule_id) or f"{RULES_DOC}#{rule_id}"


def rule_doc_link(rule_id: str) -> str:
    """rule_doc_ref as a link target: percent-encoded (no space, quote, bracket or parenthesis survives), so it
    can sit in a Markdown link or an href. docs/rules.md's anchors are the rule ids (auditor.report.ruledoc)."""
    base = docs_base()
    head = quote(base, safe=":/?=&%~.-_+,;@") if base else RULES_DOC
    return f"{head}#{quote(rule_id, safe='-_.~')}"


def help_uri(source: Source, rule_id: str) -> str | None:
    """A URL for the rule: its public source reference, else the configured documentation, else None."""
    if source.url and source.url.startswith("https://"):
        return source.url
    return rule_doc_uri(rule_id)


def source_text(source: Source) -> str:
    parts = [source.document]
    if source.section:
        parts.append(source.section)
    text = ", ".join(parts)
    if source.quote:
        text += f': "{source.quote}"'
    if source.url:
        text += f" ({source.url})"
    return text


def evidence_lines(finding: Finding) -> list[str]:
    """The evidence as text lines: a policy requirement's violating request and the statements that decided it
    (auditor.report.evidence), any other check's expected and observed values."""
    from auditor.report import evidence

    lines = []
    for item in finding.evidence:
        check = item.get("check")
        if isinstance(item.get("violation"), str):
            for entry in evidence.policy_evidence(replace(finding, evidence=(item,))):
                lines.extend(evidence.lines(entry))
        elif check is not None:
            lines.append(f"expected {check}, observed {json.dumps(item.get('observed'), default=str)}")
        else:
            lines.append(json.dumps(dict(item), default=str, sort_keys=True))
    return lines


def status_detail(finding: Finding) -> str:
    """The finding's message; an ERROR says the check could not be made (ASFF, OCSF)."""
    if finding.status is Status.ERROR:
        return f"Evidence missing (the check could not be made, not a pass): {finding.message}"
    return finding.message


def recommendation(finding: Finding) -> str:
    """What to do about the finding, in one sentence (ASFF Remediation, OCSF remediation.desc)."""
    if finding.remediation:
        return ("Run `ccme-audit remediate report.json` and review the bundle (templates: "
                + ", ".join(finding.remediation) + ").")
    return f"Bring the resource in line with the requirement: {finding.title}."


def resource_label(finding: Finding) -> str:
    region = finding.region or "global"
    return f"{finding.resource_id} ({region})"


# --------------------------------------------------------------------------- a saved JSON report, read back
@cache
def _report_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((data_dir("schemas") / "report.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _pointer(path: Iterable[Any]) -> str:
    return "/" + "/".join(str(p) for p in path)


def evaluation_from_report(data: Any, *, file: str) -> Evaluation:
    """Rebuild an Evaluation from a JSON report (schemas/report.json), to render it in another format."""
    error = jsonschema.exceptions.best_match(_report_validator().iter_errors(data))
    if error is not None:
        raise InputError(
            error.message,
            file=file,
            place=_pointer(error.absolute_path),
            fix="pass a report written by ccme-audit --format json",
        )
    rules = []
    for item in data["rules"]:
        rules.append(
            Rule(
                id=item["id"],
                title=item["title"],
                severity=Severity(item["severity"]),
                source=_source(item["source"]),
                resource_type=item["resource_type"],
                pack=item["pack"],
                area=item["area"],
                file=file,
                assertion={},
                description=item.get("description"),
            )
        )
    findings = []
    for item in data["findings"]:
        findings.append(
            Finding(
                rule_id=item["rule_id"],
                title=item["title"],
                pack=item["pack"],
                area=item["area"],
                resource_type=item["resource_type"],
                resource_id=item["resource_id"],
                status=Status(item["status"]),
                severity=Severity(item["severity"]),
                message=item["message"],
                source=_source(item["source"]),
                evidence=tuple(item.get("evidence") or ()),
                region=item.get("region"),
                account=item.get("account"),
                resource_name=item.get("resource_name"),
                location=item.get("location"),
                remediation=tuple(item.get("remediation") or ()),
                context=item.get("context") or {},
                waiver=item.get("waiver"),
                attribution=item.get("attribution"),
            )
        )
    return Evaluation(
        findings=tuple(findings),
        account=data.get("account"),
        regions=tuple(data["regions"]),
        rules=tuple(rules),
        evaluated_at=data["evaluated_at"],
        retries=retry_waits(data.get("retries")),
    )


def _source(data: Mapping[str, Any]) -> Source:
    return Source(document=data["document"], section=data.get("section"), quote=data.get("quote"), url=data.get("url"))


def load_report(path: Path) -> Evaluation:
    return evaluation_from_report(parse_json(read_text(Path(path)), file=str(path)), file=str(path))
