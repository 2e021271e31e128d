"""Malformed policies never crash a requirement check and never pass one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.policy import REQUIREMENTS, RequirementContext, check_document

CTX = RequirementContext("123456789012", "eu-west-1", bucket="b")
GOOD = {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}

MALFORMED: list[tuple[str, Any, str]] = [
    ("bad JSON", '{"Statement": [', "not valid JSON"),
    ("trailing comma", '{"Statement": [{"Effect": "Deny",}]}', "not valid JSON"),
    ("empty text", "", "not valid JSON"),
    ("not UTF-8", b"\xff\xfe\x00{", "UTF-8"),
    ("Statement a string", {"Statement": "Deny all over HTTP"}, "Statement is a string"),
    ("statement a list of strings", {"Statement": ["Deny"]}, "statement 1: it is a string"),
    (
        "Effect missing",
        {"Statement": [{k: v for k, v in GOOD.items() if k != "Effect"}]},
        "Effect is missing",
    ),
    ("Effect lower case", {"Statement": [{**GOOD, "Effect": "deny"}]}, 'Effect is "deny"'),
    (
        "unknown operator",
        {"Statement": [{**GOOD, "Condition": {"BoolEquals": {"aws:SecureTransport": "false"}}}]},
        'Condition operator "BoolEquals" is unknown',
    ),
    (
        "operator with wrong case",
        {"Statement": [{**GOOD, "Condition": {"bool": {"aws:SecureTransport": "false"}}}]},
        'did you mean "Bool"',
    ),
    ("10,000-deep nesting", "[" * 10_000 + "]" * 10_000, "nests too deeply"),
    (
        "10,000-deep nesting in a statement",
        '{"Statement": ' + "[" * 10_000 + "]" * 10_000 + "}",
        "nests too deeply",
    ),
    ("huge", json.dumps({"Statement": [{**GOOD, "Sid": "x" * 200_000}]}), "at most 100000 bytes"),
    ("too many statements", {"Statement": [dict(GOOD, Sid=str(i)) for i in range(501)]}, "at most 500"),
    ("array at top", [GOOD], "the policy is a list"),
    ("null", "null", "the policy is null"),
    ("Version a date", {"Version": "2012-10-18", "Statement": [GOOD]}, 'Version is "2012-10-18"'),
    ("Resource not an ARN", {"Statement": [{**GOOD, "Resource": "b/*"}]}, "is not an ARN"),
    (
        "NotPrincipal with Allow",
        {"Statement": [{**GOOD, "Effect": "Allow", "NotPrincipal": {"AWS": "1"}}]},
        "NotPrincipal",
    ),
]


@pytest.mark.parametrize(("name", "document", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
@pytest.mark.parametrize("requirement", sorted(REQUIREMENTS))
def test_malformed_policy_is_an_error_never_a_pass(name: str, document: Any, message: str, requirement: str) -> None:
    result = check_document(document, requirement, CTX)
    assert not result.ok
    assert result.error is not None and message in result.error, result.error
    assert "\n" not in result.error
    assert result.violations == () and result.witnesses == () and result.verdict == "ERROR"


def test_a_policy_with_only_inert_statements_is_a_fail_not_an_error() -> None:
    inert = {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]}
    result = check_document(inert, "s3-deny-insecure-transport", CTX)
    assert result.error is None and not result.ok
    assert any("no Resource" in note for note in result.notes)
