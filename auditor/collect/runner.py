"""The scan runner: collectors the selected rules need, concurrently across services and regions.

Every client gets botocore's adaptive retries, an API-call counter (a before-call handler) and a
request counter (before-send: HTTP attempts, retries included). Every failed call becomes a
CollectionError on the resources it concerns; a collector that crashes becomes a type-level
error on each type it yields, so its rules report ERROR instead of passing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from auditor.collect import registry
from auditor.collect.base import STS_CALLS, CallCounter, CollectContext
from auditor.collect.plan import Plan, build_plan
from auditor.collect.redact import withhold_sensitive_bodies
from auditor.collect.regions import REGION_NOT_ENABLED, disabled_regions
from auditor.collect.retry import RetryBudget, RetryPolicy
from auditor.config import AuditConfig
from auditor.engine.rules import Rule
from auditor.errors import InputError
from auditor.partitions import opt_in_candidate, partition_of
from auditor.snapshot import CollectionError, Resource, Snapshot

ClientHook = Callable[[Any, str], None]
DETAIL_WORKERS = 16
TASK_WORKERS = 8
CREDENTIALS_FIX = (
    "pass --profile NAME, or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(and AWS_SESSION_TOKEN), or run 'aws sso login'"
)


@dataclass
class ScanStats:
    calls: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    tasks: list[str] = field(default_factory=list)
    waits: dict[str, Any] = field(default_factory=lambda: {"wait_seconds": 0.0, "operations": []})

    def lines(self) -> list[str]:
        out = [
            f"scan: {sum(self.calls.values())} API calls, {sum(self.requests.values())} HTTP requests, "
            f"{self.seconds:.2f} s, waited {self.waits['wait_seconds']:.2f} s in retries, "
            f"tasks: {', '.join(self.tasks)}"
        ]
        for key in sorted(self.calls):
            out.append(f"  {key:<48} {self.calls[key]:>6} calls {self.requests.get(key, 0):>6} requests")
        for row in self.waits["operations"]:
            out.append(
                f"  waited {row['seconds']:>7.2f} s on {row['operation']} in {row['region']}: "
                f"{row['retries']} retries ({row['throttled']} throttled), gave up {row['gave_up']} times"
            )
        return out


@dataclass
class ScanResult:
    snapshot: Snapshot
    stats: ScanStats
    plan: Plan


def make_session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        name = profile if profile is not None else os.environ.get("AWS_PROFILE", "")
        raise InputError(
            f"AWS profile '{name}' not found ({exc})",
            place="--profile" if profile is not None else "AWS_PROFILE",
            fix="name a profile of ~/.aws/config (aws configure list-profiles)",
        ) from None


def custom_endpoint(session: boto3.Session) -> bool:
    """Whether a custom endpoint (AWS_ENDPOINT_URL*, or endpoint_url in the profile) is in use."""
    if any(k.startswith("AWS_ENDPOINT_URL") and v for k, v in os.environ.items()):
        return True
    try:
        scoped = session._session.get_scoped_config()
    except (ProfileNotFound, AttributeError):
        return False
    return bool(scoped.get("endpoint_url") or scoped.get("services"))


class ClientFactory:
    """One client per (service, region), built once (boto3 clients are thread-safe, sessions not)."""

    def __init__(
        self,
        session: boto3.Session,
        default_region: str,
        *,
        max_attempts: int,
        counter: CallCounter,
        retry_mode: str = "adaptive",
        hooks: Sequence[ClientHook] = (),
        budget: RetryBudget | None = None,
    ):
        self.session = session
        self.default_region = default_region
        self.max_attempts = max_attempts
        self.retry_mode = retry_mode
        self.counter = counter
        self.hooks = tuple(hooks)
        self.budget = budget
        self.custom_endpoint = custom_endpoint(session)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str | None) -> Any:
        key = (service, region or self.default_region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                options: dict[str, Any] = {
                    "retries": {"mode": self.retry_mode, "max_attempts": self.max_attempts},
                    "max_pool_connections": DETAIL_WORKERS * 2,
                    "user_agent_extra": "ccme-audit",
                }
                if self.budget is not None:
                    options["connect_timeout"] = self.budget.policy.connect_timeout
                    options["read_timeout"] = self.budget.policy.read_timeout
                if service == "s3control" and self.custom_endpoint:
                    # botocore would put the account id in front of a local endpoint's host.
                    options["inject_host_prefix"] = False
                client = self.session.client(service, region_name=key[1], config=Config(**options))
                if self.budget is not None:
                    self.budget.attach(client, service, key[1])
                if service == "s3control" and self.custom_endpoint:
                    local_s3control(client)
                self.counter.attach(client, service)
                strict_json(client)
                withhold_sensitive_bodies(client)  # no secret value in botocore's debug log
                for hook in self.hooks:
                    hook(client, service)
                self._clients[key] = client
        return client


def strict_json(client: Any) -> Any:
    """Refuse a 2xx answer with an empty body where the operation answers with one, and a 2xx JSON
    answer whose body is not a JSON object.

    botocore reads an empty body as an answer with no members, and an unparsable JSON body as
    {"message": <body>}: a truncated or garbled answer would look like an empty one (no keys, no
    policy, no certificate). The XML parsers raise on garbage; this makes the JSON protocols do the
    same, and every protocol refuse an empty body, so the call is recorded as failed.
    """
    model = client.meta.service_model
    is_json = model.resolved_protocol in ("json", "rest-json")

    def check(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        status, body = response_dict.get("status_code", 0), response_dict.get("body")
        if not 200 <= status < 300 or not isinstance(body, bytes) or operation_model.has_streaming_output:
            return
        shape = operation_model.output_shape
        if not body.strip():
            if _has_body_members(shape):
                raise ResponseParserError(f"the {status} answer to {operation_model.name} has an empty body")
            return
        payload = shape.serialization.get("payload") if shape is not None else None
        if not is_json or (payload and shape.members[payload].type_name != "structure"):
            return
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):  # never quote the body: it may hold a secret
            raise ResponseParserError(f"the {status} answer to {operation_model.name} is not a JSON object "
                                      f"({len(body)} bytes)")

    client.meta.events.register(f"before-parse.{model.service_id.hyphenize()}", check)
    return client


def _has_body_members(shape: Any) -> bool:
    """Whether an answer of this output shape carries anything in its body (not only headers)."""
    if shape is None or getattr(shape, "type_name", None) != "structure":
        return False
    return any(member.serialization.get("location") is None for member in shape.members.values())


_ACCOUNT_LABEL = re.compile(r"^(https?://)\d{12}\.")


def local_s3control(client: Any) -> Any:
    """Let an S3 Control client reach a custom endpoint (moto_server, a local proxy).

    botocore's S3 Control endpoint rules put the account id in front of the host
    (http://123456789012.127.0.0.1:PORT/...), which does not resolve; inject_host_prefix=False
    does not prevent it with current botocore, so the label is removed before signing.
    """

    def strip(request: Any, **_: Any) -> None:
        request.url = _ACCOUNT_LABEL.sub(r"\1", request.url)

    client.meta.events.register("before-sign.s3-control", strip)
    return client


def caller_account(factory: ClientFactory) -> str:
    try:
        answer = factory("sts", None).get_caller_identity()
    except (NoCredentialsError, PartialCredentialsError):
        raise InputError("no AWS credentials found", place="credentials", fix=CREDENTIALS_FIX) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise InputError(
            f"the AWS credentials were refused: {error.get('Code')}: {error.get('Message')}",
            place="sts:GetCallerIdentity",
            fix=CREDENTIALS_FIX,
        ) from None
    except (BotoCoreError, ResponseParserError) as exc:
        raise InputError(
            f"cannot reach AWS STS: {(str(exc).splitlines() or [''])[0]}",
            place="sts:GetCallerIdentity",
            fix="check the network, --region and AWS_ENDPOINT_URL",
        ) from None
    return str(answer["Account"])


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[str], None]]:
    if not enabled or total == 0:
        yield lambda label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("collecting"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=total)
        yield lambda label: progress.update(task, advance=1, description=label)


def _tasks(collectors: Sequence[ModuleType], regions: Sequence[str]) -> list[tuple[ModuleType, str | None]]:
    tasks: list[tuple[ModuleType, str | None]] = []
    for collector in collectors:
        if collector.REGIONAL:
            tasks.extend((collector, region) for region in regions)
        if not collector.REGIONAL or collector is registry.probes or getattr(collector, "ALSO_GLOBAL", False):
            tasks.append((collector, None))
    return tasks


def scan(
    config: AuditConfig,
    rules: Sequence[Rule],
    *,
    session: boto3.Session | None = None,
    profile: str | None = None,
    max_attempts: int = 10,
    retry_mode: str = "adaptive",
    client_hooks: Sequence[ClientHook] = (),
    progress: bool | None = None,
    plan: Plan | None = None,
    retry: RetryPolicy | None = None,
) -> ScanResult:
    """Collect what `rules` need (or what `plan` names) from the live account into a Snapshot.

    `max_attempts` is botocore's (retries after the first attempt); the retry budget (`retry`, by
    default the config's `retry:` section) bounds each call further: see auditor/collect/retry.py.
    """
    started = time.perf_counter()
    regions = list(config.regions)
    session = session or make_session(profile, regions[0] if regions else None)
    counter = CallCounter()
    budget = RetryBudget(retry or RetryPolicy.from_config(config.data.get("retry")))
    # Global calls (STS, S3 ListBuckets, ...) go to a region every account has enabled.
    home = next((r for r in regions if not opt_in_candidate(r)), partition_of(regions[0]).anchor)
    factory = ClientFactory(
        session,
        home,
        max_attempts=max_attempts,
        counter=counter,
        hooks=client_hooks,
        retry_mode=retry_mode,
        budget=budget,
    )
    account = config.account or caller_account(factory)
    plan = plan or build_plan(rules, config, account)
    collectors = registry.collectors_for(plan.types)
    disabled = disabled_regions(factory, regions, account)
    tasks = [(c, r) for c, r in _tasks(collectors, regions) if r not in disabled]
    resources: list[Resource] = []
    errors: list[CollectionError] = [
        CollectionError(resource_type=rtype, operation="ec2:DescribeRegions", code=REGION_NOT_ENABLED,
                        message=message, region=region, account=account)
        for region, message in disabled.items()
        for rtype in sorted({t for c in collectors if c.REGIONAL for t in c.RESOURCE_TYPES if plan.wants(t)})
    ]
    calls = {c.key: c for c in STS_CALLS}
    for collector in collectors:
        calls.update({c.key: c for c in collector.CALLS})
    show = sys.stderr.isatty() if progress is None else progress
    with (
        ThreadPoolExecutor(DETAIL_WORKERS, thread_name_prefix="detail") as pool,
        ThreadPoolExecutor(max(1, min(TASK_WORKERS, len(tasks))), thread_name_prefix="collect") as runner,
        _progress(len(tasks), show) as advance,
    ):
        futures = {}
        for collector, region in tasks:
            ctx = CollectContext(
                collector=collector.__name__.rsplit(".", 1)[-1],
                calls=calls,
                client_factory=factory,
                region=region,
                account=account,
                config=config,
                plan=plan,
                pool=pool,
            )
            futures[runner.submit(_run, collector, ctx)] = (collector, ctx)
        for future in as_completed(futures):
            collector, ctx = futures[future]
            future.result()
            resources.extend(ctx.resources)
            errors.extend(ctx.errors)
            advance(f"{ctx.collector} {ctx.region or 'global'}")
    resources.sort(key=lambda r: (r.type, r.region or "", r.id))
    errors.sort(key=lambda e: (e.resource_type, e.region or "", e.resource_id or "", e.attribute or "", e.operation))
    stats = ScanStats(
        calls=counter.calls,
        requests=counter.requests,
        seconds=time.perf_counter() - started,
        tasks=[f"{c.__name__.rsplit('.', 1)[-1]}@{r or 'global'}" for c, r in tasks],
        waits=budget.summary(),
    )
    snapshot = Snapshot(
        kind="live",
        resources=tuple(_dedupe(resources)),
        errors=tuple(errors),
        account=account,
        regions=tuple(regions),
        collected_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        options={"packs": list(config.packs), "plan": plan.to_json(), "retries": stats.waits},
    )
    return ScanResult(snapshot=snapshot, stats=stats, plan=plan)


def _run(collector: ModuleType, ctx: CollectContext) -> None:
    try:
        collector.collect(ctx)
    except Exception as exc:  # noqa: BLE001 - a crashing collector fails closed on the types it yields
        for rtype in collector.RESOURCE_TYPES:
            if ctx.plan.wants(rtype):
                ctx.errors.append(
                    CollectionError(
                        resource_type=rtype,
                        operation=f"collector {ctx.collector}",
                        code="CollectorCrashed",
                        message=f"{type(exc).__name__}: {exc}"[:500],
                        region=ctx.region,
                        account=ctx.account,
                    )
                )


def _dedupe(resources: list[Resource]) -> list[Resource]:
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for resource in resources:
        key = (resource.type, resource.id, resource.region)
        if key not in seen:
            seen.add(key)
            out.append(resource)
    return out
