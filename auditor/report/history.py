"""History: when each rule, and each rule on each resource, last changed state, from past JSON reports.

`--history DIR` reads every `*report*.json` under DIR (the files `--format json` writes, or a copy of the
Lambda's prefix); `--history s3://BUCKET/PREFIX` reads the Lambda's dated `.../report.json` objects under the
prefix (its `latest/` copies are skipped: they repeat the newest dated one). Each past report is validated
for what history reads (evaluated_at; each finding's id, rule_id and status): an unreadable or malformed
one is bad input (exit 2), as history built on a report that was skipped would be wrong.

A rule's state at one evaluation is the worst status of its findings (FAIL, ERROR, WAIVED, SKIPPED, PASS in
that order); a finding absent from a report is ABSENT there. The last change is the latest evaluation whose
state differs from the one before it (the current evaluation counts as the newest).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.engine.evaluate import Evaluation
from auditor.errors import InputError
from auditor.fileio import parse_json, read_text
from auditor.report.jsonfmt import REPORT_VERSION

MAX_REPORTS = 500  # the newest ones; older reports do not change when the last change was
ABSENT = "ABSENT"
_WORST = ("FAIL", "ERROR", "WAIVED", "SKIPPED", "PASS")
FIX = "pass a folder of reports written by ccme-audit --format json, or the Lambda's s3://BUCKET/PREFIX"


@dataclass(frozen=True)
class Point:
    """One past (or the current) evaluation: when, and the statuses by rule and by finding id."""

    at: str
    label: str
    rules: Mapping[str, str]
    findings: Mapping[str, str]


@dataclass(frozen=True)
class Change:
    at: str
    before: str
    after: str


@dataclass(frozen=True)
class RuleHistory:
    rule_id: str
    state: str
    since: str  # the first evaluation of the current state's streak
    change: Change | None  # None: the same state in every evaluation read
    evaluations: int


@dataclass(frozen=True)
class History:
    source: str
    reports: int
    first: str | None
    rules: tuple[RuleHistory, ...]
    findings: Mapping[str, Change | None]  # by finding id, for the current findings


_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def _time(stamp: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return _NEVER
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _rule_state(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    return next((s for s in _WORST if s in seen), ABSENT)


def point(evaluation: Evaluation, label: str) -> Point:
    by_rule: dict[str, list[str]] = {}
    findings: dict[str, str] = {}
    for finding in evaluation.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding.status.value)
        findings[finding.id] = finding.status.value
    return Point(at=evaluation.evaluated_at, label=label,
                 rules={rule: _rule_state(statuses) for rule, statuses in by_rule.items()}, findings=findings)


_STATUSES = frozenset(_WORST)
_ID = re.compile(r"^[0-9a-f]{16}$")


def _from_text(text: str, label: str) -> Point:
    """A past report's statuses. Checked for exactly what history reads (the report's evaluated_at and each
    finding's id, rule_id and status, as schemas/report.json has them): a full schema validation costs
    ~1 ms a finding, far too much for hundreds of reports of thousands of findings."""
    data = parse_json(text, file=label)
    if not isinstance(data, dict) or "report_version" not in data:
        raise InputError("not a ccme-audit JSON report", file=label, place="/", fix=FIX)
    if data.get("report_version") != REPORT_VERSION:
        raise InputError(f"report_version {data.get('report_version')!r} is not {REPORT_VERSION}", file=label,
                         place="/report_version", fix=FIX)
    at = data.get("evaluated_at")
    if not isinstance(at, str) or _time(at) == _NEVER:
        raise InputError("evaluated_at is not an ISO 8601 time", file=label, place="/evaluated_at", fix=FIX)
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise InputError("findings is not a list", file=label, place="/findings", fix=FIX)
    by_rule: dict[str, list[str]] = {}
    statuses: dict[str, str] = {}
    for index, item in enumerate(findings):
        if not isinstance(item, dict):
            raise InputError("a finding is not an object", file=label, place=f"/findings/{index}", fix=FIX)
        fid, rule, status = item.get("id"), item.get("rule_id"), item.get("status")
        for key, ok in (("id", isinstance(fid, str) and _ID.match(fid)), ("rule_id", isinstance(rule, str)),
                        ("status", status in _STATUSES)):
            if not ok:
                raise InputError(f"{key} {item.get(key)!r} is not valid", file=label,
                                 place=f"/findings/{index}/{key}", fix=FIX)
        by_rule.setdefault(str(rule), []).append(str(status))
        statuses[str(fid)] = str(status)
    return Point(at=at, label=label, rules={r: _rule_state(s) for r, s in by_rule.items()}, findings=statuses)


def load_directory(root: Path) -> list[Point]:
    if not root.is_dir():
        raise InputError("no such directory", file=str(root), place="--history", fix=FIX)
    files = sorted(p for p in root.rglob("*report*.json") if p.is_file() and "latest" not in p.relative_to(root).parts)
    if not files:
        raise InputError("no JSON report (*report*.json) in this folder", file=str(root), place="--history", fix=FIX)
    if len(files) > MAX_REPORTS:  # the newest by evaluated_at, not by file name (names need not sort by time)
        files = sorted(files, key=lambda p: (_time(_stamp(p)), str(p)))[-MAX_REPORTS:]
    return [_from_text(read_text(p), str(p)) for p in files]


_STAMP = re.compile(rb'"evaluated_at"\s*:\s*"([^"]{1,64})"')


def _stamp(path: Path) -> str:
    """A report's evaluated_at, read from its head (the JSON formatter writes it third); '' when not there (such a
    file sorts oldest, and is checked in full if it is kept)."""
    try:
        with path.open("rb") as handle:
            match = _STAMP.search(handle.read(4096))
    except OSError:
        return ""
    return match.group(1).decode("utf-8", "replace") if match else ""


def load_s3(url: str, *, client: Any = None, profile: str | None = None, limit: int = MAX_REPORTS) -> list[Point]:
    """Every dated report.json under the prefix (ListObjectsV2 and GetObject, read-only)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from auditor.packages.check import parse_s3_url

    try:
        bucket, prefix = parse_s3_url(url)
    except InputError as exc:
        raise InputError(exc.what, place="--history", fix="write s3://BUCKET/PREFIX") from None
    if client is None:
        import boto3

        client = boto3.Session(profile_name=profile).client("s3")
    keys: list[str] = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else "")
        for page in pages:
            for obj in page.get("Contents") or []:
                key = str(obj["Key"])
                if key.endswith("report.json") and "/latest/" not in f"/{key}":
                    keys.append(key)
        if not keys:
            raise InputError("no report.json under this prefix", file=url, place="--history", fix=FIX)
        points = []
        for key in sorted(keys)[-limit:]:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("not UTF-8", file=f"s3://{bucket}/{key}", place="--history", fix=FIX) from None
            points.append(_from_text(text, f"s3://{bucket}/{key}"))
        return points
    except NoCredentialsError:
        raise InputError("no AWS credentials to read the history", file=url, place="--history",
                         fix="configure credentials (AWS_PROFILE, --profile, or an instance role)") from None
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code") or "ClientError")
        raise InputError(f"cannot read the history ({code})", file=url, place="--history",
                         fix="check the bucket, the prefix and s3:ListBucket / s3:GetObject on them") from None
    except BotoCoreError as exc:
        raise InputError(f"cannot read the history ({type(exc).__name__})", file=url, place="--history",
                         fix="check the bucket, the prefix and the network") from None


def load(source: str, *, profile: str | None = None, client: Any = None) -> list[Point]:
    if source.startswith("s3://"):
        return load_s3(source, client=client, profile=profile)
    return load_directory(Path(source))


def _last_change(states: Sequence[tuple[str, str]]) -> tuple[Change | None, str]:
    """(the last change, the start of the current streak) over (time, state) in time order."""
    change = None
    since = states[0][0] if states else ""
    for (_, before), (at, after) in itertools.pairwise(states):
        if after != before:
            change = Change(at=at, before=before, after=after)
            since = at
    return change, since


def build(points: Sequence[Point], current: Evaluation, source: str) -> History:
    past = sorted(points, key=lambda p: (_time(p.at), p.label))
    now = point(current, "current")
    timeline = [p for p in past if _time(p.at) < _time(now.at)] + [now]
    rules = []
    for rule_id in sorted(now.rules):
        states = [(p.at, p.rules.get(rule_id, ABSENT)) for p in timeline]
        change, since = _last_change(states)
        rules.append(RuleHistory(rule_id=rule_id, state=now.rules[rule_id], since=since, change=change,
                                 evaluations=sum(1 for _, s in states if s != ABSENT)))
    findings: dict[str, Change | None] = {}
    for fid in now.findings:
        findings[fid] = _last_change([(p.at, p.findings.get(fid, ABSENT)) for p in timeline])[0]
    return History(source=source, reports=len(timeline) - 1, first=timeline[0].at if timeline else None,
                   rules=tuple(rules), findings=findings)
