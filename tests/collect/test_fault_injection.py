"""Fail closed: a fault on any one call the KMS and S3 collectors make turns exactly the rules that
need it into ERROR; transient throttling gives the same findings as a clean run.

Faults are injected with a botocore before-send handler (registered first, ahead of moto's).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest

from auditor.app.pipeline import evaluate
from auditor.collect import kms, s3
from auditor.collect.base import Call
from auditor.collect.plan import lookup_reads
from auditor.demo.account import seed_ccme_account
from auditor.engine import operators
from auditor.engine.rules import Rule, load_rules
from tests.collect.helpers import REGION, Injector, config, moto_account, run_scan

# What each call provides: a whole type (list calls) or attributes of each resource (detail calls).
TYPE_LEVEL: dict[str, set[str]] = {
    "kms:ListAliases": {"kms.alias", "kms.key"},
    "kms:ListKeys": {"kms.key"},
    "s3:ListBuckets": {"s3.bucket"},
    "s3control:GetPublicAccessBlock": {"s3.account_public_access_block"},
}
ATTRIBUTES: dict[str, tuple[str, set[str]]] = {
    "kms:DescribeKey": (
        "kms.key",
        {
            "description",
            "key_manager",
            "key_spec",
            "key_usage",
            "key_state",
            "origin",
            "multi_region",
            "multi_region_key_type",
        },
    ),
    "kms:GetKeyPolicy": ("kms.key", {"policy"}),
    "kms:GetKeyRotationStatus": ("kms.key", {"rotation_enabled"}),
    "s3:GetBucketLocation": ("s3.bucket", {"region"}),
    "s3:GetPublicAccessBlock": ("s3.bucket", {"public_access_block"}),
    "s3:GetBucketVersioning": ("s3.bucket", {"versioning", "mfa_delete"}),
    "s3:GetBucketLogging": ("s3.bucket", {"logging"}),
    "s3:GetBucketEncryption": ("s3.bucket", {"encryption"}),
    "s3:GetBucketPolicy": ("s3.bucket", {"policy"}),
    "s3:GetBucketAcl": ("s3.bucket", {"acl_grants"}),
    "s3:GetBucketOwnershipControls": ("s3.bucket", {"ownership"}),
}
CALLS: list[Call] = [*kms.CALLS, *s3.CALLS]


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def reads(rule: Rule) -> dict[str, set[str]]:
    """Attributes a rule reads, per resource type (its own scope and assertion, and its lookups)."""
    out: dict[str, set[str]] = defaultdict(set)
    for tree in (rule.assertion, rule.scope.where):
        if tree is None:
            continue
        for name, args in operators.walk(tree):
            out[rule.resource_type].update(
                _top(p) for p in operators.OPERATORS[name].paths(args) if not p.startswith("@")
            )
        for rtype, attrs in lookup_reads(tree).items():
            out[rtype].update(attrs | {"*"})
    return out


def has_any(rule: Rule) -> bool:
    return any(name == "any" for name, _ in operators.walk(rule.assertion))


def dependent(rule: Rule, call: Call) -> bool:
    needs = reads(rule)
    if call.key in TYPE_LEVEL:
        return rule.resource_type in TYPE_LEVEL[call.key] or bool(
            TYPE_LEVEL[call.key] & set(needs) - {rule.resource_type}
        )
    rtype, attrs = ATTRIBUTES[call.key]
    return bool(needs.get(rtype, set()) & attrs)


def statuses(result: Any, rules: list[Rule]) -> dict[tuple[str, str, str | None], str]:
    evaluation = evaluate(result.snapshot, rules, config())
    return {(f.rule_id, f.resource_id, f.region): f.status.value for f in evaluation.findings}


@pytest.fixture(scope="module")
def account() -> Any:
    rules = [r for r in load_rules(None, ["ccme"]) if r.file.endswith(("kms.yaml", "s3.yaml"))]
    assert rules, "the KMS and S3 rules of the ccme pack are missing"
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=True)
        clean = statuses(run_scan(session, config(), rules), rules)
        yield session, rules, clean


def test_every_call_is_classified() -> None:
    assert {c.key for c in CALLS} == set(TYPE_LEVEL) | set(ATTRIBUTES)


def test_clean_run_has_passes_and_failures(account: Any) -> None:
    _, _, clean = account
    assert {"PASS", "FAIL"} <= set(clean.values()) and "ERROR" not in clean.values()


def _check(account: Any, call: Call, kind: str, retry_mode: str = "adaptive") -> None:
    session, rules, clean = account
    inject = Injector(call.service, call.operation, kind)
    result = run_scan(session, config(), rules, client_hooks=[inject], max_attempts=2, retry_mode=retry_mode)
    assert inject.sent > 0, f"{call.key} was never called"
    faulty = statuses(result, rules)
    by_rule: dict[str, dict[tuple[str, str, str | None], str]] = defaultdict(dict)
    for key, status in faulty.items():
        by_rule[key[0]][key] = status
    hit = set()
    for rule in rules:
        got = by_rule.get(rule.id, {})
        if dependent(rule, call):
            assert got, rule.id
            clean_rule = {k: v for k, v in clean.items() if k[0] == rule.id}
            for key, status in got.items():
                # An `any` may be decided by a branch that does not need the failed call: a PASS
                # that was a PASS may stand. Nothing else: never a PASS or FAIL from missing evidence.
                decided = has_any(rule) and status == "PASS" and clean_rule.get(key) == "PASS"
                assert status == "ERROR" or decided, (rule.id, key, status)
            hit.add(rule.id)
        else:
            assert got == {k: v for k, v in clean.items() if k[0] == rule.id}, rule.id
    assert any(e.operation == call.action for e in result.snapshot.errors)
    error = next(e for e in result.snapshot.errors if e.operation == call.action)
    if call.key in ATTRIBUTES:
        assert error.resource_id is not None and error.attribute in ATTRIBUTES[call.key][1]
    else:
        assert error.resource_id is None


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.key)
def test_access_denied_errors_exactly_the_dependent_rules(account: Any, call: Call) -> None:
    _check(account, call, "deny")


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.key)
def test_persistent_throttling_errors_exactly_the_dependent_rules(account: Any, call: Call) -> None:
    # Standard retries: adaptive mode's client-side rate limiter, once throttled, spaces the
    # remaining attempts by seconds (a minute per operation here); the outcome is the same, as
    # the adaptive case below shows on the one-call operation.
    _check(account, call, "throttle", retry_mode="standard")


def test_persistent_throttling_with_adaptive_retries(account: Any) -> None:
    (call,) = [c for c in CALLS if c.key == "s3control:GetPublicAccessBlock"]
    _check(account, call, "throttle", retry_mode="adaptive")


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.key)
def test_transient_throttling_gives_the_clean_findings(account: Any, call: Call) -> None:
    _transient(account, call, "standard")


def test_transient_throttling_with_adaptive_retries(account: Any) -> None:
    (call,) = [c for c in CALLS if c.key == "kms:DescribeKey"]
    _transient(account, call, "adaptive")


def _transient(account: Any, call: Call, retry_mode: str) -> None:
    session, rules, clean = account
    inject = Injector(call.service, call.operation, "throttle", times=1)
    result = run_scan(session, config(), rules, client_hooks=[inject], max_attempts=3, retry_mode=retry_mode)
    assert inject.sent >= 2  # throttled once, then answered
    assert statuses(result, rules) == clean
    assert not result.snapshot.errors


def test_moto_server_style_403_is_access_denied() -> None:
    """moto_server reports some AccessDenied with Code '403': the HTTP status decides."""
    from botocore.exceptions import ClientError

    from auditor.collect.base import classify

    exc = ClientError(
        {"Error": {"Code": "403", "Message": "Forbidden"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "DescribeKey"
    )
    failed = classify(exc, "kms:DescribeKey")
    assert failed.code == "AccessDenied" and failed.denied


@pytest.mark.parametrize("status", [403, 404, 502])
def test_an_html_page_instead_of_an_aws_error_is_named_not_quoted(status: int) -> None:
    """A proxy's or web server's HTML page is said to be one, whatever its status (403 stays AccessDenied)."""
    from botocore.exceptions import ClientError

    from auditor.collect.base import classify

    page = "<!DOCTYPE html>\n<html><head><title>Not here</title></head><body>" + "x" * 2000 + "</body></html>"
    exc = ClientError({"Error": {"Code": str(status), "Message": page},
                       "ResponseMetadata": {"HTTPStatusCode": status}}, "ListKeys")
    failed = classify(exc, "kms:ListKeys")
    assert failed.message == f"HTTP {status} with an HTML page instead of an AWS error answer"
    assert failed.code == ("AccessDenied" if status == 403 else str(status))
