"""Answer every API call the collectors make from botocore's own service models, without moto.

`OPERATIONS` is every operation a scan can call, derived as `ccme-audit iam-policy` derives its
actions (auditor.collect.registry.calls_for, every collector's resource types, every opt-in
option). `answers(key)` is a hypothesis strategy of what AWS may answer to one operation, built
from that operation's output shape in the installed botocore (optional members present or absent,
empty and short lists, unknown enum values, timestamps, maps, nested structures, bounded depth),
split into pages with the paginator's own token members, or one of the operation's error codes
(the model's, plus the ones every service may answer: access denied, opt-in, bad credentials).

`World.run(scenario)` runs every collector of a scan (auditor.collect.runner's task list and crash
guard) with clients whose `before-call` event answers from the scenario, as botocore's Stubber
does, keyed by operation and pagination token so the answer does not depend on call order.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import string
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.model import OperationModel, Shape
from hypothesis import strategies as st

from auditor.app.pipeline import evaluate
from auditor.collect import registry, runner
from auditor.collect.base import Call, CallCounter, CollectContext
from auditor.collect.contract import contract
from auditor.collect.plan import Plan, build_plan
from auditor.collect.regions import disabled_regions
from auditor.config import AuditConfig, load_config
from auditor.engine.evaluate import Evaluation
from auditor.engine.rules import Rule, load_rules
from auditor.snapshot import CollectionError, Resource, Snapshot, snapshot_from_json

REGION = "eu-west-1"
# An opt-in region asked of ec2:DescribeRegions on every run, as a scan asks when the config names one
# (auditor/collect/regions.py): its answer decides whether that region is collected at all.
OPT_IN_REGION = "ap-southeast-3"
ACCOUNT = "111122223333"
BOTOCORE = botocore.session.get_session()
UNKNOWN_ENUM = "FUTURE_VALUE_2031"  # a value a newer AWS may send that this botocore's enum lacks
MAX_DEPTH = 6  # below this, optional members are left out and lists are empty

# A configured environment (both packs): the names rules select on also appear in answers.
CONFIG_SETS: list[tuple[str, Any]] = [
    ("regions", [REGION]),
    ("account", ACCOUNT),
    ("packs", ["ccme", "bbp"]),
    ("retry.max_pages", 12),  # an endless listing (Endless below) ends after 12 pages
    ("kms_prefix", "ccme"),
    ("buckets.logging", "ccme-logging-111122223333"),
    ("buckets.internals", "ccme-internals-111122223333"),
    ("buckets.userdata", "ccme-userdata-111122223333"),
    ("network.vpc_id", "vpc-0a1b2c3d4e5f60718"),
    ("network.frontend_subnets", ["subnet-0f1e2d3c4b5a60001", "subnet-0f1e2d3c4b5a60002"]),
    ("network.backend_subnets", ["subnet-0f1e2d3c4b5a60003", "subnet-0f1e2d3c4b5a60004"]),
    ("network.cluster_vpc_id", "vpc-0c1c2c3c4c5c60718"),
    ("network.cluster_subnets", ["subnet-0c1c2c3c4c5c60001"]),
    ("secret_name", "ccme/directory/admin"),
    ("certificate_domain", "ccme.example.com"),
    ("bbp.main_vpc_id", "vpc-0d1d2d3d4d5d60718"),
    ("bbp.provisioner_function", "bbp-provisioner"),
    ("bbp.slurm_log_group", "/bbp/slurm"),
    ("bbp.slurm_db_instance", "bbp-slurm-db"),
    ("bbp.slurm_db_secret", "bbp/slurm/db"),
    ("management_host", "ccme-management-host"),
    ("deployment.stacks", ["ccme-management"]),
    ("options.read_secret_values", True),
    ("options.probe_cost_explorer", True),
]

POLICIES = (
    json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
         "Resource": "*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
    json.dumps({"Version": "2012-10-17", "Statement": []}),
    "{not json",
    "",
)
POLICY_MEMBERS = {"Policy", "PolicyDocument", "policy"}
# A listed item's identifier: botocore's models leave it optional, AWS always sends it (every
# documented example and recorded answer has it). Kept present in listed items; what happens
# when one is missing anyway is its own test (test_shape_fuzz.py, an item without its id).
IDENTIFIERS = frozenset({
    "Name", "ARN", "Id", "id", "Arn", "KeyId", "AliasName", "VpcId", "SubnetId", "RouteTableId", "InternetGatewayId",
    "NatGatewayId", "VpcEndpointId", "DhcpOptionsId", "GroupId", "VpcPeeringConnectionId", "KeyName",
    "LoadBalancerArn", "ListenerArn", "CertificateArn", "DBInstanceIdentifier", "FunctionName", "logGroupName",
    "FileSystemId", "AssociationId", "FirewallArn", "FirewallName", "FirewallRuleGroupId", "FirewallDomainListId",
})


def all_calls() -> dict[str, Call]:
    """Every operation a scan may call, as `iam-policy` derives it: every type, every opt-in option."""
    types = {t for c in registry.COLLECTORS for t in c.RESOURCE_TYPES}
    options = {call.option for c in registry.COLLECTORS for call in c.CALLS if call.option}
    return {call.key: call for call in registry.calls_for(types, options) if call.service != "sts"}


OPERATIONS = all_calls()


def operation_model(key: str) -> OperationModel:
    service, operation = key.split(":", 1)
    return BOTOCORE.get_service_model(service).operation_model(operation)


def paginator(key: str) -> dict[str, Any] | None:
    service, operation = key.split(":", 1)
    try:
        config = BOTOCORE.get_paginator_model(service).get_paginator(operation)
    except ValueError:
        return None
    return dict(config)


def _tokens(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


# --- error codes ----------------------------------------------------------------------------------

# What any service may answer, in its protocol's spelling, beyond the errors its model lists.
COMMON_CODES = {
    "ec2": ("UnauthorizedOperation", "AuthFailure", "OptInRequired", "RequestLimitExceeded", "InvalidClientTokenId"),
    "query": ("AccessDenied", "OptInRequired", "InvalidClientTokenId", "Throttling"),
    "rest-xml": ("AccessDenied", "InvalidAccessKeyId", "SlowDown"),
    "json": ("AccessDeniedException", "UnrecognizedClientException", "OptInRequired", "ThrottlingException"),
}
# Per service, codes AWS documents outside the model (S3's error list, IAM's spelling).
SERVICE_CODES = {
    "s3": ("NoSuchBucket",),
    "iam": ("NoSuchEntity", "AccessDenied"),
    "lambda": ("AccessDeniedException",),
    "apigateway": ("AccessDeniedException",),
    "efs": ("AccessDeniedException",),
}
OPERATION_CODES = {
    "s3:GetPublicAccessBlock": ("NoSuchPublicAccessBlockConfiguration",),
    "s3:GetBucketEncryption": ("ServerSideEncryptionConfigurationNotFoundError",),
    "s3:GetBucketPolicy": ("NoSuchBucketPolicy",),
    "s3:GetBucketOwnershipControls": ("OwnershipControlsNotFoundError",),
    "s3control:GetPublicAccessBlock": ("NoSuchPublicAccessBlockConfiguration",),
}


def error_codes(key: str) -> tuple[str, ...]:
    """The documented error codes of one operation (model + service + protocol), wire spelling."""
    model = operation_model(key)
    service = key.split(":", 1)[0]
    codes: list[str] = []
    for shape in model.error_shapes:
        codes.append(str(shape.metadata.get("error", {}).get("code") or shape.error_code or shape.name))
    protocol = model.service_model.protocol
    family = "json" if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor") else protocol
    codes += [*COMMON_CODES[family], *SERVICE_CODES.get(service, ()), *OPERATION_CODES.get(key, ())]
    return tuple(dict.fromkeys(codes))


def error_status(code: str) -> int:
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure", "OptInRequired",
                "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "ForbiddenException"):
        return 403
    if code.startswith("NoSuch") or code.endswith(("NotFoundException", "NotFoundError", "NotFound")):
        return 404
    if code in ("SlowDown", "ServiceUnavailableException", "ServiceUnavailable"):
        return 503
    if "Internal" in code or code in ("ServiceException", "ServiceFailureException", "DependencyTimeoutException"):
        return 500
    return 400


# --- answers from output shapes -------------------------------------------------------------------

@dataclass(frozen=True)
class Error:
    code: str
    status: int
    message: str = "answered by the shape fuzzer"


@dataclass(frozen=True)
class Pages:
    """The pages of one answer: page i answers the request carrying token i (none for page 0)."""

    pages: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class ByRequest:
    """Answers that depend on the request, as AWS's do (one bucket's versioning, one key's policy): the
    first entry whose parameters are all in the request (equal values) answers; none matching leaves the
    call unanswered (recorded in Served.unanswered, answered AccessDenied)."""

    entries: tuple[tuple[Mapping[str, Any], Pages | Error], ...]

    def pick(self, params: Mapping[str, Any]) -> Pages | Error | None:
        for wanted, answer in self.entries:
            if all(params.get(name) == value for name, value in wanted.items()):
                return answer
        return None


@dataclass(frozen=True)
class Endless:
    """A listing that never ends: every request is answered `page` with a fresh next token."""

    page: Mapping[str, Any]


Answer = Pages | Error | ByRequest | Endless


class Strategies:
    def __init__(self, pool: tuple[str, ...]):
        self.pool = pool
        self._cache: dict[tuple[str, str, int], st.SearchStrategy[Any]] = {}

    def text(self, name: str) -> st.SearchStrategy[str]:
        if name in POLICY_MEMBERS:
            return st.sampled_from(POLICIES)
        alphabet = string.ascii_letters + string.digits + "-/.:*"
        return st.one_of(st.sampled_from(self.pool), st.text(alphabet, max_size=12))

    def shape(self, service: str, shape: Shape, depth: int, name: str = "") -> st.SearchStrategy[Any]:
        key = (service, f"{shape.name}/{name}", depth)
        if key not in self._cache:
            self._cache[key] = self._build(service, shape, depth, name)
        return self._cache[key]

    def _build(self, service: str, shape: Shape, depth: int, name: str) -> st.SearchStrategy[Any]:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(service, shape, depth)
        if kind == "list":
            if depth >= MAX_DEPTH:
                return st.just([])
            member = shape.member  # type: ignore[attr-defined]
            item = (self.structure(service, member, depth + 1, listed=True) if member.type_name == "structure"
                    else self.shape(service, member, depth + 1, name))
            low = min(int(shape.metadata.get("min", 0)), 1)
            return st.lists(item, min_size=low, max_size=3 if depth < 3 else 1)
        if kind == "map":
            if depth >= MAX_DEPTH:
                return st.just({})
            keys = self.shape(service, shape.key, depth + 1)  # type: ignore[attr-defined]
            return st.dictionaries(keys, self.shape(service, shape.value, depth + 1), max_size=2)  # type: ignore[attr-defined]
        if kind == "string":
            if shape.enum:
                return st.sampled_from([*shape.enum, UNKNOWN_ENUM])
            low = int(shape.metadata.get("min", 0))
            return self.text(name).map(lambda v: v.ljust(low, "0")) if low else self.text(name)
        if kind in ("integer", "long"):
            low = shape.metadata.get("min", -5)
            return st.integers(min_value=int(low), max_value=int(shape.metadata.get("max", 10_000)))
        if kind in ("float", "double"):
            return st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1),
                                timezones=st.just(dt.UTC))
        if kind == "blob":
            return st.binary(max_size=8)
        raise AssertionError(f"shape type {kind} of {shape.name} is not generated")

    def structure(self, service: str, shape: Shape, depth: int, skip: frozenset[str] = frozenset(),
                  listed: bool = False) -> Any:
        key = (service, f"{shape.name}/listed={listed}/{sorted(skip)}", depth)
        if key not in self._cache:
            self._cache[key] = self._structure(service, shape, depth, skip, listed)
        return self._cache[key]

    def _structure(self, service: str, shape: Shape, depth: int, skip: frozenset[str], listed: bool) -> Any:
        required = set(shape.required_members)  # type: ignore[attr-defined]
        if listed:
            required |= IDENTIFIERS & set(shape.members)  # type: ignore[attr-defined]
        fields: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for member, sub in shape.members.items():  # type: ignore[attr-defined]
            if member in skip or (depth >= MAX_DEPTH and member not in required):
                continue
            value = self.shape(service, sub, depth + 1, member)
            if listed and member in IDENTIFIERS and sub.type_name == "string":
                value = value.filter(bool)  # an identifier is never empty
            (fields if member in required else optional)[member] = value
        return st.fixed_dictionaries(fields, optional=optional)


def answers(key: str, strategies: Strategies, *, errors: bool = True) -> st.SearchStrategy[Answer]:
    """What AWS may answer to one operation: pages generated from its output shape, or an error."""
    model = operation_model(key)
    service = key.split(":", 1)[0]
    paging = paginator(key)
    out_tokens = _tokens(paging["output_token"]) if paging else []
    more = paging.get("more_results") if paging else None
    shape = model.output_shape
    skip = frozenset(t.split(".")[0] for t in out_tokens) | ({more} if more else set())
    page = st.just({}) if shape is None else strategies.structure(service, shape, 0, skip)

    def paged(items: list[dict[str, Any]]) -> Pages:
        pages = []
        for i, item in enumerate(items):
            item = dict(item)
            last = i == len(items) - 1
            for token in out_tokens:
                if not last:
                    _set_path(item, token, f"token-{i + 1}")
            if more:
                item[more] = not last
            pages.append(item)
        return Pages(tuple(pages))

    success = st.lists(page, min_size=1, max_size=3 if paging else 1).map(paged)
    if not errors:
        return success
    failure = st.sampled_from(error_codes(key)).map(lambda c: Error(c, error_status(c)))
    return st.one_of(success, success, success, failure, hostile(key, success))


def result_key(key: str) -> str | None:
    """The member a listing's items are under (the paginator's, else the contract's), if any."""
    paging = paginator(key)
    if paging and paging.get("result_key"):
        return str(_tokens(paging["result_key"])[0])
    terms = contract(key)
    return terms.requires[0] if terms.identifier is not None else None


# How AWS says "not configured" to a call whose answer must otherwise hold the configuration.
NOT_CONFIGURED_CODES = {
    "s3control:GetPublicAccessBlock": ("NoSuchPublicAccessBlockConfiguration", 404),
    "s3:GetPublicAccessBlock": ("NoSuchPublicAccessBlockConfiguration", 404),
    "s3:GetBucketEncryption": ("ServerSideEncryptionConfigurationNotFoundError", 404),
    "s3:GetBucketPolicy": ("NoSuchBucketPolicy", 404),
    "s3:GetBucketOwnershipControls": ("OwnershipControlsNotFoundError", 404),
    "lambda:GetPolicy": ("ResourceNotFoundException", 404),
}


def none_exist(key: str) -> Pages | Error:
    """The well-formed answer "there are none": a listing's result key present and empty (an answer
    without it is incomplete: auditor/collect/contract.py), the "not configured" error of a call that
    has one, `{}` for any other operation."""
    if key in NOT_CONFIGURED_CODES:
        return Error(*NOT_CONFIGURED_CODES[key])
    listed = result_key(key)
    return Pages(({listed: []} if listed is not None and "." not in listed and "[" not in listed else {},))


def hostile(key: str, success: st.SearchStrategy[Pages]) -> st.SearchStrategy[Answer]:
    """Successful answers with nothing in them, as a proxy or an SDK bug may give (issue 22): an empty
    body or `{}`, the result key null, a listing that never ends, duplicate items, an item without
    its identifier."""
    options: list[st.SearchStrategy[Answer]] = [st.just(Pages(({},)))]
    listed = result_key(key)
    if listed is not None and "." not in listed and "[" not in listed:
        options.append(st.just(Pages(({listed: None},))))
        if paginator(key):
            options.append(st.just(Endless({listed: []})))
        options.append(success.map(lambda answer: _edit_first(answer, listed, duplicate=True)))
        ident = contract(key).identifier
        if ident is not None:
            options.append(success.map(lambda answer: _edit_first(answer, listed, drop=ident)))
    return st.one_of(*options)


def _edit_first(answer: Pages, listed: str, *, duplicate: bool = False, drop: str | None = None) -> Pages:
    pages = [copy.deepcopy(dict(p)) for p in answer.pages]
    items = pages[0].get(listed)
    if isinstance(items, list) and items:
        if duplicate:
            items.append(copy.deepcopy(items[0]))
        if drop is not None and isinstance(items[0], dict):
            items[0].pop(drop, None)
    return Pages(tuple(pages))


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value


# --- running the collectors on a scenario ---------------------------------------------------------

class Inline(Executor):
    """The detail pool, run in the calling thread: answers are drawn and served deterministically."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@dataclass
class Served:
    """What the answerer did during one run."""

    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key -> params of each call
    pages: dict[str, set[int]] = field(default_factory=dict)  # key -> page indexes served
    unanswered: list[str] = field(default_factory=list)


class Answerer:
    """A client hook: `before-call` answers from the current scenario (botocore's Stubber's way)."""

    def __init__(self) -> None:
        self.scenario: Mapping[str, Answer] = {}
        self.default: Callable[[str], Answer] | None = None
        self.served = Served()
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        sid = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-parameter-build.{sid}", self._params)
        client.meta.events.register(f"before-call.{sid}", self._answer(service))

    @staticmethod
    def _params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["shape-fuzz-params"] = copy.deepcopy(params)

    def _answer(self, service: str) -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
        def answer(model: OperationModel, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            key = f"{service}:{model.name}"
            params = context.get("shape-fuzz-params", {})
            with self._lock:
                self.served.calls.setdefault(key, []).append(params)
            found = self.scenario.get(key)
            if found is None and self.default is not None:
                found = self.default(key)
            if isinstance(found, ByRequest):
                found = found.pick(params)
            if found is None:
                with self._lock:
                    self.served.unanswered.append(key)
                found = Error("AccessDenied", 403, "no answer in this scenario")
            if isinstance(found, Error):
                meta = {"HTTPStatusCode": found.status, "RequestId": "fuzz", "HTTPHeaders": {}}
                body = {"Error": {"Code": found.code, "Message": found.message}, "ResponseMetadata": meta}
                return AWSResponse("https://fuzz.invalid", found.status, {}, None), body
            paging = paginator(key)
            index = 0
            if isinstance(found, Endless):
                page = copy.deepcopy(dict(found.page))
                if paging:
                    token = next((params.get(t) for t in _tokens(paging["input_token"]) if params.get(t)), None)
                    index = int(str(token).removeprefix("token-")) if token is not None else 0
                    for name in _tokens(paging["output_token"]):
                        _set_path(page, name, f"token-{index + 1}")
                    if paging.get("more_results"):
                        page[paging["more_results"]] = True
                    with self._lock:
                        self.served.pages.setdefault(key, set()).add(index)
                    index = 0
                found = Pages((page,))
            elif paging:
                token = next((params.get(t) for t in _tokens(paging["input_token"]) if params.get(t)), None)
                if token is not None:
                    assert str(token).startswith("token-"), f"{key}: a pagination token we never sent: {token!r}"
                    index = int(str(token).removeprefix("token-"))
            with self._lock:
                self.served.pages.setdefault(key, set()).add(index)
            parsed = copy.deepcopy(dict(found.pages[index]))
            parsed["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": "fuzz", "HTTPHeaders": {},
                                          "RetryAttempts": 0}
            return AWSResponse("https://fuzz.invalid", 200, {}, None), parsed

        return answer


@contextmanager
def fake_credentials() -> Iterator[None]:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_CONFIG_FILE"):
            del os.environ[name]
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Run:
    snapshot: Snapshot
    served: Served
    disabled: dict[str, str] = field(default_factory=dict)  # what disabled_regions() said of OPT_IN_REGION

    @property
    def crashed(self) -> list[CollectionError]:
        return [e for e in self.snapshot.errors if e.code == "CollectorCrashed"]

    def errors_on(self, action: str) -> list[CollectionError]:
        return [e for e in self.snapshot.errors if e.operation == action]

    def resources(self, rtype: str) -> list[Resource]:
        return [r for r in self.snapshot.resources if r.type == rtype]


class World:
    """The configured environment, its rules and plan, and clients answered by an Answerer."""

    def __init__(self, sets: list[tuple[str, Any]] | None = None):
        self.cfg: AuditConfig = load_config(Path(os.devnull), sets or CONFIG_SETS)
        self.rules: list[Rule] = load_rules(None, self.cfg.packs)
        planned = build_plan(self.rules, self.cfg, ACCOUNT)
        # Every collector's types (iam.role has no rule in these packs): a type no rule names is collected whole.
        every = {t for c in registry.COLLECTORS for t in c.RESOURCE_TYPES}
        self.plan: Plan = Plan(types=planned.types | every, selectors=planned.selectors, options=planned.options)
        self.answerer = Answerer()
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        self.factory = runner.ClientFactory(session, REGION, max_attempts=1, counter=CallCounter(),
                                            retry_mode="standard", hooks=[self.answerer])
        collectors = registry.collectors_for(self.plan.types)
        self.tasks = runner._tasks(collectors, list(self.cfg.regions))
        self.calls = {c.key: c for c in registry.calls_for(self.plan.types, self.plan.options)}
        self.strategies = Strategies(self.pool())

    def pool(self) -> tuple[str, ...]:
        """Strings the rules and the configuration name (selector values, configured ids), ARNs of them."""
        values: set[str] = set()
        for selector in self.plan.selectors.values():
            for wanted in (selector or {}).values():
                values.update(v for v in wanted if isinstance(v, str))
        for _, value in CONFIG_SETS:
            items = value if isinstance(value, list) else [value]
            values.update(v for v in items if isinstance(v, str) and v not in ("ccme", "bbp", REGION))
        values.update({"alias/ccme-cloudwatch", "alias/ccme-s3", "0.0.0.0/0", "::/0", "tcp", "-1", "443", "22",
                       REGION, OPT_IN_REGION, "opted-in", "not-opted-in", "eu-west-1a", "eu-west-1b", ACCOUNT,
                       "AES256", "aws:kms", "Enabled"})
        return tuple(sorted(values))

    def run(self, scenario: Mapping[str, Answer], default: Callable[[str], Answer] | None = None) -> Run:
        self.answerer.scenario = scenario
        self.answerer.default = default
        self.answerer.served = Served()
        resources: list[Resource] = []
        errors: list[CollectionError] = []
        pool = Inline()
        disabled = disabled_regions(self.factory, [REGION, OPT_IN_REGION], ACCOUNT)
        for collector, region in self.tasks:
            ctx = CollectContext(collector=collector.__name__.rsplit(".", 1)[-1], calls=self.calls,
                                 client_factory=self.factory, region=region, account=ACCOUNT, config=self.cfg,
                                 plan=self.plan, pool=pool)
            runner._run(collector, ctx)
            resources.extend(ctx.resources)
            errors.extend(ctx.errors)
        resources.sort(key=lambda r: (r.type, r.region or "", r.id))
        snapshot = Snapshot(kind="live", resources=tuple(runner._dedupe(resources)), errors=tuple(errors),
                            account=ACCOUNT, regions=tuple(self.cfg.regions), collected_at="2026-12-05T08:00:00+00:00",
                            options={"packs": list(self.cfg.packs), "plan": self.plan.to_json()})
        return Run(snapshot, self.answerer.served, disabled)

    def evaluate(self, snapshot: Snapshot) -> Evaluation:
        return evaluate(snapshot, self.rules, self.cfg, today=dt.date(2026, 12, 5))


def validated(snapshot: Snapshot) -> Snapshot:
    """The snapshot as `evaluate` would read it back: JSON (as Snapshot.dump writes) then the schemas."""
    document = json.loads(json.dumps(snapshot.to_json(), default=str))
    return snapshot_from_json(document, file="<shape-fuzz snapshot>")
