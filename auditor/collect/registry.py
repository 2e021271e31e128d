"""The collector table and the least-privilege IAM policy derived from it."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

from auditor.collect import (
    acm,
    apigateway,
    cloudtrail,
    deployed,
    ec2,
    ec2net,
    efs,
    elbv2,
    fsx,
    iam,
    instance_types,
    kms,
    lambdafn,
    logs,
    mgmt_host,
    netfw,
    probes,
    probes_pcluster,
    rds,
    s3,
    secrets,
    ssm,
)
from auditor.collect.base import STS_CALLS, Call

COLLECTORS: tuple[ModuleType, ...] = (kms, s3, ec2, secrets, acm, elbv2, iam, probes)
# The services AWS ParallelCluster v3 uses, and AWS Billing (seed 000, "AWS Services").
COLLECTORS += (probes_pcluster,)
# The CCME Management Host's operating system (seed 000, "Supported Operating Systems").
COLLECTORS += (mgmt_host,)
# The deployed ParallelCluster nodes and their instance types' facts ("aarch64 does not support GPU instances").
COLLECTORS += (instance_types,)
# After deployment: the resources of the CCME stacks and the keys they use.
COLLECTORS += (deployed,)
# Seed 003 provisioner (pack bbp).
COLLECTORS += (ec2net, efs, fsx, rds, logs, ssm, lambdafn, apigateway)
# Egress filters (Network Firewall, DNS Firewall) for the static allowlist checks.
COLLECTORS += (netfw,)


def listed_attributes() -> dict[str, set[str]]:
    """Per type, the attributes filled for every resource by list calls (no per-resource call)."""
    out: dict[str, set[str]] = {}
    for collector in COLLECTORS:
        for rtype, names in getattr(collector, "LISTED", {}).items():
            out.setdefault(rtype, set()).update(names)
    return out


def collectors_for(types: Iterable[str]) -> list[ModuleType]:
    wanted = set(types)
    return [c for c in COLLECTORS if wanted & set(c.RESOURCE_TYPES)]


def calls_for(types: Iterable[str], options: Iterable[str] = ()) -> list[Call]:
    """Every API call a scan of these resource types may make, opt-in calls only when enabled."""
    enabled = set(options)
    out: list[Call] = list(STS_CALLS)
    for collector in collectors_for(types):
        for call in collector.CALLS:
            if call.option is None or call.option in enabled:
                out.append(call)
    out += [call for call in cloudtrail.CALLS if call.option in enabled]  # who changed it (opt-in)
    return out


def iam_policy(types: Iterable[str], options: Iterable[str] = ()) -> dict[str, Any]:
    """A read-only identity policy allowing exactly the calls a scan of these types makes."""
    actions = sorted({call.action for call in calls_for(types, options)})
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "CcmeAuditReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
