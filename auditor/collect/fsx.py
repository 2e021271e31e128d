"""FSx: fsx.file_system from DescribeFileSystems, with the data repository associations of each
Lustre file system (DescribeDataRepositoryAssociations, one call per file system the rules select).

A failed association call makes data_repository_associations unknown on that file system only
(an attribute error): the other attributes, and the other file systems, stay known.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.collect.base import (
    Call,
    CollectContext,
    Failed,
    iam_actions,
    max_pages,
    name_tag,
    not_collected,
    tag_map,
)

RESOURCE_TYPES = ("fsx.file_system",)
REGIONAL = True
CALLS = (
    Call("fsx", "DescribeFileSystems", "fsx:DescribeFileSystems"),
    Call("fsx", "DescribeDataRepositoryAssociations", "fsx:DescribeDataRepositoryAssociations"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {
    "fsx.file_system": {
        "file_system_id", "arn", "name", "file_system_type", "lifecycle", "deployment_type", "kms_key_id",
        "vpc_id", "subnet_ids", "import_path", "export_path", "tags",
    }
}
_S3_PATH = re.compile(r"^s3://([^/]+)")


def collect(ctx: CollectContext) -> None:
    items = ctx.paginate("fsx", "DescribeFileSystems", "FileSystems")
    if isinstance(items, Failed):
        ctx.type_error("fsx.file_system", items)
        return
    chosen = []
    for item in items:
        rid, attributes = file_system(item)
        lustre = attributes["file_system_type"] == "LUSTRE"
        if lustre and ctx.plan.selected("fsx.file_system", {"file_system_id": rid, "name": attributes["name"]}):
            chosen.append((rid, attributes))
            continue
        attributes["data_repository_associations"] = [] if not lustre else not_collected()
        ctx.add("fsx.file_system", rid, attributes, name=attributes["name"])
    ctx.map(lambda item: _associations(ctx, *item), chosen)


def _associations(ctx: CollectContext, rid: str, attributes: dict[str, Any]) -> None:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"Filters": [{"Name": "file-system-id", "Values": [rid]}]}
    seen: set[str] = set()
    limit = max_pages(ctx.config)
    while True:
        answer = ctx.call("fsx", "DescribeDataRepositoryAssociations", **params)
        token = (answer or {}).get("NextToken") if not isinstance(answer, Failed) else None
        if token and (token in seen or len(seen) + 1 >= limit):
            # a token answered twice (or no end in sight): the listing would never finish, so it is not known
            answer = Failed("PaginationError", f"NextToken {str(token)[:40]!r} repeated, or still not finished "
                            f"after {len(seen) + 1} pages (the bound is retry.max_pages)",
                            "fsx:DescribeDataRepositoryAssociations")
        if isinstance(answer, Failed):
            attributes["data_repository_associations"] = ctx.attribute_error(
                "fsx.file_system", rid, "data_repository_associations", answer
            )
            break
        found.extend(association(a) for a in (answer or {}).get("Associations") or [] if a.get("FileSystemId") == rid)
        if not token:
            attributes["data_repository_associations"] = found
            break
        seen.add(str(token))
        params["NextToken"] = token
    ctx.add("fsx.file_system", rid, attributes, name=attributes["name"])


def association(item: dict[str, Any]) -> dict[str, Any]:
    path = item.get("DataRepositoryPath")
    match = _S3_PATH.match(path) if isinstance(path, str) else None
    s3 = item.get("S3") or {}
    return {
        "association_id": str(item.get("AssociationId")),
        "file_system_path": item.get("FileSystemPath"),
        "data_repository_path": path,
        "bucket": match.group(1) if match else None,
        "lifecycle": item.get("Lifecycle"),
        "auto_import_events": list((s3.get("AutoImportPolicy") or {}).get("Events") or []),
        "auto_export_events": list((s3.get("AutoExportPolicy") or {}).get("Events") or []),
    }


def file_system(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["FileSystemId"])
    lustre = item.get("LustreConfiguration") or {}
    repository = lustre.get("DataRepositoryConfiguration") or {}
    return rid, {
        "file_system_id": rid,
        "arn": item.get("ResourceARN"),
        "name": name_tag(item.get("Tags")),
        "file_system_type": item.get("FileSystemType"),
        "lifecycle": item.get("Lifecycle"),
        "deployment_type": lustre.get("DeploymentType"),
        "kms_key_id": item.get("KmsKeyId"),
        "vpc_id": item.get("VpcId"),
        "subnet_ids": list(item.get("SubnetIds") or []),
        "import_path": repository.get("ImportPath"),
        "export_path": repository.get("ExportPath"),
        "tags": tag_map(item.get("Tags")),
    }
