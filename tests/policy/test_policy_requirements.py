"""Requirements on realistic policy variants: the seed's exact policies, equivalent spellings, and the
traps text-comparing scanners fall into."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.policy import REQUIREMENTS, RequirementContext, check_document, parse_policy
from auditor.policy.requirements import RequirementParamError

DATA = Path(__file__).parent / "data"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = "ucit-ccme-internals-eu-west-1"
CTX = RequirementContext(ACCOUNT, REGION, bucket=BUCKET)
ROLE_ASG = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"


def seed(name: str) -> str:
    text = (DATA / f"seed_{name}.json").read_text()
    return (
        text.replace("EXAMPLE_OF_CCME_CLUSTER_S3_BUCKET_NAME", BUCKET)
        .replace("<ACCOUNT_ID>", ACCOUNT)
        .replace("<AWS_REGION>", REGION)
    )


S3_SEED = seed("s3_tls_bucket_policy")
DCV_SEED = seed("kms_dcv_proxy_ebs")
CW_SEED = seed("kms_cloudwatch")
BUCKET_ARNS = [f"arn:aws:s3:::{BUCKET}/*", f"arn:aws:s3:::{BUCKET}"]
INSECURE = "s3-deny-insecure-transport"
TLS = "s3-deny-tls-below-1.2"
ROOT = "kms-root-full-access"
DCV = "kms-dcv-proxy-autoscaling"
LOGS = "kms-cloudwatch-logs"
VPCE = "vpce-s3-parallelcluster"


def variant(base: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(json.loads(base))
    change(data)
    return data


def deny(condition: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": list(BUCKET_ARNS),
    }
    if condition is not None:
        out["Condition"] = condition
    out.update(kw)
    return {k: v for k, v in out.items() if v is not None}


HTTP_DENY = deny({"Bool": {"aws:SecureTransport": "false"}})
TLS_DENY = deny({"NumericLessThan": {"s3:TlsVersion": "1.2"}})


def s3_policy(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def set_in(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


def keep_statements(*indexes: int) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["Statement"] = [data["Statement"][i] for i in indexes]

    return change


def append(statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["Statement"].append(statement)


def chain(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for c in changes:
            c(data)

    return change


def cw_logs_actions(actions: list[str]) -> Callable[[dict[str, Any]], None]:
    return set_in(("Statement", 1, "Action"), actions)


PC_VPCE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "cluster-buckets",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [
                f"arn:aws:s3:::{REGION}-aws-parallelcluster/*",
                f"arn:aws:s3:::dcv-license.{REGION}/*",
            ],
        },
        {
            "Sid": "wait-conditions",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::cloudformation-waitcondition-{REGION}/*",
        },
    ],
}


@dataclass(frozen=True)
class Case:
    name: str
    requirement: str
    document: str | dict[str, Any]
    verdict: str  # PASS, FAIL or ERROR
    reason: str = ""
    warning: str | None = None


CASES = [
    # --- the seed's exact policies
    Case("seed bucket policy, insecure transport", INSECURE, S3_SEED, "PASS"),
    Case("seed bucket policy, TLS < 1.2", TLS, S3_SEED, "PASS"),
    Case("seed DCV proxy key, root", ROOT, DCV_SEED, "PASS"),
    Case("seed DCV proxy key, AutoScaling role", DCV, DCV_SEED, "PASS"),
    Case("seed CloudWatch key, root", ROOT, CW_SEED, "PASS"),
    Case("seed CloudWatch key, logs", LOGS, CW_SEED, "PASS"),
    # --- equivalent spellings
    Case(
        "Principal * instead of AWS *",
        INSECURE,
        variant(
            S3_SEED,
            chain(set_in(("Statement", 0, "Principal"), "*"), set_in(("Statement", 1, "Principal"), "*")),
        ),
        "PASS",
    ),
    Case(
        "single-element lists",
        TLS,
        variant(
            S3_SEED,
            chain(
                set_in(("Statement", 0, "Action"), ["*"]),
                set_in(("Statement", 0, "Principal", "AWS"), ["*"]),
                set_in(("Statement", 0, "Condition", "NumericLessThan", "s3:TlsVersion"), ["1.2"]),
            ),
        ),
        "PASS",
    ),
    Case(
        "unquoted number and boolean (JSON text)",
        INSECURE,
        S3_SEED.replace('"s3:TlsVersion": "1.2"', '"s3:TlsVersion": 1.2').replace(
            '"aws:SecureTransport": "false"', '"aws:SecureTransport": false'
        ),
        "PASS",
    ),
    Case(
        "unquoted number (JSON text), TLS",
        TLS,
        S3_SEED.replace('"s3:TlsVersion": "1.2"', '"s3:TlsVersion": 1.2'),
        "PASS",
    ),
    Case(
        "Sids and Id changed or removed",
        TLS,
        variant(S3_SEED, chain(drop(("Id",)), drop(("Statement", 0, "Sid")), set_in(("Statement", 1, "Sid"), "x"))),
        "PASS",
    ),
    Case(
        "s3:* instead of *",
        INSECURE,
        s3_policy(deny({"Bool": {"aws:SecureTransport": "false"}}, Action="s3:*")),
        "PASS",
    ),
    Case(
        "one Resource pattern covering bucket and objects",
        INSECURE,
        s3_policy(deny({"Bool": {"aws:SecureTransport": "false"}}, Resource=f"arn:aws:s3:::{BUCKET}*")),
        "PASS",
    ),
    Case(
        "condition keys in another case",
        INSECURE,
        s3_policy(
            deny({"Bool": {"AWS:SECURETRANSPORT": "false"}}),
            deny({"NumericLessThan": {"S3:tlsversion": "1.2"}}),
        ),
        "PASS",
    ),
    Case(
        "TLS condition key in another case",
        TLS,
        s3_policy(HTTP_DENY, deny({"NumericLessThan": {"S3:TLSVERSION": "1.2"}})),
        "PASS",
    ),
    Case(
        "account id for root",
        ROOT,
        variant(DCV_SEED, set_in(("Statement", 0, "Principal", "AWS"), ACCOUNT)),
        "PASS",
    ),
    # --- IfExists variants
    Case(
        "BoolIfExists SecureTransport",
        INSECURE,
        s3_policy(deny({"BoolIfExists": {"aws:SecureTransport": "false"}})),
        "PASS",
    ),
    Case(
        "NumericLessThanIfExists TlsVersion alone also blocks plain HTTP (no TlsVersion there)",
        INSECURE,
        s3_policy(deny({"NumericLessThanIfExists": {"s3:TlsVersion": "1.2"}})),
        "PASS",
    ),
    # --- false passes of text-comparing scanners
    Case(
        "deny on s3:PutObject only (Prowler)",
        INSECURE,
        s3_policy(deny({"Bool": {"aws:SecureTransport": "false"}}, Action="s3:PutObject")),
        "FAIL",
        "over plain HTTP (aws:SecureTransport=false) by",
    ),
    Case(
        "deny on objects only",
        INSECURE,
        s3_policy(deny({"Bool": {"aws:SecureTransport": "false"}}, Resource=f"arn:aws:s3:::{BUCKET}/*")),
        "FAIL",
        f"GetBucketLocation on arn:aws:s3:::{BUCKET} over plain HTTP",
    ),
    Case(
        "Allow with SecureTransport true instead of Deny (ScoutSuite)",
        INSECURE,
        s3_policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": list(BUCKET_ARNS),
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ),
        "FAIL",
        "is not denied (no statement allows or denies it)",
    ),
    Case(
        "deny s3:Get* only",
        INSECURE,
        s3_policy(deny({"Bool": {"aws:SecureTransport": "false"}}, Action="s3:Get*")),
        "FAIL",
        "over plain HTTP (aws:SecureTransport=false) by",
    ),
    Case(
        "TLS version compared as 1.10",
        TLS,
        s3_policy(HTTP_DENY, deny({"NumericLessThan": {"s3:TlsVersion": "1.10"}})),
        "FAIL",
        "over TLS 1.1 (s3:TlsVersion=1.1, aws:SecureTransport=true) by",
    ),
    Case(
        "NotPrincipal escape for an account role",
        INSECURE,
        s3_policy(
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"},
                "Action": "*",
                "Resource": list(BUCKET_ARNS),
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
        "FAIL",
        "/ci-deployer",
    ),
    Case(
        "TlsVersion deny alone does not block plain HTTP",
        INSECURE,
        s3_policy(TLS_DENY),
        "FAIL",
        "over plain HTTP (aws:SecureTransport=false) by",
    ),
    Case("TlsVersion deny alone meets the TLS requirement", TLS, s3_policy(TLS_DENY), "PASS"),
    Case(
        "NumericLessThan 1.4 blocks TLS 1.2 and 1.3",
        TLS,
        s3_policy(HTTP_DENY, deny({"NumericLessThan": {"s3:TlsVersion": "1.4"}})),
        "PASS",
        warning="over TLS 1.2 by same-account role",
    ),
    Case(
        "NumericNotEquals 1.2 blocks TLS 1.3",
        TLS,
        s3_policy(HTTP_DENY, deny({"NumericNotEquals": {"s3:TlsVersion": "1.2"}})),
        "PASS",
        warning="over TLS 1.3 by same-account role",
    ),
    Case(
        "deny only for the own account",
        INSECURE,
        s3_policy(deny({"Bool": {"aws:SecureTransport": "false"}}, Principal={"AWS": ACCOUNT})),
        "FAIL",
        "is not denied",
    ),
    Case(
        "deny only outside a VPC endpoint",
        INSECURE,
        s3_policy(
            deny(
                {
                    "Bool": {"aws:SecureTransport": "false"},
                    "StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"},
                }
            )
        ),
        "FAIL",
        "with aws:SourceVpce=vpce-0a1b2c3d is not denied",
    ),
    Case(
        "invalid Effect deny",
        INSECURE,
        variant(S3_SEED, set_in(("Statement", 1, "Effect"), "deny")),
        "ERROR",
        'statement 2 ("enforce-tls-requests-only"): Effect is "deny"',
    ),
    Case(
        "unknown operator",
        TLS,
        s3_policy(deny({"NumericLessThen": {"s3:TlsVersion": "1.2"}})),
        "ERROR",
        'did you mean "NumericLessThan"',
    ),
    # --- KMS key policies
    Case(
        "wrong-region CloudWatch Logs principal",
        LOGS,
        variant(CW_SEED, set_in(("Statement", 1, "Principal", "Service"), "logs.us-east-1.amazonaws.com")),
        "FAIL",
        "the policy names logs.us-east-1.amazonaws.com, the CloudWatch Logs principal of another Region",
    ),
    Case(
        "right and wrong-region CloudWatch Logs principals",
        LOGS,
        variant(
            CW_SEED,
            set_in(
                ("Statement", 1, "Principal", "Service"),
                [f"logs.{REGION}.amazonaws.com", "logs.us-east-1.amazonaws.com"],
            ),
        ),
        "PASS",
        warning="also names logs.us-east-1.amazonaws.com",
    ),
    Case(
        "GenerateDataKey instead of GenerateDataKey*",
        DCV,
        variant(DCV_SEED, set_in(("Statement", 1, "Action", 3), "kms:GenerateDataKey")),
        "FAIL",
        f"kms:GenerateDataKeyWithoutPlaintext on {KEY} by the AutoScaling service-linked role",
    ),
    Case(
        "ReEncrypt (the API name) instead of ReEncrypt*",
        DCV,
        variant(DCV_SEED, set_in(("Statement", 1, "Action", 2), "kms:ReEncrypt")),
        "FAIL",
        "kms:ReEncrypt",
    ),
    Case(
        "grants without GrantIsForAWSResource",
        DCV,
        variant(DCV_SEED, drop(("Statement", 2, "Condition"))),
        "FAIL",
        "kms:CreateGrant on " + KEY + f" by the AutoScaling service-linked role {ROLE_ASG} with "
        'kms:GrantIsForAWSResource=false is allowed by statement 1 ("Enable IAM User Permissions"), '
        'statement 3 ("Allow attachment of persistent resources"): grants are unrestricted',
    ),
    Case(
        "grants with BoolIfExists (absent key passes)",
        DCV,
        variant(
            DCV_SEED,
            set_in(("Statement", 2, "Condition"), {"BoolIfExists": {"kms:GrantIsForAWSResource": "true"}}),
        ),
        "FAIL",
        "kms:GrantIsForAWSResource absent is allowed by statement 1",
    ),
    Case(
        "role reached only through the root statement",
        DCV,
        variant(DCV_SEED, keep_statements(0)),
        "FAIL",
        "is allowed only by the account statement",
    ),
    Case(
        "kms:* for root but Deny kms:PutKeyPolicy for everyone",
        ROOT,
        variant(
            DCV_SEED,
            append(
                {
                    "Sid": "lock",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:PutKeyPolicy",
                    "Resource": "*",
                }
            ),
        ),
        "FAIL",
        f'kms:PutKeyPolicy on {KEY} by the account root arn:aws:iam::{ACCOUNT}:root is denied by statement 4 ("lock")',
    ),
    Case(
        "no root statement",
        ROOT,
        variant(CW_SEED, keep_statements(1)),
        "FAIL",
        "is not allowed (no statement",
    ),
    Case(
        "logs key restricted to the account's log groups",
        LOGS,
        variant(
            CW_SEED,
            set_in(
                ("Statement", 1, "Condition"),
                {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}},
            ),
        ),
        "PASS",
    ),
    Case(
        "logs key restricted to one log group",
        LOGS,
        variant(
            CW_SEED,
            set_in(
                ("Statement", 1, "Condition"),
                {
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ccme"
                    }
                },
            ),
        ),
        "FAIL",
        f"for log group arn:aws:logs:{REGION}:{ACCOUNT}:log-group:",
    ),
    Case(
        "logs key restricted to another account's log groups",
        LOGS,
        variant(
            CW_SEED,
            set_in(
                ("Statement", 1, "Condition"),
                {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:999999999999:log-group:*"}},
            ),
        ),
        "FAIL",
        "is not allowed",
    ),
    Case(
        "logs without GenerateDataKey",
        LOGS,
        variant(CW_SEED, cw_logs_actions(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey"])),
        "FAIL",
        "kms:GenerateDataKey on",
    ),
    Case(
        "logs without the Pair variants",
        LOGS,
        variant(
            CW_SEED,
            cw_logs_actions(
                [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithout*",
                    "kms:DescribeKey",
                ]
            ),
        ),
        "PASS",
        warning="kms:GenerateDataKeyPair is not allowed",
    ),
    # --- VPC endpoint policies
    Case(
        "default full-access endpoint policy",
        VPCE,
        s3_policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
        "PASS",
        warning="not restrictive",
    ),
    Case("restrictive endpoint policy for ParallelCluster", VPCE, PC_VPCE, "PASS"),
    Case(
        "endpoint policy without the DCV license bucket",
        VPCE,
        variant(
            json.dumps(PC_VPCE),
            set_in(("Statement", 0, "Resource"), f"arn:aws:s3:::{REGION}-aws-parallelcluster/*"),
        ),
        "FAIL",
        f"s3:GetObject on arn:aws:s3:::dcv-license.{REGION}/",
    ),
    Case(
        "endpoint policy limited to the own account's buckets",
        VPCE,
        s3_policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceAccount": ACCOUNT}},
            }
        ),
        "FAIL",
        "is not allowed",
    ),
    # --- access-log delivery into the logging bucket
    Case(
        "log delivery granted to the logging service principal",
        "s3-allow-log-delivery",
        s3_policy({"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                   "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}),
        "PASS",
    ),
    Case(
        "log delivery only through the account root",
        "s3-allow-log-delivery",
        s3_policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*"}),
        "FAIL",
        "by S3 server access logging for source-bucket is not allowed",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_policy_variant(case: Case) -> None:
    result = check_document(case.document, case.requirement, CTX)
    if case.verdict == "ERROR":
        assert not result.ok
        assert result.error is not None and case.reason in result.error
        return
    assert result.error is None, result.error
    assert result.ok is (case.verdict == "PASS"), result.violations
    assert result.solver_checks > 0
    if case.verdict == "FAIL":
        assert any(case.reason in v for v in result.violations), result.violations
    if case.warning is None:
        assert result.warnings == ()
    else:
        assert any(case.warning in w for w in result.warnings), result.warnings


def test_table_is_large_enough_and_covers_every_requirement() -> None:
    assert len(CASES) >= 25
    # The outside-access and confused-deputy requirements have their table in test_policy_solver.py.
    elsewhere = {"kms-no-outside-access", "s3-no-outside-access", "kms-service-confused-deputy"}
    assert {c.requirement for c in CASES} | elsewhere == set(REQUIREMENTS)
    assert {c.verdict for c in CASES} == {"PASS", "FAIL", "ERROR"}


def test_violations_list_one_witness_per_access_class_and_level() -> None:
    result = check_document(s3_policy(TLS_DENY), INSECURE, CTX)
    assert 1 < len(result.violations) <= 8
    assert len(result.witnesses) == len(result.violations)
    assert not any("in total" in v for v in result.violations)


def test_any_object_key_is_considered() -> None:
    hole = s3_policy(
        deny(
            {"Bool": {"aws:SecureTransport": "false"}},
            Resource=None,
            NotResource=f"arn:aws:s3:::{BUCKET}/public/*",
        )
    )
    result = check_document(hole, INSECURE, CTX)
    assert result.error is None and not result.ok
    assert all(f"arn:aws:s3:::{BUCKET}/public/" in v for v in result.violations)


def test_pinned_context_keys_are_not_enumerated() -> None:
    policy = s3_policy(
        deny({"Bool": {"aws:SecureTransport": "false"}, "StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}})
    )
    pinned = RequirementContext(ACCOUNT, REGION, bucket=BUCKET, pinned={"aws:SourceVpce": "vpce-other"})
    assert check_document(policy, INSECURE, pinned).ok
    inside = RequirementContext(ACCOUNT, REGION, bucket=BUCKET, pinned={"aws:SourceVpce": "vpce-0a1b2c3d"})
    assert not check_document(policy, INSECURE, inside).ok


def test_missing_or_bad_parameters() -> None:
    no_bucket = RequirementContext(ACCOUNT, REGION)
    result = check_document(S3_SEED, INSECURE, no_bucket)
    assert not result.ok and result.error is not None and "--bucket" in result.error
    with pytest.raises(RequirementParamError, match="--bucket"):
        REQUIREMENTS[INSECURE].check(parse_policy(S3_SEED), no_bucket)
    bad_account = check_document(DCV_SEED, ROOT, RequirementContext("1234", REGION))
    assert bad_account.error is not None and "12-digit" in bad_account.error
    unknown = check_document(S3_SEED, "s3-nope", CTX)
    assert not unknown.ok and unknown.error is not None and "unknown requirement" in unknown.error


def test_key_arn_is_used_when_given() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    doc = variant(DCV_SEED, set_in(("Statement", 0, "Resource"), key))
    assert check_document(doc, ROOT, RequirementContext(ACCOUNT, REGION, key_arn=key)).ok
    assert not check_document(doc, ROOT, CTX).ok


def test_notes_are_passed_through() -> None:
    doc = variant(DCV_SEED, append({"Sid": "inert", "Effect": "Deny", "Principal": "*", "Action": "kms:*"}))
    result = check_document(doc, ROOT, CTX)
    assert result.ok
    assert any("no Resource" in n for n in result.notes)


def test_many_principals_and_keys_are_decided_without_a_cap() -> None:
    statements = [
        deny(
            {"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {f"ccme:k{i % 6}": [f"v{i}", "w"]}},
            Principal={"AWS": f"arn:aws:iam::{100000000000 + i}:role/r{i}"},
        )
        for i in range(40)
    ]
    result = check_document(s3_policy(*statements), INSECURE, CTX)
    assert result.verdict == "FAIL" and result.warnings == ()
