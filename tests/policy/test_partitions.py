"""Partitions: GovCloud (aws-us-gov) and China (aws-cn) ARNs in resource policies.

An ARN never matches across partitions: a policy written with another partition's ARNs names
nothing in this one. Judged by behaviour (design/policy-semantics.md), such a statement has no
effect, so a requirement it was meant to meet FAILs (the policy is well-formed: not ERROR).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.partitions import PARTITIONS, arn_partition, partition_of
from auditor.policy import Principal, Request, RequirementContext, check_document, decide, parse_policy

REGIONS = {
    "aws": ["us-east-1", "eu-west-1", "ap-southeast-2", "me-central-1", "sa-east-1", "ap-east-1"],
    "aws-us-gov": ["us-gov-west-1", "us-gov-east-1"],
    "aws-cn": ["cn-north-1", "cn-northwest-1"],
}
ACCOUNT = "111122223333"
BUCKET = "ucit-ccme-logging"

regions = st.sampled_from(sorted(PARTITIONS)).flatmap(lambda p: st.sampled_from(REGIONS[p]))


def other_partition(partition: str) -> st.SearchStrategy[str]:
    return st.sampled_from([p for p in sorted(PARTITIONS) if p != partition])


def deny_insecure(partition: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:{partition}:s3:::{BUCKET}", f"arn:{partition}:s3:::{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def root_key_policy(principal: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "Root", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:*", "Resource": "*"}]}


def log_delivery(partition: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": f"arn:{partition}:s3:::{BUCKET}/*",
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:s3:::*"}}}]}


def test_the_partition_of_each_region() -> None:
    assert [partition_of(r).name for r in ("eu-west-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1",
                                            "cn-northwest-1", "ap-east-1")] == [
        "aws", "aws-us-gov", "aws-us-gov", "aws-cn", "aws-cn", "aws"]
    assert partition_of("cn-north-1").dns_suffix == "amazonaws.com.cn"
    assert partition_of("us-gov-west-1").dns_suffix == "amazonaws.com"
    assert arn_partition("arn:aws-us-gov:s3:::b") == "aws-us-gov" and arn_partition("bucket") is None


@given(region=regions)
def test_the_requests_carry_the_regions_partition(region: str) -> None:
    assert RequirementContext(account=ACCOUNT, region=region).partition == partition_of(region).name


@settings(max_examples=40, deadline=None)
@given(region=regions, data=st.data())
def test_a_tls_deny_with_the_regions_partition_passes_with_another_fails(region: str, data: Any) -> None:
    partition = partition_of(region).name
    ctx = RequirementContext(account=ACCOUNT, region=region, bucket=BUCKET)
    assert check_document(deny_insecure(partition), "s3-deny-insecure-transport", ctx).ok
    wrong = data.draw(other_partition(partition))
    result = check_document(deny_insecure(wrong), "s3-deny-insecure-transport", ctx)
    assert not result.ok and result.error is None and result.violations
    assert f"arn:{partition}:s3:::{BUCKET}" in " ".join(result.violations)  # the request shown is this partition's


@settings(max_examples=40, deadline=None)
@given(region=regions, data=st.data())
def test_the_key_root_statement_holds_only_in_its_partition(region: str, data: Any) -> None:
    partition = partition_of(region).name
    ctx = RequirementContext(account=ACCOUNT, region=region)
    assert check_document(root_key_policy(f"arn:{partition}:iam::{ACCOUNT}:root"), "kms-root-full-access", ctx).ok
    assert check_document(root_key_policy(ACCOUNT), "kms-root-full-access", ctx).ok  # a bare id: any partition
    wrong = data.draw(other_partition(partition))
    result = check_document(root_key_policy(f"arn:{wrong}:iam::{ACCOUNT}:root"), "kms-root-full-access", ctx)
    assert not result.ok and result.error is None


@settings(max_examples=30, deadline=None)
@given(region=regions, data=st.data())
def test_log_delivery_grants_follow_the_partition(region: str, data: Any) -> None:
    partition = partition_of(region).name
    ctx = RequirementContext(account=ACCOUNT, region=region, bucket=BUCKET, log_sources=("a",))
    assert check_document(log_delivery(partition), "s3-allow-log-delivery", ctx).ok
    wrong = data.draw(other_partition(partition))
    assert not check_document(log_delivery(wrong), "s3-allow-log-delivery", ctx).ok


def test_a_china_object_resource_matches_its_bucket_and_an_aws_one_does_not() -> None:
    policy = parse_policy({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                          "Resource": "arn:aws-cn:s3:::bucket/*"}]})
    anyone = Principal.anonymous()
    assert decide(policy, Request(anyone, "s3:GetObject", "arn:aws-cn:s3:::bucket/k"), policy_kind="s3").allowed
    assert not decide(policy, Request(anyone, "s3:GetObject", "arn:aws:s3:::bucket/k"), policy_kind="s3").allowed


def test_principals_never_match_across_partitions() -> None:
    def allowed(named: str, caller: str) -> bool:
        policy = parse_policy({"Statement": [{"Effect": "Allow", "Principal": {"AWS": named}, "Action": "s3:GetObject",
                                              "Resource": "*"}]})
        return decide(policy, Request(Principal.aws(caller), "s3:GetObject", "arn:aws-cn:s3:::b/k"),
                      policy_kind="s3").allowed

    assert allowed(f"arn:aws-cn:iam::{ACCOUNT}:root", f"arn:aws-cn:iam::{ACCOUNT}:role/r")
    assert not allowed(f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws-cn:iam::{ACCOUNT}:role/r")
    assert allowed(ACCOUNT, f"arn:aws-cn:iam::{ACCOUNT}:role/r")
    assert allowed(f"arn:aws-us-gov:iam::{ACCOUNT}:role/r", f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/r/s")
    assert not allowed(f"arn:aws:iam::{ACCOUNT}:role/r", f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/r/s")
    assert Principal.aws(ACCOUNT, "aws-cn").identifier == f"arn:aws-cn:iam::{ACCOUNT}:root"


def test_a_root_arn_with_no_valid_partition_is_not_a_bare_account_id() -> None:
    """Its partition field is kept as written: it names no partition, so it grants nothing (not every partition)."""
    ctx = RequirementContext(account=ACCOUNT, region="eu-west-1")
    assert arn_partition(f"arn::iam::{ACCOUNT}:root") == "" and arn_partition(f"arn:AWS:iam::{ACCOUNT}:root") == "AWS"
    for principal in (f"arn::iam::{ACCOUNT}:root", f"arn:AWS:iam::{ACCOUNT}:root"):
        result = check_document(root_key_policy(principal), "kms-root-full-access", ctx)
        assert not result.ok and result.error is None, principal
