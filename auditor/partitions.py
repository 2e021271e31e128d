"""AWS partitions and regions: which partition a region is in, its DNS suffix, which regions are opt-in.

Pure data and functions (no boto3): the policy evaluator, the IaC loaders, the remediations and the
collectors all ask here, so an `arn:aws-us-gov:` or `arn:aws-cn:` ARN is built and matched one way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    name: str  # the ARN's second field
    dns_suffix: str  # AWS::URLSuffix, data.aws_partition.dns_suffix
    anchor: str  # a region every account of the partition has enabled (for account-wide calls)


AWS = Partition("aws", "amazonaws.com", "us-east-1")
AWS_US_GOV = Partition("aws-us-gov", "amazonaws.com", "us-gov-west-1")
AWS_CN = Partition("aws-cn", "amazonaws.com.cn", "cn-north-1")
PARTITIONS = {p.name: p for p in (AWS, AWS_US_GOV, AWS_CN)}

# The regions launched before 20 March 2019 are enabled in every account; every region launched since
# is opt-in (AWS General Reference, "Managing AWS Regions"). This list is closed: it never grows.
ENABLED_BY_DEFAULT = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-south-1",
        "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
    }
)

_ARN = re.compile(r"^arn:([^:]*):")


def partition_of(region: str | None) -> Partition:
    """The partition of a region name (`us-gov-*` GovCloud, `cn-*` China, anything else aws)."""
    name = region or ""
    if name.startswith("us-gov-"):
        return AWS_US_GOV
    if name.startswith("cn-"):
        return AWS_CN
    return AWS


def arn_partition(arn: str) -> str | None:
    """The partition field of an ARN as written (never None for an ARN), or None when the text is not an ARN."""
    match = _ARN.match(arn)
    return match.group(1) if match else None


def opt_in_candidate(region: str) -> bool:
    """Whether a region may be disabled for an account (it is not one of the always-enabled ones)."""
    return region not in ENABLED_BY_DEFAULT
