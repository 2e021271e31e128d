"""Strict parsing: what parse_policy accepts, normalises and rejects, and how it says so."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from auditor.policy import Policy, PolicyError, parse_policy
from auditor.policy.model import MAX_BYTES, MAX_STATEMENTS, OPERATOR_NAMES, OPERATORS


def doc(*stmts: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", **top, "Statement": list(stmts)}


def ok_stmt(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def error(document: Any) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse_policy(document)
    return info.value


def test_effect_message_names_statement_element_and_fix() -> None:
    err = error(doc(ok_stmt(Sid="a"), ok_stmt(Sid="enforce-tls", Effect="deny")))
    assert str(err) == 'statement 2 ("enforce-tls"): Effect is "deny"; it must be exactly "Allow" or "Deny"'
    assert err.statement == "enforce-tls"
    assert err.statement_index == 1
    assert err.element == "Effect"
    assert "\n" not in str(err)


def test_statement_without_sid_is_named_by_index() -> None:
    err = error(doc(ok_stmt(), ok_stmt(Effect=None)))
    assert err.statement == 1 and err.element == "Effect"
    assert str(err).startswith("statement 2: Effect is missing")


@pytest.mark.parametrize("effect", ["deny", "ALLOW", " Allow", "Allowed", 1, True, None, ["Allow"]])
def test_effect_is_exactly_allow_or_deny(effect: Any) -> None:
    assert error(doc(ok_stmt(Effect=effect) if effect is not None else {**ok_stmt(), "Effect": None})).element == (
        "Effect"
    )


def test_statement_object_or_list_and_scalars_or_lists_normalise_alike() -> None:
    single = parse_policy({"Statement": ok_stmt(Action="s3:GetObject", Resource="arn:aws:s3:::b")})
    listed = parse_policy({"Statement": [ok_stmt(Action=["s3:GetObject"], Resource=["arn:aws:s3:::b"])]})
    assert single.statements == listed.statements
    assert single.statements[0].action == ("s3:GetObject",)


def test_numbers_and_booleans_become_strings() -> None:
    policy = parse_policy(
        doc(
            ok_stmt(
                Principal={"AWS": 123456789012},
                Condition={"NumericLessThan": {"s3:TlsVersion": 1.2}, "Bool": {"aws:SecureTransport": False}},
            )
        )
    )
    stmt = policy.statements[0]
    assert stmt.principal is not None and stmt.principal.aws == ("123456789012",)
    assert {c.key: c.values for c in stmt.conditions} == {
        "s3:TlsVersion": ("1.2",),
        "aws:SecureTransport": ("false",),
    }


def test_json_text_keeps_number_spelling() -> None:
    text = (
        '{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",'
        ' "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.10}, "Bool": {"aws:SecureTransport": false}}}]}'
    )
    conds = parse_policy(text).statements[0].conditions
    assert [c.values for c in conds] == [("1.10",), ("false",)]


@pytest.mark.parametrize(
    ("statement", "element"),
    [
        (ok_stmt(Action=None), "Action"),
        (ok_stmt(NotAction="s3:GetObject"), "NotAction"),
        (ok_stmt(NotResource="arn:aws:s3:::b"), "NotResource"),
        (ok_stmt(NotPrincipal={"AWS": "123456789012"}), "NotPrincipal"),
        (ok_stmt(Effect="Allow", Principal=None, NotPrincipal={"AWS": "123456789012"}), "NotPrincipal"),
        (ok_stmt(Actions="s3:GetObject"), "Actions"),
        (ok_stmt(Action="GetObject"), "Action"),
        (ok_stmt(Action=[]), "Action"),
        (ok_stmt(Action={"s3": "GetObject"}), "Action"),
        (ok_stmt(Action=[["s3:GetObject"]]), "Action"),
        (ok_stmt(Action=None, NotAction=None), "Action"),
        (ok_stmt(Resource="bucket/*"), "Resource"),
        (ok_stmt(Principal="123456789012"), "Principal"),
        (ok_stmt(Principal={}), "Principal"),
        (ok_stmt(Principal={"Aws": "*"}), "Principal.Aws"),
        (ok_stmt(Principal={"AWS": "alice"}), "Principal.AWS"),
        (ok_stmt(Principal={"AWS": "arn:aws:s3:::b"}), "Principal.AWS"),
        (ok_stmt(Principal={"AWS": "arn:aws:iam::<ACCOUNT_ID>:root"}), "Principal.AWS"),
        (ok_stmt(Principal={"Service": ""}), "Principal.Service"),
        (ok_stmt(Sid=7), "Sid"),
        (ok_stmt(Condition="aws:SecureTransport"), "Condition"),
        (ok_stmt(Condition={"StringEqual": {"k": "v"}}), "Condition.StringEqual"),
        (ok_stmt(Condition={"stringequals": {"k": "v"}}), "Condition.stringequals"),
        (ok_stmt(Condition={"NullIfExists": {"k": "true"}}), "Condition.NullIfExists"),
        (ok_stmt(Condition={"ForAnyValue:Null": {"k": "true"}}), "Condition.ForAnyValue:Null"),
        (ok_stmt(Condition={"Bool": "true"}), "Condition.Bool"),
        (ok_stmt(Condition={"Bool": {"k": "yes"}}), "Condition.Bool.k"),
        (ok_stmt(Condition={"Null": {"k": "1"}}), "Condition.Null.k"),
        (
            ok_stmt(Condition={"NumericLessThan": {"s3:TlsVersion": "TLSv1.2"}}),
            "Condition.NumericLessThan.s3:TlsVersion",
        ),
        (
            ok_stmt(Condition={"DateLessThan": {"aws:CurrentTime": "soon"}}),
            "Condition.DateLessThan.aws:CurrentTime",
        ),
        (
            ok_stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}}),
            "Condition.IpAddress.aws:SourceIp",
        ),
        (ok_stmt(Condition={"BinaryEquals": {"k": "not base64!"}}), "Condition.BinaryEquals.k"),
        (ok_stmt(Condition={"StringEquals": {"k": []}}), "Condition.StringEquals.k"),
        (ok_stmt(Condition={"StringEquals": {"k": None}}), "Condition.StringEquals.k"),
        (
            ok_stmt(Condition={"StringEquals": {"aws:SourceVpc": "a", "AWS:SourceVPC": "b"}}),
            "Condition.StringEquals.AWS:SourceVPC",
        ),
    ],
)
def test_statement_errors_name_the_element(statement: dict[str, Any], element: str) -> None:
    err = error(doc(statement))
    assert err.element == element
    assert err.statement_index == 0
    assert str(err).startswith("statement 1")


def test_seed_placeholders_left_in_a_principal_are_reported() -> None:
    err = error(doc(ok_stmt(Principal={"AWS": "arn:aws:iam::<ACCOUNT_ID>:root"})))
    assert 'has the account "<ACCOUNT_ID>", not a 12-digit account id; replace the placeholder' in str(err)
    oai = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL"
    assert parse_policy(doc(ok_stmt(Principal={"AWS": oai}))).statements[0].principal is not None


def test_unknown_operator_suggests_the_right_spelling() -> None:
    err = error(doc(ok_stmt(Condition={"StringEqual": {"k": "v"}})))
    assert 'did you mean "StringEquals"' in str(err)


def test_duplicate_condition_keys_differing_in_case_are_rejected_but_different_operators_are_fine() -> None:
    err = error(doc(ok_stmt(Condition={"Bool": {"aws:SecureTransport": "false", "aws:securetransport": "true"}})))
    assert "differ only in case" in str(err)
    policy = parse_policy(
        doc(ok_stmt(Condition={"StringLike": {"s3:prefix": "a*"}, "StringNotLike": {"S3:Prefix": "a/b*"}}))
    )
    assert len(policy.statements[0].conditions) == 2


@pytest.mark.parametrize(
    ("top", "element"),
    [
        ({"Version": "2012-10-18"}, "Version"),
        ({"Version": 2012}, "Version"),
        ({"Version": datetime.date(2012, 10, 17)}, "Version"),
        ({"Id": ["x"]}, "Id"),
        ({"Statements": []}, "Statements"),
    ],
)
def test_top_level_errors(top: dict[str, Any], element: str) -> None:
    assert error({**doc(ok_stmt()), **top}).element == element


def test_yaml_date_version_gets_a_quoting_hint() -> None:
    err = error({**doc(ok_stmt()), "Version": datetime.date(2012, 10, 17)})
    assert "quote it" in str(err)


def test_versions_and_statement_shapes() -> None:
    assert parse_policy(doc(ok_stmt(), Version="2008-10-17")).version == "2008-10-17"
    assert parse_policy({"Statement": [ok_stmt()]}).version is None
    assert error({"Version": "2012-10-17"}).element == "Statement"
    assert error({"Statement": "Deny everything"}).element == "Statement"
    assert error({"Statement": ["x"]}).statement_index == 0
    empty = parse_policy({"Statement": []})
    assert empty.statements == () and empty.notes


def test_duplicate_sids_and_duplicate_json_keys() -> None:
    assert error(doc(ok_stmt(Sid="x"), ok_stmt(Sid="x"))).element == "Sid"
    dup = '{"Statement": [{"Effect": "Allow", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]}'
    err = error(dup)
    assert err.element == "Effect" and "twice" in str(err)


def test_statement_without_resource_is_accepted_and_recorded() -> None:
    policy = parse_policy(doc(ok_stmt(Resource=None, Sid="no-resource")))
    assert policy.statements[0].resource is None
    assert policy.notes == (
        'statement 1 ("no-resource"): no Resource or NotResource: it matches no request '
        '(a key policy writes "Resource": "*")',
    )


@pytest.mark.parametrize(
    "document",
    [
        "",
        "{",
        "[]",
        "null",
        "42",
        '"policy"',
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": NaN}]}',
        b"\xff\xfe{}",
        "[" * 10_000 + "]" * 10_000,
        '{"Statement": ' + "[" * 10_000 + "]" * 10_000 + "}",
        {"Statement": [ok_stmt(Condition={"StringEquals": {"k": float("nan")}})]},
        {1: "x"},
        {"Statement": [{1: "x"}]},
        {"Statement": [ok_stmt(Action=object())]},
    ],
    ids=lambda d: repr(d)[:30],
)
def test_malformed_documents_raise_policy_error_only(document: Any) -> None:
    err = error(document)
    assert str(err) and "\n" not in str(err)


def test_size_limits_bound_hostile_input() -> None:
    big = json.dumps(doc(ok_stmt(Sid="x" * (MAX_BYTES + 10))))
    assert "bytes" in str(error(big))
    many = doc(*[ok_stmt(Sid=str(i)) for i in range(MAX_STATEMENTS + 1)])
    assert error(many).element == "Statement"
    assert "bytes" in str(error(doc(ok_stmt(Action=["s3:" + "x" * 1000] * 200))))
    wide = doc(ok_stmt(Action=[f"s3:A{i}" for i in range(20_000)]))
    assert error(wide).element == "Action"


def test_every_operator_in_the_table_parses_with_its_variants() -> None:
    values = {
        "numeric": "1",
        "date": "2020-01-01T00:00:00Z",
        "bool": "true",
        "null": "true",
        "ip": "10.0.0.0/8",
        "binary": "QmluYXJ5",
    }
    for name in OPERATOR_NAMES:
        base = name.split(":")[-1].removesuffix("IfExists")
        value = values.get(OPERATORS[base].family, "x")
        cond = parse_policy(doc(ok_stmt(Condition={name: {"k": value}}))).statements[0].conditions[0]
        assert cond.operator == name and cond.base == base
    assert len(OPERATOR_NAMES) == 1 + (len(OPERATORS) - 1) * 6


def test_to_json_round_trips() -> None:
    original = parse_policy(
        doc(
            ok_stmt(Sid="a", Principal={"AWS": ["123456789012"], "Service": "logs.eu-west-1.amazonaws.com"}),
            ok_stmt(
                Effect="Allow",
                Principal="*",
                Action=None,
                NotAction="s3:Delete*",
                Resource=None,
                NotResource="arn:aws:s3:::b/p/*",
                Condition={"ForAnyValue:StringLike": {"k": ["a*", "b"]}},
            ),
            ok_stmt(Principal=None, NotPrincipal={"AWS": "arn:aws:iam::123456789012:role/x"}),
            Id="x",
        )
    )
    again = parse_policy(original.to_json())
    assert again == original
    assert isinstance(again, Policy)
