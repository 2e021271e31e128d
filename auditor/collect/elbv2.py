"""ELBv2: elbv2.load_balancer (DescribeLoadBalancers) and elbv2.listener (DescribeListeners per
selected load balancer)."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions

RESOURCE_TYPES = ("elbv2.load_balancer", "elbv2.listener")
REGIONAL = True
CALLS = (
    Call("elbv2", "DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancers"),
    Call("elbv2", "DescribeListeners", "elasticloadbalancing:DescribeListeners"),
)
IAM_ACTIONS = iam_actions(CALLS)
# Attributes every resource gets from the list calls alone.
LISTED = {"elbv2.load_balancer": {"*"}}


def collect(ctx: CollectContext) -> None:
    balancers = ctx.paginate("elbv2", "DescribeLoadBalancers", "LoadBalancers")
    if isinstance(balancers, Failed):
        for rtype in RESOURCE_TYPES:
            if ctx.plan.wants(rtype):
                ctx.type_error(rtype, balancers)
        return
    for lb in balancers:
        arn = str(lb["LoadBalancerArn"])
        if ctx.plan.wants("elbv2.load_balancer"):
            ctx.add(
                "elbv2.load_balancer",
                arn,
                {
                    "arn": arn,
                    "name": lb.get("LoadBalancerName"),
                    "type": lb.get("Type"),
                    "scheme": lb.get("Scheme"),
                    "vpc_id": lb.get("VpcId"),
                    "state": (lb.get("State") or {}).get("Code"),
                    "availability_zones": [
                        {"zone_name": z.get("ZoneName"), "subnet_id": z.get("SubnetId")}
                        for z in lb.get("AvailabilityZones") or []
                    ],
                },
                name=lb.get("LoadBalancerName"),
            )
    if not ctx.plan.wants("elbv2.listener"):
        return
    # Listener rules select by load balancer ARN at best; the listener calls are one per balancer.
    chosen = [
        str(lb["LoadBalancerArn"])
        for lb in balancers
        if ctx.plan.selected("elbv2.listener", {"load_balancer_arn": lb["LoadBalancerArn"]})
    ]
    outcomes = ctx.map(
        lambda arn: (arn, ctx.paginate("elbv2", "DescribeListeners", "Listeners", LoadBalancerArn=arn)),
        chosen,
    )
    for _arn, listeners in outcomes:
        if isinstance(listeners, Failed):
            # The listeners of this balancer are unknown: no listener resource can stand for them.
            ctx.type_error("elbv2.listener", listeners)
            continue
        for listener in listeners:
            _add_listener(ctx, listener)


def _add_listener(ctx: CollectContext, listener: dict[str, Any]) -> None:
    arn = str(listener["ListenerArn"])
    ctx.add(
        "elbv2.listener",
        arn,
        {
            "arn": arn,
            "load_balancer_arn": listener.get("LoadBalancerArn"),
            "protocol": listener.get("Protocol"),
            "port": listener.get("Port"),
            "certificates": [
                c["CertificateArn"] for c in listener.get("Certificates") or [] if c.get("CertificateArn")
            ],
            "ssl_policy": listener.get("SslPolicy"),
        },
    )
