"""Who changed it: CloudTrail attribution of a (rule, resource) that went from PASS to FAIL between two scans.

Opt-in (`scan --previous REPORT.json --attribute-changes`, the Lambda's ATTRIBUTE_CHANGES): for each finding
that was PASS in the previous report and is FAIL now, CloudTrail LookupEvents is asked for the management
events naming the resource (LookupAttributes ResourceName: its ARN, its name, its id, as CloudTrail records
S3 buckets by name, KMS keys by ARN, VPCs and subnets by id) between the previous report's evaluated_at and
now. The latest write event (ReadOnly false) becomes "changed by PRINCIPAL at TIME with API CALL" on the
finding. LookupEvents only returns management events; it is rate-limited (2 calls a second per account and
Region), so the calls are bounded. A failed lookup (AccessDenied, throttling past retries) never breaks the
scan: the attribution says "unknown: <why>".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.collect.base import Call
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Status
from auditor.snapshot import Snapshot

OPTION = "attribute_changes"
CALLS = (Call("cloudtrail", "LookupEvents", "cloudtrail:LookupEvents", option=OPTION),)
MAX_RESOURCES = 25  # changed resources looked up in one run; the others say why they were not
MAX_CALLS_PER_RESOURCE = 6  # LookupEvents pages over all the names of one resource
PAGE_SIZE = 50


@dataclass(frozen=True)
class Attribution:
    status: str  # found | not-found | unknown
    start: str
    end: str
    principal: str | None = None
    time: str | None = None
    api_call: str | None = None  # eventSource's service prefix and event name, e.g. s3:PutBucketVersioning
    event_id: str | None = None
    looked_up: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def text(self) -> str:
        if self.status == "found":
            return f"changed by {self.principal} at {self.time} with {self.api_call}"
        if self.status == "not-found":
            return (f"no CloudTrail write event for {', '.join(self.looked_up)} between {self.start} and "
                    f"{self.end}")
        return f"unknown: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "text": self.text, "window": {"start": self.start,
                                                                                    "end": self.end}}
        for key in ("principal", "time", "api_call", "event_id", "reason"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.looked_up:
            data["looked_up"] = list(self.looked_up)
        return data


def _utc(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def changed_to_fail(previous: Mapping[str, Any], evaluation: Evaluation) -> list[Finding]:
    """The findings FAIL now that were PASS in the previous JSON report (matched by finding id)."""
    before = {str(f.get("id")): f.get("status") for f in previous.get("findings", ()) if isinstance(f, Mapping)}
    return [f for f in evaluation.findings if f.status is Status.FAIL and before.get(f.id) == "PASS"]


def lookup_names(finding: Finding, snapshot: Snapshot | None) -> list[str]:
    """The ResourceName values CloudTrail may have recorded for the finding's resource, most specific first."""
    names: list[Any] = []
    resource = None
    if snapshot is not None:
        resource = next((r for r in snapshot.resources
                         if r.type == finding.resource_type and r.id == finding.resource_id
                         and r.region in (finding.region, None)), None)
    arns = [resource.attributes.get("arn"), resource.attributes.get("key_arn")] if resource is not None else []
    plain = [resource.name, resource.id] if resource is not None else []
    plain += [finding.resource_name, finding.resource_id]
    # CloudTrail names an S3 bucket by its name, a KMS key or a secret by its ARN, EC2 resources by their id.
    names += [*plain, *arns] if finding.resource_type.startswith("s3.") else [*arns, *reversed(plain)]
    out: list[str] = []
    for name in names:
        if isinstance(name, str) and name and name != "*" and "#" not in name and name not in out:
            out.append(name)
    return out


def _principal(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    """The identity's ARN (else the event's user name, the invoking service, the identity type), and the
    AWS service that made the call on its behalf, when one did (CloudFormation for a stack update)."""
    raw = detail.get("userIdentity")
    identity: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    invoked_by = identity.get("invokedBy")
    who = next((v for v in (identity.get("arn"), event.get("Username"), invoked_by, identity.get("type"))
                if isinstance(v, str) and v), "an unidentified principal")
    if isinstance(invoked_by, str) and invoked_by and invoked_by != who:
        who += f" via {invoked_by}"
    return who


def _write_event(event: Mapping[str, Any]) -> tuple[dt.datetime, Mapping[str, Any], Mapping[str, Any]] | None:
    try:
        detail = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        detail = {}
    if not isinstance(detail, Mapping):
        detail = {}
    read_only = event.get("ReadOnly", detail.get("readOnly"))
    if str(read_only).lower() != "false":
        return None
    when = event.get("EventTime")
    if not isinstance(when, dt.datetime):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC), event, detail


def _api_call(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    source = str(event.get("EventSource") or detail.get("eventSource") or "")
    service = source.split(".", 1)[0] if source else "?"
    return f"{service}:{event.get('EventName') or detail.get('eventName') or '?'}"


def attribute_one(client: Any, names: Sequence[str], start: dt.datetime, end: dt.datetime,
                  max_calls: int = MAX_CALLS_PER_RESOURCE) -> Attribution:
    from botocore.exceptions import BotoCoreError, ClientError

    window = (_utc(start), _utc(end))
    if not names:
        return Attribution("unknown", *window, reason="the resource has no name CloudTrail records")
    best: tuple[dt.datetime, Mapping[str, Any], Mapping[str, Any]] | None = None
    calls = 0
    truncated = False
    for name in names:
        token: str | None = None
        while True:
            if calls >= max_calls:
                truncated = True
                break
            params: dict[str, Any] = {
                "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": name}],
                "StartTime": start, "EndTime": end, "MaxResults": PAGE_SIZE,
            }
            if token:
                params["NextToken"] = token
            try:
                page = client.lookup_events(**params)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
                return Attribution("unknown", *window, looked_up=tuple(names),
                                   reason=f"{code} on cloudtrail:LookupEvents")
            except BotoCoreError as exc:
                return Attribution("unknown", *window, looked_up=tuple(names),
                                   reason=f"{type(exc).__name__} on cloudtrail:LookupEvents")
            except Exception as exc:  # noqa: BLE001 - an attribution never breaks the scan; the finding stays FAIL
                return Attribution("unknown", *window, looked_up=tuple(names),
                                   reason=f"{type(exc).__name__} on cloudtrail:LookupEvents: {exc}"[:300])
            calls += 1
            for event in page.get("Events", ()):
                found = _write_event(event)
                if found is not None and (best is None or found[0] > best[0]):
                    best = found
            token = page.get("NextToken")
            if not token or best is not None:  # newest first: later pages hold older events
                break
        if truncated or best is not None:  # the first name CloudTrail knows the resource by is enough
            break
    if best is None:
        if truncated:
            return Attribution("unknown", *window, looked_up=tuple(names),
                               reason=f"no write event in the first {calls} pages of CloudTrail events")
        return Attribution("not-found", *window, looked_up=tuple(names))
    when, event, detail = best
    return Attribution("found", *window, principal=_principal(event, detail), time=_utc(when),
                       api_call=_api_call(event, detail), event_id=str(event.get("EventId") or "") or None,
                       looked_up=tuple(names))


def attribute(findings: Iterable[Finding], snapshot: Snapshot | None, client_for: Callable[[str | None], Any],
              start: dt.datetime, end: dt.datetime, *, max_resources: int = MAX_RESOURCES) -> dict[str, Attribution]:
    """Attributions by finding id; one lookup per (region, resource), at most max_resources of them."""
    out: dict[str, Attribution] = {}
    done: dict[tuple[str | None, tuple[str, ...]], Attribution] = {}
    clients: dict[str | None, Any] = {}
    window = (_utc(start), _utc(end))
    for finding in findings:
        names = tuple(lookup_names(finding, snapshot))
        key = (finding.region, names)
        if key not in done:
            if len(done) >= max_resources:
                out[finding.id] = Attribution("unknown", *window, looked_up=names,
                                              reason=f"not looked up: more than {max_resources} changed resources")
                continue
            if finding.region not in clients:
                clients[finding.region] = client_for(finding.region)
            done[key] = attribute_one(clients[finding.region], names, start, end)
        out[finding.id] = done[key]
    return out


def with_attributions(evaluation: Evaluation, attributions: Mapping[str, Attribution]) -> Evaluation:
    if not attributions:
        return evaluation
    findings = tuple(
        dataclasses.replace(f, attribution=attributions[f.id].to_json()) if f.id in attributions else f
        for f in evaluation.findings
    )
    return dataclasses.replace(evaluation, findings=findings)


def client_factory(session: Any, default_region: str | None) -> Callable[[str | None], Any]:
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="ccme-audit-attribution")

    def make(region: str | None) -> Any:
        return session.client("cloudtrail", region_name=region or default_region, config=config)

    return make


def attribute_evaluation(evaluation: Evaluation, previous: Mapping[str, Any], snapshot: Snapshot | None,
                         client_for: Callable[[str | None], Any], now: dt.datetime) -> Evaluation:
    """The evaluation with an attribution on every finding that went from PASS to FAIL since `previous`."""
    changed = changed_to_fail(previous, evaluation)
    if not changed:
        return evaluation
    start = parse_time(str(previous["evaluated_at"]))
    return with_attributions(evaluation, attribute(changed, snapshot, client_for, start, now))


def unattributable(evaluation: Evaluation, previous: Mapping[str, Any], now: dt.datetime, reason: str) -> Evaluation:
    """The evaluation with an unknown attribution saying `reason` on every finding that went from PASS to FAIL
    since `previous`: CloudTrail cannot be asked at all (the member role could not be assumed)."""
    window = (_utc(parse_time(str(previous["evaluated_at"]))), _utc(now))
    return with_attributions(evaluation, {f.id: Attribution("unknown", *window, reason=reason)
                                          for f in changed_to_fail(previous, evaluation)})
