"""s3-allow-log-delivery: the logging service principal may put objects under each source's prefix."""

from __future__ import annotations

from auditor.policy import RequirementContext, check_document

BUCKET = "logs"
CTX = RequirementContext(account="111122223333", region="eu-west-1", bucket=BUCKET, log_sources=("a", "b"))


def grant(resource: str, condition: dict | None = None) -> dict:
    statement = {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                 "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_whole_bucket_grant_passes() -> None:
    assert check_document(grant(f"arn:aws:s3:::{BUCKET}/*"), "s3-allow-log-delivery", CTX).ok


def test_grant_restricted_to_the_account_passes() -> None:
    policy = grant(f"arn:aws:s3:::{BUCKET}/*", {"StringEquals": {"aws:SourceAccount": "111122223333"}})
    assert check_document(policy, "s3-allow-log-delivery", CTX).ok


def test_grant_for_another_account_fails() -> None:
    policy = grant(f"arn:aws:s3:::{BUCKET}/*", {"StringEquals": {"aws:SourceAccount": "999999999999"}})
    result = check_document(policy, "s3-allow-log-delivery", CTX)
    assert not result.ok and "S3 server access logging for a" in result.violations[0]


def test_grant_for_one_prefix_only_fails_for_the_other_source() -> None:
    result = check_document(grant(f"arn:aws:s3:::{BUCKET}/a/*"), "s3-allow-log-delivery", CTX)
    assert not result.ok and any("for b" in v for v in result.violations)


def test_a_deny_for_the_service_wins() -> None:
    policy = grant(f"arn:aws:s3:::{BUCKET}/*")
    policy["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                                "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    assert not check_document(policy, "s3-allow-log-delivery", CTX).ok


def test_the_root_statement_does_not_delegate_to_a_service() -> None:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}
    assert not check_document(policy, "s3-allow-log-delivery", CTX).ok
