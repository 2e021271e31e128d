"""Systems Manager Parameter Store: ssm.parameter from DescribeParameters.

Names and metadata only: GetParameter is never called, so no parameter value (an SSH private
key, for the seed 003 provisioner) is ever read.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions

RESOURCE_TYPES = ("ssm.parameter",)
REGIONAL = True
CALLS = (Call("ssm", "DescribeParameters", "ssm:DescribeParameters"),)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"ssm.parameter": {"*"}}


def collect(ctx: CollectContext) -> None:
    items = ctx.paginate("ssm", "DescribeParameters", "Parameters")
    if isinstance(items, Failed):
        ctx.type_error("ssm.parameter", items)
        return
    for item in items:
        rid, attributes = parameter(item)
        ctx.add("ssm.parameter", rid, attributes, name=rid)


def parameter(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = str(item["Name"])
    modified: Any = item.get("LastModifiedDate")
    return name, {
        "name": name,
        "type": item.get("Type"),
        "key_id": item.get("KeyId"),
        "tier": item.get("Tier"),
        "last_modified": modified.isoformat() if hasattr(modified, "isoformat") else modified,
    }
