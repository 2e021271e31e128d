"""Findings: frozen results with deterministic ids."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"
    WAIVED = "WAIVED"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


@dataclass(frozen=True)
class Source:
    """Where a requirement comes from: a seed file and section, or a public reference."""

    document: str
    section: str | None = None
    quote: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("document", self.document), ("section", self.section),
                                  ("quote", self.quote), ("url", self.url)) if v is not None}


def finding_id(rule_id: str, resource_id: str, region: str | None, account: str | None) -> str:
    digest = hashlib.sha256(f"{rule_id}\0{resource_id}\0{region or ''}\0{account or ''}".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    rule_id: str
    title: str
    pack: str
    area: str
    resource_type: str
    resource_id: str
    status: Status
    severity: Severity
    message: str
    source: Source
    evidence: tuple[Mapping[str, Any], ...] = ()
    region: str | None = None
    account: str | None = None
    resource_name: str | None = None
    location: Mapping[str, Any] | None = None
    remediation: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    waiver: Mapping[str, Any] | None = None
    attribution: Mapping[str, Any] | None = None  # who changed it (CloudTrail), on a PASS -> FAIL change

    @property
    def id(self) -> str:
        return finding_id(self.rule_id, self.resource_id, self.region, self.account)

    def to_json(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "rule_id": self.rule_id,
            "title": self.title,
            "pack": self.pack,
            "area": self.area,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
            "region": self.region,
            "account": self.account,
            "status": self.status.value,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": [dict(e) for e in self.evidence],
            "source": self.source.to_json(),
            "location": dict(self.location) if self.location else None,
            "remediation": list(self.remediation),
            "waiver": dict(self.waiver) if self.waiver else None,
            "context": dict(self.context),
        }
        if self.attribution is not None:
            data["attribution"] = dict(self.attribution)
        return data


def summarize(findings: tuple[Finding, ...] | list[Finding]) -> dict[str, Any]:
    by_status = Counter(f.status.value for f in findings)
    by_severity: Counter[str] = Counter(
        f.severity.value for f in findings if f.status in (Status.FAIL, Status.ERROR)
    )
    by_area: dict[str, Counter[str]] = {}
    for f in findings:
        by_area.setdefault(f.area, Counter())[f.status.value] += 1
    return {
        "total": len(findings),
        "by_status": {s.value: by_status.get(s.value, 0) for s in Status},
        "failing_by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
        "by_area": {area: {s.value: c.get(s.value, 0) for s in Status} for area, c in sorted(by_area.items())},
    }


def failing(findings: tuple[Finding, ...] | list[Finding], threshold: Severity) -> list[Finding]:
    """FAIL and ERROR findings at or above the threshold (ERROR fails closed)."""
    return [f for f in findings if f.status in (Status.FAIL, Status.ERROR) and f.severity.rank >= threshold.rank]
