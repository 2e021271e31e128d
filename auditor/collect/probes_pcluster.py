"""Probes of the services AWS ParallelCluster v3 uses, and of AWS Billing -> service.probe.

Seed 000, "AWS ParallelCluster v3 services": "Services required by AWS ParallelCluster v3 are described in the
official AWS ParallelCluster online documentation" -- the page "AWS services used by AWS ParallelCluster" of the
ParallelCluster User Guide (v3): https://docs.aws.amazon.com/parallelcluster/latest/ug/aws-services-v3.html.
The probed set is the one a Slurm cluster uses: CloudFormation (its stacks), EC2 (its instances), DynamoDB (the
compute fleet status table), Route 53 (its private hosted zone), IAM (its roles), Lambda (its clean-up
functions), FSx for Lustre and EFS (shared storage), CloudWatch and CloudWatch Logs (dashboard, alarms, logs),
S3 (the configuration bucket); STS is not probed here: every scan starts with sts:GetCallerIdentity and stops
if it is refused. Seed 000 "Additional optional AWS services" names AWS Billing: probed
through the Billing API (ListBillingViews).

One cheap read-only call per service, judged as in auditor/collect/probes.py (usable, blocked-by-organization,
access-denied, unavailable); global services (IAM, Route 53, S3's ListBuckets, Billing) run once, from us-east-1.
"""

from __future__ import annotations

from auditor.collect.base import CollectContext, iam_actions
from auditor.collect.probes import Probe, _p, run_probe

RESOURCE_TYPES = ("service.probe",)
REGIONAL = True
ALSO_GLOBAL = True  # the runner also calls collect() once with region None (the global probes)
DOCS = "https://docs.aws.amazon.com/parallelcluster/latest/ug/aws-services-v3.html"

PROBES: tuple[Probe, ...] = (
    _p("cloudformation", "AWS CloudFormation", "ListStacks", "cloudformation:ListStacks", True),
    _p("ec2", "Amazon EC2", "DescribeInstances", "ec2:DescribeInstances", True, MaxResults=5),
    _p("dynamodb", "Amazon DynamoDB", "ListTables", "dynamodb:ListTables", True, Limit=1),
    _p("route53", "Amazon Route 53", "ListHostedZones", "route53:ListHostedZones", True, "us-east-1", MaxItems="1"),
    _p("iam", "AWS Identity and Access Management", "ListRoles", "iam:ListRoles", True, "us-east-1", MaxItems=1),
    _p("lambda", "AWS Lambda", "ListFunctions", "lambda:ListFunctions", True, MaxItems=1),
    _p("fsx", "Amazon FSx for Lustre", "DescribeFileSystems", "fsx:DescribeFileSystems", True, MaxResults=1),
    _p("efs", "Amazon EFS", "DescribeFileSystems", "elasticfilesystem:DescribeFileSystems", True, MaxItems=1),
    _p("cloudwatch", "Amazon CloudWatch", "ListDashboards", "cloudwatch:ListDashboards", True),
    _p("logs", "Amazon CloudWatch Logs", "DescribeLogGroups", "logs:DescribeLogGroups", True, limit=1),
    _p("s3", "Amazon S3", "ListBuckets", "s3:ListAllMyBuckets", True, "us-east-1", MaxBuckets=1),
    # Optional (seed 000): "AWS Billing: service that can be used to retrieve detailed billing information".
    _p("billing", "AWS Billing", "ListBillingViews", "billing:ListBillingViews", False, "us-east-1", maxResults=1),
)
CALLS = tuple(p.call for p in PROBES)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"service.probe": {"*"}}
GLOBAL = tuple(p for p in PROBES if p.region)
REGIONAL_PROBES = tuple(p for p in PROBES if not p.region)


def collect(ctx: CollectContext) -> None:
    """Regional probes in ctx.region; with ctx.region None, the global ones."""
    probes = GLOBAL if ctx.region is None else REGIONAL_PROBES
    ctx.map(lambda p: run_probe(ctx, p), list(probes))
