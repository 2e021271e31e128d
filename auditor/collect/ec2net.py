"""EC2 for the seed 003 provisioner: security groups (rules flattened per source), VPC peering
connections and key pairs (metadata only: DescribeKeyPairs never returns a private key).

One list call per type, no per-resource call.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions, name_tag, tag_map

RESOURCE_TYPES = ("ec2.security_group", "ec2.vpc_peering_connection", "ec2.key_pair")
REGIONAL = True
CALLS = (
    Call("ec2", "DescribeSecurityGroups", "ec2:DescribeSecurityGroups"),
    Call("ec2", "DescribeVpcPeeringConnections", "ec2:DescribeVpcPeeringConnections"),
    Call("ec2", "DescribeKeyPairs", "ec2:DescribeKeyPairs"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {t: {"*"} for t in RESOURCE_TYPES}


def collect(ctx: CollectContext) -> None:
    if ctx.plan.wants("ec2.security_group"):
        groups = ctx.paginate("ec2", "DescribeSecurityGroups", "SecurityGroups")
        if isinstance(groups, Failed):
            ctx.type_error("ec2.security_group", groups)
        else:
            for group in groups:
                rid, attributes = security_group(group)
                ctx.add("ec2.security_group", rid, attributes, name=attributes["group_name"])
    if ctx.plan.wants("ec2.vpc_peering_connection"):
        peerings = ctx.paginate("ec2", "DescribeVpcPeeringConnections", "VpcPeeringConnections")
        if isinstance(peerings, Failed):
            ctx.type_error("ec2.vpc_peering_connection", peerings)
        else:
            for item in peerings:
                rid, attributes = peering(item)
                ctx.add("ec2.vpc_peering_connection", rid, attributes, name=name_tag(item.get("Tags")))
    if ctx.plan.wants("ec2.key_pair"):
        pairs = ctx.paginate("ec2", "DescribeKeyPairs", "KeyPairs")  # one page: no pagination
        if isinstance(pairs, Failed):
            ctx.type_error("ec2.key_pair", pairs)
        else:
            for item in pairs:
                rid, attributes = key_pair(item)
                ctx.add("ec2.key_pair", rid, attributes, name=attributes["key_name"])


def permissions(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """One entry per (permission, source): a CIDR, an IPv6 CIDR, a security group or a prefix list."""
    out: list[dict[str, Any]] = []
    for perm in items or []:
        base = {
            "protocol": str(perm.get("IpProtocol", "-1")),
            "from_port": perm.get("FromPort"),
            "to_port": perm.get("ToPort"),
        }
        if base["protocol"] == "-1":
            base["from_port"] = base["to_port"] = None
        sources: list[dict[str, Any]] = []
        for r in perm.get("IpRanges") or []:
            sources.append({"cidr_ipv4": r.get("CidrIp"), "description": r.get("Description")})
        for r in perm.get("Ipv6Ranges") or []:
            sources.append({"cidr_ipv6": r.get("CidrIpv6"), "description": r.get("Description")})
        for r in perm.get("UserIdGroupPairs") or []:
            sources.append({"referenced_group_id": r.get("GroupId"), "description": r.get("Description")})
        for r in perm.get("PrefixListIds") or []:
            sources.append({"prefix_list_id": r.get("PrefixListId"), "description": r.get("Description")})
        for source in sources:
            entry: dict[str, Any] = {"cidr_ipv4": None, "cidr_ipv6": None, "referenced_group_id": None,
                                     "prefix_list_id": None}
            entry.update(base)
            entry.update(source)
            out.append(entry)
    return out


def security_group(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["GroupId"])
    return rid, {
        "group_id": rid,
        "group_name": item.get("GroupName"),
        "vpc_id": item.get("VpcId"),
        "description": item.get("Description"),
        "ingress": permissions(item.get("IpPermissions")),
        "egress": permissions(item.get("IpPermissionsEgress")),
        "tags": tag_map(item.get("Tags")),
    }


def _cidrs(side: dict[str, Any]) -> list[str]:
    blocks = [str(b["CidrBlock"]) for b in side.get("CidrBlockSet") or [] if b.get("CidrBlock")]
    if not blocks and side.get("CidrBlock"):
        blocks = [str(side["CidrBlock"])]
    return blocks


def peering(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["VpcPeeringConnectionId"])
    requester = item.get("RequesterVpcInfo") or {}
    accepter = item.get("AccepterVpcInfo") or {}
    return rid, {
        "vpc_peering_connection_id": rid,
        "status": (item.get("Status") or {}).get("Code"),
        "requester_vpc_id": requester.get("VpcId"),
        "requester_cidr_blocks": _cidrs(requester),
        "requester_owner_id": requester.get("OwnerId"),
        "requester_region": requester.get("Region"),
        "accepter_vpc_id": accepter.get("VpcId"),
        "accepter_cidr_blocks": _cidrs(accepter),
        "accepter_owner_id": accepter.get("OwnerId"),
        "accepter_region": accepter.get("Region"),
        "tags": tag_map(item.get("Tags")),
    }


def key_pair(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = str(item["KeyName"])
    created: Any = item.get("CreateTime")
    key_type = item.get("KeyType")
    return name, {
        "key_name": name,
        "key_pair_id": item.get("KeyPairId"),
        "key_type": key_type if key_type in ("rsa", "ed25519") else None,
        "fingerprint": item.get("KeyFingerprint"),
        "create_time": created.isoformat() if hasattr(created, "isoformat") else created,
        "tags": tag_map(item.get("Tags")),
    }
