"""Service probes (seed 000, "AWS Services"): one cheap read-only call per service -> service.probe.

Status: usable (the call answered), blocked-by-organization (AccessDenied whose message names a
service control policy), access-denied (any other AccessDenied), unavailable (the service does
not answer there: not subscribed, no endpoint, not implemented), not-probed (an opt-in probe
left off: Cost Explorer costs $0.01 a request). Persistent throttling or a network failure is
not an answer: it becomes a collection error on the probe, which the rules report as ERROR.

Probes of global services (Budgets, Cost Explorer, CUR, Price List) run once, from their fixed
region, and apply to every audited region (region null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import EndpointConnectionError

from auditor.collect.base import Call, CollectContext, Failed, iam_actions

RESOURCE_TYPES = ("service.probe",)
REGIONAL = True  # regional probes run per region; global ones once (see GLOBAL)
COST_EXPLORER_OPTION = "probe_cost_explorer"


@dataclass(frozen=True)
class Probe:
    service: str  # resource id and `service` attribute: the boto3 service name
    label: str
    call: Call
    mandatory: bool
    params: dict[str, Any] = field(default_factory=dict)
    region: str | None = None  # a fixed region (global services)


def _p(
    service: str,
    label: str,
    operation: str,
    action: str,
    mandatory: bool,
    region: str | None = None,
    option: str | None = None,
    **params: Any,
) -> Probe:
    return Probe(service, label, Call(service, operation, action, option=option), mandatory, params, region)


PROBES: tuple[Probe, ...] = (
    # Mandatory (seed 000, "Additional mandatory AWS services").
    _p("sns", "Amazon SNS", "ListTopics", "sns:ListTopics", True),
    _p("budgets", "AWS Budgets", "DescribeBudgets", "budgets:ViewBudget", True, "us-east-1", MaxResults=1),
    _p(
        "ce",
        "AWS Cost Explorer",
        "GetCostAndUsage",
        "ce:GetCostAndUsage",
        True,
        "us-east-1",
        option=COST_EXPLORER_OPTION,
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
    ),
    _p(
        "cur",
        "AWS Cost and Usage Report",
        "DescribeReportDefinitions",
        "cur:DescribeReportDefinitions",
        True,
        "us-east-1",
        MaxResults=5,
    ),
    _p(
        "pricing",
        "AWS Price List",
        "DescribeServices",
        "pricing:DescribeServices",
        True,
        "us-east-1",
        MaxResults=1,
    ),
    _p("ds", "AWS Directory Service", "DescribeDirectories", "ds:DescribeDirectories", True, Limit=1),
    _p("kms", "AWS KMS", "ListKeys", "kms:ListKeys", True, Limit=1),
    _p(
        "secretsmanager",
        "AWS Secrets Manager",
        "ListSecrets",
        "secretsmanager:ListSecrets",
        True,
        MaxResults=1,
    ),
    _p("acm", "AWS Certificate Manager", "ListCertificates", "acm:ListCertificates", True, MaxItems=1),
    _p(
        "elbv2",
        "Elastic Load Balancing",
        "DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancers",
        True,
        PageSize=1,
    ),
    # Optional (seed 000, "Additional optional AWS services").
    _p("ssm", "AWS Systems Manager", "DescribeParameters", "ssm:DescribeParameters", False, MaxResults=1),
    _p("sqs", "Amazon SQS", "ListQueues", "sqs:ListQueues", False, MaxResults=1),
    _p("rds", "Amazon RDS", "DescribeDBInstances", "rds:DescribeDBInstances", False, MaxRecords=20),
    _p("cloudtrail", "AWS CloudTrail", "DescribeTrails", "cloudtrail:DescribeTrails", False),
    _p("athena", "Amazon Athena", "ListWorkGroups", "athena:ListWorkGroups", False, MaxResults=1),
    _p("cloud9", "AWS Cloud9", "ListEnvironments", "cloud9:ListEnvironments", False, maxResults=1),
    _p("wafv2", "AWS WAF", "ListWebACLs", "wafv2:ListWebACLs", False, Scope="REGIONAL", Limit=1),
    _p("backup", "AWS Backup", "ListBackupPlans", "backup:ListBackupPlans", False, MaxResults=1),
    _p("snowball", "AWS Snow Family", "ListJobs", "snowball:ListJobs", False, MaxResults=1),
    _p("shield", "AWS Shield", "ListProtections", "shield:ListProtections", False, "us-east-1", MaxResults=1),
    # Billing data: Data Exports, the successor of CUR (either one satisfies the CUR requirement).
    _p(
        "bcm-data-exports",
        "AWS Data Exports",
        "ListExports",
        "bcm-data-exports:ListExports",
        False,
        "us-east-1",
        MaxResults=1,
    ),
)
CALLS = tuple(p.call for p in PROBES)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"service.probe": {"*"}}
GLOBAL = tuple(p for p in PROBES if p.region)
REGIONAL_PROBES = tuple(p for p in PROBES if not p.region)

UNAVAILABLE_CODES = frozenset(
    {
        "OptInRequired",
        "SubscriptionRequiredException",
        "UnrecognizedClientException",
        "InvalidAction",
        "UnknownOperationException",
        "NotImplemented",
        "404",
        "ServiceUnavailable",
        "AccessDeniedForDependency",
        "UnsupportedOperation",
        "InvalidParameterValue",
    }
)
RETRYABLE = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailableException",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
    }
)


def _cost_window() -> dict[str, str]:
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return {"Start": start.isoformat(), "End": today.replace(day=1).isoformat()}


def status_of(failed: Failed) -> tuple[str, str] | None:
    """The probe status an error means, or None when it is no answer at all (retries exhausted)."""
    if failed.code in RETRYABLE:
        return None
    if failed.denied:
        if "service control polic" in failed.message.lower():
            return "blocked-by-organization", failed.message
        return "access-denied", failed.message
    if failed.code in UNAVAILABLE_CODES or failed.code == EndpointConnectionError.__name__ or failed.status == 404:
        return "unavailable", f"{failed.code}: {failed.message}"
    return None


def run_probe(ctx: CollectContext, probe: Probe) -> None:
    regional = probe.region is None
    attributes: dict[str, Any] = {
        "service": probe.service,
        "operation": probe.call.action,
        "mandatory": probe.mandatory,
    }
    if probe.call.option and probe.call.option not in ctx.plan.options:
        flag = "--" + probe.call.option.replace("_", "-")
        attributes.update(status="not-probed", detail=f"opt-in: {probe.label} is probed only with {flag}")
        ctx.add("service.probe", probe.service, attributes, name=probe.label, regional=regional)
        return
    params = dict(probe.params)
    if probe.service == "budgets":
        params["AccountId"] = ctx.account
    if probe.service == "ce":
        params["TimePeriod"] = _cost_window()
    answer = ctx.call(probe.service, probe.call.operation, region=probe.region, **params)
    if isinstance(answer, Failed):
        decided = status_of(answer)
        if decided is None:
            attributes.update(status="not-probed", detail=f"no answer: {answer.code}")
            ctx.add("service.probe", probe.service, attributes, name=probe.label, regional=regional)
            ctx.attribute_error("service.probe", probe.service, None, answer, regional=regional)
            return
        attributes.update(status=decided[0], detail=decided[1][:300])
    else:
        attributes.update(status="usable", detail=None)
    ctx.add("service.probe", probe.service, attributes, name=probe.label, regional=regional)


def collect(ctx: CollectContext) -> None:
    """Regional probes in ctx.region; with ctx.region None, the global ones."""
    probes = GLOBAL if ctx.region is None else REGIONAL_PROBES
    ctx.map(lambda p: run_probe(ctx, p), list(probes))
