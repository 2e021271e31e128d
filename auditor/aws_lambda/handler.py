"""The Lambda handler: scan, store the snapshot and reports in S3, notify what changed, emit metrics.

    handler(event, context)   event {} (the schedule), or {"account": ..., "region": ...} (one item of
                              the Step Functions map); settings from the environment (see settings.py)

One run:
1. build the audit configuration (CCME_AUDIT_CONFIG_JSON or _S3, then PACKS, REGIONS, the event's region);
2. scan the event's account (assuming MEMBER_ROLE_NAME there when it is not the function's own
   account; a role that cannot be assumed makes every rule ERROR for that account) and evaluate;
3. read the previous `latest/report.json` back from S3 and compare (new failures, fixed, new errors);
4. write snapshot.json, report.json, report.html and changes.json under a dated key, with SSE;
5. publish the changes to SNS, only when there are some (before `latest` moves, so a failed run
   notifies again rather than never);
6. write the same objects under `latest/`;
7. put one CloudWatch metric per status (namespace CCME/Audit; dimensions Account, Region, Pack);
8. with SECURITY_HUB=true, import the findings into Security Hub (the function's account; resolved ones
   archived, auditor/securityhub.py); a finding not imported fails the invocation after everything else
   is done (SecurityHubImportError: the retry and the dead-letter queue see it).

Imports stay light: no IaC loader, no checkov, no cfn-lint, no moto (a test checks sys.modules).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.aws_lambda.settings import Settings, build_config, config_document, settings_from_env
from auditor.engine.findings import Status
from auditor.errors import InputError
from auditor.report.diff import Changes, message, subject

NAMESPACE = "CCME/Audit"
METRIC_BATCH = 20
ClientHook = Callable[[Any, str], None]


@dataclass
class Clients:
    s3: Any
    sns: Any
    cloudwatch: Any
    sts: Any


def _clients(session: Any, region: str | None) -> Clients:
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="ccme-audit-lambda")
    return Clients(
        s3=session.client("s3", region_name=region, config=config),
        sns=session.client("sns", region_name=region, config=config),
        cloudwatch=session.client("cloudwatch", region_name=region, config=config),
        sts=session.client("sts", region_name=region, config=config),
    )


def _event_target(event: Any) -> tuple[str | None, str | None]:
    """(account, region) an item asks for; a scheduled EventBridge event names its own and is ignored."""
    if not isinstance(event, Mapping) or event.get("source") == "aws.events" or "detail-type" in event:
        return None, None
    account, region = event.get("account"), event.get("region")
    if account is not None and not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
        raise InputError(f"event account {account!r} is not a 12-digit account id", place="event.account",
                         fix='send {"account": "123456789012", "region": "eu-west-1"}')
    if region is not None and not (isinstance(region, str) and region.replace("-", "").isalnum()):
        raise InputError(f"event region {region!r} is not a region name", place="event.region",
                         fix='send {"account": "123456789012", "region": "eu-west-1"}')
    return account, region


def keys(settings: Settings, account: str, regions: Sequence[str], now: dt.datetime) -> tuple[str, str]:
    """(dated prefix, latest prefix) for one account and region set."""
    scope = "_".join(regions) or "global"
    base = "/".join(p for p in (settings.prefix, account, scope) if p)
    return f"{base}/{now:%Y/%m/%d/%H%M%SZ}/", f"{base}/latest/"


def read_previous(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """The previous JSON report (None if there is none) and, when it cannot be used, why."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404"):
            return None, None
        return None, f"the previous report s3://{bucket}/{key} could not be read ({code})"
    except BotoCoreError as exc:
        return None, f"the previous report s3://{bucket}/{key} could not be read ({type(exc).__name__})"
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None, f"the previous report s3://{bucket}/{key} is not valid JSON"
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list) or not all(
        isinstance(f, dict) and {"id", "status", "rule_id", "resource_id"} <= set(f) for f in data["findings"]
    ):
        return None, f"the previous report s3://{bucket}/{key} is not a ccme-audit JSON report"
    return data, None


def put(s3: Any, settings: Settings, key: str, body: str, content_type: str) -> None:
    params: dict[str, Any] = {"Bucket": settings.bucket, "Key": key, "Body": body.encode("utf-8"),
                              "ContentType": content_type, "ServerSideEncryption": settings.sse}
    if settings.sse == "aws:kms" and settings.kms_key_id:
        params["SSEKMSKeyId"] = settings.kms_key_id
    s3.put_object(**params)


def metric_data(findings: Sequence[Any], account: str, regions: Sequence[str], packs: Sequence[str],
                timestamp: dt.datetime) -> list[dict[str, Any]]:
    """One datum per status for each (account, region, pack); statuses without findings count 0."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    scopes: set[tuple[str, str, str]] = {(account, r, p) for r in regions for p in packs}
    for f in findings:
        scope = (f.account or account, f.region or "global", f.pack)
        scopes.add(scope)
        counts[(*scope, f.status.value)] += 1
    data = []
    for acct, region, pack in sorted(scopes):
        for status in Status:
            data.append({
                "MetricName": status.value,
                "Dimensions": [{"Name": "Account", "Value": acct}, {"Name": "Region", "Value": region},
                               {"Name": "Pack", "Value": pack}],
                "Timestamp": timestamp,
                "Value": float(counts[(acct, region, pack, status.value)]),
                "Unit": "Count",
            })
    return data


def run(event: Any, env: Mapping[str, str], *, session: Any = None, client_hooks: Sequence[ClientHook] = (),
        now: dt.datetime | None = None) -> dict[str, Any]:
    """One audit run (the handler's body; tests pass a session and client hooks)."""
    import boto3

    from auditor.app import pipeline
    from auditor.engine.rules import load_rules
    from auditor.multi.orchestrate import scan_account
    from auditor.multi.targets import Target
    from auditor.report import html, jsonfmt

    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    settings = settings_from_env(env)
    account, region = _event_target(event)
    session = session or boto3.Session()
    home_region = region or (settings.regions[0] if settings.regions else None) or env.get("AWS_REGION")
    clients = _clients(session, home_region)
    identity = clients.sts.get_caller_identity()
    home = str(identity["Account"])
    # Member roles are assumed in the caller's partition (a GovCloud or China Lambda assumes arn:aws-us-gov:...).
    partition = str(identity.get("Arn") or "arn:aws:").split(":")[1] or "aws"
    account = account or home
    document, label = config_document(settings, clients.s3, account)
    overrides: list[tuple[str, Any]] = []
    if settings.packs:
        overrides.append(("packs", list(settings.packs)))
    if region:
        overrides.append(("regions", [region]))
    elif settings.regions:
        overrides.append(("regions", list(settings.regions)))
    config = build_config(document, label, overrides)
    rules = load_rules(None, config.packs)
    result = scan_account(config, rules, Target(account), base_session=session, sts=clients.sts, home_account=home,
                          role_name=settings.member_role_name, external_id=settings.member_external_id,
                          partition=partition, client_hooks=client_hooks)
    # The report is stamped with the run's clock, the same time as its dated key: two runs within one second
    # (or a test's clock) would otherwise share an evaluated_at, and the history could not order them.
    stamp = (now if now.tzinfo else now.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    evaluation = dataclasses.replace(result.evaluation, evaluated_at=stamp.isoformat())
    dated, latest = keys(settings, account, config.regions, now)
    previous, unreadable = read_previous(clients.s3, settings.bucket, latest + "report.json")
    if settings.attribute_changes and previous is not None:
        evaluation = attributed(evaluation, previous, result.snapshot, session, clients.sts, account, home,
                                settings, home_region, client_hooks, member_session=result.session,
                                partition=partition)
    report = jsonfmt.document(evaluation)
    changes: Changes = pipeline.changes(previous, evaluation)
    report_url = f"s3://{settings.bucket}/{dated}report.html"
    rule_history, history_note = None, None
    if settings.history_reports:
        rule_history, history_note = _history(clients.s3, settings, latest, evaluation)
    objects = {
        "snapshot.json": (json.dumps(result.snapshot.to_json(), indent=1, default=str) + "\n", "application/json"),
        "report.json": (json.dumps(report, indent=1, default=str) + "\n", "application/json"),
        "report.html": (html.render(evaluation, history=rule_history), "text/html; charset=utf-8"),
        "changes.json": (json.dumps({"account": account, "regions": list(config.regions),
                                     "first_run": changes.first_run, "previous_unreadable": unreadable,
                                     "changes": [c.to_json() for c in (*changes.new_failures, *changes.new_errors,
                                                                       *changes.fixed)]}, indent=1) + "\n",
                         "application/json"),
    }
    for name, (body, content_type) in objects.items():
        put(clients.s3, settings, dated + name, body, content_type)
    notified = False
    if settings.topic_arn and not changes.empty:
        scope = ", ".join(config.regions)
        text = message(changes, account=account, scope=scope, report_url=report_url, note=unreadable)
        clients.sns.publish(
            TopicArn=settings.topic_arn, Subject=subject(changes, account, scope), Message=text,
            MessageAttributes={
                "account": {"DataType": "String", "StringValue": account},
                "new_failures": {"DataType": "Number", "StringValue": str(len(changes.new_failures))},
                "new_errors": {"DataType": "Number", "StringValue": str(len(changes.new_errors))},
                "fixed": {"DataType": "Number", "StringValue": str(len(changes.fixed))},
            },
        )
        notified = True
    for name, (body, content_type) in objects.items():
        put(clients.s3, settings, latest + name, body, content_type)
    metrics = 0
    if settings.metrics:
        data = metric_data(evaluation.findings, account, config.regions, config.packs, now)
        for start in range(0, len(data), METRIC_BATCH):
            clients.cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start:start + METRIC_BATCH])
        metrics = len(data)
    imported = None
    if settings.security_hub:
        imported = pipeline.import_findings(evaluation, session, product_account=home)
    summary = {
        "account": account,
        "regions": list(config.regions),
        "statuses": evaluation.summary["by_status"],
        "changes": changes.counts(),
        "first_run": changes.first_run,
        "notified": notified,
        "failure": result.failure,
        "report": f"s3://{settings.bucket}/{dated}report.json",
        "latest": f"s3://{settings.bucket}/{latest}report.json",
        "metrics": metrics,
        "security_hub": imported.to_json() if imported is not None else None,
        "history": history_note or (rule_history.reports if rule_history is not None else None),
        "seconds": round(time.perf_counter() - started, 3),
    }
    sys.stdout.write(json.dumps({"ccme_audit": summary}, default=str) + "\n")
    if imported is not None and not imported.ok:
        from auditor.securityhub import SecurityHubImportError

        raise SecurityHubImportError(imported)
    return summary


def _history(s3: Any, settings: Settings, latest: str, evaluation: Any) -> tuple[Any, str | None]:
    """The rule history from this scope's dated reports (the prefix above latest/), or why there is none:
    a history that cannot be read leaves it out of report.html, and never fails the run."""
    from auditor.report import history

    base = latest[: -len("latest/")].rstrip("/")
    try:
        points = history.load_s3(f"s3://{settings.bucket}/{base}", client=s3, limit=settings.history_reports)
    except InputError as exc:
        return None, f"no history: {exc.line()}"
    source = f"the {len(points)} newest reports under s3://{settings.bucket}/{base}/"
    return history.build(points, evaluation, source), None


def attributed(evaluation: Any, previous: Mapping[str, Any], snapshot: Any, session: Any, sts: Any, account: str,
               home: str, settings: Settings, region: str | None, client_hooks: Sequence[ClientHook], *,
               member_session: Any = None, partition: str = "aws") -> Any:
    """The evaluation with "changed by ..." on the PASS -> FAIL findings, looked up in the scanned account's
    CloudTrail with the session the scan used (`member_session`; the member role is assumed, in `partition`, only
    when none is given); never fails the run."""
    from auditor.collect.cloudtrail import (
        attribute_evaluation,
        changed_to_fail,
        client_factory,
        parse_time,
        unattributable,
    )
    from auditor.multi.orchestrate import AssumeRoleFailed, assume_session

    if not changed_to_fail(previous, evaluation):
        return evaluation
    target = session
    if member_session is not None:
        target = member_session
    elif account != home and settings.member_role_name:
        try:
            target = assume_session(sts, account, settings.member_role_name,
                                    external_id=settings.member_external_id, partition=partition, region=region)
        except AssumeRoleFailed as exc:
            reason = f"cannot assume {exc.role_arn} for cloudtrail:LookupEvents ({exc.code})"
            return unattributable(evaluation, previous, parse_time(evaluation.evaluated_at), reason)
    factory = client_factory(target, region)

    def client_for(name: str | None) -> Any:
        client = factory(name)
        for hook in client_hooks:
            hook(client, "cloudtrail")
        return client

    return attribute_evaluation(evaluation, previous, snapshot, client_for, parse_time(evaluation.evaluated_at))


def handler(event: Any, context: Any) -> dict[str, Any]:
    """AWS Lambda entry point (auditor.aws_lambda.handler.handler)."""
    try:
        return run(event, os.environ)
    except InputError as exc:
        # A configuration problem: one line in the log, and the invocation fails (retries, then the DLQ).
        sys.stdout.write(json.dumps({"ccme_audit_error": exc.line()}) + "\n")
        raise
