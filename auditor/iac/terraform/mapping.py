"""Terraform resources (their arguments as Terraform's JSON values) into canonical resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.iac import canonical as C
from auditor.iac.model import (
    Link,
    TemplateResource,
    text_or_unknown,
)
from auditor.iac.terraform.blocks import _first, _named, _UnknownBlock
from auditor.iac.terraform.provisioner import _map_provisioner, _tf_list
from auditor.snapshot import Location, is_unknown, unknown

try:
    from lark import Token, Tree
except ModuleNotFoundError:  # the `iac` extra is absent: plan JSON still loads, HCL cannot be parsed
    Token = Tree = type("_NotInstalled", (), {})  # type: ignore[assignment,misc]  # no tree exists to match


def map_resource(
    rtype: str,
    address: str,
    v: Mapping[str, Any],
    location: Location,
    region: str | None,
    read_secret_values: bool,
) -> list[TemplateResource]:
    def res(t: str, attrs: dict[str, Any], name: Any = None, rid: str | None = None) -> TemplateResource:
        return TemplateResource(type=t, key=address, attributes=attrs, location=location, name=name, id=rid)

    tag_map = C.tags(v.get("tags"))
    name_tag = tag_map.get("Name")
    if rtype in ("aws_kms_key", "aws_kms_external_key"):
        return [
            res(
                "kms.key",
                C.kms_key(
                    key_id=address,
                    description=v.get("description"),
                    key_spec=v.get("customer_master_key_spec"),
                    key_usage=v.get("key_usage"),
                    enabled=v.get("is_enabled", v.get("enabled")),
                    multi_region=v.get("multi_region"),
                    origin="EXTERNAL" if rtype == "aws_kms_external_key" else None,
                    policy=v.get("policy"),
                    rotation=v.get("enable_key_rotation"),
                    aliases=[],
                    tag_map=tag_map,
                ),
            )
        ]
    if rtype == "aws_kms_key_policy":
        return [
            res(
                "iac.kms_key_policy",
                {"key": v.get("key_id"), "policy": C.policy_document(v.get("policy"), "policy")},
            )
        ]
    if rtype == "aws_kms_alias":
        name = text_or_unknown(v.get("name"), "name")
        return [
            res(
                "kms.alias",
                {
                    "name": name,
                    "arn": unknown("the alias ARN is assigned at apply"),
                    "target_key_id": v.get("target_key_id"),
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_s3_bucket":
        name = _named(v, "bucket", "bucket")
        versioning = None
        legacy = _first(v.get("versioning"))
        if isinstance(legacy, _UnknownBlock):
            versioning = legacy.get("enabled")
        elif legacy:
            versioning = "Enabled" if legacy.get("enabled") is True else None
        policy = C.policy_document(v.get("policy"), "policy") if v.get("policy") is not None else None
        bucket = res(
            "s3.bucket",
            C.s3_bucket(
                name=name,
                region=region,
                versioning=versioning,
                logging=None,
                encryption=None,
                pab=None,
                policy=policy,
                ownership=None,
                tag_map=tag_map,
            ),
            name=name,
            rid=name if isinstance(name, str) else None,
        )
        if legacy:
            bucket.inline["versioning"] = versioning
        if policy is not None:
            bucket.inline["policy"] = policy
        return [bucket]
    if rtype == "aws_s3_bucket_versioning":
        status = _first(v.get("versioning_configuration")).get("status")
        return [
            res(
                "iac.s3_setting",
                {"bucket": v.get("bucket"), "setting": "versioning", "value": C.versioning_status(status)},
            )
        ]
    if rtype == "aws_s3_bucket_logging":
        return [
            res(
                "iac.s3_setting",
                {
                    "bucket": v.get("bucket"),
                    "setting": "logging",
                    "value": {
                        "target_bucket": v.get("target_bucket"),
                        "target_prefix": v.get("target_prefix", ""),
                    },
                },
            )
        ]
    if rtype == "aws_s3_bucket_public_access_block":
        return [
            res(
                "iac.s3_setting",
                {
                    "bucket": v.get("bucket"),
                    "setting": "public_access_block",
                    "value": {k: v.get(k) for k in C.NEW_BUCKET_PUBLIC_ACCESS_BLOCK},
                },
            )
        ]
    if rtype == "aws_s3_bucket_server_side_encryption_configuration":
        rules: list[Any] = []
        for rule in _tf_list(v.get("rule")):
            by_default = rule.get("apply_server_side_encryption_by_default") if isinstance(rule, dict) else None
            if isinstance(by_default, list) and by_default:
                by_default = by_default[0]
            part = next((p for p in (rule, by_default) if is_unknown(p) or isinstance(p, Link)), None)
            if part is not None:  # a dynamic block over an unknown collection: the rule is unknown, not absent
                rules.append(part if is_unknown(part) else unknown("the encryption rule is known only after apply"))
                continue
            if not isinstance(rule, dict):
                continue
            default = _first(rule.get("apply_server_side_encryption_by_default"))
            rules.append(
                C.encryption_rule(
                    default.get("sse_algorithm"),
                    default.get("kms_master_key_id"),
                    rule.get("bucket_key_enabled"),
                )
            )
        return [
            res(
                "iac.s3_setting",
                {"bucket": v.get("bucket"), "setting": "encryption", "value": {"rules": rules}},
            )
        ]
    if rtype == "aws_s3_bucket_ownership_controls":
        owner = _first(v.get("rule")).get("object_ownership")
        return [res("iac.s3_setting", {"bucket": v.get("bucket"), "setting": "ownership", "value": owner})]
    if rtype == "aws_s3_bucket_policy":
        return [
            res(
                "iac.s3_bucket_policy",
                {"bucket": v.get("bucket"), "policy": C.policy_document(v.get("policy"), "policy")},
            )
        ]
    if rtype == "aws_vpc":
        cidr = v.get("cidr_block")
        vpc_name = C.name_tag(v.get("tags"))
        ipv6 = C.bool_or_unknown(v.get("assign_generated_ipv6_cidr_block"), False, "assign_generated_ipv6_cidr_block")
        return [
            res(
                "ec2.vpc",
                {
                    "vpc_id": address,
                    "name": vpc_name,
                    "cidr_block": cidr,
                    "cidr_blocks": [cidr] if cidr else [],
                    "ipv6_cidr_blocks": [unknown("the IPv6 block is assigned at apply")] if ipv6 is True else [],
                    "instance_tenancy": v.get("instance_tenancy") or "default",
                    "enable_dns_support": C.bool_or_unknown(v.get("enable_dns_support"), True, "enable_dns_support"),
                    "enable_dns_hostnames": C.bool_or_unknown(
                        v.get("enable_dns_hostnames"), False, "enable_dns_hostnames"
                    ),
                    "dhcp_options_id": unknown(
                        "no DHCP options association in the configuration: the VPC gets the "
                        "account's default options set"
                    ),
                    "is_default": False,
                    "tags": tag_map,
                },
                name=vpc_name if isinstance(vpc_name, str) else None,
            )
        ]
    if rtype == "aws_vpc_ipv4_cidr_block_association":
        return [res("iac.vpc_cidr", {"vpc": v.get("vpc_id"), "cidr": v.get("cidr_block"), "ipv6": False})]
    if rtype == "aws_vpc_ipv6_cidr_block_association":
        return [res("iac.vpc_cidr", {"vpc": v.get("vpc_id"), "ipv6": True, "ipv6_cidr": v.get("ipv6_cidr_block")})]
    if rtype == "aws_vpc_dhcp_options":
        return [
            res(
                "ec2.dhcp_options",
                {
                    "dhcp_options_id": address,
                    "domain_name": C.split_names(v.get("domain_name")),
                    "domain_name_servers": C.split_names(v.get("domain_name_servers")),
                    "ntp_servers": C.split_names(v.get("ntp_servers")),
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_dhcp_options_association":
        return [res("iac.dhcp_association", {"vpc": v.get("vpc_id"), "dhcp": v.get("dhcp_options_id")})]
    if rtype == "aws_subnet":
        az = v.get("availability_zone")
        return [
            res(
                "ec2.subnet",
                {
                    "subnet_id": address,
                    "vpc_id": v.get("vpc_id"),
                    "name": name_tag,
                    "cidr_block": v.get("cidr_block"),
                    "availability_zone": az
                    if az is not None
                    else unknown("no availability_zone: AWS picks one at apply"),
                    "availability_zone_id": v.get("availability_zone_id"),
                    "map_public_ip_on_launch": C.bool_or_unknown(
                        v.get("map_public_ip_on_launch"), False, "map_public_ip_on_launch"
                    ),
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype in ("aws_route_table", "aws_default_route_table"):
        vpc_id = v.get("vpc_id")
        adopted = v.get("default_route_table_id")
        if vpc_id is None and isinstance(adopted, Link) and adopted.attribute == "default_route_table_id":
            vpc_id = Link(adopted.target)  # the VPC whose main table aws_default_route_table adopts
        out = [
            res(
                "ec2.route_table",
                {
                    "route_table_id": address,
                    "vpc_id": vpc_id,
                    "main": rtype == "aws_default_route_table",
                    "name": name_tag,
                    "associations": [{"subnet_id": None, "main": True}] if rtype == "aws_default_route_table" else [],
                    "routes": [],
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
        for index, entry in enumerate(v.get("route") or []):
            if isinstance(entry, dict):
                out.append(
                    TemplateResource(
                        type="iac.route",
                        key=f"{address}#route{index}",
                        location=location,
                        attributes={"table": Link(address), "route": _tf_route(entry)},
                    )
                )
        return out
    if rtype == "aws_route":
        return [res("iac.route", {"table": v.get("route_table_id"), "route": _tf_route(v)})]
    if rtype == "aws_route_table_association":
        return [res("iac.rt_association", {"table": v.get("route_table_id"), "subnet": v.get("subnet_id")})]
    if rtype == "aws_main_route_table_association":
        return [res("iac.main_rt_association", {"table": v.get("route_table_id"), "vpc": v.get("vpc_id")})]
    if rtype == "aws_internet_gateway":
        attachments = [{"vpc_id": v["vpc_id"], "state": "available"}] if v.get("vpc_id") is not None else []
        return [
            res(
                "ec2.internet_gateway",
                {"internet_gateway_id": address, "attachments": attachments, "tags": tag_map},
                name=name_tag,
            )
        ]
    if rtype == "aws_internet_gateway_attachment":
        return [res("iac.igw_attachment", {"igw": v.get("internet_gateway_id"), "vpc": v.get("vpc_id")})]
    if rtype == "aws_nat_gateway":
        return [
            res(
                "ec2.nat_gateway",
                {
                    "nat_gateway_id": address,
                    "vpc_id": None,
                    "subnet_id": v.get("subnet_id"),
                    "state": "available",
                    "connectivity_type": v.get("connectivity_type") or "public",
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_endpoint":
        return [
            res(
                "ec2.vpc_endpoint",
                {
                    "vpc_endpoint_id": address,
                    "vpc_id": v.get("vpc_id"),
                    "service_name": v.get("service_name"),
                    "vpc_endpoint_type": v.get("vpc_endpoint_type") or "Gateway",
                    "state": "available",
                    "route_table_ids": list(v.get("route_table_ids") or []),
                    "subnet_ids": list(v.get("subnet_ids") or []),
                    "private_dns_enabled": C.bool_or_unknown(
                        v.get("private_dns_enabled"), False, "private_dns_enabled"
                    ),
                    "security_group_ids": list(v.get("security_group_ids") or []),
                    "policy": C.policy_document(v.get("policy"), "policy"),
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_endpoint_route_table_association":
        return [res("iac.endpoint_rt", {"endpoint": v.get("vpc_endpoint_id"), "table": v.get("route_table_id")})]
    if rtype == "aws_secretsmanager_secret":
        name = _named(v, "name", "secret")
        return [
            res(
                "secretsmanager.secret",
                {
                    "name": name,
                    "arn": unknown("the secret ARN is assigned at apply"),
                    "kms_key_id": v.get("kms_key_id"),
                    "deleted_date": None,
                    "value_format": unknown("the secret's format is read only with --read-secret-values"),
                    "tags": tag_map,
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_acm_certificate":
        domain = v.get("domain_name")
        return [
            res(
                "acm.certificate",
                {
                    "arn": address,
                    "domain_name": domain,
                    "subject_alternative_names": list(v.get("subject_alternative_names") or []),
                    "status": unknown("a requested certificate is issued only after validation, at apply"),
                    "cert_type": "IMPORTED" if v.get("certificate_body") is not None else "AMAZON_ISSUED",
                    "key_algorithm": v.get("key_algorithm") or "RSA_2048",
                    "not_after": unknown("the expiry is set when the certificate is issued"),
                    "in_use_by": [],
                    "tags": tag_map,
                },
                name=domain if isinstance(domain, str) else None,
            )
        ]
    return _map_provisioner(rtype, address, v, res, tag_map, region, location)


def _tf_route(entry: Mapping[str, Any]) -> dict[str, Any]:
    target_field, target = None, None
    for tf, field in (
        ("gateway_id", "gateway_id"),
        ("nat_gateway_id", "nat_gateway_id"),
        ("transit_gateway_id", "transit_gateway_id"),
        ("network_interface_id", "network_interface_id"),
        ("vpc_peering_connection_id", "vpc_peering_connection_id"),
        ("egress_only_gateway_id", "egress_only_internet_gateway_id"),
        ("vpc_endpoint_id", "gateway_id"),
        ("carrier_gateway_id", "carrier_gateway_id"),
        ("local_gateway_id", "local_gateway_id"),
        ("core_network_arn", "core_network_arn"),
    ):
        if entry.get(tf) not in (None, ""):
            target_field, target = field, entry[tf]
    cidr = entry.get("destination_cidr_block", entry.get("cidr_block"))
    ipv6 = entry.get("destination_ipv6_cidr_block", entry.get("ipv6_cidr_block"))
    return C.route(cidr if cidr != "" else None, target_field, target, ipv6 if ipv6 not in ("", None) else None)
