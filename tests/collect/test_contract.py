"""Missing evidence is never a verdict (issue 22): the response contract, pagination that always
ends, and items without an identifier.

An answer that succeeds with nothing in it (an empty body, `{}`, a result key absent or null, a
page that never ends) is a collection error on that operation: the rules that read it are ERROR,
and no rule ever has fewer findings than on a clean run without an ERROR among them.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from auditor.collect import kms, registry, s3, secrets
from auditor.collect.base import Call, CollectContext, Failed
from auditor.collect.contract import CONTRACTS, contract
from auditor.collect.plan import Plan
from auditor.demo.account import SECRET_NAME, seed_ccme_account
from auditor.engine.evaluate import evaluate
from auditor.engine.rules import Rule, load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan
from tests.collect.test_fault_injection import dependent, has_any

PROBE_CALLS = {p.call.key for p in (*registry.probes.PROBES, *registry.probes_pcluster.PROBES)}
COLLECTOR_CALLS: list[Call] = sorted(
    {c.key: c for m in registry.COLLECTORS for c in m.CALLS if c.key not in PROBE_CALLS}.values(),
    key=lambda c: c.key,
)


def _output(call: Call) -> Any:
    model = botocore.session.get_session().get_service_model(call.service)
    return model.operation_model(call.operation).output_shape


# --- the contract itself, against botocore's models --------------------------------------------


def test_every_operation_a_collector_calls_has_a_contract() -> None:
    assert {c.key for c in COLLECTOR_CALLS} <= set(CONTRACTS)


@pytest.mark.parametrize("call", COLLECTOR_CALLS, ids=lambda c: c.key)
def test_the_contract_names_members_of_the_output_shape(call: Call) -> None:
    terms = contract(call.key)
    shape = _output(call)
    for member in terms.requires:
        for name in member.split("|"):
            inner = shape
            for part in name.split("."):
                assert part in inner.members, (call.key, name)
                inner = inner.members[part]
    if terms.identifier is not None:
        (key,) = terms.requires
        item = shape.members[key].member
        assert terms.identifier in item.members, (call.key, terms.identifier)
        assert terms.types


# --- the enforcement in CollectContext, for every operation of the registry -------------------


class _Client:
    """A stand-in client whose operations answer `pages` in turn (one answer for a plain call)."""

    def __init__(self, call: Call, pages: list[dict[str, Any]]):
        self.call, self.pages, self.made = call, pages, 0
        real = botocore.session.get_session().create_client(call.service, region_name=REGION)
        self._paginable = real.can_paginate(_snake(call.operation))
        self._real = real

    def can_paginate(self, name: str) -> bool:
        return self._paginable

    def get_paginator(self, name: str) -> Any:
        client = self
        real = self._real.get_paginator(name)

        class _Paginator:
            _pagination_cfg = real._pagination_cfg

            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                for page in client.pages:
                    client.made += 1
                    yield page

        return _Paginator()

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        def method(**_: Any) -> dict[str, Any]:
            self.made += 1
            return self.pages[0]

        return method


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


def _ctx(call: Call, pages: list[dict[str, Any]], sets: dict[str, Any] | None = None) -> CollectContext:
    client = _Client(call, pages)
    return CollectContext(
        collector="test", calls={call.key: call}, client_factory=lambda service, region: client,
        region=REGION, account="123456789012", config=config(sets),
        plan=Plan(types=frozenset(t for m in registry.COLLECTORS for t in m.RESOURCE_TYPES)),
        pool=None,  # type: ignore[arg-type]
    )


def _read(ctx: CollectContext, call: Call) -> Any:
    terms = contract(call.key)
    if terms.identifier is not None or (terms.requires and _Client(call, [{}])._paginable):
        return ctx.paginate(call.service, call.operation, terms.requires[0])
    return ctx.call(call.service, call.operation)


REQUIRED = [c for c in COLLECTOR_CALLS if contract(c.key).requires]


class _Unreadable(_Client):
    """A client whose SDK fails on the answer itself, as botocore's handlers do on a list that came back null."""

    def get_paginator(self, name: str) -> Any:
        real = self._real.get_paginator(name)

        class _Paginator:
            _pagination_cfg = real._pagination_cfg

            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                yield from ()
                raise TypeError("'NoneType' object is not iterable")

        return _Paginator()

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        def method(**_: Any) -> dict[str, Any]:
            raise TypeError("'NoneType' object is not iterable")

        return method


@pytest.mark.parametrize("key", ["kms:ListAliases", "kms:GetKeyPolicy"])
def test_an_answer_the_sdk_cannot_read_is_a_failed_call_not_a_crash(key: str) -> None:
    call = next(c for c in COLLECTOR_CALLS if c.key == key)
    ctx = _ctx(call, [])
    client = _Unreadable(call, [])
    ctx.client_factory = lambda service, region: client
    got = _read(ctx, call)
    assert isinstance(got, Failed) and got.code == "MalformedResponse", got
    assert "NoneType" in got.message


@pytest.mark.parametrize("shape", ["{}", "null"])
@pytest.mark.parametrize("call", REQUIRED, ids=lambda c: c.key)
def test_an_answer_without_a_required_member_is_a_collection_error(call: Call, shape: str) -> None:
    answer = {} if shape == "{}" else dict.fromkeys(m.split("|")[0].split(".")[0] for m in contract(call.key).requires)
    got = _read(_ctx(call, [answer]), call)
    assert isinstance(got, Failed) and got.code == "IncompleteResponse", got
    assert got.action == call.action


LISTINGS = [c for c in COLLECTOR_CALLS if contract(c.key).identifier is not None]


@pytest.mark.parametrize("call", LISTINGS, ids=lambda c: c.key)
def test_an_empty_list_that_is_present_means_none_exist(call: Call) -> None:
    key = contract(call.key).requires[0]
    assert _read(_ctx(call, [{key: []}]), call) == []


@pytest.mark.parametrize("call", LISTINGS, ids=lambda c: c.key)
def test_an_item_without_its_identifier_is_an_error_and_the_others_stay(call: Call) -> None:
    terms = contract(call.key)
    key, ident = terms.requires[0], terms.identifier
    assert ident is not None
    ctx = _ctx(call, [{key: [{ident: "good-1"}, {"Other": "x"}, {ident: None}, {ident: "good-2"}]}])
    got = _read(ctx, call)
    assert got == [{ident: "good-1"}, {ident: "good-2"}]
    assert {e.resource_type for e in ctx.errors} == set(terms.types)
    assert all(e.code == "UnidentifiedItem" and e.resource_id is None for e in ctx.errors)


PAGED = [c for c in LISTINGS if _Client(c, [{}])._paginable]


def _token_pages(call: Call, fresh: bool, count: int) -> list[dict[str, Any]]:
    client = botocore.session.get_session().create_client(call.service, region_name=REGION)
    cfg = client.get_paginator(_snake(call.operation))._pagination_cfg
    tokens = cfg["output_token"]
    token = (tokens if isinstance(tokens, str) else tokens[0]).split(".")[0]
    more = cfg.get("more_results")
    key = contract(call.key).requires[0]
    ident = contract(call.key).identifier
    pages = []
    for n in range(count):
        page: dict[str, Any] = {key: [{ident: f"id-{n}"}], token: f"t{n if fresh else n % 2}"}
        if more:
            page[more] = True
        pages.append(page)
    return pages


@pytest.mark.parametrize("call", PAGED, ids=lambda c: c.key)
def test_endless_fresh_tokens_end_at_the_page_bound(call: Call) -> None:
    ctx = _ctx(call, _token_pages(call, True, 50), {"retry.max_pages": 7})
    got = _read(ctx, call)
    assert isinstance(got, Failed) and got.code == "PaginationError"
    assert "7 pages" in got.message and got.action == call.action


@pytest.mark.parametrize("call", PAGED, ids=lambda c: c.key)
def test_a_repeated_token_ends_the_listing(call: Call) -> None:
    ctx = _ctx(call, _token_pages(call, False, 50))
    got = _read(ctx, call)
    assert isinstance(got, Failed) and got.code == "PaginationError" and "page 3" in got.message


def test_a_truncated_page_without_a_token_is_incomplete() -> None:
    (call,) = [c for c in kms.CALLS if c.operation == "ListKeys"]
    got = _read(_ctx(call, [{"Keys": [{"KeyId": "k"}], "Truncated": True}]), call)
    assert isinstance(got, Failed) and got.code == "IncompleteResponse" and "truncated" in got.message


# --- end to end on moto: answers rewritten by a proxy ------------------------------------------


class _Rewrite:
    """A client hook answering one operation 200 with a body of our choosing (or one per request)."""

    def __init__(self, call: Call, body: Callable[[int], bytes]):
        self.call, self.body, self.sent = call, body, 0
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        if service == self.call.service:
            event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{self.call.operation}"
            client.meta.events.register_first(event, self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        with self._lock:
            self.sent += 1
            n = self.sent
        xml = self.call.service in ("s3", "s3control")
        headers = {"Content-Type": "application/xml" if xml else "application/x-amz-json-1.1"}
        return AWSResponse(request.url, 200, headers, _Raw(self.body(n)))


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _hollow(call: Call) -> bytes:
    """A well-formed answer with no members: `{}` in JSON, the bare root element in XML."""
    if call.service in ("s3", "s3control"):
        root = {"GetBucketPolicy": "Policy"}.get(call.operation, call.operation.removeprefix("Get"))
        return b"" if call.operation == "GetBucketPolicy" else f"<{root}/>".encode()
    return b"{}"


def _statuses(snapshot: Any, rules: list[Rule], sets: dict[str, Any] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for finding in evaluate(snapshot, rules, config(sets)).findings:
        out[finding.rule_id].append(finding.status.value)
    return out


@pytest.fixture(scope="module")
def account() -> Any:
    rules = [r for r in load_rules(None, ["ccme"]) if r.file.endswith(("kms.yaml", "s3.yaml"))]
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=True)
        clean = _statuses(run_scan(session, config(), rules).snapshot, rules)
        yield session, rules, clean


# The operations whose answer is evidence (the others' members may be legitimately absent).
EVIDENCE = [c for c in (*kms.CALLS, *s3.CALLS) if contract(c.key).requires or c.operation == "GetBucketPolicy"]


@pytest.mark.parametrize("body", ["empty", "hollow"])
@pytest.mark.parametrize("call", EVIDENCE, ids=lambda c: c.key)
def test_an_empty_answer_errors_its_rules_and_no_finding_vanishes(account: Any, call: Call, body: str) -> None:
    session, rules, clean = account
    hook = _Rewrite(call, lambda n: b"" if body == "empty" else _hollow(call))
    result = run_scan(session, config(), rules, client_hooks=[hook], max_attempts=1)
    assert hook.sent > 0
    assert any(e.operation == call.action for e in result.snapshot.errors), call.key
    got = _statuses(result.snapshot, rules)
    for rule in rules:
        before, after = clean.get(rule.id, []), got.get(rule.id, [])
        if dependent(rule, call):
            # An `any` may be decided by a branch that does not need the call (as in test_fault_injection).
            assert "ERROR" in after or (has_any(rule) and after == before == ["PASS"]), (rule.id, before, after)
        # Never fewer findings without an ERROR; never a PASS or FAIL that was not there before
        # unless an ERROR stands beside it (a wildcard ERROR for a type that could not be listed).
        if len(after) < len(before):
            assert "ERROR" in after, (rule.id, before, after)
        for status in ("PASS", "FAIL"):
            if after.count(status) > before.count(status):
                pytest.fail(f"{rule.id}: {status} from an empty {call.key} answer ({before} -> {after})")


def test_an_empty_list_keys_answer_keeps_every_key_rule_as_error(account: Any) -> None:
    session, rules, _ = account
    (call,) = [c for c in kms.CALLS if c.operation == "ListKeys"]
    result = run_scan(session, config(), rules, client_hooks=[_Rewrite(call, lambda n: b"{}")], max_attempts=1)
    got = _statuses(result.snapshot, rules)
    key_rules = [r.id for r in rules if r.resource_type == "kms.key"]
    assert key_rules and all(got[rid] and set(got[rid]) == {"ERROR"} for rid in key_rules)


def test_endless_alias_pages_end_as_an_error_naming_the_pages(account: Any) -> None:
    session, rules, _ = account
    (call,) = [c for c in kms.CALLS if c.operation == "ListAliases"]
    page = lambda n: json.dumps({"Aliases": [], "NextMarker": f"m{n}", "Truncated": True}).encode()  # noqa: E731
    hook = _Rewrite(call, page)
    result = run_scan(session, config({"retry.max_pages": 25}), rules, client_hooks=[hook], max_attempts=1)
    assert hook.sent == 25
    (error, *_) = [e for e in result.snapshot.errors if e.operation == "kms:ListAliases"]
    assert error.code == "PaginationError" and "25 pages" in error.message
    got = _statuses(result.snapshot, rules)
    assert all(set(got[r.id]) == {"ERROR"} for r in rules if r.resource_type.startswith("kms."))


def test_a_key_without_its_id_is_an_error_and_the_other_keys_stay(account: Any) -> None:
    session, rules, clean = account
    (call,) = [c for c in kms.CALLS if c.operation == "ListKeys"]
    real = boto_keys(session)
    body = json.dumps({"Keys": [*real, {"KeyArn": "arn:aws:kms:eu-west-1:123456789012:key/x"}],
                       "Truncated": False}).encode()
    result = run_scan(session, config(), rules, client_hooks=[_Rewrite(call, lambda n: body)], max_attempts=1)
    assert {r.id for r in result.snapshot.resources if r.type == "kms.key"} >= {k["KeyArn"] for k in real}
    (error,) = [e for e in result.snapshot.errors if e.operation == "kms:ListKeys"]
    assert error.code == "UnidentifiedItem" and error.resource_type == "kms.key"
    got = _statuses(result.snapshot, rules)
    for rule in rules:
        if rule.resource_type == "kms.key":
            assert "ERROR" in got[rule.id]
            assert got[rule.id].count("PASS") + got[rule.id].count("FAIL") == len(clean[rule.id]) - clean[
                rule.id].count("ERROR") - clean[rule.id].count("SKIPPED")


def boto_keys(session: Any) -> list[dict[str, Any]]:
    return list(session.client("kms", region_name=REGION).list_keys()["Keys"])


def test_a_secret_value_answer_without_a_value_is_error_not_empty(account: Any) -> None:
    session = account[0]
    rules = [r for r in load_rules(None, ["ccme"]) if r.resource_type == "secretsmanager.secret"]
    (call,) = [c for c in secrets.CALLS if c.operation == "GetSecretValue"]
    sets = {"options.read_secret_values": True, "secret_name": SECRET_NAME}
    clean = _statuses(run_scan(session, config(sets), rules).snapshot, rules, sets)
    result = run_scan(session, config(sets), rules, client_hooks=[_Rewrite(call, lambda n: b"{}")], max_attempts=1)
    got = _statuses(result.snapshot, rules, sets)
    plaintext = [r.id for r in rules if "PLAINTEXT" in r.id]
    assert plaintext and all(clean[rid] and "ERROR" not in clean[rid] for rid in plaintext), clean
    assert all("ERROR" in got[rid] and "FAIL" not in got[rid] for rid in plaintext), (clean, got)
