"""RDS: rds.db_instance from DescribeDBInstances (one paginated list call; the subnet group, its
availability zones and the managed master user secret come with it). No password is ever read.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions, tag_map

RESOURCE_TYPES = ("rds.db_instance",)
REGIONAL = True
CALLS = (Call("rds", "DescribeDBInstances", "rds:DescribeDBInstances"),)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"rds.db_instance": {"*"}}


def collect(ctx: CollectContext) -> None:
    items = ctx.paginate("rds", "DescribeDBInstances", "DBInstances")
    if isinstance(items, Failed):
        ctx.type_error("rds.db_instance", items)
        return
    for item in items:
        rid, attributes = db_instance(item)
        ctx.add("rds.db_instance", rid, attributes, name=rid)


def db_instance(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["DBInstanceIdentifier"])
    group = item.get("DBSubnetGroup") or {}
    subnets = group.get("Subnets") or []
    azs = sorted({str((s.get("SubnetAvailabilityZone") or {}).get("Name")) for s in subnets
                  if (s.get("SubnetAvailabilityZone") or {}).get("Name")})
    endpoint = item.get("Endpoint") or {}
    address, port = endpoint.get("Address"), endpoint.get("Port")
    return rid, {
        "db_instance_identifier": rid,
        "arn": item.get("DBInstanceArn"),
        "engine": item.get("Engine"),
        "engine_version": item.get("EngineVersion"),
        "status": item.get("DBInstanceStatus"),
        "publicly_accessible": item.get("PubliclyAccessible"),
        "storage_encrypted": item.get("StorageEncrypted"),
        "kms_key_id": item.get("KmsKeyId"),
        "vpc_id": group.get("VpcId"),
        "subnet_ids": [str(s["SubnetIdentifier"]) for s in subnets if s.get("SubnetIdentifier")],
        "availability_zones": azs,
        "endpoint_address": address,
        "endpoint_port": port,
        "endpoint": f"{address}:{port}" if address and port else None,
        "master_username": item.get("MasterUsername"),
        "master_user_secret_arn": (item.get("MasterUserSecret") or {}).get("SecretArn"),
        "vpc_security_group_ids": [str(g["VpcSecurityGroupId"]) for g in item.get("VpcSecurityGroups") or []
                                   if g.get("VpcSecurityGroupId")],
        "multi_az": item.get("MultiAZ"),
        "tags": tag_map(item.get("TagList")),
    }
