"""CloudWatch Logs: logs.log_group from DescribeLogGroups (one paginated list call; never reads events)."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions

RESOURCE_TYPES = ("logs.log_group",)
REGIONAL = True
CALLS = (Call("logs", "DescribeLogGroups", "logs:DescribeLogGroups"),)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"logs.log_group": {"*"}}


def collect(ctx: CollectContext) -> None:
    items = ctx.paginate("logs", "DescribeLogGroups", "logGroups")
    if isinstance(items, Failed):
        ctx.type_error("logs.log_group", items)
        return
    for item in items:
        rid, attributes = log_group(item)
        ctx.add("logs.log_group", rid, attributes, name=rid)


def log_group(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = str(item["logGroupName"])
    return name, {
        "log_group_name": name,
        "arn": item.get("arn"),
        "retention_in_days": item.get("retentionInDays"),
        "kms_key_id": item.get("kmsKeyId"),
        "stored_bytes": item.get("storedBytes"),
    }
