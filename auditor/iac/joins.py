"""Join helper records (policies, associations, routes, split S3 settings) into the resources they concern.

Loaders emit canonical resources plus helper records of type `iac.*`; a helper names its target
by a Link (logical id / Terraform address) or by the target's resolved name. After the join the
helpers are dropped: a helper whose target is not in the templates concerns a resource
deployed elsewhere and is ignored.
"""

from __future__ import annotations

from typing import Any

from auditor.iac import canonical as C
from auditor.iac.model import Link, TemplateResource
from auditor.snapshot import unknown


def _matches(ref: Any, item: TemplateResource) -> bool:
    if isinstance(ref, Link):
        return ref.target == item.key
    if isinstance(ref, str):
        return ref in (item.key, item.id, item.name)
    return False


def _find(items: list[TemplateResource], rtype: str, ref: Any) -> TemplateResource | None:
    for item in items:
        if item.type == rtype and _matches(ref, item):
            return item
    return None


def join(items: list[TemplateResource], region: str | None) -> None:
    helpers = [i for i in items if i.type.startswith("iac.")]
    for helper in helpers:
        a = helper.attributes
        kind = helper.type
        if kind == "iac.s3_bucket_policy":
            bucket = _find(items, "s3.bucket", a["bucket"])
            if bucket is not None:
                bucket.attributes["policy"] = a["policy"]
        elif kind == "iac.s3_setting":
            bucket = _find(items, "s3.bucket", a["bucket"])
            if bucket is not None:
                if a["setting"] == "public_access_block":
                    bucket.attributes["public_access_block"] = C.public_access_block(a["value"])
                else:
                    bucket.attributes[a["setting"]] = a["value"]
        elif kind == "iac.kms_key_policy":
            key = _find(items, "kms.key", a["key"])
            if key is not None:
                key.attributes["policy"] = a["policy"]
        elif kind == "iac.vpc_cidr":
            vpc = _find(items, "ec2.vpc", a["vpc"])
            if vpc is not None:
                if a.get("ipv6"):
                    vpc.attributes["ipv6_cidr_blocks"].append(
                        a.get("ipv6_cidr") or unknown("the IPv6 block is assigned at deployment")
                    )
                if a.get("cidr") is not None:
                    vpc.attributes["cidr_blocks"].append(a["cidr"])
        elif kind == "iac.dhcp_association":
            vpc = _find(items, "ec2.vpc", a["vpc"])
            if vpc is not None:
                vpc.attributes["dhcp_options_id"] = "default" if a["dhcp"] == "default" else a["dhcp"]
        elif kind == "iac.igw_attachment":
            igw = _find(items, "ec2.internet_gateway", a["igw"])
            if igw is not None:
                igw.attributes["attachments"].append({"vpc_id": a["vpc"], "state": "available"})
        elif kind == "iac.endpoint_rt":
            endpoint = _find(items, "ec2.vpc_endpoint", a["endpoint"])
            if endpoint is not None:
                endpoint.attributes["route_table_ids"].append(a["table"])
    # Route tables: the local route, explicit routes and associations; a main table per VPC.
    vpcs = [i for i in items if i.type == "ec2.vpc"]
    for rt in [i for i in items if i.type == "ec2.route_table"]:
        vpc = _find(items, "ec2.vpc", rt.attributes.get("vpc_id"))
        cidr = vpc.attributes.get("cidr_block") if vpc else unknown("the VPC is not in the templates")
        rt.attributes["routes"].insert(0, C.local_route(cidr))
    for helper in helpers:
        a = helper.attributes
        table: TemplateResource | None
        if helper.type == "iac.route":
            table = _find(items, "ec2.route_table", a["table"])
            if table is not None:
                table.attributes["routes"].append(a["route"])
        elif helper.type == "iac.rt_association":
            table = _find(items, "ec2.route_table", a["table"])
            if table is not None:
                table.attributes["associations"].append({"subnet_id": a["subnet"], "main": False})
        elif helper.type == "iac.main_rt_association":
            table = _find(items, "ec2.route_table", a["table"])
            if table is not None:
                table.attributes["main"] = True
                table.attributes["associations"].append({"subnet_id": None, "main": True})
    for vpc in vpcs:
        has_main = any(
            i.type == "ec2.route_table" and i.attributes.get("main") and _matches(i.attributes.get("vpc_id"), vpc)
            for i in items
        )
        if not has_main:
            items.append(
                TemplateResource(
                    type="ec2.route_table",
                    key=f"{vpc.key}#main-route-table",
                    location=vpc.location,
                    region=vpc.region,
                    account=vpc.account,
                    attributes={
                        "route_table_id": None,
                        "vpc_id": Link(vpc.key),
                        "main": True,
                        "name": None,
                        "associations": [{"subnet_id": None, "main": True}],
                        "routes": [C.local_route(vpc.attributes.get("cidr_block"))],
                        "tags": {},
                    },
                )
            )
    # NAT gateways sit in the VPC of their subnet.
    for nat in [i for i in items if i.type == "ec2.nat_gateway"]:
        subnet = _find(items, "ec2.subnet", nat.attributes.get("subnet_id"))
        nat.attributes["vpc_id"] = (
            subnet.attributes.get("vpc_id") if subnet else unknown("the NAT gateway's subnet is not in the templates")
        )
    # Keys list the aliases that target them; a key is named after its first alias.
    for alias in [i for i in items if i.type == "kms.alias"]:
        key = _find(items, "kms.key", alias.attributes.get("target_key_id"))
        if key is not None and isinstance(alias.attributes.get("name"), str):
            key.attributes["aliases"].append(alias.attributes["name"])
            alias.attributes["target_key_id"] = Link(key.key)
    for key in [i for i in items if i.type == "kms.key"]:
        aliases = key.attributes["aliases"]
        if aliases and key.name is None:
            key.name = sorted(aliases)[0]
    items[:] = [i for i in items if not i.type.startswith("iac.")]
