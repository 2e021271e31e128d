"""EFS: efs.file_system from DescribeFileSystems (one paginated list call)."""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions, tag_map

RESOURCE_TYPES = ("efs.file_system",)
REGIONAL = True
CALLS = (Call("efs", "DescribeFileSystems", "elasticfilesystem:DescribeFileSystems"),)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"efs.file_system": {"*"}}


def collect(ctx: CollectContext) -> None:
    items = ctx.paginate("efs", "DescribeFileSystems", "FileSystems")
    if isinstance(items, Failed):
        ctx.type_error("efs.file_system", items)
        return
    for item in items:
        rid, attributes = file_system(item)
        ctx.add("efs.file_system", rid, attributes, name=attributes["name"])


def file_system(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["FileSystemId"])
    return rid, {
        "file_system_id": rid,
        "arn": item.get("FileSystemArn"),
        "name": item.get("Name"),
        "encrypted": item.get("Encrypted"),
        "kms_key_id": item.get("KmsKeyId"),
        "life_cycle_state": item.get("LifeCycleState"),
        "performance_mode": item.get("PerformanceMode"),
        "throughput_mode": item.get("ThroughputMode"),
        "tags": tag_map(item.get("Tags")),
    }
