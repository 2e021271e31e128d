"""What every collector shares: declared calls, the call wrapper, the plan it reads, the collection context, and
the shared helpers (tags, decode_policy). Collectors import this module only; the registry imports the collectors."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from xml.etree.ElementTree import ParseError

import jmespath
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from auditor.collect.contract import contract, missing_members
from auditor.collect.retry import note as retry_note
from auditor.config import AuditConfig
from auditor.partitions import opt_in_candidate
from auditor.snapshot import CollectionError, Resource, conform, unknown

T = TypeVar("T")
R = TypeVar("R")

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnauthorizedAccess",
        "Forbidden",
        "403",
        "AuthFailure",
        "NotAuthorized",
    }
)


@dataclass(frozen=True)
class Call:
    """One API operation a collector makes: botocore service and operation, and its IAM action."""

    service: str
    operation: str
    action: str
    option: str | None = None  # an opt-in option that must be set before the call is made

    @property
    def key(self) -> str:
        return f"{self.service}:{self.operation}"


# The calls every scan may make before collecting: who the caller is; which configured regions the
# account has enabled (only when one of them is opt-in: auditor/collect/regions.py).
STS_CALLS = (
    Call("sts", "GetCallerIdentity", "sts:GetCallerIdentity"),
    Call("ec2", "DescribeRegions", "ec2:DescribeRegions"),
)
# What a call to a region the account has not enabled answers (by protocol), and OptInRequired.
OPT_IN_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "OptInRequired"})


def enable_region_fix(region: str) -> str:
    """How to make a disabled opt-in region usable, or stop asking for it (the fix its findings show)."""
    return (f"enable it (AWS console: Account > AWS Regions, or `aws account enable-region --region-name {region}`) "
            "or remove it from `regions` in the config")


def iam_actions(calls: Iterable[Call]) -> tuple[str, ...]:
    return tuple(sorted({c.action for c in calls}))


@dataclass(frozen=True)
class Failed:
    """A call that did not answer: the error code (normalised), its message and the IAM action."""

    code: str
    message: str
    action: str
    status: int | None = None

    @property
    def denied(self) -> bool:
        return self.code in ACCESS_DENIED_CODES or self.status == 403

    def unknown(self) -> dict[str, str]:
        return unknown(f"{self.code} on {self.action}: {self.message}")


def classify(exc: Exception, action: str) -> Failed:
    """Turn a botocore exception into a Failed, matching the code AND the HTTP status.

    moto in server mode returns some AccessDenied answers as an XML body that botocore reads as
    Code '403': the HTTP status decides then. A call the retry budget gave up on says so.
    """
    failed = _classify(exc, action)
    budget = retry_note(exc)
    if budget:
        message = f"{failed.message} ({budget})" if failed.message else budget
        failed = replace(failed, message=message[:700])
    return failed


def _classify(exc: Exception, action: str) -> Failed:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {}) or {}
        meta = exc.response.get("ResponseMetadata", {}) or {}
        status = meta.get("HTTPStatusCode")
        code = str(error.get("Code") or status or "ClientError")
        message = str(error.get("Message") or "")
        if code.isdigit() and message.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            # Not an AWS error: a proxy's or a web server's page (moto_server's for an operation it lacks).
            message = f"HTTP {code} with an HTML page instead of an AWS error answer"
        if code in ("403", "Forbidden") or (status == 403 and code.isdigit()):
            code = "AccessDenied"
        return Failed(code=code, message=" ".join(message.split())[:500], action=action, status=status)
    if isinstance(exc, BotoCoreError):
        return Failed(code=type(exc).__name__, message=str(exc)[:500], action=action)
    if isinstance(exc, MALFORMED):
        # botocore's XML parser appends the body after a newline: keep the first line only.
        first = (str(exc).splitlines() or [""])[0]
        return Failed(code="MalformedResponse", message=first[:500], action=action)
    raise exc


ClientFactory = Callable[[str, "str | None"], Any]
class UnreadableAnswer(Exception):
    """The SDK's own handling of an answer failed on it (a handler iterating a list that came back null, say)."""


def _sdk(fn: Callable[..., Any], **params: Any) -> Any:
    """Call into botocore; an error its handlers raise on the answer becomes UnreadableAnswer."""
    try:
        return fn(**params)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise UnreadableAnswer(f"the SDK could not read the answer: {type(exc).__name__}: {exc}") from exc


def _sdk_pages(pages: Iterable[Any]) -> Iterator[Any]:
    """The pages of a paginator; an error botocore raises while reading one becomes UnreadableAnswer."""
    iterator = iter(pages)
    while True:
        try:
            page = next(iterator)
        except StopIteration:
            return
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            raise UnreadableAnswer(f"the SDK could not read the answer: {type(exc).__name__}: {exc}") from exc
        yield page


# A response botocore (or one of its handlers, e.g. S3 GetBucketLocation's) could not parse or read.
MALFORMED = (ResponseParserError, ParseError, UnreadableAnswer)
CALL_ERRORS = (ClientError, BotoCoreError, *MALFORMED)


@dataclass
class Plan:
    types: frozenset[str]
    # type -> {path -> values}; a type missing here (or mapped to None) needs every resource in detail
    selectors: dict[str, dict[str, set[Any]] | None] = field(default_factory=dict)
    options: frozenset[str] = frozenset()

    def wants(self, rtype: str) -> bool:
        return rtype in self.types

    def selects_all(self, rtype: str) -> bool:
        return self.selectors.get(rtype) is None

    def selected(self, rtype: str, values: Mapping[str, Any], normalize: Callable[[Any], Any] | None = None) -> bool:
        """Whether a resource with these attribute values is selected by some rule of `rtype`.

        `values` maps a selector path to the resource's value there (a list counts per element).
        `normalize`, when given, is applied to both sides (near misses a rule may flag).
        """
        if rtype not in self.types:
            return False
        selector = self.selectors.get(rtype)
        if selector is None:
            return True
        norm = normalize or (lambda v: v)
        if any(path not in values for path in selector):
            return True  # a rule selects on a value the collector cannot see cheaply: collect it
        for path, wanted in selector.items():
            observed = values[path]
            items = observed if isinstance(observed, list) else [observed]
            wanted_norm = {norm(w) for w in wanted}
            if any(norm(item) in wanted_norm for item in items):
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "types": sorted(self.types),
            "selectors": {
                t: ({p: sorted(map(str, v)) for p, v in s.items()} if s is not None else "all")
                for t, s in sorted(self.selectors.items())
            },
            "options": sorted(self.options),
        }


@dataclass
class CollectContext:
    """Everything a collector sees for one (collector, region) task."""

    collector: str
    calls: Mapping[str, Call]
    client_factory: ClientFactory
    region: str | None
    account: str
    config: AuditConfig
    plan: Plan
    pool: Executor
    resources: list[Resource] = field(default_factory=list)
    errors: list[CollectionError] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- calls -------------------------------------------------------------------------------

    def _declared(self, service: str, operation: str) -> Call:
        call = self.calls.get(f"{service}:{operation}")
        if call is None:  # a programming error: every call must be declared for iam-policy
            raise RuntimeError(f"{self.collector} calls undeclared {service}:{operation}")
        return call

    def client(self, service: str, region: str | None = None) -> Any:
        return self.client_factory(service, region or self.region)

    def call(
        self,
        service: str,
        operation: str,
        *,
        absent: Iterable[str] = (),
        region: str | None = None,
        **params: Any,
    ) -> dict[str, Any] | Failed | None:
        """Make one call: the response, None when it fails with an `absent` code, or Failed."""
        call = self._declared(service, operation)
        client = self.client(service, region)
        method = getattr(client, _snake(operation))
        try:
            answer = _sdk(method, **params)
        except CALL_ERRORS as exc:
            failed = classify(exc, call.action)
            if failed.code in set(absent):
                return None
            return self._hinted(failed, region or self.region)
        lacking = missing_members(answer, contract(call.key).requires)
        if lacking:
            return incomplete(call, lacking)
        return answer

    def paginate(
        self, service: str, operation: str, key: str, *, region: str | None = None, **params: Any
    ) -> list[Any] | Failed:
        """All items under `key` across pages, or Failed.

        Every page must hold `key` (and the operation's other required members: contract.py); a
        token seen before, a page that says it is truncated without a token, or more pages than
        `retry.max_pages` make the listing a collection error, never a shorter list. Items without
        the contract's identifier are left out and recorded as an error on the types they would be.
        """
        call = self._declared(service, operation)
        terms = contract(call.key)
        requires = tuple(dict.fromkeys((key, *terms.requires)))
        client = self.client(service, region)
        limit = max_pages(self.config)
        items: list[Any] = []
        pages = 0
        try:
            if not client.can_paginate(_snake(operation)):
                answer = _sdk(getattr(client, _snake(operation)), **params)
                lacking = missing_members(answer, requires)
                if lacking:
                    return incomplete(call, lacking)
                return self._identified(call, list(answer[key]))
            paginator = client.get_paginator(_snake(operation))
            tokens = _expressions(paginator, "output_token")
            more = _expressions(paginator, "more_results")
            seen: set[str] = set()
            for page in _sdk_pages(paginator.paginate(**params)):
                pages += 1
                lacking = missing_members(page, requires)
                if lacking:
                    return incomplete(call, lacking, pages)
                value = page[key]
                if not isinstance(value, list):
                    return incomplete(call, [f"{key} (a list)"], pages)
                items.extend(value)
                token = json.dumps([t.search(page) for t in tokens], sort_keys=True, default=str)
                ended = all(t.search(page) is None for t in tokens)
                if ended and any(m.search(page) for m in more):
                    return Failed("IncompleteResponse", f"page {pages} of the answer says it is truncated "
                                  "but carries no token for the next page", call.action)
                if ended:
                    break
                if token in seen:
                    return Failed("PaginationError", f"page {pages} repeats a pagination token seen before: "
                                  "the listing would never end", call.action)
                if pages >= limit:
                    return Failed("PaginationError", f"still not finished after {pages} pages (the bound is "
                                  "retry.max_pages)", call.action)
                seen.add(token)
        except CALL_ERRORS as exc:
            failed = classify(exc, call.action)
            if pages:
                failed = replace(failed, message=f"{failed.message} (after {pages} pages)")
            return self._hinted(failed, region or self.region)
        return self._identified(call, items)

    def _identified(self, call: Call, items: list[Any]) -> list[Any]:
        """The items carrying the contract's identifier; each other one is an error on its types."""
        terms = contract(call.key)
        if terms.identifier is None:
            return items
        kept = []
        for position, item in enumerate(items, 1):
            ident = item.get(terms.identifier) if isinstance(item, dict) else None
            if isinstance(ident, str) and ident:
                kept.append(item)
                continue
            failed = Failed("UnidentifiedItem", f"item {position} of the answer has no {terms.identifier}: "
                            "it cannot be told apart from the others, so no rule can judge it", call.action)
            for rtype in terms.types:
                if self.plan.wants(rtype):
                    self.type_error(rtype, failed)
        return kept

    @staticmethod
    def _hinted(failed: Failed, region: str | None) -> Failed:
        """An authentication error from an opt-in region says what it most likely means."""
        if failed.code not in OPT_IN_CODES or region is None or not opt_in_candidate(region):
            return failed
        hint = f"if {region} is an opt-in region not enabled for this account, {enable_region_fix(region)}"
        return replace(failed, message=f"{failed.message} ({hint})")

    # --- results -----------------------------------------------------------------------------

    def add(
        self,
        rtype: str,
        rid: str,
        attributes: dict[str, Any],
        *,
        name: str | None = None,
        regional: bool = True,
    ) -> None:
        resource = Resource(
            type=rtype,
            id=rid,
            attributes=conform(rtype, attributes),
            name=name,
            region=self.region if regional else None,
            account=self.account,
        )
        with self._lock:
            self.resources.append(resource)

    def type_error(self, rtype: str, failed: Failed, *, regional: bool = True) -> None:
        with self._lock:
            self.errors.append(
                CollectionError(
                    resource_type=rtype,
                    operation=failed.action,
                    code=failed.code,
                    message=failed.message,
                    region=self.region if regional else None,
                    account=self.account,
                )
            )

    def attribute_error(
        self, rtype: str, rid: str, attribute: str | None, failed: Failed, *, regional: bool = True
    ) -> dict[str, str]:
        """Record a failed detail call on one resource; returns the unknown value for the attribute."""
        with self._lock:
            self.errors.append(
                CollectionError(
                    resource_type=rtype,
                    operation=failed.action,
                    code=failed.code,
                    message=failed.message,
                    resource_id=rid,
                    attribute=attribute,
                    region=self.region if regional else None,
                    account=self.account,
                )
            )
        return failed.unknown()

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Run per-resource detail work concurrently on the shared detail pool."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        return list(self.pool.map(fn, items))


DEFAULT_MAX_PAGES = 2000  # 2,000 pages of 100 to 1,000 items: past any real account, reached in seconds


def max_pages(config: AuditConfig) -> int:
    """The page bound of one listing: `retry.max_pages` in the config, or DEFAULT_MAX_PAGES."""
    retry = config.data.get("retry") if isinstance(config.data, Mapping) else None
    value = retry.get("max_pages") if isinstance(retry, Mapping) else None
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_PAGES


def incomplete(call: Call, lacking: Sequence[str], page: int | None = None) -> Failed:
    """A 2xx answer without a member the collector needs: a collection error, never an empty value."""
    where = f"page {page} of the answer" if page else "the answer"
    return Failed("IncompleteResponse", f"{where} has no {', '.join(lacking)} (absent or null)", call.action)


def _expressions(paginator: Any, name: str) -> list[Any]:
    """The paginator's compiled JMESPath expressions for `output_token` or `more_results`."""
    config = getattr(paginator, "_pagination_cfg", None) or {}
    value = config.get(name)
    if value is None:
        return []
    return [jmespath.compile(v) for v in ([value] if isinstance(value, str) else value)]


def not_collected(reason: str = "no selected rule applies to this resource") -> dict[str, str]:
    return unknown(f"not collected: {reason}")


def missing(action: str, member: str) -> dict[str, str]:
    """The value of an attribute whose member AWS left out of an answer: unknown, never a guess."""
    return unknown(f"{member} missing from the {action} answer")


def name_tag(tags: Iterable[Mapping[str, Any]] | None) -> str | None:
    for tag in tags or ():
        if tag.get("Key") == "Name":
            return str(tag.get("Value"))
    return None


def tag_map(tags: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {str(t.get(key)): str(t.get(value, "")) for t in tags or () if t.get(key) is not None}


def _snake(operation: str) -> str:
    return str(xform_name(operation))


class CallCounter:
    """Counts API calls (before-call) and HTTP attempts (before-send) by service:Operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any, service: str) -> None:
        def on_call(model: Any, **_: Any) -> None:
            with self._lock:
                self.calls[f"{service}:{model.name}"] += 1

        def on_send(event_name: str, **_: Any) -> None:
            with self._lock:
                self.requests[f"{service}:{event_name.rsplit('.', 1)[-1]}"] += 1

        client.meta.events.register("before-call", on_call)
        client.meta.events.register("before-send", on_send)


def decode_policy(text: Any) -> Any:
    """A policy document: the decoded JSON object, the raw text when it is not JSON, or None."""
    if text is None or text == "":
        return None
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return str(text)
    return value if isinstance(value, dict) else str(text)
