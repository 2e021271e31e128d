"""Seed 000's own documents, once: the key policies and the bucket policy it prescribes.

The demo account, the remediation templates and the test fixtures all build on these, so a
correction to the seed's documents is made in one place.
"""

from __future__ import annotations

from typing import Any

from auditor.partitions import partition_of

POLICY_VERSION = "2012-10-17"
ASG_ROLE = ("arn:{partition}:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/"
            "AWSServiceRoleForAutoScaling")
# The nine CCME keys: alias suffix exactly as the seed writes it, and whether it is Multi-Region.
KEY_SUFFIXES = ("cmh_ebs", "dcv_proxy_ebs", "clusters_ebs", "file_systems", "s3", "sns", "secrets", "cloudWatch",
                "lambda")
MULTI_REGION_SUFFIXES = frozenset({"clusters_ebs"})


def root_statement(account: str, partition: str = "aws") -> dict[str, Any]:
    """'Enable IAM User Permissions': the account root has kms:* (delegates to IAM policies)."""
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def key_policy(suffix: str, account: str, region: str) -> dict[str, Any]:
    """The seed's key policy for dcv_proxy_ebs and cloudWatch with the real account and region; root only else.

    ARNs are in the region's partition (arn:aws-us-gov: in GovCloud, arn:aws-cn: in China)."""
    partition = partition_of(region).name
    root = root_statement(account, partition)
    if suffix == "dcv_proxy_ebs":
        role = ASG_ROLE.format(account=account, partition=partition)
        return {
            "Id": "KMS DCV Proxy Policy",
            "Version": POLICY_VERSION,
            "Statement": [
                root,
                {
                    "Sid": "Allow use of the key",
                    "Effect": "Allow",
                    "Principal": {"AWS": role},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                               "kms:DescribeKey"],
                    "Resource": "*",
                },
                {
                    "Sid": "Allow attachment of persistent resources",
                    "Effect": "Allow",
                    "Principal": {"AWS": role},
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ],
        }
    if suffix == "cloudWatch":
        return {
            "Version": POLICY_VERSION,
            "Id": "KMS CloudWatch Policy",
            "Statement": [
                root,
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                               "kms:Describe*"],
                    "Resource": "*",
                },
            ],
        }
    return {"Version": POLICY_VERSION, "Id": "key-default-1", "Statement": [root]}


def tls_statements(bucket: str, *, objects_only: bool = False, partition: str = "aws") -> list[dict[str, Any]]:
    """The seed's two deny statements: TLS below 1.2, and plain HTTP, on the bucket and its objects."""
    objects, whole = f"arn:{partition}:s3:::{bucket}/*", f"arn:{partition}:s3:::{bucket}"
    resources = [objects] if objects_only else [objects, whole]
    return [
        {
            "Sid": "enforce-tls-12-requests-only",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": list(resources),
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
        {
            "Sid": "enforce-tls-requests-only",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": list(resources),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]


def tls_policy(bucket: str, *, objects_only: bool = False, partition: str = "aws") -> dict[str, Any]:
    """The seed's bucket policy ('CCMEBucketPolicy')."""
    return {"Version": POLICY_VERSION, "Id": "CCMEBucketPolicy",
            "Statement": tls_statements(bucket, objects_only=objects_only, partition=partition)}


def log_delivery_statement(bucket: str, account: str, partition: str = "aws") -> dict[str, Any]:
    """Lets S3 server access logging write into the logging bucket (S3 User Guide)."""
    return {
        "Sid": "S3ServerAccessLogsPolicy",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:{partition}:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }
