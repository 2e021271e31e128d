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
from auditor.snapshot import is_unknown, unknown


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


def _place(item: TemplateResource) -> str:
    where = f"{item.location.file}:{item.location.line}" if item.location.line else item.location.file
    return f"{item.key} ({where})"


def _last_writer(bucket: TemplateResource, helper: TemplateResource, setting: str, value: Any) -> Any:
    """The setting a separate resource writes, unless the bucket also writes it inline with another value: the
    AWS provider documents that the two conflict and the last apply wins, so what ends up deployed depends on
    apply order (unknown, naming both places)."""
    if setting not in bucket.inline or bucket.inline[setting] == value:
        return value
    return unknown(
        f"{setting} is written twice with different values: inline on {_place(bucket)} and by {_place(helper)}; "
        "the AWS provider documents that they conflict and the last writer wins, so what is deployed depends "
        f"on apply order: remove the inline {setting} from the bucket"
    )


def join(items: list[TemplateResource], region: str | None) -> None:
    helpers = [i for i in items if i.type.startswith("iac.")]
    for helper in helpers:
        a = helper.attributes
        kind = helper.type
        if kind == "iac.s3_bucket_policy":
            bucket = _find(items, "s3.bucket", a["bucket"])
            if bucket is not None:
                bucket.attributes["policy"] = _last_writer(bucket, helper, "policy", a["policy"])
        elif kind == "iac.s3_setting":
            bucket = _find(items, "s3.bucket", a["bucket"])
            if bucket is not None:
                if a["setting"] == "public_access_block":
                    bucket.attributes["public_access_block"] = C.public_access_block(a["value"])
                else:
                    bucket.attributes[a["setting"]] = _last_writer(bucket, helper, a["setting"], a["value"])
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
    _join_provisioner(items, helpers)
    items[:] = [i for i in items if not i.type.startswith("iac.")]


# --- provisioner (pack bbp) -------------------------------------------------------------------

KEYED = ("efs.file_system", "fsx.file_system", "rds.db_instance", "logs.log_group")


def _key_reference(items: list[TemplateResource], ref: Any) -> Any:
    """A KMS key reference of a provisioner resource: a template key (by Link, its alias's Link or its
    alias name) becomes a Link to that key, and that key's unknown ARN becomes the same template identity,
    so `match: {arn: =kms_key_id}` finds it; a key ARN stays; an alias not in the templates is unknown."""
    if ref is None or isinstance(ref, dict):
        return ref
    key = _find(items, "kms.key", ref)
    if key is None:
        alias = _find(items, "kms.alias", ref)
        if alias is None and isinstance(ref, str) and ":alias/" in ref:
            alias = _find(items, "kms.alias", "alias/" + ref.split(":alias/", 1)[1])
        if alias is not None:
            key = _find(items, "kms.key", alias.attributes.get("target_key_id"))
    if key is not None:
        if is_unknown(key.attributes.get("arn")):
            key.attributes["arn"] = Link(key.key)
        return Link(key.key)
    if isinstance(ref, str) and (ref.startswith("alias/") or ":alias/" in ref):
        if ref.split("alias/", 1)[1].startswith("aws/"):
            return ref  # an AWS managed key: never a customer key of the snapshot
        return unknown(f"the key behind {ref} is not described in the templates")
    if isinstance(ref, Link):
        return ref  # finalize: a resource not in the templates is unknown
    return ref


def _join_provisioner(items: list[TemplateResource], helpers: list[TemplateResource]) -> None:
    for item in items:
        if item.type in KEYED:
            item.attributes["kms_key_id"] = _key_reference(items, item.attributes.get("kms_key_id"))
    groups = [i for i in items if i.type == "ec2.security_group"]
    for group in groups:
        for direction in ("ingress", "egress"):
            rules = group.attributes.get(direction)
            if isinstance(rules, list):
                for rule in rules:
                    if isinstance(rule, dict) and rule.get("referenced_group_id") == "$self":
                        rule["referenced_group_id"] = Link(group.key)
    for helper in helpers:
        a = helper.attributes
        if helper.type == "iac.sg_rule":
            target = _find(items, "ec2.security_group", a["group"])
            if target is None:
                continue
            rules = target.attributes.get("egress" if a["egress"] else "ingress")
            if isinstance(rules, list):
                rule = a["rule"]
                if isinstance(rule, dict) and rule.get("referenced_group_id") == "$self":
                    rule = {**rule, "referenced_group_id": Link(target.key)}
                rules.append(rule)
        elif helper.type == "iac.fsx_dra":
            fs = _find(items, "fsx.file_system", a["file_system"])
            if fs is not None and isinstance(fs.attributes.get("data_repository_associations"), list):
                fs.attributes["data_repository_associations"].append(
                    {**a["association"], "association_id": helper.key}
                )
        elif helper.type == "iac.lambda_permission":
            fn = _find(items, "lambda.function", a["function"])
            if fn is None and isinstance(a["function"], str) and ":function:" in a["function"]:
                fn = _find(items, "lambda.function", a["function"].split(":function:", 1)[1].split(":")[0])
            if fn is not None:
                statements = fn.attributes.get("policy_statements")
                statement = a["statement"]
                if is_unknown(statement):
                    fn.attributes["policy_statements"] = statement
                    fn.attributes["policy"] = statement
                elif isinstance(statements, list):
                    statements.append(statement)
                    fn.attributes["policy"] = unknown(
                        "the resource policy document is assembled by Lambda at deployment (see policy_statements)"
                    )
        elif helper.type == "iac.peering_accept":
            pcx = _find(items, "ec2.vpc_peering_connection", a["peering"])
            if pcx is not None and a["accept"] is True:
                pcx.attributes["status"] = "active"
        elif helper.type == "iac.api_policy":
            api = _find(items, "apigateway.rest_api", a["api"])
            if api is not None:
                api.attributes["policy"] = a["policy"]
    _join_api_methods(items, helpers)
    # Peering CIDR blocks from the VPCs of the templates.
    for pcx in [i for i in items if i.type == "ec2.vpc_peering_connection"]:
        for side in ("requester_owner_id", "accepter_owner_id"):
            if is_unknown(pcx.attributes.get(side)) and pcx.account:
                pcx.attributes[side] = pcx.account
        for side in ("requester", "accepter"):
            vpc = _find(items, "ec2.vpc", pcx.attributes.get(f"{side}_vpc_id"))
            if vpc is not None:
                pcx.attributes[f"{side}_cidr_blocks"] = list(vpc.attributes.get("cidr_blocks") or [])
    # FSx: the VPC of its subnets.
    for fs in [i for i in items if i.type == "fsx.file_system"]:
        subnet_ids = fs.attributes.get("subnet_ids")
        if isinstance(subnet_ids, list) and subnet_ids:
            subnet = _find(items, "ec2.subnet", subnet_ids[0])
            if subnet is not None:
                fs.attributes["vpc_id"] = subnet.attributes.get("vpc_id")
    for db in [i for i in items if i.type == "rds.db_instance"]:
        _join_db(items, helpers, db)


def _join_db(items: list[TemplateResource], helpers: list[TemplateResource], db: TemplateResource) -> None:
    """Subnet group -> subnets, VPC, AZs; PubliclyAccessible left out -> public iff the VPC has an
    internet gateway (RDS CreateDBInstance, PubliclyAccessible default)."""
    a = db.attributes
    ref = a.pop("$subnet_group", None)
    group = None
    if ref is not None:
        group = next((h for h in helpers if h.type == "iac.db_subnet_group" and _matches(ref, h)), None)
        if group is None:
            a["vpc_id"] = unknown("the DB subnet group is not described in the templates")
            a["availability_zones"] = unknown("the DB subnet group is not described in the templates")
    vpc_ref: Any = None
    if group is not None:
        subnet_ids = group.attributes.get("subnet_ids")
        a["subnet_ids"] = subnet_ids if isinstance(subnet_ids, list) else []
        subnets = [_find(items, "ec2.subnet", s) for s in a["subnet_ids"]] if isinstance(subnet_ids, list) else []
        if not subnets or any(s is None for s in subnets):
            a["vpc_id"] = unknown("a subnet of the DB subnet group is not described in the templates")
            a["availability_zones"] = unknown("a subnet of the DB subnet group is not described in the templates")
        else:
            vpc_ref = subnets[0].attributes.get("vpc_id") if subnets[0] else None
            a["vpc_id"] = vpc_ref
            zones = [s.attributes.get("availability_zone") for s in subnets if s is not None]
            bad = next((z for z in zones if not isinstance(z, str)), None)
            a["availability_zones"] = sorted(set(zones)) if bad is None else (
                bad if is_unknown(bad) else unknown("an availability zone of the DB subnet group is unknown"))
    if a.get("publicly_accessible") is None:
        if vpc_ref is None:
            a["publicly_accessible"] = unknown(
                "PubliclyAccessible is not set: its default depends on the VPC's internet gateway, "
                "and the instance's VPC is not described in the templates"
            )
        else:
            vpc = _find(items, "ec2.vpc", vpc_ref)
            attached = any(
                i.type == "ec2.internet_gateway" and vpc is not None
                and any(_matches(att.get("vpc_id"), vpc) for att in i.attributes.get("attachments") or [])
                for i in items
            )
            a["publicly_accessible"] = attached if vpc is not None else unknown(
                "PubliclyAccessible is not set and the instance's VPC is not described in the templates")


def _api_path(items: list[TemplateResource], resources: dict[str, TemplateResource], ref: Any, depth: int = 0) -> Any:
    if isinstance(ref, Link) and ref.attribute in ("RootResourceId", "root_resource_id"):
        return "/"
    node = next((r for r in resources.values() if _matches(ref, r)), None)
    if node is None or depth > 30:
        return unknown("the API resource is not described in the templates")
    part = node.attributes.get("part")
    if not isinstance(part, str):
        return unknown("the path part of an API resource is known only after deployment")
    parent = _api_path(items, resources, node.attributes.get("parent"), depth + 1)
    if not isinstance(parent, str):
        return parent
    return parent.rstrip("/") + "/" + part


def _join_api_methods(items: list[TemplateResource], helpers: list[TemplateResource]) -> None:
    resources = {h.key: h for h in helpers if h.type == "iac.api_resource"}
    for helper in helpers:
        if helper.type != "iac.api_method":
            continue
        api = _find(items, "apigateway.rest_api", helper.attributes["api"])
        if api is None or not isinstance(api.attributes.get("methods"), list):
            continue
        method = dict(helper.attributes["method"])
        method["resource_path"] = _api_path(items, resources, helper.attributes["resource"])
        api.attributes["methods"].append(method)
