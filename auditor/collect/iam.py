"""IAM: the EC2 Auto Scaling service-linked role the DCV proxy key policy names (iam.role).

Only GetRole on AWSServiceRoleForAutoScaling: NoSuchEntity means the role is absent (no resource).
"""

from __future__ import annotations

from auditor.collect.base import Call, CollectContext, Failed, iam_actions

RESOURCE_TYPES = ("iam.role",)
REGIONAL = False
CALLS = (Call("iam", "GetRole", "iam:GetRole"),)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"iam.role": {"*"}}
ROLES = ("AWSServiceRoleForAutoScaling",)


def collect(ctx: CollectContext) -> None:
    for role_name in ROLES:
        answer = ctx.call("iam", "GetRole", RoleName=role_name, absent=("NoSuchEntity",))
        if isinstance(answer, Failed):
            ctx.type_error("iam.role", answer, regional=False)
            continue
        if answer is None:
            continue
        role = answer.get("Role") or {}
        arn = str(role.get("Arn"))
        ctx.add(
            "iam.role",
            arn,
            {"role_name": str(role.get("RoleName", role_name)), "arn": arn, "path": role.get("Path")},
            name=role_name,
            regional=False,
        )
