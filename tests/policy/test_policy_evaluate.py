"""Unit tests of auditor.policy.evaluate against AWS policy-evaluation semantics."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.policy import Principal, Request, decide, parse_policy
from auditor.policy.evaluate import Evaluator, PolicyKind

ACCOUNT = "123456789012"
OTHER = "999999999999"
ANON = Principal.anonymous()
ROOT = Principal.aws(f"arn:aws:iam::{ACCOUNT}:root")
ROLE = Principal.aws(f"arn:aws:iam::{ACCOUNT}:role/app")
USER = Principal.aws(f"arn:aws:iam::{ACCOUNT}:user/alice")
STRANGER = Principal.aws(f"arn:aws:iam::{OTHER}:role/app")
LOGS = Principal.service("logs.eu-west-1.amazonaws.com")
FED = Principal.federated("cognito-identity.amazonaws.com")
OBJ = "arn:aws:s3:::b/k"


def stmt(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def effect(
    *stmts: dict[str, Any],
    principal: Principal = ROLE,
    action: str = "s3:GetObject",
    resource: str = OBJ,
    context: dict[str, Any] | None = None,
    kind: PolicyKind = "s3",
) -> str:
    policy = parse_policy({"Version": "2012-10-17", "Statement": list(stmts)})
    return decide(policy, Request(principal, action, resource, context or {}), policy_kind=kind).effect


def cond_matches(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    """True when an Allow statement with this Condition allows a request with this context."""
    return effect(stmt(Condition=condition), context=context) == "allow"


# ----------------------------------------------------------------------------- decision


def test_explicit_deny_beats_allow_and_lists_every_matching_deny() -> None:
    policy = parse_policy(
        {
            "Statement": [
                stmt(Sid="a"),
                stmt(Sid="d1", Effect="Deny"),
                stmt(Sid="d2", Effect="Deny", Action="s3:Get*"),
                stmt(Sid="d3", Effect="Deny", Action="s3:Put*"),
            ]
        }
    )
    decision = decide(policy, Request(ROLE, "s3:GetObject", OBJ), policy_kind="s3")
    assert decision.effect == "explicit_deny"
    assert [(r.index, r.sid) for r in decision.statements] == [(1, "d1"), (2, "d2")]
    assert decision.describe() == 'denied by statement 2 ("d1"), statement 3 ("d2")'


def test_allow_and_implicit_deny() -> None:
    assert effect(stmt()) == "allow"
    assert effect(stmt(Action="s3:PutObject")) == "implicit_deny"
    assert effect() == "implicit_deny"


def test_unknown_policy_kind_is_rejected() -> None:
    policy = parse_policy({"Statement": [stmt()]})
    with pytest.raises(ValueError, match="policy_kind"):
        decide(policy, Request(ROLE, "s3:GetObject", OBJ), policy_kind="iam")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- Action


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:GetObject", True),
        ("S3:getobject", "s3:GetObject", True),
        ("s3:GetObject", "S3:GETOBJECT", True),
        ("s3:Get*", "s3:GetObjectTagging", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:GetObjec?", "s3:GetObject", True),
        ("s3:GetObjec?", "s3:GetObjects", False),
        ("*", "kms:Decrypt", True),
        ("s3:*", "kms:Decrypt", False),
        ("kms:ReEncrypt*", "kms:ReEncryptFrom", True),
        ("kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", False),
    ],
)
def test_action_case_insensitive_with_wildcards(pattern: str, action: str, expected: bool) -> None:
    assert (effect(stmt(Action=pattern), action=action) == "allow") is expected


def test_not_action_matches_everything_else() -> None:
    policy = stmt(Action=None, NotAction=["s3:DeleteObject", "s3:Put*"])
    assert effect(policy, action="s3:GetObject") == "allow"
    assert effect(policy, action="s3:deleteobject") == "implicit_deny"
    assert effect(policy, action="s3:PutObjectAcl") == "implicit_deny"


# ----------------------------------------------------------------------------- Resource


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b", False),
        ("arn:aws:s3:::B/*", "arn:aws:s3:::b/k", False),
        ("arn:aws:s3:::b/K", "arn:aws:s3:::b/k", False),
        ("arn:aws:s3:::b?", "arn:aws:s3:::bc", True),
        ("arn:aws:s3:::b?", "arn:aws:s3:::b", False),
        ("arn:aws:s3:::*", "arn:aws:s3:::b/k", True),
        ("*", "arn:aws:kms:eu-west-1:123456789012:key/abc", True),
    ],
)
def test_resource_case_sensitive_wildcards(pattern: str, resource: str, expected: bool) -> None:
    assert (effect(stmt(Resource=pattern), resource=resource) == "allow") is expected


def test_not_resource_and_missing_resource() -> None:
    assert effect(stmt(Resource=None, NotResource="arn:aws:s3:::b/private/*")) == "allow"
    assert effect(stmt(Resource=None, NotResource="arn:aws:s3:::b/*")) == "implicit_deny"
    no_resource = {"Effect": "Deny", "Principal": "*", "Action": "*"}
    policy = parse_policy({"Statement": [no_resource]})
    assert any("no Resource" in note for note in policy.notes)
    assert effect(no_resource, kind="kms", action="kms:Decrypt") == "implicit_deny"


def test_key_policy_star_resource_covers_the_key() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert effect(stmt(Action="kms:Decrypt"), action="kms:Decrypt", resource=key, kind="kms") == "allow"


# ----------------------------------------------------------------------------- Principal


@pytest.mark.parametrize("who", [ANON, ROOT, ROLE, STRANGER, LOGS, FED])
def test_star_and_aws_star_are_the_same_and_match_everyone(who: Principal) -> None:
    assert effect(stmt(Principal="*"), principal=who) == "allow"
    assert effect(stmt(Principal={"AWS": "*"}), principal=who) == "allow"
    assert effect(stmt(Principal={"AWS": ["arn:aws:iam::111122223333:role/x", "*"]}), principal=who) == "allow"


@pytest.mark.parametrize("spelling", [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", int(ACCOUNT)])
def test_account_id_equals_root_arn_and_covers_the_account(spelling: object) -> None:
    s = stmt(Principal={"AWS": spelling})
    for who in (ROOT, ROLE, USER, Principal.aws(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session")):
        assert effect(s, principal=who) == "allow", who
    for who in (ANON, STRANGER, LOGS, FED):
        assert effect(s, principal=who) == "implicit_deny", who


def test_account_statement_is_flagged_as_delegation() -> None:
    policy = parse_policy({"Statement": [stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})]})
    via_account = decide(policy, Request(ROLE, "kms:Decrypt", "*"), policy_kind="kms")
    assert via_account.allowed and via_account.delegated
    assert "delegated" in via_account.describe()
    root = decide(policy, Request(ROOT, "kms:Decrypt", "*"), policy_kind="kms")
    assert root.allowed and not root.delegated
    named = parse_policy({"Statement": [stmt(Principal={"AWS": ROLE.identifier})]})
    assert not decide(named, Request(ROLE, "kms:Decrypt", "*"), policy_kind="kms").delegated


def test_role_arn_matches_the_role_and_its_sessions_only() -> None:
    s = stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/path/app"})
    assert effect(s, principal=Principal.aws(f"arn:aws:iam::{ACCOUNT}:role/path/app")) == "allow"
    assert effect(s, principal=Principal.aws(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1")) == "allow"
    assert effect(s, principal=Principal.aws(f"arn:aws:sts::{OTHER}:assumed-role/app/s1")) == "implicit_deny"
    assert effect(s, principal=Principal.aws(f"arn:aws:iam::{ACCOUNT}:role/path/other")) == "implicit_deny"
    assert effect(s, principal=ROOT) == "implicit_deny"


def test_partial_wildcard_principal_matches_nobody() -> None:
    doc = {"Statement": [stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"})]}
    assert any("wildcard" in note for note in parse_policy(doc).notes)
    assert effect(doc["Statement"][0], principal=ROLE) == "implicit_deny"


def test_service_and_federated_principals() -> None:
    s = stmt(Principal={"Service": "logs.eu-west-1.amazonaws.com"})
    assert effect(s, principal=LOGS) == "allow"
    assert effect(s, principal=Principal.service("logs.us-east-1.amazonaws.com")) == "implicit_deny"
    assert effect(s, principal=ROOT) == "implicit_deny"
    assert effect(stmt(Principal={"Federated": "cognito-identity.amazonaws.com"}), principal=FED) == "allow"
    assert effect(stmt(Principal={"Federated": "cognito-identity.amazonaws.com"}), principal=ROLE) == "implicit_deny"


def test_not_principal_deny_spares_the_listed_principal() -> None:
    deny = stmt(Effect="Deny", Principal=None, NotPrincipal={"AWS": ROLE.identifier})
    assert effect(stmt(), deny, principal=ROLE) == "allow"
    for who in (ANON, ROOT, STRANGER, LOGS):
        assert effect(stmt(), deny, principal=who) == "explicit_deny"


def test_missing_principal_matches_nobody_in_resource_policies_everyone_in_generic() -> None:
    s = stmt(Principal=None)
    assert effect(s, kind="s3") == "implicit_deny"
    assert effect(s, kind="kms") == "implicit_deny"
    assert effect(s, kind="generic") == "allow"


# ----------------------------------------------------------------------------- Condition: absent keys


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "x", False),
        ("StringNotEquals", "x", True),
        ("StringEqualsIgnoreCase", "x", False),
        ("StringNotEqualsIgnoreCase", "x", True),
        ("StringLike", "*", False),
        ("StringNotLike", "x*", True),
        ("NumericLessThan", "1.2", False),
        ("NumericNotEquals", "1.2", True),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", False),
        ("DateNotEquals", "2020-01-01T00:00:00Z", True),
        ("Bool", "false", False),
        ("BinaryEquals", "QmluYXJ5", False),
        ("IpAddress", "10.0.0.0/8", False),
        ("NotIpAddress", "10.0.0.0/8", True),
        ("ArnLike", "arn:aws:iam::*:role/x", False),
        ("ArnEquals", "arn:aws:iam::1:role/x", False),
        ("ArnNotLike", "arn:aws:iam::*:role/x", True),
        ("ArnNotEquals", "arn:aws:iam::1:role/x", True),
        ("StringEqualsIfExists", "x", True),
        ("NumericLessThanIfExists", "1.2", True),
        ("BoolIfExists", "false", True),
        ("Null", "true", True),
        ("Null", "false", False),
        ("ForAllValues:StringEquals", "x", True),
        ("ForAnyValue:StringEquals", "x", False),
        ("ForAnyValue:StringNotEquals", "x", False),
        ("ForAnyValue:StringEqualsIfExists", "x", True),
    ],
)
def test_absent_key(operator: str, value: str, expected: bool) -> None:
    assert cond_matches({operator: {"ccme:Key": value}}, {}) is expected


# ----------------------------------------------------------------------------- Condition: operators


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("StringEquals", "Prod", "Prod", True),
        ("StringEquals", "Prod", "prod", False),
        ("StringEquals", ["a", "b"], "b", True),
        ("StringNotEquals", ["a", "b"], "a", False),
        ("StringNotEquals", ["a", "b"], "c", True),
        ("StringEqualsIgnoreCase", "Prod", "pROD", True),
        ("StringNotEqualsIgnoreCase", "Prod", "pROD", False),
        ("StringLike", "home/*/docs", "home/a/b/docs", True),
        ("StringLike", "v?", "v12", False),
        ("StringLike", "Home/*", "home/x", False),
        ("StringNotLike", ["a*", "b*"], "bx", False),
        ("StringNotLike", ["a*", "b*"], "cx", True),
        ("NumericLessThan", "1.2", "1.1", True),
        ("NumericLessThan", 1.2, "1.2", False),
        ("NumericLessThan", "1.2", "1.10", True),
        ("NumericLessThanEquals", "1.2", "1.20", True),
        ("NumericGreaterThan", 5, "10", True),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericEquals", "1", "1.0", True),
        ("NumericNotEquals", ["1", "2"], "2", False),
        ("NumericNotEquals", ["1", "2"], "3", True),
        ("NumericLessThan", "1.2", "TLSv1", False),
        ("NumericNotEquals", "1.2", "abc", False),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", "1600000000", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", True),
        ("DateLessThan", "1577836800", "2020-01-01T00:00:00+00:00", False),
        ("DateLessThanEquals", "1577836800", "2020-01-01T00:00:00Z", True),
        ("DateEquals", "2020-01-01", "2020-01-01T00:00:00Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "yesterday", False),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "yesterday", False),
        ("Bool", False, "false", True),
        ("Bool", "False", "false", True),
        ("Bool", "true", "false", False),
        ("Bool", "true", "maybe", False),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ6", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.9", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.9", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
        ("IpAddress", "203.0.113.0/24", "2001:db8::1", False),
        ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", "203.0.113.0/24", "203.0.113.1", False),
        ("NotIpAddress", "203.0.113.0/24", "not-an-ip", False),
        ("ArnLike", "arn:aws:iam::*:role/x", "arn:aws:iam::123456789012:role/x", True),
        ("ArnEquals", "arn:aws:iam::*:role/x", "arn:aws:iam::123456789012:role/x", True),
        (
            "ArnLike",
            "arn:aws:logs:*:123456789012:log-group:*",
            "arn:aws:logs:eu-west-1:123456789012:log-group:a:b",
            True,
        ),
        (
            "ArnLike",
            "arn:aws:logs:*:123456789012:log-group:*",
            "arn:aws:logs:eu-west-1:999999999999:log-group:a",
            False,
        ),
        ("ArnLike", "arn:aws:iam::1*:role/x", "arn:aws:iam::1:2:role/x", False),
        ("StringLike", "arn:aws:iam::1*:role/x", "arn:aws:iam::1:2:role/x", True),
        ("ArnLike", "arn:aws:iam::1:role/x", "not-an-arn", False),
        ("ArnNotLike", "arn:aws:iam::*:role/x", "arn:aws:iam::1:role/y", True),
        ("ArnNotEquals", "arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x", False),
        ("StringEqualsIfExists", "x", "y", False),
        ("StringEqualsIfExists", "x", "x", True),
        ("NumericLessThanIfExists", "1.2", "1.0", True),
    ],
)
def test_operator(operator: str, policy_value: Any, request_value: str, expected: bool) -> None:
    assert cond_matches({operator: {"ccme:Key": policy_value}}, {"ccme:Key": request_value}) is expected


def test_keys_and_operators_are_anded_values_ored() -> None:
    both_keys = {"StringEquals": {"k1": ["a", "b"], "k2": "c"}}
    assert cond_matches(both_keys, {"k1": "b", "k2": "c"})
    assert not cond_matches(both_keys, {"k1": "b", "k2": "d"})
    two_ops = {"StringEquals": {"k1": "a"}, "Bool": {"k2": "true"}}
    assert cond_matches(two_ops, {"k1": "a", "k2": "true"})
    assert not cond_matches(two_ops, {"k1": "a", "k2": "false"})


def test_condition_key_names_are_case_insensitive() -> None:
    assert cond_matches({"Bool": {"AWS:SecureTransport": "true"}}, {"aws:securetransport": "true"})
    assert cond_matches({"Bool": {"aws:securetransport": "true"}}, {"Aws:SecureTransport": "true"})


def test_numbers_and_booleans_quoted_or_not_decide_alike() -> None:
    for context in ({"s3:TlsVersion": "1.1"}, {"s3:TlsVersion": "1.2"}, {"s3:TlsVersion": "1.3"}, {}):
        quoted = cond_matches({"NumericLessThan": {"s3:TlsVersion": "1.2"}}, context)
        assert cond_matches({"NumericLessThan": {"s3:TlsVersion": 1.2}}, context) is quoted
    for value in ("true", "false"):
        assert cond_matches({"Bool": {"k": False}}, {"k": value}) is cond_matches(
            {"Bool": {"k": "false"}}, {"k": value}
        )
    as_text = parse_policy(
        '{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",'
        ' "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.10}}}}'
    )
    assert as_text.statements[0].conditions[0].values == ("1.10",)


def test_multivalued_keys() -> None:
    any_eq = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    all_eq = {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    assert cond_matches(any_eq, {"aws:TagKeys": ["x", "b"]})
    assert not cond_matches(any_eq, {"aws:TagKeys": ["x", "y"]})
    assert not cond_matches(any_eq, {"aws:TagKeys": []})
    assert cond_matches(all_eq, {"aws:TagKeys": ["a", "b"]})
    assert not cond_matches(all_eq, {"aws:TagKeys": ["a", "c"]})
    assert cond_matches(all_eq, {"aws:TagKeys": []})
    assert cond_matches({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["a", "c"]})
    assert not cond_matches({"ForAllValues:StringNotEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["a", "c"]})
    # Without a qualifier: any value for a positive operator, none for a negated one.
    assert cond_matches({"StringEquals": {"k": "a"}}, {"k": ["a", "c"]})
    assert not cond_matches({"StringNotEquals": {"k": "a"}}, {"k": ["a", "c"]})
    assert cond_matches({"Null": {"k": "true"}}, {"k": []})


def test_derived_principal_keys_and_resource_account() -> None:
    s = stmt(Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})
    assert effect(s, principal=ROLE) == "allow"
    assert effect(s, principal=STRANGER) == "implicit_deny"
    assert effect(s, principal=ANON) == "implicit_deny"
    svc = stmt(Condition={"Bool": {"aws:PrincipalIsAWSService": "true"}})
    assert effect(svc, principal=LOGS) == "allow"
    assert effect(svc, principal=ROLE) == "implicit_deny"
    policy = parse_policy({"Statement": [stmt(Condition={"StringEquals": {"aws:ResourceAccount": ACCOUNT}})]})
    request = Request(ROLE, "s3:GetObject", OBJ)
    assert decide(policy, request, policy_kind="s3", resource_account=ACCOUNT).allowed
    assert not decide(policy, request, policy_kind="s3", resource_account=OTHER).allowed
    # An explicit context value wins over the derived one.
    assert decide(
        policy, Request(ROLE, "s3:GetObject", OBJ, {"aws:ResourceAccount": ACCOUNT}), policy_kind="s3"
    ).allowed


def test_evaluator_agrees_with_decide() -> None:
    policy = parse_policy(
        {
            "Statement": [
                stmt(Sid="a", Principal={"AWS": ACCOUNT}),
                stmt(Sid="d", Effect="Deny", Condition={"Bool": {"aws:SecureTransport": "false"}}),
            ]
        }
    )
    evaluator = Evaluator(policy, policy_kind="s3")
    for who in (ANON, ROOT, ROLE, STRANGER, LOGS):
        for context in ({}, {"aws:SecureTransport": "false"}, {"aws:SecureTransport": "true"}):
            request = Request(who, "s3:GetObject", OBJ, context)
            assert evaluator.decide(request) == decide(policy, request, policy_kind="s3")


# ----------------------------------------------------------------------------- policy variables


@pytest.mark.parametrize(
    ("resource_pattern", "resource", "context", "expected"),
    [
        ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/x", {"aws:username": "alice"}, "allow"),
        ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/bob/x", {"aws:username": "alice"}, "implicit_deny"),
        ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/x", {}, "implicit_deny"),
        ("arn:aws:s3:::b/${AWS:UserName}/*", "arn:aws:s3:::b/alice/x", {"aws:username": "alice"}, "allow"),
        # a wildcard in the substituted value is a literal character
        ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/bob/x", {"aws:username": "*"}, "implicit_deny"),
        ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/*/x", {"aws:username": "*"}, "allow"),
        ("arn:aws:s3:::b/${aws:username, 'shared'}/*", "arn:aws:s3:::b/shared/x", {}, "allow"),
        ("arn:aws:s3:::b/${aws:username, 'it''s'}/*", "arn:aws:s3:::b/it's/x", {}, "allow"),
        ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*", {}, "allow"),
        ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/k", {}, "implicit_deny"),
        ("arn:aws:s3:::b/${?}${$}", "arn:aws:s3:::b/?$", {}, "allow"),
        # a multi-valued key is not substituted
        ("arn:aws:s3:::b/${aws:TagKeys}/*", "arn:aws:s3:::b/a/x", {"aws:TagKeys": ["a", "b"]}, "implicit_deny"),
        # malformed: compared literally
        ("arn:aws:s3:::b/${aws:username", "arn:aws:s3:::b/${aws:username", {}, "allow"),
    ],
)
def test_policy_variables_in_resource(
    resource_pattern: str, resource: str, context: dict[str, Any], expected: str
) -> None:
    assert effect(stmt(Resource=resource_pattern), resource=resource, context=context) == expected


def test_a_resource_value_that_cannot_be_substituted_makes_the_whole_statement_not_apply() -> None:
    # "If AWS cannot resolve a variable this might cause the entire statement to be invalid": the other
    # Resource value (OBJ itself) does not save the statement.
    both = ["arn:aws:s3:::b/${aws:username}/*", OBJ]
    assert effect(stmt(Resource=both)) == "implicit_deny"
    assert effect(stmt(Resource=both), context={"aws:username": "alice"}) == "allow"
    assert effect(stmt(Resource=None, NotResource=["arn:aws:s3:::b/${aws:username}/*"])) == "implicit_deny"
    ctx = {"aws:username": "alice"}
    assert effect(stmt(Resource=None, NotResource=["arn:aws:s3:::b/${aws:username}/*"]), context=ctx) == "allow"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"s3:prefix": "home/${aws:username}/"}}, {"s3:prefix": "home/al/", "aws:username": "al"},
         True),
        ({"StringEquals": {"s3:prefix": "home/${aws:username}/"}}, {"s3:prefix": "home/al/"}, False),
        # the substitution fails: the condition is false, negated or not
        ({"StringNotEquals": {"s3:prefix": "home/${aws:username}/"}}, {"s3:prefix": "x"}, False),
        ({"StringNotEquals": {"s3:prefix": "home/${aws:username, 'x'}/"}}, {"s3:prefix": "x"}, True),
        ({"StringLike": {"aws:userid": "${aws:PrincipalTag/team}:*"}},
         {"aws:userid": "ops:1", "aws:PrincipalTag/team": "ops"}, True),
        ({"StringLike": {"aws:userid": "${aws:PrincipalTag/team}:*"}},
         {"aws:userid": "ops:1", "aws:PrincipalTag/team": "o*"}, False),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}},
         {"aws:SourceArn": f"arn:aws:iam::{ACCOUNT}:role/x"}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}},
         {"aws:SourceArn": f"arn:aws:iam::{OTHER}:role/x"}, False),
        ({"StringEqualsIgnoreCase": {"aws:userid": "${aws:username}"}}, {"aws:userid": "AL", "aws:username": "al"},
         True),
    ],
)
def test_policy_variables_in_conditions(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert cond_matches(condition, context) is expected


def test_binary_equals_compares_the_base64_text_as_given() -> None:
    assert cond_matches({"BinaryEquals": {"ccme:Blob": "QUJD"}}, {"ccme:Blob": "QUJD"})
    assert not cond_matches({"BinaryEquals": {"ccme:Blob": "QUJD"}}, {"ccme:Blob": "QUJD\n"})
