"""Action catalogues and the KMS wildcard subtleties."""

from __future__ import annotations

from auditor.policy.actions import (
    KMS_ACCOUNT_ACTIONS,
    KMS_ACTIONS,
    KMS_KEY_ACTIONS,
    S3_ACCESS_CLASSES,
    S3_ACTIONS,
    expand,
    s3_actions,
)


def test_kms_wildcards() -> None:
    assert expand("kms:ReEncrypt*", KMS_ACTIONS) == ("kms:ReEncryptFrom", "kms:ReEncryptTo")
    assert expand("kms:GenerateDataKey*", KMS_ACTIONS) == (
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:GenerateDataKeyWithoutPlaintext",
    )
    assert expand("kms:GenerateDataKey", KMS_ACTIONS) == ("kms:GenerateDataKey",)
    assert expand("KMS:describe*", KMS_ACTIONS) == ("kms:DescribeCustomKeyStores", "kms:DescribeKey")
    assert expand("kms:ReEncrypt", KMS_ACTIONS) == ()


def test_kms_catalogue_is_complete_and_consistent() -> None:
    required = {
        "Encrypt",
        "Decrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "VerifyMac",
        "Sign",
        "Verify",
        "DescribeKey",
        "CreateGrant",
        "ListGrants",
        "RevokeGrant",
        "RetireGrant",
        "GetKeyPolicy",
        "PutKeyPolicy",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "DeriveSharedSecret",
        "RotateKeyOnDemand",
        "CreateKey",
    }
    names = {a.removeprefix("kms:") for a in KMS_ACTIONS}
    assert required <= names
    assert not set(KMS_KEY_ACTIONS) & set(KMS_ACCOUNT_ACTIONS)
    assert len(set(KMS_ACTIONS)) == len(KMS_ACTIONS)
    assert "kms:CreateKey" not in KMS_KEY_ACTIONS


def test_s3_catalogue_classes() -> None:
    assert len({a.name for a in S3_ACTIONS}) == len(S3_ACTIONS)
    for level in ("bucket", "object"):
        for access in S3_ACCESS_CLASSES:
            assert s3_actions(level=level, access=access), (level, access)
    objects = {a.name for a in s3_actions(level="object")}
    buckets = {a.name for a in s3_actions(level="bucket")}
    assert {"GetObject", "PutObject", "DeleteObject", "PutObjectAcl", "PutObjectTagging"} <= objects
    assert {"ListBucket", "GetBucketPolicy", "PutBucketPolicy", "PutBucketTagging", "DeleteBucket"} <= buckets
    assert not objects & buckets
    assert expand("s3:Get*", [a.full for a in s3_actions(level="bucket", access="write")]) == ()
    assert s3_actions(level="object", access="read")[0].full == "s3:GetObject"
