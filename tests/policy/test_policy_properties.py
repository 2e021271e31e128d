"""Property tests of the evaluator and the parser (hypothesis)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.policy import (
    REQUIREMENTS,
    Policy,
    PolicyError,
    Principal,
    Request,
    RequirementContext,
    check_document,
    decide,
    parse_policy,
    solver,
)
from auditor.policy.evaluate import Evaluator
from auditor.policy.values import glob_matcher

ACCOUNT = "123456789012"
OTHER = "999999999999"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app"
SERVICE = "logs.eu-west-1.amazonaws.com"

PRINCIPALS = [
    Principal.anonymous(),
    Principal.aws(f"arn:aws:iam::{ACCOUNT}:root"),
    Principal.aws(ROLE_ARN),
    Principal.aws(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s"),
    Principal.aws(f"arn:aws:iam::{OTHER}:role/app"),
    Principal.service(SERVICE),
    Principal.federated("cognito-identity.amazonaws.com"),
]
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketPolicy", "kms:Decrypt"]
RESOURCES = ["arn:aws:s3:::b", "arn:aws:s3:::b/k", "arn:aws:s3:::b/p/x", "arn:aws:s3:::c/k"]
KEYS = ["ccme:Str", "ccme:Num", "aws:SecureTransport", "aws:SourceIp", "ccme:Arn", "ccme:Multi", "ccme:Var", "ccme:Tag"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

action_patterns = st.sampled_from(
    ["*", "s3:*", "s3:Get*", "s3:GetObject", "S3:putobject", "s3:List*", "kms:*", "s3:?etObject"]
)
resource_patterns = st.sampled_from(
    [
        "*",
        "arn:aws:s3:::b",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::b/p/*",
        "arn:aws:s3:::*",
        "arn:aws:s3:::c*",
        "arn:aws:s3:::b?",
        "arn:aws:s3:::b/${ccme:Var, 'p'}/*",
    ]
)
principal_values = st.sampled_from([ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ROLE_ARN, OTHER, "*"])
principal_specs = st.one_of(
    st.just("*"),
    st.dictionaries(
        st.sampled_from(["AWS", "Service", "Federated"]),
        st.lists(principal_values, min_size=1, max_size=2),
        min_size=1,
        max_size=2,
    ).map(
        lambda d: {
            k: (v if k == "AWS" else [SERVICE] if k == "Service" else ["cognito-identity.amazonaws.com"])
            for k, v in d.items()
        }
    ),
)


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    families = {
        "StringEquals": ("ccme:Str", ["a", "b", "A"]),
        "StringNotEqualsIgnoreCase": ("ccme:Str", ["a", "b"]),
        "StringLike": ("ccme:Str", ["a*", "?", "b"]),
        "NumericLessThan": ("ccme:Num", ["1.2", 1.2, "2"]),
        "NumericGreaterThanEqualsIfExists": ("ccme:Num", ["1.1", "1.3"]),
        "Bool": ("aws:SecureTransport", ["true", False]),
        "BoolIfExists": ("aws:SecureTransport", ["false"]),
        "NotIpAddress": ("aws:SourceIp", ["10.0.0.0/8", "2001:db8::/32"]),
        "ArnLike": ("ccme:Arn", ["arn:aws:iam::*:role/app", "arn:aws:iam::1*:root"]),
        "ArnNotEquals": ("ccme:Arn", [ROLE_ARN]),
        "Null": ("ccme:Str", ["true", "false"]),
        "ForAnyValue:StringEquals": ("ccme:Multi", ["a", "b"]),
        "ForAllValues:StringLike": ("ccme:Multi", ["a*", "b"]),
        "StringNotLike": ("ccme:Str", ["${ccme:Var}*", "${ccme:Var, 'a'}", "b${*}"]),
        "StringEqualsIfExists": ("ccme:Tag", ["${ccme:Str}", "a"]),
        "ArnEquals": ("ccme:Arn", ["arn:aws:iam::${aws:PrincipalAccount}:role/app"]),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(families)), max_size=2, unique=True))
    out: dict[str, dict[str, Any]] = {}
    for op in chosen:
        key, pool = families[op]
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique_by=str))
        out[op] = {key: values[0] if len(values) == 1 else values}
    return out


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    effect = draw(st.sampled_from(["Allow", "Deny"]))
    out: dict[str, Any] = {"Effect": effect}
    if effect == "Deny" and draw(st.booleans()) and draw(st.booleans()):
        out["NotPrincipal"] = draw(principal_specs.filter(lambda p: p != "*"))
    else:
        out["Principal"] = draw(principal_specs)
    actions = draw(st.lists(action_patterns, min_size=1, max_size=3, unique=True))
    out["NotAction" if draw(st.integers(0, 4)) == 0 else "Action"] = actions
    resources = draw(st.lists(resource_patterns, min_size=1, max_size=3, unique=True))
    out["NotResource" if draw(st.integers(0, 4)) == 0 else "Resource"] = resources
    cond = draw(conditions())
    if cond:
        out["Condition"] = cond
    return out


policies = st.lists(statements(), min_size=0, max_size=5).map(lambda s: {"Version": "2012-10-17", "Statement": s})


@st.composite
def requests(draw: st.DrawFn) -> Request:
    context: dict[str, Any] = {}
    for key in KEYS:
        if draw(st.booleans()):
            continue
        pool = {
            "ccme:Str": ["a", "A", "b", "c", ""],
            "ccme:Num": ["1.0", "1.2", "1.3", "1.10", "x"],
            "aws:SecureTransport": ["true", "false"],
            "aws:SourceIp": ["10.1.2.3", "192.0.2.1", "2001:db8::5", "bogus"],
            "ccme:Arn": [ROLE_ARN, f"arn:aws:iam::{OTHER}:role/app", "arn:aws:iam::1:2:root", "nope"],
            "ccme:Multi": [],
            "ccme:Var": ["a", "p", "*", "", "A"],
            "ccme:Tag": ["a", "b", ""],
        }[key]
        name = draw(st.sampled_from([key, key.upper(), key.lower()]))
        if key == "ccme:Multi":
            context[name] = draw(st.lists(st.sampled_from(["a", "ab", "b", "c"]), max_size=3))
        else:
            context[name] = draw(st.sampled_from(pool))
    return Request(
        draw(st.sampled_from(PRINCIPALS)),
        draw(st.sampled_from(ACTIONS)),
        draw(st.sampled_from(RESOURCES)),
        context,
    )


def verdict(policy: Policy, request: Request) -> str:
    return decide(policy, request, policy_kind="s3").effect


@SETTINGS
@given(policies, statements(), requests())
def test_adding_a_deny_never_allows_what_was_denied(
    doc: dict[str, Any], extra: dict[str, Any], request: Request
) -> None:
    extra = {**extra, "Effect": "Deny"}
    before = verdict(parse_policy(doc), request)
    after = verdict(parse_policy({**doc, "Statement": [*doc["Statement"], extra]}), request)
    assert after in (before, "explicit_deny")
    if before != "allow":
        assert after != "allow"


@SETTINGS
@given(policies.flatmap(lambda d: st.tuples(st.just(d), st.permutations(d["Statement"]))), requests())
def test_statement_order_does_not_matter(pair: tuple[dict[str, Any], list[dict[str, Any]]], request: Request) -> None:
    doc, shuffled = pair
    assert verdict(parse_policy(doc), request) == verdict(parse_policy({**doc, "Statement": shuffled}), request)


@SETTINGS
@given(policies, st.lists(requests(), min_size=1, max_size=5))
def test_parse_to_json_parse_decides_the_same(doc: dict[str, Any], reqs: list[Request]) -> None:
    policy = parse_policy(doc)
    again = parse_policy(policy.to_json())
    assert again == policy
    for request in reqs:
        assert decide(again, request, policy_kind="s3") == decide(policy, request, policy_kind="s3")


@SETTINGS
@given(policies, st.data())
def test_splitting_a_resource_list_changes_nothing(doc: dict[str, Any], data: st.DataObject) -> None:
    candidates = [i for i, s in enumerate(doc["Statement"]) if len(s.get("Resource", [])) >= 2]
    if not candidates:
        doc = {
            **doc,
            "Statement": [
                *doc["Statement"],
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "*",
                    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/p/*"],
                },
            ],
        }
        candidates = [len(doc["Statement"]) - 1]
    index = data.draw(st.sampled_from(candidates))
    original = doc["Statement"][index]
    cut = data.draw(st.integers(1, len(original["Resource"]) - 1))
    first = {**original, "Resource": original["Resource"][:cut]}
    second = {**original, "Resource": original["Resource"][cut:]}
    split = [*doc["Statement"][:index], first, second, *doc["Statement"][index + 1 :]]
    before, after = parse_policy(doc), parse_policy({**doc, "Statement": split})
    for request in data.draw(st.lists(requests(), min_size=1, max_size=5)):
        assert verdict(before, request) == verdict(after, request)


@SETTINGS
@given(policies, st.lists(requests(), min_size=1, max_size=6))
def test_star_principal_spellings_and_key_case_are_equivalent(doc: dict[str, Any], reqs: list[Request]) -> None:
    def respell(stmt: dict[str, Any]) -> dict[str, Any]:
        out = dict(stmt)
        if out.get("Principal") == "*":
            out["Principal"] = {"AWS": "*"}
        if "Condition" in out:
            out["Condition"] = {op: {k.upper(): v for k, v in block.items()} for op, block in out["Condition"].items()}
        return out

    policy = parse_policy(doc)
    other = parse_policy({**doc, "Statement": [respell(s) for s in doc["Statement"]]})
    for request in reqs:
        assert verdict(policy, request) == verdict(other, request)


@SETTINGS
@given(policies, st.lists(requests(), min_size=1, max_size=8))
def test_cached_evaluator_agrees_with_decide(doc: dict[str, Any], reqs: list[Request]) -> None:
    policy, fresh = parse_policy(doc), parse_policy(doc)
    evaluator = Evaluator(policy, policy_kind="s3")
    for request in reqs + reqs:
        assert evaluator.decide(request) == decide(fresh, request, policy_kind="s3")


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
element_names = st.sampled_from(
    [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "X",
    ]
)
policyish_statement = st.dictionaries(element_names, json_values | st.sampled_from(["Allow", "Deny", "*"]), max_size=6)
policyish = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"Statement": st.one_of(policyish_statement, st.lists(policyish_statement, max_size=3), json_values)},
        optional={
            "Version": st.sampled_from(["2012-10-17", "2008-10-17", "2012"]) | json_values,
            "Id": json_values,
        },
    ),
    st.builds(
        lambda s, cond: {"Statement": [{**s, "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": cond}]},
        policyish_statement,
        st.dictionaries(st.text(max_size=30) | st.sampled_from(["StringEquals", "ForAnyValue:Bool"]), json_values),
    ),
)


def _parses_or_policy_error(document: Any) -> None:
    try:
        result = parse_policy(document)
    except PolicyError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(result, Policy)
    parse_policy(result.to_json())


@settings(max_examples=150, deadline=None)
@given(policyish)
def test_parse_policy_raises_only_policy_error_on_data(document: Any) -> None:
    _parses_or_policy_error(document)


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(policyish.map(lambda d: json.dumps(d, allow_nan=True)), st.text(max_size=200), st.binary(max_size=200))
)
def test_parse_policy_raises_only_policy_error_on_text(document: str | bytes) -> None:
    _parses_or_policy_error(document)


def _reference_glob(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aAb*?/:", max_size=8), st.text(alphabet="aAb/:", max_size=10))
def test_wildcard_matcher_agrees_with_a_regex_reference(pattern: str, text: str) -> None:
    assert glob_matcher(pattern)(text) is _reference_glob(pattern, text)
    assert glob_matcher(pattern, ignore_case=True)(text) is _reference_glob(pattern.lower(), text.lower())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies, st.sampled_from(sorted(REQUIREMENTS)))
def test_requirements_judge_every_valid_policy(doc: dict[str, Any], requirement: str) -> None:
    ctx = RequirementContext(ACCOUNT, "eu-west-1", bucket="b")
    result = check_document(doc, requirement, ctx)
    assert result.error is None
    assert result.ok is (not result.violations)
    assert result.solver_checks > 0


# --------------------------------------------------------------------------- solver against evaluator

DIFF_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketPolicy")
DIFF_RESOURCES = (
    solver.Resources("arn:aws:s3:::b", (2, 3)),
    solver.Resources("arn:aws:s3:::b/", (0, 1), any_suffix=True),
)
DIFF_BADS: tuple[solver.Bad, ...] = ("not_denied", "not_allowed", "not_granted", "granted")


def _in_domain(request: Request) -> Request | None:
    """The request as the solver models it (aws:SecureTransport present, s3:TlsVersion over TLS), or None."""
    if request.action not in DIFF_ACTIONS:
        return None
    on_object = request.action in DIFF_ACTIONS[:2]
    if on_object != request.resource.startswith("arn:aws:s3:::b/") or (
        not on_object and request.resource != "arn:aws:s3:::b"
    ):
        return None
    context = {k.lower(): v for k, v in request.context.items()}
    secure = context.get("aws:securetransport")
    if secure not in ("true", "false"):
        return None
    if secure == "true":
        context["s3:tlsversion"] = "1.2"
    return Request(request.principal, request.action, request.resource, context)


def _differential(doc: dict[str, Any], bad: solver.Bad, probes: list[Request]) -> None:
    policy = parse_policy(doc)
    query = solver.Query(actions=DIFF_ACTIONS, resources=DIFF_RESOURCES, bad=bad)
    answer = solver.solve(policy, query, kind="s3", resource_account=ACCOUNT, partition="aws")
    for witness in answer.witnesses:
        request = Request(witness.principal, witness.action, witness.resource, witness.context)
        decision = decide(policy, request, policy_kind="s3", resource_account=ACCOUNT)
        assert solver.concrete_bad(bad, decision, policy), (witness, decision)
    if not answer.witnesses:
        for probe in probes:
            request = _in_domain(probe)
            if request is None:
                continue
            decision = decide(policy, request, policy_kind="s3", resource_account=ACCOUNT)
            assert not solver.concrete_bad(bad, decision, policy), (request, decision)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(policies, st.sampled_from(DIFF_BADS), st.lists(requests(), min_size=1, max_size=20))
def test_solver_and_evaluator_agree(doc: dict[str, Any], bad: solver.Bad, probes: list[Request]) -> None:
    _differential(doc, bad, probes)


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("CCME_DIFF_EXAMPLES", "2000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(policies, st.sampled_from(DIFF_BADS), st.lists(requests(), min_size=1, max_size=40))
def test_solver_and_evaluator_agree_long(doc: dict[str, Any], bad: solver.Bad, probes: list[Request]) -> None:
    _differential(doc, bad, probes)
