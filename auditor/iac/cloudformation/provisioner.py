"""The seed 003 provisioner resources (pack bbp) of CloudFormation into canonical resources: security groups
and their rules, instances, load balancers, databases, functions, secrets, certificates."""

from __future__ import annotations

from typing import Any

from auditor.iac import canonical as C
from auditor.iac.cloudformation.intrinsics import Resolver
from auditor.iac.cloudformation.names import _lambda_function, _named
from auditor.snapshot import is_unknown, unknown


def _sg_rules(entries: Any, egress: bool) -> Any:
    if entries is None:
        return None
    if is_unknown(entries) or not isinstance(entries, list):
        return entries if is_unknown(entries) else unknown("the security group rules are not a list")
    return [_sg_rule(e, egress) for e in entries]


def _sg_rule(e: Any, egress: bool) -> Any:
    if is_unknown(e) or not isinstance(e, dict):
        return e if is_unknown(e) else unknown("a security group rule is not a mapping")
    prefix = "Destination" if egress else "Source"
    return C.sg_rule(
        protocol_value=e.get("IpProtocol"),
        from_port=e.get("FromPort"),
        to_port=e.get("ToPort"),
        cidr_ipv4=e.get("CidrIp"),
        cidr_ipv6=e.get("CidrIpv6"),
        referenced_group_id=e.get(f"{prefix}SecurityGroupId") or e.get("SourceSecurityGroupName"),
        prefix_list_id=e.get(f"{prefix}PrefixListId"),
        description=e.get("Description"),
    )


def _map_provisioner(rtype: str, logical: str, p: Any, r: Resolver, res: Any, tag_map: dict[str, str]) -> list[Any]:
    """Seed 003 provisioner resources (pack bbp): network security, storage, database, services."""
    if rtype == "AWS::EC2::SecurityGroup":
        egress = _sg_rules(p("SecurityGroupEgress"), True)
        return [
            res(
                "ec2.security_group",
                C.security_group(
                    name=p("GroupName"),
                    vpc_id=p("VpcId") if p("VpcId") is not None else unknown("no VpcId: the default VPC"),
                    description=p("GroupDescription"),
                    ingress=_sg_rules(p("SecurityGroupIngress"), False) or [],
                    egress=[dict(C.DEFAULT_EGRESS)] if egress is None else egress,
                    tag_map=tag_map,
                ),
                name=p("GroupName") if isinstance(p("GroupName"), str) else tag_map.get("Name"),
            )
        ]
    if rtype in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        egress = rtype.endswith("Egress")
        group = p("GroupId") if p("GroupId") is not None else p("GroupName")
        entry = {k: p(k) for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6", "Description",
                                   "SourceSecurityGroupId", "SourceSecurityGroupName", "SourcePrefixListId",
                                   "DestinationSecurityGroupId", "DestinationPrefixListId")}
        return [res("iac.sg_rule", {"group": group, "egress": egress, "rule": _sg_rule(entry, egress)})]
    if rtype == "AWS::EC2::VPCPeeringConnection":
        owner, peer_region = p("PeerOwnerId"), p("PeerRegion")
        cross = (owner is not None and owner != r.account) or (peer_region is not None and peer_region != r.region)
        return [
            res(
                "ec2.vpc_peering_connection",
                C.peering_connection(
                    requester_vpc=p("VpcId"),
                    accepter_vpc=p("PeerVpcId"),
                    # CloudFormation accepts a same-account, same-Region peering itself; another account or
                    # Region accepts it (PeerRoleArn) at deployment.
                    status=unknown("a peering with another account or Region is accepted at deployment")
                    if cross
                    else "active",
                    account=r.account,
                    region=r.region,
                    peer_owner=owner,
                    peer_region=peer_region,
                    tag_map=tag_map,
                ),
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::EC2::KeyPair":
        name = _named(r, logical, "KeyName", "key pair")
        return [
            res(
                "ec2.key_pair",
                C.key_pair(name=name, key_type=C.key_type_of(p("KeyType"), p("PublicKeyMaterial")), tag_map=tag_map),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::EFS::FileSystem":
        efs_tags = C.tags(p("FileSystemTags"))
        return [
            res(
                "efs.file_system",
                C.efs_file_system(
                    name=efs_tags.get("Name"),
                    encrypted=p("Encrypted"),
                    kms_key_id=p("KmsKeyId"),
                    performance_mode=p("PerformanceMode"),
                    throughput_mode=p("ThroughputMode"),
                    tag_map=efs_tags,
                ),
                name=efs_tags.get("Name"),
            )
        ]
    if rtype == "AWS::FSx::FileSystem":
        fs_type = p("FileSystemType")
        lustre = p("LustreConfiguration") if fs_type == "LUSTRE" else None
        lustre = lustre if isinstance(lustre, dict) else {}
        return [
            res(
                "fsx.file_system",
                C.fsx_file_system(
                    name=tag_map.get("Name"),
                    file_system_type=fs_type,
                    deployment_type=lustre.get("DeploymentType", "SCRATCH_1" if fs_type == "LUSTRE" else None),
                    kms_key_id=p("KmsKeyId"),
                    subnet_ids=p("SubnetIds"),
                    import_path=lustre.get("ImportPath"),
                    export_path=lustre.get("ExportPath"),
                    tag_map=tag_map,
                ),
                name=tag_map.get("Name"),
            )
        ]
    if rtype == "AWS::FSx::DataRepositoryAssociation":
        s3 = p("S3")
        s3 = s3 if isinstance(s3, dict) else {}
        return [
            res(
                "iac.fsx_dra",
                {
                    "file_system": p("FileSystemId"),
                    "association": C.data_repository_association(
                        file_system_path=p("FileSystemPath"),
                        data_repository_path=p("DataRepositoryPath"),
                        import_events=(s3.get("AutoImportPolicy") or {}).get("Events"),
                        export_events=(s3.get("AutoExportPolicy") or {}).get("Events"),
                    ),
                },
            )
        ]
    if rtype == "AWS::RDS::DBSubnetGroup":
        name = r.names.get(logical)
        return [res("iac.db_subnet_group", {"name": name, "subnet_ids": p("SubnetIds") or []}, name=name)]
    if rtype == "AWS::RDS::DBInstance":
        name = _named(r, logical, "DBInstanceIdentifier", "DB instance")
        groups = p("VPCSecurityGroups")
        return [
            res(
                "rds.db_instance",
                C.db_instance(
                    identifier=name,
                    engine=p("Engine"),
                    engine_version=p("EngineVersion"),
                    publicly_accessible=C.bool_or_unknown(p("PubliclyAccessible"), None, "PubliclyAccessible"),
                    storage_encrypted=p("StorageEncrypted"),
                    kms_key_id=p("KmsKeyId"),
                    port=p("Port"),
                    subnet_group=p("DBSubnetGroupName"),
                    master_username=p("MasterUsername"),
                    managed_secret=p("ManageMasterUserPassword"),
                    security_groups=groups,
                    multi_az=p("MultiAZ"),
                    tag_map=tag_map,
                ),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::Logs::LogGroup":
        name = _named(r, logical, "LogGroupName", "log group")
        return [
            res(
                "logs.log_group",
                C.log_group(name=name, retention=p("RetentionInDays"), kms_key_id=p("KmsKeyId")),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "AWS::Lambda::Function":
        return _lambda_function(r, logical, p, res, tag_map, image_uri=p("Code", "ImageUri"))
    if rtype == "AWS::Lambda::Permission":
        return [
            res(
                "iac.lambda_permission",
                {
                    "function": p("FunctionName"),
                    "statement": C.permission_statement(
                        sid=logical,
                        principal=p("Principal"),
                        action=p("Action"),
                        source_arn=p("SourceArn"),
                        source_account=p("SourceAccount"),
                    ),
                },
            )
        ]
    if rtype == "AWS::ApiGateway::RestApi":
        name = p("Name")
        attrs = C.rest_api(
            name=name,
            policy=p("Policy"),
            endpoint_types=p("EndpointConfiguration", "Types"),
            disable_execute=p("DisableExecuteApiEndpoint"),
            tag_map=tag_map,
        )
        if p("Body") is not None or p("BodyS3Location") is not None:
            attrs["methods"] = unknown("the methods come from an OpenAPI definition, not evaluated by ccme-audit")
        return [res("apigateway.rest_api", attrs, name=name if isinstance(name, str) else None)]
    if rtype == "AWS::ApiGateway::Resource":
        return [res("iac.api_resource", {"api": p("RestApiId"), "parent": p("ParentId"), "part": p("PathPart")})]
    if rtype == "AWS::ApiGateway::Method":
        return [
            res(
                "iac.api_method",
                {
                    "api": p("RestApiId"),
                    "resource": p("ResourceId"),
                    "method": C.api_method(
                        http_method=p("HttpMethod"),
                        authorization=p("AuthorizationType"),
                        authorizer_id=p("AuthorizerId"),
                        api_key_required=p("ApiKeyRequired"),
                    ),
                },
            )
        ]
    if rtype == "AWS::SSM::Parameter":
        name = _named(r, logical, "Name", "parameter")
        return [
            res(
                "ssm.parameter",
                C.ssm_parameter(name=name, type_=p("Type"), key_id=None, tier=p("Tier")),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    return []


def _secret_format(secret_string: Any, generate: Any) -> Any:
    """plaintext or json, judged from the template; the value itself is never kept."""
    if secret_string is not None:
        if not isinstance(secret_string, str):
            return unknown("the secret string is known only at deployment")
        import json

        try:
            return "json" if isinstance(json.loads(secret_string), dict) else "plaintext"
        except json.JSONDecodeError:
            return "plaintext" if secret_string else "empty"
    if isinstance(generate, dict):
        return "json" if generate.get("SecretStringTemplate") is not None else "plaintext"
    return "empty"
