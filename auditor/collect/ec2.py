"""EC2 network: VPCs (with their DNS attributes), DHCP options, subnets, route tables, VPC endpoints,
internet and NAT gateways.

Only DescribeVpcAttribute is a per-resource call (two per selected VPC); everything else is one
paginated list call per type. Subnet route_table_id / route_table_source / classification are
not set here: the topology classifier (auditor.derive.topology) derives them from the route tables.
Security groups, peering connections, network ACLs and ENIs are not collected (no rule of the
shipped packs reads them yet).
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import (
    Call,
    CollectContext,
    Failed,
    decode_policy,
    iam_actions,
    missing,
    name_tag,
    not_collected,
    tag_map,
)

RESOURCE_TYPES = (
    "ec2.vpc",
    "ec2.dhcp_options",
    "ec2.subnet",
    "ec2.route_table",
    "ec2.vpc_endpoint",
    "ec2.internet_gateway",
    "ec2.nat_gateway",
)
REGIONAL = True
CALLS = (
    Call("ec2", "DescribeVpcs", "ec2:DescribeVpcs"),
    Call("ec2", "DescribeVpcAttribute", "ec2:DescribeVpcAttribute"),
    Call("ec2", "DescribeDhcpOptions", "ec2:DescribeDhcpOptions"),
    Call("ec2", "DescribeSubnets", "ec2:DescribeSubnets"),
    Call("ec2", "DescribeRouteTables", "ec2:DescribeRouteTables"),
    Call("ec2", "DescribeVpcEndpoints", "ec2:DescribeVpcEndpoints"),
    Call("ec2", "DescribeInternetGateways", "ec2:DescribeInternetGateways"),
    Call("ec2", "DescribeNatGateways", "ec2:DescribeNatGateways"),
)
IAM_ACTIONS = iam_actions(CALLS)
# Attributes every resource gets from the list calls alone (all but the VPC DNS attributes).
LISTED = {
    "ec2.vpc": {
        "vpc_id",
        "name",
        "cidr_block",
        "cidr_blocks",
        "ipv6_cidr_blocks",
        "instance_tenancy",
        "dhcp_options_id",
        "is_default",
        "tags",
    },
    **{
        t: {"*"}
        for t in (
            "ec2.dhcp_options",
            "ec2.subnet",
            "ec2.route_table",
            "ec2.vpc_endpoint",
            "ec2.internet_gateway",
            "ec2.nat_gateway",
        )
    },
}


def collect(ctx: CollectContext) -> None:
    if ctx.plan.wants("ec2.vpc"):
        _vpcs(ctx)
    simple = (
        ("ec2.dhcp_options", "DescribeDhcpOptions", "DhcpOptions", _dhcp),
        ("ec2.subnet", "DescribeSubnets", "Subnets", _subnet),
        ("ec2.route_table", "DescribeRouteTables", "RouteTables", _route_table),
        ("ec2.vpc_endpoint", "DescribeVpcEndpoints", "VpcEndpoints", _endpoint),
        ("ec2.internet_gateway", "DescribeInternetGateways", "InternetGateways", _igw),
        ("ec2.nat_gateway", "DescribeNatGateways", "NatGateways", _nat),
    )
    for rtype, operation, key, build in simple:
        if not ctx.plan.wants(rtype):
            continue
        items = ctx.paginate("ec2", operation, key)
        if isinstance(items, Failed):
            ctx.type_error(rtype, items)
            continue
        for item in items:
            rid, attributes = build(item)
            ctx.add(rtype, rid, attributes, name=name_tag(item.get("Tags")))


def _vpcs(ctx: CollectContext) -> None:
    vpcs = ctx.paginate("ec2", "DescribeVpcs", "Vpcs")
    if isinstance(vpcs, Failed):
        ctx.type_error("ec2.vpc", vpcs)
        return
    chosen = []
    for vpc in vpcs:
        vpc_id = str(vpc["VpcId"])
        name = name_tag(vpc.get("Tags"))
        attributes: dict[str, Any] = {
            "vpc_id": vpc_id,
            "name": name,
            "cidr_block": vpc.get("CidrBlock"),
            "cidr_blocks": [
                a["CidrBlock"]
                for a in vpc.get("CidrBlockAssociationSet") or []
                if a.get("CidrBlock") and (a.get("CidrBlockState") or {}).get("State") in (None, "associated")
            ],
            "ipv6_cidr_blocks": [
                a["Ipv6CidrBlock"]
                for a in vpc.get("Ipv6CidrBlockAssociationSet") or []
                if a.get("Ipv6CidrBlock") and (a.get("Ipv6CidrBlockState") or {}).get("State") in (None, "associated")
            ],
            "instance_tenancy": vpc.get("InstanceTenancy"),
            "dhcp_options_id": vpc.get("DhcpOptionsId"),
            "is_default": vpc.get("IsDefault"),
            "tags": tag_map(vpc.get("Tags")),
        }
        if ctx.plan.selected("ec2.vpc", {"vpc_id": vpc_id, "name": name, "@id": vpc_id, "@name": name}):
            chosen.append(attributes)
        else:
            attributes["enable_dns_support"] = attributes["enable_dns_hostnames"] = not_collected()
            ctx.add("ec2.vpc", vpc_id, attributes, name=name)
    work = [(a, attr) for a in chosen for attr in ("enableDnsSupport", "enableDnsHostnames")]
    ctx.map(lambda item: _vpc_attribute(ctx, *item), work)
    for attributes in chosen:
        ctx.add("ec2.vpc", attributes["vpc_id"], attributes, name=attributes["name"])


def _vpc_attribute(ctx: CollectContext, attributes: dict[str, Any], attribute: str) -> None:
    target = "enable_dns_support" if attribute == "enableDnsSupport" else "enable_dns_hostnames"
    answer = ctx.call("ec2", "DescribeVpcAttribute", VpcId=attributes["vpc_id"], Attribute=attribute)
    if isinstance(answer, Failed):
        attributes[target] = ctx.attribute_error("ec2.vpc", attributes["vpc_id"], target, answer)
        return
    field = "EnableDnsSupport" if attribute == "enableDnsSupport" else "EnableDnsHostnames"
    attributes[target] = ((answer or {}).get(field) or {}).get("Value")


def _dhcp(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    values: dict[str, list[str]] = {}
    for conf in item.get("DhcpConfigurations") or []:
        values[str(conf.get("Key"))] = [str(v.get("Value")) for v in conf.get("Values") or []]
    rid = str(item["DhcpOptionsId"])
    return rid, {
        "dhcp_options_id": rid,
        "domain_name": values.get("domain-name", []),
        "domain_name_servers": values.get("domain-name-servers", []),
        "ntp_servers": values.get("ntp-servers", []),
        "tags": tag_map(item.get("Tags")),
    }


def _subnet(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["SubnetId"])
    return rid, {
        "subnet_id": rid,
        "vpc_id": item.get("VpcId"),
        "name": name_tag(item.get("Tags")),
        "cidr_block": item.get("CidrBlock"),
        "availability_zone": item.get("AvailabilityZone"),
        "availability_zone_id": item.get("AvailabilityZoneId"),
        "map_public_ip_on_launch": item.get("MapPublicIpOnLaunch"),
        "tags": tag_map(item.get("Tags")),
    }


_ROUTE_TARGETS = {
    "GatewayId": "gateway_id",
    "NatGatewayId": "nat_gateway_id",
    "TransitGatewayId": "transit_gateway_id",
    "NetworkInterfaceId": "network_interface_id",
    "VpcPeeringConnectionId": "vpc_peering_connection_id",
    "InstanceId": "instance_id",
    "EgressOnlyInternetGatewayId": "egress_only_internet_gateway_id",
    "DestinationPrefixListId": "destination_prefix_list_id",
    "LocalGatewayId": "local_gateway_id",
    "CarrierGatewayId": "carrier_gateway_id",
    "CoreNetworkArn": "core_network_arn",
}


def _route_table(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from auditor.resources import resource_types

    route_props = set(resource_types()["ec2.route_table"].schema["properties"]["routes"]["items"]["properties"])
    assoc_props = set(resource_types()["ec2.route_table"].schema["properties"]["associations"]["items"]["properties"])
    rid = str(item["RouteTableId"])
    associations = []
    main = False
    for assoc in item.get("Associations") or []:
        main = main or bool(assoc.get("Main"))
        entry = {
            "subnet_id": assoc.get("SubnetId"),
            "gateway_id": assoc.get("GatewayId"),
            "main": bool(assoc.get("Main")),
            "state": (assoc.get("AssociationState") or {}).get("State"),
        }
        associations.append({k: v for k, v in entry.items() if k in assoc_props})
    routes = []
    for route in item.get("Routes") or []:
        entry = {
            "destination_cidr_block": route.get("DestinationCidrBlock"),
            "destination_ipv6_cidr_block": route.get("DestinationIpv6CidrBlock"),
            "state": route.get("State"),
            "origin": route.get("Origin"),
        }
        for source, target in _ROUTE_TARGETS.items():
            entry[target] = route.get(source)
        routes.append({k: v for k, v in entry.items() if k in route_props})
    return rid, {
        "route_table_id": rid,
        "vpc_id": item.get("VpcId"),
        "main": main,
        "name": name_tag(item.get("Tags")),
        "associations": associations,
        "routes": routes,
        "tags": tag_map(item.get("Tags")),
    }


def _endpoint(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["VpcEndpointId"])
    return rid, {
        "vpc_endpoint_id": rid,
        "vpc_id": item.get("VpcId") or missing("ec2:DescribeVpcEndpoints", "VpcId"),
        "service_name": item.get("ServiceName") or missing("ec2:DescribeVpcEndpoints", "ServiceName"),
        "vpc_endpoint_type": item.get("VpcEndpointType"),
        "state": item.get("State"),
        "route_table_ids": list(item.get("RouteTableIds") or []),
        "subnet_ids": list(item.get("SubnetIds") or []),
        "private_dns_enabled": item.get("PrivateDnsEnabled"),
        "security_group_ids": [g.get("GroupId") for g in item.get("Groups") or [] if g.get("GroupId")],
        "policy": decode_policy(item.get("PolicyDocument")),
        "tags": tag_map(item.get("Tags")),
    }


def _igw(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["InternetGatewayId"])
    return rid, {
        "internet_gateway_id": rid,
        "attachments": [{"vpc_id": a.get("VpcId"), "state": a.get("State")} for a in item.get("Attachments") or []],
        "tags": tag_map(item.get("Tags")),
    }


def _nat(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["NatGatewayId"])
    return rid, {
        "nat_gateway_id": rid,
        "vpc_id": item.get("VpcId"),
        "subnet_id": item.get("SubnetId"),
        "state": item.get("State"),
        "connectivity_type": item.get("ConnectivityType"),
        "tags": tag_map(item.get("Tags")),
    }
