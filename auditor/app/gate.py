"""The gate over an evaluation, as a pipeline runs in CI or on a schedule: which rules count (--check, --skip-check,
--severity), which findings are already known (a baseline, keyed on the stable finding ids), and what the exit
code is (--fail-on for FAIL, --errors-fail-on for ERROR, --soft-fail).

- Selection is not a waiver: a rule left out by --check / --skip-check / --severity is not evaluated or shown
  (a waiver keeps a reason and an expiry and shows as WAIVED).
- A baseline records the FAIL and ERROR findings of one run by id (rule, resource, region, account; a template's
  path taken relative to the working directory, as in the SARIF fingerprint ccmeFindingId/v1). Given back,
  a finding it holds is WAIVED with the reason "in the baseline" (so every format shows it, and it does not
  count for the exit code); a FAIL or ERROR it does not hold is new and counts; an entry that matches no failing
  finding any more is reported as fixed (never an error). A previous JSON report is a baseline too: its FAIL and
  ERROR findings.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Status, finding_id
from auditor.engine.rules import Rule
from auditor.errors import InputError
from auditor.fileio import load_document

BASELINE_FORMAT = "ccme-audit-baseline/1"
_FAILING = (Status.FAIL, Status.ERROR)


# -- selection ---------------------------------------------------------------------------------------------------


def _patterns(values: Iterable[str] | None) -> list[str]:
    """Repeatable or comma-separated patterns, upper-cased (rule ids are)."""
    out: list[str] = []
    for value in values or []:
        out.extend(p.strip().upper() for p in str(value).split(",") if p.strip())
    return out


def parse_severities(values: Iterable[str] | None) -> frozenset[Severity] | None:
    """--severity critical,high (repeatable): the severities shown and counted; None: all."""
    names = [p.lower() for p in _patterns(values)]
    if not names:
        return None
    known = {s.value for s in Severity}
    for name in names:
        if name not in known:
            raise InputError(f"unknown severity '{name}'", place="--severity",
                             fix=f"use a comma-separated list of: {', '.join(s.value for s in Severity)}")
    return frozenset(Severity(n) for n in names)


@dataclass(frozen=True)
class Selection:
    """Which rules a run evaluates: ids or wildcards (`CCME-S3-*`) to keep and to skip, and severities."""

    check: tuple[str, ...] = ()
    skip_check: tuple[str, ...] = ()
    severities: frozenset[Severity] | None = None

    @classmethod
    def build(cls, check: Iterable[str] | None, skip_check: Iterable[str] | None,
              severity: Iterable[str] | None, config: Mapping[str, Any] | None = None) -> Selection:
        """Flags win over the configuration's `check` / `skip_check` / `severity` keys (each replaces)."""
        config = config or {}
        return cls(
            check=tuple(_patterns(check) or _patterns(config.get("check"))),
            skip_check=tuple(_patterns(skip_check) or _patterns(config.get("skip_check"))),
            severities=parse_severities(severity) or parse_severities(config.get("severity")),
        )

    def with_config(self, config: Mapping[str, Any]) -> Selection:
        """The configuration's keys where no flag was given."""
        return Selection(
            check=self.check or tuple(_patterns(config.get("check"))),
            skip_check=self.skip_check or tuple(_patterns(config.get("skip_check"))),
            severities=self.severities or parse_severities(config.get("severity")),
        )

    @property
    def active(self) -> bool:
        return bool(self.check or self.skip_check or self.severities)

    def keeps(self, rule_id: str, severity: Severity) -> bool:
        rule_id = rule_id.upper()
        if self.check and not any(fnmatch.fnmatchcase(rule_id, p) for p in self.check):
            return False
        if any(fnmatch.fnmatchcase(rule_id, p) for p in self.skip_check):
            return False
        return self.severities is None or severity in self.severities

    def check_patterns(self, rule_ids: Iterable[str]) -> None:
        """A pattern that names no loaded rule is a typo, not an empty selection: bad input."""
        ids = [r.upper() for r in rule_ids]
        for option, patterns in (("--check", self.check), ("--skip-check", self.skip_check)):
            for pattern in patterns:
                if not any(fnmatch.fnmatchcase(i, pattern) for i in ids):
                    raise InputError(f"'{pattern}' matches no rule of the selected packs", place=option,
                                     fix="see `ccme-audit rules list` for the rule ids (wildcards: * and ?)")

    def rules(self, rules: Sequence[Rule]) -> list[Rule]:
        self.check_patterns(r.id for r in rules)
        return [r for r in rules if self.keeps(r.id, r.severity)]

    def evaluation(self, evaluation: Evaluation, *, verify: bool = True) -> Evaluation:
        """The evaluation with only the selected rules and findings (a saved report, checkov's findings);
        `verify`: the patterns must name a rule of it (False when the rules were selected before the run)."""
        if not self.active:
            return evaluation
        if verify:
            self.check_patterns({r.id for r in evaluation.rules} | {f.rule_id for f in evaluation.findings})
        return replace(
            evaluation,
            rules=tuple(r for r in evaluation.rules if self.keeps(r.id, r.severity)),
            findings=tuple(f for f in evaluation.findings if self.keeps(f.rule_id, f.severity)),
        )


# -- baseline ----------------------------------------------------------------------------------------------------


def stable_id(rule_id: str, resource_id: str, region: str | None, account: str | None,
              file: str | None = None, root: Path | None = None) -> str:
    """The finding id with the template path (IaC resource ids embed it as it was passed) made relative to
    `root` (default: the working directory), as SARIF's ccmeFindingId/v1 fingerprint: the same finding has the
    same id from any checkout and however the path was written. A file outside root is named by its file name."""
    if file:
        base = Path(os.path.normpath((root or Path.cwd()).absolute()))
        path = Path(os.path.normpath(Path(file) if Path(file).is_absolute() else Path.cwd() / file))
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            rel = Path(file).name if Path(file).is_absolute() or file.startswith("..") else file
        resource_id = resource_id.replace(file, rel)
    return finding_id(rule_id, resource_id, region, account)


def finding_key(finding: Finding) -> str:
    file = finding.location.get("file") if finding.location else None
    return stable_id(finding.rule_id, finding.resource_id, finding.region, finding.account,
                     str(file) if file else None)


def _report_key(item: Mapping[str, Any]) -> str:
    location = item.get("location")
    file = location.get("file") if isinstance(location, Mapping) else None
    return stable_id(str(item.get("rule_id") or ""), str(item.get("resource_id") or ""), item.get("region"),
                     item.get("account"), str(file) if file else None)


def _report_status(item: Mapping[str, Any]) -> Any:
    """A report's finding status; one a baseline held (WAIVED "in the baseline") keeps the FAIL or ERROR it was,
    so that a report written under --baseline / --only-new is the next run's baseline as it stands."""
    waiver = item.get("waiver")
    if item.get("status") == "WAIVED" and isinstance(waiver, Mapping) and waiver.get("kind") == "baseline":
        return waiver.get("baseline_status")
    return item.get("status")


@dataclass(frozen=True)
class BaselineEntry:
    id: str
    rule: str
    resource: str
    status: str
    account: str | None = None  # the account its finding was in (a report's entries say; None: not recorded)


@dataclass(frozen=True)
class Baseline:
    file: str
    entries: Mapping[str, BaselineEntry]
    created_at: str | None = None

    def scoped(self, accounts: Iterable[str]) -> tuple[Baseline, tuple[str, ...]]:
        """The entries of `accounts` (and those recording no account), and the other accounts it holds: a run
        that did not scan an account cannot say that account's findings were fixed."""
        keep = set(accounts)
        others = sorted({e.account for e in self.entries.values() if e.account and e.account not in keep})
        if not others:
            return self, ()
        entries = {i: e for i, e in self.entries.items() if not e.account or e.account in keep}
        return replace(self, entries=entries), tuple(others)


def _old_format(path: Path) -> InputError:
    return InputError(
        "this is a suppressions file (rule, resource, reason, expires), not a baseline", file=str(path), place="/",
        fix=f"pass it with --suppressions {path}; to record today's findings as a baseline run the same command "
        f"with --create-baseline baseline.json, then gate with --baseline baseline.json")


def load_baseline(path: Path) -> Baseline:
    """A baseline written by --create-baseline, or a previous JSON report (its FAIL and ERROR findings)."""
    doc = load_document(Path(path))
    if isinstance(doc, list) or (isinstance(doc, dict) and "suppressions" in doc):
        raise _old_format(path)
    if isinstance(doc, dict) and "report_version" in doc:
        items = [{**f, "id": _report_key(f), "status": _report_status(f)} for f in doc.get("findings") or []
                 if isinstance(f, dict) and _report_status(f) in ("FAIL", "ERROR")]
        return Baseline(str(path), _entries(path, items, "id", "rule_id", "resource_id", "/findings"),
                        str(doc.get("evaluated_at") or "") or None)
    if not isinstance(doc, dict) or doc.get("format") != BASELINE_FORMAT or not isinstance(doc.get("findings"), list):
        raise InputError("not a ccme-audit baseline", file=str(path), place="/",
                         fix="write one with --create-baseline FILE (or pass a JSON report of an earlier run)")
    return Baseline(str(path), _entries(path, doc["findings"], "id", "rule", "resource", "/findings"),
                    str(doc.get("created_at") or "") or None)


def _entries(path: Path, items: list[Any], id_key: str, rule_key: str, resource_key: str,
             where: str) -> dict[str, BaselineEntry]:
    out: dict[str, BaselineEntry] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(id_key), str) or not item[id_key]:
            raise InputError(f"entry {index} has no finding id", file=str(path), place=f"{where}/{index}",
                             fix="regenerate the baseline with --create-baseline FILE")
        account = item.get("account")
        out[item[id_key]] = BaselineEntry(item[id_key], str(item.get(rule_key) or ""),
                                          str(item.get(resource_key) or ""), str(item.get("status") or ""),
                                          str(account) if account else None)
    return out


def baseline_document(evaluation: Evaluation, tool_version: str) -> dict[str, Any]:
    """What --create-baseline writes: the FAIL and ERROR findings by id (sorted: a refresh diffs cleanly)."""
    rows = sorted(
        ({"id": finding_key(f), "rule": f.rule_id, "resource": f.resource_id, "status": f.status.value,
          "severity": f.severity.value} for f in evaluation.findings if f.status in _FAILING),
        key=lambda r: (r["rule"], r["resource"], r["id"]),
    )
    return {"format": BASELINE_FORMAT, "created_at": evaluation.evaluated_at, "tool_version": tool_version,
            "account": evaluation.account, "findings": rows}


@dataclass(frozen=True)
class BaselineResult:
    evaluation: Evaluation
    known: int = 0
    new: int = 0
    fixed: tuple[BaselineEntry, ...] = field(default=())


def apply_baseline(evaluation: Evaluation, baseline: Baseline) -> BaselineResult:
    """FAIL / ERROR findings the baseline holds become WAIVED ("in the baseline"); the others are new."""
    findings: list[Finding] = []
    seen: set[str] = set()
    known = new = 0
    since = f" of {baseline.created_at}" if baseline.created_at else ""
    for finding in evaluation.findings:
        key = finding_key(finding) if finding.status in _FAILING else ""
        if key in baseline.entries:
            seen.add(key)
            known += 1
            findings.append(replace(
                finding, status=Status.WAIVED,
                waiver={"kind": "baseline", "reason": f"in the baseline {baseline.file}{since} (was "
                        f"{finding.status.value})", "expires": "never", "baseline_status": finding.status.value},
                message=f"{finding.message} [in the baseline]",
            ))
        elif finding.status in _FAILING:
            new += 1
            findings.append(replace(finding, context={**finding.context, "baseline": "new"}))
        else:
            findings.append(finding)
    fixed = tuple(e for i, e in sorted(baseline.entries.items(), key=lambda kv: (kv[1].rule, kv[1].resource))
                  if i not in seen)
    return BaselineResult(replace(evaluation, findings=tuple(findings)), known, new, fixed)


# -- the exit code -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """FAIL findings fail at or above `fail_on`; ERROR findings at or above `errors_fail_on` (default: the same;
    None: ERRORs are reported and counted but do not fail); `soft_fail`: exit 0 whatever is found."""

    fail_on: Severity = Severity.LOW
    errors_fail_on: Severity | None = Severity.LOW
    soft_fail: bool = False

    def failing(self, findings: Sequence[Finding]) -> list[Finding]:
        def fails(f: Finding) -> bool:
            if f.status is Status.FAIL:
                return f.severity.rank >= self.fail_on.rank
            return (f.status is Status.ERROR and self.errors_fail_on is not None
                    and f.severity.rank >= self.errors_fail_on.rank)

        return [f for f in findings if fails(f)]

    def code(self, findings: Sequence[Finding]) -> int:
        return 1 if self.failing(findings) and not self.soft_fail else 0


def parse_errors_fail_on(value: str | None, fail_on: Severity) -> Severity | None:
    if value is None:
        return fail_on
    if value.lower() in ("never", "none"):
        return None
    try:
        return Severity(value.lower())
    except ValueError:
        raise InputError(f"'{value}' is not a severity", place="--errors-fail-on",
                         fix=f"use one of: {', '.join(s.value for s in Severity)}, never") from None
