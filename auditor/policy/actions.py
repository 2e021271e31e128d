"""Action catalogues for S3 and KMS, used to expand wildcards in requirements.

S3 actions are grouped by the resource they act on (bucket or object; account-level
ones are listed but never requested against a bucket policy) and by access level,
after the Service Authorization Reference. KMS actions are the IAM actions (not API
operations): the ``ReEncrypt`` operation is authorized as ``kms:ReEncryptFrom`` on
the source key and ``kms:ReEncryptTo`` on the destination key, so ``kms:ReEncrypt*``
covers both; ``kms:GenerateDataKey`` alone does not cover ``...WithoutPlaintext``
nor the ``...Pair`` variants, while ``kms:GenerateDataKey*`` covers all four.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from auditor.policy.values import glob_matcher

S3Level = Literal["bucket", "object", "account"]
S3Access = Literal["read", "write", "list", "permissions", "tagging"]
S3_ACCESS_CLASSES: tuple[S3Access, ...] = ("read", "write", "list", "permissions", "tagging")


@dataclass(frozen=True)
class S3Action:
    """One S3 IAM action, the resource level it applies to and its access class."""

    name: str
    level: S3Level
    access: S3Access

    @property
    def full(self) -> str:
        """``s3:<name>``."""
        return f"s3:{self.name}"


def _table(level: S3Level, access: S3Access, names: str) -> tuple[S3Action, ...]:
    return tuple(S3Action(name, level, access) for name in names.split())


S3_ACTIONS: tuple[S3Action, ...] = (
    *_table(
        "object",
        "read",
        """GetObject GetObjectAcl GetObjectAttributes GetObjectLegalHold GetObjectRetention GetObjectTagging
        GetObjectTorrent GetObjectVersion GetObjectVersionAcl GetObjectVersionAttributes
        GetObjectVersionForReplication GetObjectVersionTagging GetObjectVersionTorrent""",
    ),
    *_table(
        "object",
        "write",
        """PutObject AbortMultipartUpload DeleteObject DeleteObjectVersion RestoreObject PutObjectLegalHold
        PutObjectRetention ReplicateObject ReplicateDelete InitiateReplication""",
    ),
    *_table("object", "list", "ListMultipartUploadParts"),
    *_table(
        "object",
        "permissions",
        "PutObjectAcl PutObjectVersionAcl ObjectOwnerOverrideToBucketOwner BypassGovernanceRetention",
    ),
    *_table(
        "object",
        "tagging",
        """PutObjectTagging PutObjectVersionTagging DeleteObjectTagging DeleteObjectVersionTagging
        ReplicateTags""",
    ),
    *_table(
        "bucket",
        "read",
        """GetBucketLocation GetBucketPolicy GetBucketPolicyStatus GetBucketAcl GetBucketCORS GetBucketLogging
        GetBucketNotification GetBucketObjectLockConfiguration GetBucketOwnershipControls
        GetBucketPublicAccessBlock GetBucketRequestPayment GetBucketTagging GetBucketVersioning
        GetBucketWebsite GetAccelerateConfiguration GetAnalyticsConfiguration GetEncryptionConfiguration
        GetIntelligentTieringConfiguration GetInventoryConfiguration GetLifecycleConfiguration
        GetMetricsConfiguration GetReplicationConfiguration GetBucketMetadataTableConfiguration""",
    ),
    *_table("bucket", "list", "ListBucket ListBucketVersions ListBucketMultipartUploads"),
    *_table(
        "bucket",
        "write",
        """CreateBucket DeleteBucket DeleteBucketWebsite PutBucketCORS PutBucketLogging PutBucketNotification
        PutBucketObjectLockConfiguration PutBucketOwnershipControls PutBucketRequestPayment
        PutBucketVersioning PutBucketWebsite PutAccelerateConfiguration PutAnalyticsConfiguration
        PutEncryptionConfiguration PutIntelligentTieringConfiguration PutInventoryConfiguration
        PutLifecycleConfiguration PutMetricsConfiguration PutReplicationConfiguration
        CreateBucketMetadataTableConfiguration DeleteBucketMetadataTableConfiguration""",
    ),
    *_table(
        "bucket",
        "permissions",
        "PutBucketPolicy DeleteBucketPolicy PutBucketAcl PutBucketPublicAccessBlock",
    ),
    *_table("bucket", "tagging", "PutBucketTagging"),
    *_table("account", "list", "ListAllMyBuckets ListAccessPoints ListJobs"),
    *_table("account", "read", "GetAccountPublicAccessBlock"),
    *_table("account", "permissions", "PutAccountPublicAccessBlock"),
    *_table("account", "write", "CreateJob"),
)

KMS_ACCOUNT_ACTIONS: tuple[str, ...] = tuple(
    f"kms:{name}"
    for name in [
        "ConnectCustomKeyStore",
        "CreateCustomKeyStore",
        "CreateKey",
        "DeleteCustomKeyStore",
        "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore",
        "GenerateRandom",
        "ListAliases",
        "ListKeys",
        "ListRetirableGrants",
        "UpdateCustomKeyStore",
    ]
)

KMS_KEY_ACTIONS: tuple[str, ...] = tuple(
    f"kms:{name}"
    for name in [
        "CancelKeyDeletion",
        "CreateAlias",
        "CreateGrant",
        "Decrypt",
        "DeleteAlias",
        "DeleteImportedKeyMaterial",
        "DeriveSharedSecret",
        "DescribeKey",
        "DisableKey",
        "DisableKeyRotation",
        "EnableKey",
        "EnableKeyRotation",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateMac",
        "GetKeyPolicy",
        "GetKeyRotationStatus",
        "GetParametersForImport",
        "GetPublicKey",
        "ImportKeyMaterial",
        "ListGrants",
        "ListKeyPolicies",
        "ListKeyRotations",
        "ListResourceTags",
        "PutKeyPolicy",
        "ReEncryptFrom",
        "ReEncryptTo",
        "ReplicateKey",
        "RetireGrant",
        "RevokeGrant",
        "RotateKeyOnDemand",
        "ScheduleKeyDeletion",
        "Sign",
        "SynchronizeMultiRegionKey",
        "TagResource",
        "UntagResource",
        "UpdateAlias",
        "UpdateKeyDescription",
        "UpdatePrimaryRegion",
        "Verify",
        "VerifyMac",
    ]
)
"""KMS actions authorized against a key (what ``kms:*`` in a key policy grants)."""

KMS_ACTIONS: tuple[str, ...] = tuple(sorted(KMS_KEY_ACTIONS + KMS_ACCOUNT_ACTIONS))


def s3_actions(*, level: S3Level | None = None, access: S3Access | None = None) -> tuple[S3Action, ...]:
    """S3 actions filtered by level and access class."""
    return tuple(
        a for a in S3_ACTIONS if (level is None or a.level == level) and (access is None or a.access == access)
    )


def expand(pattern: str, catalogue: Iterable[str]) -> tuple[str, ...]:
    """Catalogue entries an Action pattern covers (case-insensitive, ``*`` and ``?``)."""
    match = glob_matcher(pattern, ignore_case=True)
    return tuple(a for a in catalogue if match(a))
