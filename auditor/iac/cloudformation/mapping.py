"""CloudFormation resources (KMS, S3, VPC and network, EFS/FSx, secrets, and SAM's function and API) into
canonical resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.iac import canonical as C
from auditor.iac.cloudformation.intrinsics import Resolver
from auditor.iac.cloudformation.names import _lambda_function, _name_shape, _name_tag, _named
from auditor.iac.cloudformation.provisioner import _map_provisioner, _secret_format
from auditor.iac.cloudformation.template import _NO_VALUE
from auditor.iac.model import (
    TemplateResource,
    text_or_unknown,
)
from auditor.snapshot import Location, is_unknown, unknown


def _prop(props: Mapping[str, Any], resolver: Resolver, *path: str) -> Any:
    node: Any = props
    for key in path:
        node = (
            resolver.value(node)
            if isinstance(node, dict)
            and len(node) == 1
            and ("Ref" in node or any(str(k).startswith("Fn::") for k in node))
            else node
        )
        if is_unknown(node):
            return node
        if not isinstance(node, dict):
            return None
        node = node.get(key)
        if node is None:
            return None
    value = resolver.value(node)
    return None if value is _NO_VALUE else value  # a property set to AWS::NoValue is absent


def _map(
    rtype: str,
    logical: str,
    props: Mapping[str, Any],
    r: Resolver,
    location: Location,
    read_secret_values: bool,
) -> list[TemplateResource]:
    p = lambda *path: _prop(props, r, *path)  # noqa: E731
    res = lambda t, attrs, name=None, rid=None: TemplateResource(  # noqa: E731
        type=t, key=r.prefix + logical, attributes=attrs, location=location, name=name, id=rid
    )
    tag_map = C.tags(p("Tags"))
    if rtype == "AWS::KMS::Key":
        return [
            res(
                "kms.key",
                {
                    **C.kms_key(
                        key_id=logical,
                        description=p("Description"),
                        key_spec=p("KeySpec"),
                        key_usage=p("KeyUsage"),
                        enabled=p("Enabled"),
                        multi_region=p("MultiRegion"),
                        origin=p("Origin"),
                        policy=p("KeyPolicy"),
                        rotation=p("EnableKeyRotation"),
                        aliases=[],
                        tag_map=tag_map,
                    )
                },
            )
        ]
    if rtype == "AWS::KMS::ReplicaKey":
        return []
    if rtype == "AWS::KMS::Alias":
        name = text_or_unknown(p("AliasName"), "AliasName")
        if is_unknown(name):
            name = _name_shape(r, props.get("AliasName"), str(name["$unknown"]))
        return [
            res(
                "kms.alias",
                {
                    "name": name,
                    "arn": unknown("the alias ARN is assigned at deployment"),
                    "target_key_id": p("TargetKeyId"),
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::S3::Bucket":
        name = _named(r, logical, "BucketName", "bucket", s3=True)
        versioning = C.versioning_status(p("VersioningConfiguration", "Status"))
        log_cfg = p("LoggingConfiguration")
        logging_value: Any = None
        if is_unknown(log_cfg):
            logging_value = log_cfg
        elif isinstance(log_cfg, dict):
            target = log_cfg.get("DestinationBucketName")
            logging_value = {
                "target_bucket": target if target is not None else name,
                "target_prefix": log_cfg.get("LogFilePrefix", ""),
            }
        enc = p("BucketEncryption", "ServerSideEncryptionConfiguration")
        encryption: Any = None
        if is_unknown(enc):
            encryption = enc
        elif isinstance(enc, list):
            encryption = {
                "rules": [
                    C.encryption_rule(
                        (e.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm"),
                        (e.get("ServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID"),
                        e.get("BucketKeyEnabled"),
                    )
                    for e in enc
                    if isinstance(e, dict)
                ]
            }
        pab = p("PublicAccessBlockConfiguration")
        flags = (
            None
            if pab is None
            else (
                pab
                if is_unknown(pab)
                else {
                    "block_public_acls": pab.get("BlockPublicAcls"),
                    "ignore_public_acls": pab.get("IgnorePublicAcls"),
                    "block_public_policy": pab.get("BlockPublicPolicy"),
                    "restrict_public_buckets": pab.get("RestrictPublicBuckets"),
                }
            )
        )
        ownership_rules = p("OwnershipControls", "Rules")
        ownership = None
        if isinstance(ownership_rules, list) and ownership_rules and isinstance(ownership_rules[0], dict):
            ownership = text_or_unknown(ownership_rules[0].get("ObjectOwnership"), "ObjectOwnership")
        attrs = C.s3_bucket(
            name=name,
            region=r.region,
            versioning=versioning,
            logging=logging_value,
            encryption=encryption,
            pab=flags,
            policy=None,
            ownership=ownership,
            tag_map=tag_map,
        )
        return [res("s3.bucket", attrs, name=name, rid=name if isinstance(name, str) else None)]
    if rtype == "AWS::S3::BucketPolicy":
        return [
            res(
                "iac.s3_bucket_policy",
                {"bucket": p("Bucket"), "policy": C.policy_document(p("PolicyDocument"), "PolicyDocument")},
            )
        ]
    if rtype == "AWS::EC2::VPC":
        cidr = p("CidrBlock")
        vpc_name = _name_tag(r, props, p("Tags"))
        return [
            res(
                "ec2.vpc",
                {
                    "vpc_id": logical,
                    "name": vpc_name,
                    "cidr_block": cidr,
                    "cidr_blocks": [cidr] if cidr is not None else [],
                    "ipv6_cidr_blocks": [],
                    "instance_tenancy": p("InstanceTenancy") or "default",
                    "enable_dns_support": C.bool_or_unknown(p("EnableDnsSupport"), True, "EnableDnsSupport"),
                    "enable_dns_hostnames": C.bool_or_unknown(p("EnableDnsHostnames"), False, "EnableDnsHostnames"),
                    "dhcp_options_id": unknown(
                        "no DHCP options association in the template: the VPC gets the account's default options set"
                    ),
                    "is_default": False,
                    "tags": tag_map,
                },
                name=vpc_name if isinstance(vpc_name, str) else None,
            )
        ]
    if rtype == "AWS::EC2::VPCCidrBlock":
        return [
            res(
                "iac.vpc_cidr",
                {
                    "vpc": p("VpcId"),
                    "ipv6": bool(p("AmazonProvidedIpv6CidrBlock"))
                    or p("Ipv6CidrBlock") is not None
                    or p("Ipv6Pool") is not None,
                    "cidr": p("CidrBlock"),
                    "ipv6_cidr": p("Ipv6CidrBlock"),
                },
            )
        ]
    if rtype == "AWS::EC2::DHCPOptions":
        return [
            res(
                "ec2.dhcp_options",
                {
                    "dhcp_options_id": logical,
                    "domain_name": C.split_names(p("DomainName")),
                    "domain_name_servers": C.split_names(p("DomainNameServers")),
                    "ntp_servers": C.split_names(p("NtpServers")),
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::VPCDHCPOptionsAssociation":
        return [res("iac.dhcp_association", {"vpc": p("VpcId"), "dhcp": p("DhcpOptionsId")})]
    if rtype == "AWS::EC2::Subnet":
        return [
            res(
                "ec2.subnet",
                {
                    "subnet_id": logical,
                    "vpc_id": p("VpcId"),
                    "name": tag_map.get("Name"),
                    "cidr_block": p("CidrBlock"),
                    "availability_zone": p("AvailabilityZone")
                    if p("AvailabilityZone") is not None
                    else unknown("no AvailabilityZone: AWS picks one at deployment"),
                    "availability_zone_id": p("AvailabilityZoneId"),
                    "map_public_ip_on_launch": C.bool_or_unknown(
                        p("MapPublicIpOnLaunch"), False, "MapPublicIpOnLaunch"
                    ),
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::RouteTable":
        return [
            res(
                "ec2.route_table",
                {
                    "route_table_id": logical,
                    "vpc_id": p("VpcId"),
                    "main": False,
                    "name": tag_map.get("Name"),
                    "associations": [],
                    "routes": [],
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::Route":
        target_field, target = None, None
        for cfn, field in (
            ("GatewayId", "gateway_id"),
            ("NatGatewayId", "nat_gateway_id"),
            ("TransitGatewayId", "transit_gateway_id"),
            ("NetworkInterfaceId", "network_interface_id"),
            ("VpcPeeringConnectionId", "vpc_peering_connection_id"),
            ("InstanceId", "instance_id"),
            ("EgressOnlyInternetGatewayId", "egress_only_internet_gateway_id"),
            ("VpcEndpointId", "gateway_id"),
        ):
            if props.get(cfn) is not None:
                target_field, target = field, p(cfn)
        return [
            res(
                "iac.route",
                {
                    "table": p("RouteTableId"),
                    "route": C.route(p("DestinationCidrBlock"), target_field, target, p("DestinationIpv6CidrBlock")),
                },
            )
        ]
    if rtype == "AWS::EC2::SubnetRouteTableAssociation":
        return [res("iac.rt_association", {"table": p("RouteTableId"), "subnet": p("SubnetId")})]
    if rtype == "AWS::EC2::InternetGateway":
        return [
            res(
                "ec2.internet_gateway",
                {"internet_gateway_id": logical, "attachments": [], "tags": tag_map},
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::VPCGatewayAttachment":
        return [res("iac.igw_attachment", {"igw": p("InternetGatewayId"), "vpc": p("VpcId")})]
    if rtype == "AWS::EC2::NatGateway":
        return [
            res(
                "ec2.nat_gateway",
                {
                    "nat_gateway_id": logical,
                    "vpc_id": None,
                    "subnet_id": p("SubnetId"),
                    "state": "available",
                    "connectivity_type": p("ConnectivityType") or "public",
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::VPCEndpoint":
        service = p("ServiceName")
        return [
            res(
                "ec2.vpc_endpoint",
                {
                    "vpc_endpoint_id": logical,
                    "vpc_id": p("VpcId"),
                    "service_name": service,
                    "vpc_endpoint_type": p("VpcEndpointType") or "Gateway",
                    "state": "available",
                    "route_table_ids": p("RouteTableIds") or [],
                    "subnet_ids": p("SubnetIds") or [],
                    "private_dns_enabled": C.bool_or_unknown(p("PrivateDnsEnabled"), False, "PrivateDnsEnabled"),
                    "security_group_ids": p("SecurityGroupIds") or [],
                    "policy": C.policy_document(p("PolicyDocument"), "PolicyDocument"),
                    "tags": tag_map,
                },
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::SecretsManager::Secret":
        name = _named(r, logical, "Name", "secret")
        value_format: Any = unknown("the secret's format is read only with --read-secret-values")
        if read_secret_values:
            value_format = _secret_format(p("SecretString"), p("GenerateSecretString"))
        return [
            res(
                "secretsmanager.secret",
                {
                    "name": name,
                    "arn": unknown("the secret ARN is assigned at deployment"),
                    "kms_key_id": p("KmsKeyId"),
                    "deleted_date": None,
                    "value_format": value_format,
                    "tags": tag_map,
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::CertificateManager::Certificate":
        domain = p("DomainName")
        sans = p("SubjectAlternativeNames") or []
        return [
            res(
                "acm.certificate",
                {
                    "arn": logical,
                    "domain_name": domain,
                    "subject_alternative_names": sans,
                    "status": unknown("a requested certificate is issued only after validation, at deployment"),
                    "cert_type": "AMAZON_ISSUED" if p("CertificateAuthorityArn") is None else "PRIVATE",
                    "key_algorithm": p("KeyAlgorithm") or "RSA_2048",
                    "not_after": unknown("the expiry is set when the certificate is issued"),
                    "in_use_by": [],
                    "tags": tag_map,
                },
                name=domain if isinstance(domain, str) else None,
            )
        ]
    if rtype in ("AWS::Serverless::Function", "AWS::Serverless::Api"):
        return _map_serverless(rtype, logical, p, r, res, tag_map)
    return _map_provisioner(rtype, logical, p, r, res, tag_map)


def _map_serverless(rtype: str, logical: str, p: Any, r: Resolver, res: Any, tag_map: dict[str, str]) -> list[Any]:
    """SAM (Transform AWS::Serverless-2016-10-31): a function is a Lambda function, an Api a REST API
    whose methods SAM generates from the functions' events (not evaluated here: unknown). SAM's Tags
    are a plain mapping (C.tags reads both forms); Globals are already merged into the properties."""
    if rtype == "AWS::Serverless::Function":
        return _lambda_function(r, logical, p, res, tag_map, image_uri=p("ImageUri"))
    name = p("Name")
    endpoint = p("EndpointConfiguration")
    endpoint_types = endpoint.get("Type") if isinstance(endpoint, dict) else endpoint
    attrs = C.rest_api(
        name=name,
        policy=None,
        endpoint_types=[endpoint_types] if isinstance(endpoint_types, str) else ["EDGE"],
        disable_execute=p("DisableExecuteApiEndpoint"),
        tag_map=tag_map,
    )
    if p("Auth", "ResourcePolicy") is not None:
        attrs["policy"] = unknown("SAM builds the API's resource policy from Auth.ResourcePolicy: not evaluated")
    attrs["methods"] = unknown("SAM generates the API's methods from the functions' events: not evaluated")
    return [res("apigateway.rest_api", attrs, name=name if isinstance(name, str) else None)]
