"""Requirements decided by the solver: adversarial policies written against a request sampler, every
operator family with a PASS and a FAIL, and every FAIL's witness replayed through the concrete evaluator."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from auditor import seed
from auditor.policy import Principal, Request, RequirementContext, check_document, decide, parse_policy
from auditor.policy.requirements import REQUIREMENTS, RequirementResult
from auditor.policy.solver import concrete_bad

ACCOUNT = "123456789012"
OTHER = "210987654321"
REGION = "eu-west-1"
BUCKET = "ucit-ccme-internals-eu-west-1"
B = f"arn:aws:s3:::{BUCKET}"
CTX = RequirementContext(ACCOUNT, REGION, bucket=BUCKET)
HTTP = "s3-deny-insecure-transport"
TLS = "s3-deny-tls-below-1.2"
ROOT = "kms-root-full-access"
DCV = "kms-dcv-proxy-autoscaling"
LOGS = "kms-cloudwatch-logs"
OUT_KMS = "kms-no-outside-access"
OUT_S3 = "s3-no-outside-access"
DEPUTY = "kms-service-confused-deputy"
SEED_S3 = seed.tls_policy(BUCKET)
SEED_DCV = seed.key_policy("dcv_proxy_ebs", ACCOUNT, REGION)
SEED_CW = seed.key_policy("cloudWatch", ACCOUNT, REGION)


def principal_of(data: Mapping[str, Any]) -> Principal:
    kind, ident = data["kind"], data["id"]
    if kind == "anonymous":
        return Principal.anonymous()
    if kind == "service":
        return Principal.service(ident)
    if kind == "federated":
        return Principal.federated(ident)
    return Principal.aws(ident)


def replay(policy: Any, result: RequirementResult, kind: str = "s3") -> None:
    """Every witness, decided again by the concrete evaluator, gives the decision reported with it."""
    assert result.witnesses, result
    parsed = parse_policy(policy)
    for w in result.witnesses:
        request = Request(principal_of(w["principal"]), w["action"], w["resource"], w["context"])
        decision = decide(parsed, request, policy_kind=kind, resource_account=ACCOUNT)  # type: ignore[arg-type]
        assert decision.effect == w["decision"]
        assert [r.label for r in decision.statements] == w["statements"]


def http_deny(condition: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    cond: dict[str, Any] = {"Bool": {"aws:SecureTransport": "false"}}
    for op, block in (condition or {}).items():
        cond.setdefault(op, {}).update(block)
    out = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Resource": [f"{B}/*", B], "Condition": cond}
    out.update(kw)
    return {k: v for k, v in out.items() if v is not None}


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def key_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [seed.root_statement(ACCOUNT), *statements]}


def logs_key(condition: dict[str, Any]) -> dict[str, Any]:
    """The seed's CloudWatch key policy with a condition on its CloudWatch Logs statement."""
    policy = copy.deepcopy(SEED_CW)
    for stmt in policy["Statement"]:
        if "Service" in stmt.get("Principal", {}):
            stmt["Condition"] = condition
    return policy


@dataclass(frozen=True)
class Case:
    name: str
    requirement: str
    policy: dict[str, Any]
    verdict: str  # PASS, FAIL, ERROR
    evidence: str = ""  # FAIL: a fragment of the first violation; ERROR: of the error

    def __str__(self) -> str:
        return self.name


SEVEN_KEYS = ["aws:SourceVpce", "aws:SourceVpc", "aws:userid", "aws:username", "aws:PrincipalOrgID", "aws:Referer",
              "aws:UserAgent"]

CASES = [
    # --- principal exemptions in conditions (each escaped the old sampler) ---
    Case("exempt-role-pattern", HTTP,
         bucket_policy(http_deny({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}})),
         "FAIL", ":role/x"),
    Case("exempt-one-role", HTTP,
         bucket_policy(http_deny({"ArnNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/r"}})),
         "FAIL", f"arn:aws:iam::{OTHER}:role/r"),
    Case("exempt-users", HTTP,
         bucket_policy(http_deny({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}})),
         "FAIL", ":user/"),
    Case("exempt-third-account", HTTP,
         bucket_policy(http_deny({"StringNotEquals": {"aws:PrincipalAccount": "555555555555"}})),
         "FAIL", "555555555555"),
    Case("exempt-type-user", HTTP,
         bucket_policy(http_deny({"StringNotEquals": {"aws:PrincipalType": "User"}})), "FAIL", ":user/"),
    Case("exempt-type-federated", HTTP,
         bucket_policy(http_deny({"StringNotEquals": {"aws:PrincipalType": "FederatedUser"}})),
         "FAIL", "federated principal"),
    Case("exempt-role-closed-by-second-deny", HTTP,
         bucket_policy(http_deny({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}}),
                       http_deny({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}})),
         "PASS"),
    # --- many keys: the split the old cap of 512 combinations hid ---
    Case("seven-key-split", HTTP,
         bucket_policy(*[http_deny({"StringNotEquals": {k: f"v{i}"}}, Sid=f"s{i}") for i, k in enumerate(SEVEN_KEYS)]),
         "FAIL", "aws:SourceVpce=v0"),
    Case("seven-key-split-closed", HTTP,
         bucket_policy(*[http_deny({"StringNotEquals": {k: f"v{i}"}}, Sid=f"s{i}") for i, k in enumerate(SEVEN_KEYS)],
                       http_deny(Sid="all")),
         "PASS"),
    # --- object-key scoping ---
    Case("one-object-only", HTTP, bucket_policy(http_deny(Resource=[B, f"{B}/key"])), "FAIL", f"{B}/"),
    Case("prefix-only", HTTP, bucket_policy(http_deny(Resource=[B, f"{B}/k*"])), "FAIL", f"{B}/"),
    Case("not-resource-elsewhere", HTTP, bucket_policy(http_deny(Resource=None, NotResource=["arn:aws:s3:::other/*"])),
         "PASS"),
    Case("not-resource-secret", HTTP, bucket_policy(http_deny(Resource=None, NotResource=[f"{B}/secret/*"])),
         "FAIL", f"{B}/secret/"),
    # --- NotAction / NotPrincipal ---
    Case("not-action", HTTP, bucket_policy(http_deny(Action=None, NotAction=["s3:GetObject"])), "FAIL", "GetObject"),
    Case("not-action-closed", HTTP,
         bucket_policy(http_deny(Action=None, NotAction=["s3:GetObject"]), http_deny(Action="s3:GetObject", Sid="g")),
         "PASS"),
    Case("not-principal-role", HTTP,
         bucket_policy(http_deny(Principal=None, NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/ops"})),
         "FAIL", "/ops"),
    # --- operator families, each PASS and FAIL ---
    Case("string-pair", HTTP, bucket_policy(http_deny({"StringEquals": {"aws:SourceVpce": "vpce-1"}}, Sid="a"),
                                            http_deny({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}, Sid="b")),
         "PASS"),
    Case("string-one", HTTP, bucket_policy(http_deny({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})),
         "FAIL", "aws:SourceVpce=vpce-1"),
    Case("ignorecase-pair", HTTP,
         bucket_policy(http_deny({"StringEqualsIgnoreCase": {"aws:UserAgent": "Curl"}}, Sid="a"),
                       http_deny({"StringNotEqualsIgnoreCase": {"aws:UserAgent": "Curl"}}, Sid="b")), "PASS"),
    Case("ignorecase-one", HTTP, bucket_policy(http_deny({"StringNotEqualsIgnoreCase": {"aws:UserAgent": "Curl"}})),
         "FAIL", "aws:UserAgent="),
    Case("like-pair", HTTP, bucket_policy(http_deny({"StringLike": {"aws:Referer": "https://*"}}, Sid="a"),
                                          http_deny({"StringNotLike": {"aws:Referer": "https://*"}}, Sid="b")),
         "PASS"),
    Case("like-one", HTTP, bucket_policy(http_deny({"StringNotLike": {"aws:Referer": "https://*"}})),
         "FAIL", "aws:Referer=https://"),
    Case("arn-pair", HTTP, bucket_policy(http_deny({"ArnLike": {"aws:SourceArn": "arn:aws:*:*:*:x"}}, Sid="a"),
                                         http_deny({"ArnNotLike": {"aws:SourceArn": "arn:aws:*:*:*:x"}}, Sid="b")),
         "PASS"),
    Case("arn-one", HTTP, bucket_policy(http_deny({"ArnNotLike": {"aws:SourceArn": "arn:aws:*:*:*:x"}})),
         "FAIL", "aws:SourceArn=arn:aws:"),
    Case("numeric-tls-seed", TLS, SEED_S3, "PASS"),
    Case("numeric-tls-1.1", TLS, bucket_policy(http_deny(Condition={"NumericLessThan": {"s3:TlsVersion": "1.1"}})),
         "FAIL", "TLS 1.1"),
    Case("numeric-tls-le-1.1", TLS,
         bucket_policy(http_deny(Condition={"NumericLessThanEquals": {"s3:TlsVersion": 1.1}})), "PASS"),
    Case("date-pair", HTTP,
         bucket_policy(http_deny({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, Sid="a"),
                       http_deny({"DateGreaterThanEquals": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, Sid="b"),
                       http_deny({"Null": {"aws:CurrentTime": "true"}}, Sid="c")), "PASS"),
    Case("date-one", HTTP,
         bucket_policy(http_deny({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})),
         "FAIL", "not denied"),
    Case("date-one-present", HTTP,
         bucket_policy(http_deny({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
                       http_deny({"Null": {"aws:CurrentTime": "true"}}, Sid="n")),
         "FAIL", "aws:CurrentTime=2030-01-01T00:00:00"),
    Case("bool-seed", HTTP, SEED_S3, "PASS"),
    Case("bool-wrong-value", HTTP,
         bucket_policy(http_deny(Condition={"Bool": {"aws:SecureTransport": "true"}})), "FAIL", "not denied"),
    Case("ip-pair", HTTP,
         bucket_policy(http_deny({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, Sid="a"),
                       http_deny({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, Sid="b"),
                       http_deny({"Null": {"aws:SourceIp": "true"}}, Sid="c")), "FAIL", "aws:SourceIp="),
    Case("ip-one", HTTP, bucket_policy(http_deny({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}})),
         "FAIL", "aws:SourceIp="),
    Case("ip-contradiction", ROOT,
         key_policy({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                     "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]},
                                   "NotIpAddress": {"aws:SourceIp": ["192.0.0.0/16", "2001:db8::/31"]}}}), "PASS"),
    Case("ip-overlap", ROOT,
         key_policy({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                     "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
                                   "NotIpAddress": {"aws:SourceIp": "192.0.2.0/25"}}}),
         "FAIL", "aws:SourceIp=192.0.2."),
    Case("null-one", HTTP, bucket_policy(http_deny({"Null": {"aws:SourceVpce": "true"}})), "FAIL", "aws:SourceVpce="),
    Case("null-pair", HTTP, bucket_policy(http_deny({"Null": {"aws:SourceVpce": "true"}}, Sid="a"),
                                          http_deny({"Null": {"aws:SourceVpce": "false"}}, Sid="b")), "PASS"),
    Case("ifexists-pair", HTTP,
         bucket_policy(http_deny({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}, Sid="a"),
                       http_deny({"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}, Sid="b")), "PASS"),
    Case("ifexists-one", HTTP, bucket_policy(http_deny({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})),
         "FAIL", "aws:SourceVpc="),
    Case("for-any-value-one", HTTP,
         bucket_policy(http_deny({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}})), "FAIL", "not denied"),
    Case("for-any-all-pair", HTTP,
         bucket_policy(http_deny({"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}}, Sid="a"),
                       http_deny({"ForAllValues:StringNotEquals": {"aws:TagKeys": "a"}}, Sid="b")), "PASS"),
    Case("for-all-values-one", HTTP,
         bucket_policy(http_deny({"ForAllValues:StringLike": {"aws:TagKeys": "ccme-*"}})), "FAIL", "aws:TagKeys="),
    # --- policy variables: the request's value substituted, literally; absent without default: no match ---
    Case("variable-per-user-prefix", HTTP, bucket_policy(http_deny(Resource=[B, f"{B}/${{aws:username}}/*"])),
         "FAIL", f"{B}/"),
    Case("variable-per-user-prefix-closed", HTTP,
         bucket_policy(http_deny(Resource=[B, f"{B}/${{aws:username}}/*"]), http_deny(Sid="all")), "PASS"),
    Case("variable-wildcard-value-is-literal", HTTP, bucket_policy(http_deny(Resource=[B, f"{B}/${{aws:username}}"])),
         "FAIL", f"{B}/"),
    # One value that cannot be substituted invalidates the whole statement: B and B/* do not save it.
    Case("variable-invalidates-whole-statement", HTTP,
         bucket_policy(http_deny(Resource=[B, f"{B}/*", f"{B}/${{aws:username}}/*"])), "FAIL", "not denied"),
    Case("variable-special-star", HTTP, bucket_policy(http_deny(Resource=[B, f"{B}/${{*}}"])), "FAIL", f"{B}/"),
    Case("variable-exempts-userid", HTTP,
         bucket_policy(http_deny({"StringNotLike": {"aws:userid": "${aws:username}*"}})), "FAIL", "not denied"),
    Case("variable-exempts-own-account", HTTP,
         bucket_policy(http_deny({"StringNotEquals": {"aws:PrincipalTag/home": "${aws:PrincipalAccount}"}})),
         "FAIL", "not denied"),
    Case("variable-pair-absent-key-open", HTTP,
         bucket_policy(http_deny({"StringLike": {"aws:userid": "${aws:username}*"}}, Sid="a"),
                       http_deny({"StringNotLike": {"aws:userid": "${aws:username}*"}}, Sid="b")),
         "FAIL", "not denied"),
    Case("variable-pair-closed-by-null", HTTP,
         bucket_policy(http_deny({"StringLike": {"aws:userid": "${aws:username}*"}}, Sid="a"),
                       http_deny({"StringNotLike": {"aws:userid": "${aws:username}*"}}, Sid="b"),
                       http_deny({"Null": {"aws:username": "true"}}, Sid="c")), "PASS"),
    Case("variable-default-pair", HTTP,
         bucket_policy(http_deny({"StringLike": {"aws:userid": "${aws:username, 'x'}*"}}, Sid="a"),
                       http_deny({"StringNotLike": {"aws:userid": "${aws:username, 'x'}*"}}, Sid="b")), "PASS"),
    Case("variable-default-one", HTTP,
         bucket_policy(http_deny({"StringNotEquals": {"aws:SourceVpce": "${aws:username, 'vpce-1'}"}})),
         "FAIL", "aws:SourceVpce=vpce-1"),
    Case("variable-resource-account", HTTP,
         bucket_policy(http_deny({"StringNotEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}})),
         "FAIL", f"arn:aws:sts::{ACCOUNT}:"),
    # --- BinaryEquals: the base64 text compared as given ---
    Case("binary-one", HTTP, bucket_policy(http_deny({"BinaryEquals": {"ccme:Blob": "QUJD"}})), "FAIL", "not denied"),
    Case("binary-closed", HTTP,
         bucket_policy(http_deny({"BinaryEquals": {"ccme:Blob": "QUJD"}}),
                       http_deny({"Null": {"ccme:Blob": "true"}}, Sid="n"),
                       http_deny({"StringNotEquals": {"ccme:Blob": "QUJD"}}, Sid="s")), "PASS"),
    # --- key policies ---
    Case("dcv-seed", DCV, SEED_DCV, "PASS"),
    Case("dcv-not-principal-account-root", DCV,
         {**SEED_DCV, "Statement": [*SEED_DCV["Statement"],
                                    {"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                     "Action": "kms:*", "Resource": "*"}]},
         "FAIL", "denied by statement 4"),
    Case("dcv-org-condition", DCV,
         key_policy({"Effect": "Allow", "Principal": {"AWS": seed.ASG_ROLE.format(account=ACCOUNT, partition="aws")},
                     "Action": "kms:*", "Resource": "*",
                     "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}),
         "FAIL", "allowed only by the account statement"),
    Case("logs-seed", LOGS, SEED_CW, "PASS"),
    Case("logs-one-group", LOGS,
         key_policy({"Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                     "Action": "kms:*", "Resource": "*",
                     "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn":
                                                 f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:one"}}}),
         "FAIL", "for log group"),
    Case("logs-every-group", LOGS,
         key_policy({"Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                     "Action": "kms:*", "Resource": "*",
                     "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                               f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}}}),
         "PASS"),
    # --- access from outside the account ---
    Case("outside-kms-seed-cloudwatch", OUT_KMS, SEED_CW, "PASS"),
    Case("outside-kms-seed-dcv", OUT_KMS, SEED_DCV, "PASS"),
    Case("outside-kms-star", OUT_KMS,
         key_policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}),
         "FAIL", "other-account"),
    Case("outside-kms-other-root", OUT_KMS,
         key_policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                     "Action": "kms:Decrypt", "Resource": "*"}),
         "FAIL", f"kms:Decrypt on arn:aws:kms:{REGION}:{ACCOUNT}:key/"),
    Case("outside-kms-star-limited-to-account", OUT_KMS,
         key_policy({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
                     "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}), "PASS"),
    Case("outside-kms-star-limited-to-org", OUT_KMS,
         key_policy({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
                     "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef"}}}), "PASS"),
    Case("outside-kms-star-limited-wrongly", OUT_KMS,
         key_policy({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
                     "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "555555555555"}}}),
         "FAIL", "other-account"),
    Case("outside-s3-seed", OUT_S3, SEED_S3, "PASS"),
    Case("outside-s3-public-read", OUT_S3,
         bucket_policy(http_deny(), {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                     "Resource": f"{B}/*"}), "FAIL", "GetObject"),
    Case("outside-s3-logging-service", OUT_S3,
         bucket_policy(http_deny(), {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                                     "Action": "s3:PutObject", "Resource": f"{B}/*"}), "PASS"),
    # --- confused deputy: a service principal used on behalf of another account (advisory rule) ---
    Case("deputy-seed-cloudwatch", DEPUTY, SEED_CW, "FAIL", "on behalf of account 999999999999"),
    Case("deputy-seed-dcv", DEPUTY, SEED_DCV, "PASS"),
    Case("deputy-context-own-account", DEPUTY, logs_key({"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                                                    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}}),
         "PASS"),
    Case("deputy-source-account", DEPUTY, logs_key({"StringEquals": {"aws:SourceAccount": ACCOUNT}}), "PASS"),
    Case("deputy-source-arn", DEPUTY, logs_key({"ArnLike": {"aws:SourceArn": f"arn:aws:logs:*:{ACCOUNT}:*"}}), "PASS"),
    Case("deputy-variable-resource-account", DEPUTY,
         logs_key({"StringEquals": {"aws:SourceAccount": "${aws:ResourceAccount}"}}), "PASS"),
    # written to fool it: conditions that look like a limit and are not
    Case("deputy-context-any-account", DEPUTY, logs_key({"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                                                    f"arn:aws:logs:{REGION}:*:log-group:*"}}),
         "FAIL", "kms:EncryptionContext:aws:logs:arn=arn:aws:logs:"),
    Case("deputy-source-arn-star", DEPUTY, logs_key({"StringLike": {"aws:SourceArn": "*"}}), "FAIL", "on behalf"),
    Case("deputy-source-account-not-third", DEPUTY,
         logs_key({"StringNotEquals": {"aws:SourceAccount": "555555555555"}}), "FAIL", "on behalf"),
    Case("deputy-source-account-ifexists", DEPUTY,
         logs_key({"StringEqualsIfExists": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:x"}}),
         "FAIL", "on behalf"),
    Case("deputy-other-service", DEPUTY,
         key_policy({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "kms:Decrypt",
                     "Resource": "*"}), "FAIL", "sns.amazonaws.com"),
    Case("deputy-star-principal", DEPUTY,
         key_policy({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                     "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}), "PASS"),
    Case("deputy-star-principal-services", DEPUTY,
         key_policy({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                     "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}}}), "FAIL", "ccme-audit-probe"),
    Case("deputy-other-service-source-account", DEPUTY,
         key_policy({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "kms:Decrypt",
                     "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}), "PASS"),
    Case("root-seed", ROOT, SEED_CW, "PASS"),
    Case("root-denied-decrypt", ROOT,
         key_policy({"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                     "Condition": {"StringNotEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}}),
         "FAIL", "kms:Decrypt"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_solver_verdict(case: Case) -> None:
    result = check_document(copy.deepcopy(case.policy), case.requirement, CTX)
    assert result.verdict == case.verdict, (result.violations, result.error)
    if case.verdict == "FAIL":
        assert case.evidence in result.violations[0], result.violations
        kind = REQUIREMENTS[case.requirement].applies_to
        replay(case.policy, result, kind)
    elif case.verdict == "ERROR":
        assert case.evidence in (result.error or "")
        assert not result.ok


def test_every_operator_family_has_a_pass_and_a_fail() -> None:
    families = ["string", "ignorecase", "like", "arn", "numeric", "date", "bool", "ip", "null", "ifexists",
                "for-any", "for-all", "variable", "binary"]
    for family in families:
        verdicts = {c.verdict for c in CASES if c.name.startswith(family)}
        assert verdicts & {"FAIL"}, family
    passes = {c.name.split("-")[0] for c in CASES if c.verdict == "PASS"}
    assert {"string", "ignorecase", "like", "arn", "numeric", "date", "bool", "ip", "null", "ifexists", "for",
            "variable", "binary"} <= passes


def test_the_corpus_has_no_error_case() -> None:
    assert [c.name for c in CASES if c.verdict == "ERROR"] == []


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ({"StringNotEqualsIgnoreCase": {"aws:userid": "${aws:username}"}}, "under ...IgnoreCase"),
        ({"StringNotLike": {"aws:userid": "*${aws:username}*"}}, "wildcard on both sides"),
        ({"StringNotLike": {"aws:userid": "${aws:TagKeys}"}}, "multi-valued key"),
    ],
)
def test_what_is_not_encoded_is_an_error_naming_it(condition: dict[str, Any], named: str) -> None:
    result = check_document(bucket_policy(http_deny(condition)), HTTP, CTX)
    assert result.verdict == "ERROR" and named in (result.error or "")


def test_every_seed_policy_passes_every_requirement_of_its_kind() -> None:
    for suffix in seed.KEY_SUFFIXES:
        document = seed.key_policy(suffix, ACCOUNT, REGION)
        assert check_document(document, ROOT, CTX).verdict == "PASS", suffix
        assert check_document(document, OUT_KMS, CTX).verdict == "PASS", suffix
    assert check_document(SEED_DCV, DCV, CTX).verdict == "PASS"
    assert check_document(SEED_CW, LOGS, CTX).verdict == "PASS"
    # The advisory confused-deputy requirement is the one the seed's CloudWatch key does not meet (expected).
    for suffix in seed.KEY_SUFFIXES:
        document = seed.key_policy(suffix, ACCOUNT, REGION)
        expected = "FAIL" if suffix == "cloudWatch" else "PASS"
        assert check_document(document, DEPUTY, CTX).verdict == expected, suffix
    assert check_document(logs_key({"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                                f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}}), LOGS, CTX).ok
    for requirement in (HTTP, TLS, OUT_S3):
        result = check_document(SEED_S3, requirement, CTX)
        assert result.verdict == "PASS" and not result.warnings


def test_a_stated_context_narrows_the_claim_and_is_printed_with_it() -> None:
    policy = bucket_policy(http_deny({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}))
    assert check_document(policy, HTTP, CTX).verdict == "FAIL"
    ctx = RequirementContext(ACCOUNT, REGION, bucket=BUCKET, pinned={"aws:SourceVpce": "vpce-2"})
    result = check_document(policy, HTTP, ctx)
    assert result.claim() == "PASS, assuming aws:SourceVpce = vpce-2"
    ctx = RequirementContext(ACCOUNT, REGION, bucket=BUCKET, pinned={"aws:SourceVpce": "vpce-1"})
    assert check_document(policy, HTTP, ctx).claim() == "FAIL, assuming aws:SourceVpce = vpce-1"


def test_a_stated_principal_key_limits_the_callers() -> None:
    policy = bucket_policy(http_deny({"StringNotEquals": {"aws:PrincipalAccount": "555555555555"}}))
    ctx = RequirementContext(ACCOUNT, REGION, bucket=BUCKET, pinned={"aws:PrincipalAccount": ACCOUNT})
    assert check_document(policy, HTTP, ctx).verdict == "PASS"


def test_witness_predicate_matches_the_solver() -> None:
    policy = bucket_policy(http_deny(Resource=[B]))
    result = check_document(policy, HTTP, CTX)
    parsed = parse_policy(policy)
    for w in result.witnesses:
        request = Request(principal_of(w["principal"]), w["action"], w["resource"], w["context"])
        assert concrete_bad("not_denied", decide(parsed, request, policy_kind="s3"), parsed)


def test_z3_is_imported_only_where_a_policy_is_decided() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import auditor.policy, auditor.cli.policy, auditor.engine.operators\n"
        "assert 'z3' not in sys.modules, 'z3 loaded by an import'\n"
        "from auditor.policy import RequirementContext, check_document\n"
        "check_document({'Statement': []}, 'kms-root-full-access', RequirementContext('123456789012', 'eu-west-1'))\n"
        "assert 'z3' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _logs_policy(pattern: str) -> dict[str, Any]:
    return key_policy({"Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                       "Action": "kms:*", "Resource": "*",
                       "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": pattern}}})


@pytest.mark.parametrize(
    ("pattern", "prefix", "verdict"),
    [
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ccme/*", "", "FAIL"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ccme/*", "/ccme/", "PASS"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ccme/*", "/ccme/cluster-", "PASS"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ccme/*", "/cc", "FAIL"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ccme/one", "/ccme/", "FAIL"),
        (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*", "/ccme/", "PASS"),
    ],
)
def test_the_log_group_prefix_narrows_the_cloudwatch_requirement(pattern: str, prefix: str, verdict: str) -> None:
    ctx = RequirementContext(ACCOUNT, REGION, log_group_prefix=prefix)
    result = check_document(_logs_policy(pattern), LOGS, ctx)
    assert result.verdict == verdict, result.violations
    if verdict == "FAIL":
        assert f"log-group:{prefix}" in result.violations[0]
        replay(_logs_policy(pattern), result, "kms")
    assert check_document(SEED_CW, LOGS, ctx).verdict == "PASS"


def test_a_malformed_log_group_prefix_is_an_error() -> None:
    result = check_document(SEED_CW, LOGS, RequirementContext(ACCOUNT, REGION, log_group_prefix="a b"))
    assert result.verdict == "ERROR" and "log group prefix" in (result.error or "")
