"""What changed between two JSON reports: new failures, fixed findings, new errors.

Findings are matched by their deterministic id (rule, resource, region, account). A FAIL that was
not a FAIL is a new failure; an ERROR that was not an ERROR is a new error; a FAIL or ERROR that is
now PASS, WAIVED or SKIPPED, or whose resource is no longer reported, is fixed. Nothing else is a
change (a PASS that stays a PASS, a FAIL that stays a FAIL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

BAD = ("FAIL", "ERROR")
GONE = "ABSENT"


@dataclass(frozen=True)
class Change:
    kind: str  # new-failure | fixed | new-error
    rule_id: str
    resource_id: str
    region: str | None
    account: str | None
    severity: str
    before: str  # the previous status, or ABSENT
    after: str  # the current status, or ABSENT
    message: str
    attribution: str | None = None  # who changed it (CloudTrail), on a PASS -> FAIL change

    def line(self) -> str:
        where = f"{self.region or 'global'}, account {self.account or '?'}"
        text = (f"{self.rule_id} | {self.resource_id} | {where} | {self.severity} | "
                f"{self.before} -> {self.after} | {' '.join(self.message.split())[:300]}")
        if self.attribution:
            text += f" | {' '.join(self.attribution.split())[:300]}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "rule_id": self.rule_id, "resource_id": self.resource_id, "region": self.region,
                "account": self.account, "severity": self.severity, "before": self.before, "after": self.after,
                "message": self.message, **({"attribution": self.attribution} if self.attribution else {})}


@dataclass(frozen=True)
class Changes:
    new_failures: tuple[Change, ...]
    fixed: tuple[Change, ...]
    new_errors: tuple[Change, ...]
    first_run: bool

    @property
    def empty(self) -> bool:
        return not (self.new_failures or self.fixed or self.new_errors)

    def counts(self) -> dict[str, int]:
        return {"new_failures": len(self.new_failures), "fixed": len(self.fixed), "new_errors": len(self.new_errors)}


def judged(finding: Mapping[str, Any]) -> Mapping[str, Any]:
    """A finding as it was judged: one a baseline held (WAIVED "in the baseline", from --baseline or --only-new)
    keeps the FAIL or ERROR it was, so that a report written under a baseline compares as the next previous."""
    waiver = finding.get("waiver")
    if (finding.get("status") == "WAIVED" and isinstance(waiver, Mapping) and waiver.get("kind") == "baseline"
            and waiver.get("baseline_status") in BAD):
        return {**finding, "status": waiver["baseline_status"]}
    return finding


def _index(findings: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(f["id"]): judged(f) for f in findings}


def _change(kind: str, current: Mapping[str, Any] | None, previous: Mapping[str, Any] | None) -> Change:
    ref = current if current is not None else previous
    assert ref is not None
    return Change(
        kind=kind,
        rule_id=str(ref["rule_id"]),
        resource_id=str(ref["resource_id"]),
        region=ref.get("region"),
        account=ref.get("account"),
        severity=str(ref.get("severity", "")),
        before=str(previous["status"]) if previous is not None else GONE,
        after=str(current["status"]) if current is not None else GONE,
        message=str(ref.get("message", "")),
        attribution=_attribution_text(current),
    )


def _attribution_text(finding: Mapping[str, Any] | None) -> str | None:
    attribution = finding.get("attribution") if finding is not None else None
    return str(attribution.get("text")) if isinstance(attribution, Mapping) and attribution.get("text") else None


def compare(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> Changes:
    """Compare a previous JSON report (None on the first run) with the current one."""
    before = _index(previous.get("findings", ())) if previous is not None else {}
    after = _index(current.get("findings", ()))
    new_failures: list[Change] = []
    new_errors: list[Change] = []
    fixed: list[Change] = []
    for fid, finding in after.items():
        old = before.get(fid)
        old_status = old["status"] if old is not None else GONE
        status = finding["status"]
        if status == "FAIL" and old_status != "FAIL":
            new_failures.append(_change("new-failure", finding, old))
        elif status == "ERROR" and old_status != "ERROR":
            new_errors.append(_change("new-error", finding, old))
        elif status not in BAD and old_status in BAD:
            fixed.append(_change("fixed", finding, old))
    for fid, old in before.items():
        if fid not in after and old["status"] in BAD:
            fixed.append(_change("fixed", None, old))

    def key(c: Change) -> tuple[str, str, str, str]:
        return (c.rule_id, c.account or "", c.region or "", c.resource_id)

    return Changes(new_failures=tuple(sorted(new_failures, key=key)), fixed=tuple(sorted(fixed, key=key)),
                   new_errors=tuple(sorted(new_errors, key=key)), first_run=previous is None)


@dataclass(frozen=True)
class AccountChanges:
    """What changed in each account of a multi-account scan: the previous report is matched per account by the
    account id its findings carry. An account the previous report does not hold is a first run for that account;
    an account it holds that this run did not scan is not compared (its findings are not "fixed")."""

    accounts: tuple[tuple[str, Changes], ...]
    not_scanned: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        total = {"new_failures": 0, "fixed": 0, "new_errors": 0}
        for _, changes in self.accounts:
            for key, value in changes.counts().items():
                total[key] += value
        return total


def _by_account(findings: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for finding in findings:
        out.setdefault(str(finding.get("account") or ""), []).append(finding)
    return out


def compare_accounts(previous: Mapping[str, Any], current: Mapping[str, Any],
                     accounts: Iterable[str]) -> AccountChanges:
    """Compare per account: `accounts` are the accounts this run scanned (each gets its changes, in order)."""
    before = _by_account(previous.get("findings", ()))
    after = _by_account(current.get("findings", ()))
    scanned = list(dict.fromkeys(accounts))
    out: list[tuple[str, Changes]] = []
    for account in scanned:
        old = {"findings": before[account]} if account in before else None
        out.append((account, compare(old, {"findings": after.get(account, [])})))
    not_scanned = tuple(sorted(a for a in before if a and a not in scanned))
    return AccountChanges(tuple(out), not_scanned)


SUBJECT_LIMIT = 100  # SNS subjects: at most 100 ASCII characters
MESSAGE_LIMIT = 240_000  # SNS messages: at most 256 KB


def subject(changes: Changes, account: str | None, scope: str) -> str:
    counts = changes.counts()
    text = (f"ccme-audit {account or '?'} {scope}: {counts['new_failures']} new FAIL, "
            f"{counts['new_errors']} new ERROR, {counts['fixed']} fixed")
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return text[:SUBJECT_LIMIT]


def message(changes: Changes, *, account: str | None, scope: str, report_url: str | None,
            note: str | None = None) -> str:
    """The notification body: one section per kind, one line per change (rule | resource | where | ...)."""
    head = [f"ccme-audit: account {account or '?'}, {scope}"]
    if note:
        head.append(f"note: {note}; every FAIL and ERROR is listed as new")
    elif changes.first_run:
        head.append("first run: no previous report to compare with; every FAIL and ERROR is listed as new")
    if report_url:
        head.append(f"report: {report_url}")
    lines = [*head, ""]
    for title, items in (("NEW FAILURES", changes.new_failures), ("NEW ERRORS", changes.new_errors),
                         ("FIXED", changes.fixed)):
        lines.append(f"{title} ({len(items)})")
        lines.extend(f"  {item.line()}" for item in items)
        lines.append("")
    text = "\n".join(lines)
    if len(text.encode("utf-8")) > MESSAGE_LIMIT:
        cut = text.encode("utf-8")[:MESSAGE_LIMIT].decode("utf-8", "ignore")
        text = cut[: cut.rfind("\n")] + "\n... (truncated: see the report in S3)\n"
    return text
