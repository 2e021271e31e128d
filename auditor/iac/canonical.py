"""Canonical shapes built from template values, with the defaults AWS applies at creation.

Both loaders (CloudFormation, Terraform) extract their own property names and call these
builders, so a bucket or a key looks the same to a rule whichever language described it.
Defaults documented by AWS for a newly created resource are applied (a new bucket blocks
public access and encrypts with SSE-S3 since 2023; a new key is an enabled symmetric
encrypt/decrypt key); a value the template leaves to deployment is unknown, never guessed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from auditor.iac.model import Link, bool_or_unknown, text_or_unknown, whole_or_unknown
from auditor.snapshot import is_unknown, unknown

# S3 defaults for buckets created since April 2023 (S3 User Guide, "Default settings for new buckets").
NEW_BUCKET_PUBLIC_ACCESS_BLOCK = {
    "block_public_acls": True,
    "ignore_public_acls": True,
    "block_public_policy": True,
    "restrict_public_buckets": True,
}
NEW_BUCKET_ENCRYPTION = {"rules": [{"sse_algorithm": "AES256", "kms_master_key_id": None, "bucket_key_enabled": False}]}
NEW_BUCKET_OWNERSHIP = "BucketOwnerEnforced"


def policy_document(value: Any, what: str) -> Any:
    """A policy as a decoded JSON object (a JSON string is decoded); unknown parts make it unknown."""
    if value is None or is_unknown(value):
        return value
    if isinstance(value, Link):
        return unknown(f"{what}: {value.describe()} is known only after deployment")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value  # the raw text, as a live collector keeps an undecodable policy
    return whole_or_unknown(value)


def tags(value: Any) -> dict[str, str]:
    """Tags as {key: value}; unresolvable tag values are left out (tags never decide a rule)."""
    out: dict[str, str] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("Key"), str) and isinstance(item.get("Value"), str):
                out[item["Key"]] = item["Value"]
    elif isinstance(value, dict) and not is_unknown(value):
        for key, val in value.items():
            if isinstance(key, str) and isinstance(val, str):
                out[key] = val
    return out


def kms_key(
    *,
    key_id: str,
    description: Any,
    key_spec: Any,
    key_usage: Any,
    enabled: Any,
    multi_region: Any,
    origin: Any,
    policy: Any,
    rotation: Any,
    aliases: list[str],
    tag_map: dict[str, str],
) -> dict[str, Any]:
    multi = bool_or_unknown(multi_region, False, "MultiRegion")
    enabled_value = bool_or_unknown(enabled, True, "Enabled")
    state: Any = enabled_value if is_unknown(enabled_value) else ("Enabled" if enabled_value else "Disabled")
    return {
        "key_id": key_id,
        "arn": unknown("the key ARN is assigned at deployment"),
        "description": text_or_unknown(description, "Description"),
        "key_manager": "CUSTOMER",
        "key_spec": text_or_unknown(key_spec, "KeySpec") if key_spec is not None else "SYMMETRIC_DEFAULT",
        "key_usage": text_or_unknown(key_usage, "KeyUsage") if key_usage is not None else "ENCRYPT_DECRYPT",
        "key_state": state,
        "origin": text_or_unknown(origin, "Origin") if origin is not None else "AWS_KMS",
        "multi_region": multi,
        "multi_region_key_type": multi if is_unknown(multi) else ("PRIMARY" if multi else None),
        "aliases": aliases,
        "policy": policy_document(policy, "KeyPolicy"),
        "rotation_enabled": bool_or_unknown(rotation, False, "EnableKeyRotation"),
        "tags": tag_map,
    }


def public_access_block(flags: dict[str, Any] | None) -> Any:
    """Explicit flags default to false when a configuration is given; none given = the 2023 default."""
    if flags is None:
        return dict(NEW_BUCKET_PUBLIC_ACCESS_BLOCK)
    if is_unknown(flags):
        return flags
    return {k: bool_or_unknown(flags.get(k), False, k) for k in NEW_BUCKET_PUBLIC_ACCESS_BLOCK}


def s3_bucket(
    *,
    name: Any,
    region: str | None,
    versioning: Any,
    logging: Any,
    encryption: Any,
    pab: Any,
    policy: Any,
    ownership: Any,
    tag_map: dict[str, str],
) -> dict[str, Any]:
    return {
        "name": name,
        "region": region,
        "public_access_block": public_access_block(pab) if not is_unknown(pab) else pab,
        "versioning": versioning,
        "mfa_delete": None,
        "logging": logging,
        "encryption": NEW_BUCKET_ENCRYPTION if encryption is None else encryption,
        "policy": policy,
        "ownership": ownership if ownership is not None else NEW_BUCKET_OWNERSHIP,
        "tags": tag_map,
    }


def versioning_status(value: Any) -> Any:
    if value is None or is_unknown(value):
        return value
    if isinstance(value, str) and value in ("Enabled", "Suspended"):
        return value
    if isinstance(value, str) and value == "Disabled":
        return None  # Terraform's "Disabled": never enabled
    return unknown(f"versioning status {value!r} is not Enabled or Suspended"[:200])


def encryption_rule(algorithm: Any, kms_key_id: Any, bucket_key: Any) -> dict[str, Any]:
    return {
        "sse_algorithm": text_or_unknown(algorithm, "SSEAlgorithm"),
        "kms_master_key_id": text_or_unknown(kms_key_id, "KMSMasterKeyID"),
        "bucket_key_enabled": bool_or_unknown(bucket_key, False, "BucketKeyEnabled"),
    }


def split_names(value: Any) -> Any:
    """DHCP values: a space-separated string or a list, as the list DescribeDhcpOptions returns."""
    if value is None:
        return []
    if is_unknown(value):
        return value
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                out.extend(item.split())
            else:
                return unknown("a DHCP option value is known only after deployment")
        return out
    return unknown(f"unexpected DHCP option value {type(value).__name__}")


def route(destination: Any, target_field: str | None, target: Any, ipv6: Any = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "destination_cidr_block": destination,
        "state": "active",
        "origin": "CreateRoute",
    }
    if ipv6 is not None:
        entry["destination_ipv6_cidr_block"] = ipv6
    if target_field:
        entry[target_field] = target
    return entry


def local_route(cidr: Any) -> dict[str, Any]:
    return {
        "destination_cidr_block": cidr,
        "gateway_id": "local",
        "state": "active",
        "origin": "CreateRouteTable",
    }


# --- provisioner (seed 003, pack bbp) resources ---------------------------------------------------

# IP protocol numbers templates may use, as DescribeSecurityGroups names them.
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1", "-1": "-1"}
# Default ports by engine (RDS CreateDBInstance, Port): the port a template leaves out.
ENGINE_PORTS = {
    "mariadb": 3306,
    "mysql": 3306,
    "aurora-mysql": 3306,
    "postgres": 5432,
    "aurora-postgresql": 5432,
    "oracle-ee": 1521,
    "oracle-se2": 1521,
    "sqlserver-ee": 1433,
    "sqlserver-se": 1433,
    "sqlserver-ex": 1433,
    "sqlserver-web": 1433,
}
# The unencrypted-by-default services' AWS managed keys (EFS, FSx, RDS CreateX: KmsKeyId omitted).
AWS_MANAGED_KEY = {
    "efs": "alias/aws/elasticfilesystem",
    "fsx": "alias/aws/fsx",
    "rds": "alias/aws/rds",
}


def protocol(value: Any) -> Any:
    if value is None or is_unknown(value):
        return value if value is not None else "-1"
    if isinstance(value, Link):
        return unknown(f"IpProtocol: {value.describe()} is known only after deployment")
    text = str(value).lower()
    return _PROTOCOLS.get(text, text)


def _port(value: Any, what: str) -> Any:
    if value is None or is_unknown(value):
        return value
    if isinstance(value, bool):
        return unknown(f"{what}: expected a port number, found {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return unknown(f"{what}: expected a port number, found {value!r}"[:200])
    if isinstance(value, Link):
        return unknown(f"{what}: {value.describe()} is known only after deployment")
    return unknown(f"{what}: expected a port number, found {type(value).__name__}")


def sg_rule(
    *,
    protocol_value: Any,
    from_port: Any,
    to_port: Any,
    cidr_ipv4: Any = None,
    cidr_ipv6: Any = None,
    referenced_group_id: Any = None,
    prefix_list_id: Any = None,
    description: Any = None,
) -> dict[str, Any]:
    """One security group rule with one source, as ec2net.permissions flattens DescribeSecurityGroups."""
    proto = protocol(protocol_value)
    low, high = _port(from_port, "FromPort"), _port(to_port, "ToPort")
    if proto == "-1":
        low = high = None
    elif proto in ("tcp", "udp") and low == -1 and high == -1:
        low, high = 0, 65535  # -1 as 'all ports' in a template
    return {
        "protocol": proto,
        "from_port": low,
        "to_port": high,
        "cidr_ipv4": cidr_ipv4,
        "cidr_ipv6": cidr_ipv6,
        "referenced_group_id": referenced_group_id,
        "prefix_list_id": prefix_list_id,
        "description": description if description is None or isinstance(description, str) else None,
    }


# A VPC security group created without egress rules gets this one (EC2 CreateSecurityGroup).
DEFAULT_EGRESS = sg_rule(protocol_value="-1", from_port=None, to_port=None, cidr_ipv4="0.0.0.0/0")


def security_group(
    *, name: Any, vpc_id: Any, description: Any, ingress: Any, egress: Any, tag_map: dict[str, str]
) -> dict[str, Any]:
    return {
        "group_id": None,  # the snapshot id (set when ids are assigned)
        "group_name": text_or_unknown(name, "GroupName") if name is not None else tag_map.get("Name"),
        "vpc_id": vpc_id,
        "description": description if isinstance(description, str) or description is None else None,
        "ingress": ingress,
        "egress": egress,
        "tags": tag_map,
    }


def peering_connection(
    *,
    requester_vpc: Any,
    accepter_vpc: Any,
    status: Any,
    account: str | None,
    region: str | None,
    peer_owner: Any,
    peer_region: Any,
    tag_map: dict[str, str],
) -> dict[str, Any]:
    """Requester and accepter CIDR blocks are filled from the VPCs of the templates (joins)."""
    return {
        "vpc_peering_connection_id": None,
        "status": status,
        "requester_vpc_id": requester_vpc,
        "requester_cidr_blocks": unknown("the requester VPC is not described in the templates"),
        "requester_owner_id": account or unknown("the account is not set (set account in the configuration)"),
        "requester_region": region,
        "accepter_vpc_id": accepter_vpc,
        "accepter_cidr_blocks": unknown("the accepter VPC is not described in the templates"),
        "accepter_owner_id": peer_owner if peer_owner is not None else (
            account or unknown("the account is not set (set account in the configuration)")),
        "accepter_region": peer_region if peer_region is not None else region,
        "tags": tag_map,
    }


def key_type_of(explicit: Any, public_key: Any) -> Any:
    """KeyType: explicit, else read from imported public key material, else rsa (CreateKeyPair's default)."""
    if explicit is not None:
        return text_or_unknown(explicit, "KeyType")
    if public_key is None:
        return "rsa"
    if not isinstance(public_key, str):
        return unknown("the public key material is known only after deployment")
    head = public_key.strip().split(" ", 1)[0]
    if head == "ssh-ed25519":
        return "ed25519"
    if head == "ssh-rsa":
        return "rsa"
    if head.startswith("ecdsa-sha2-"):
        return unknown("an ECDSA public key: EC2 imports only RSA and ED25519 keys")
    return unknown("the public key material is not in OpenSSH format (ssh-rsa or ssh-ed25519)")


def key_pair(*, name: Any, key_type: Any, tag_map: dict[str, str]) -> dict[str, Any]:
    return {
        "key_name": name,
        "key_pair_id": unknown("the key pair id is assigned at deployment"),
        "key_type": key_type,
        "fingerprint": unknown("the fingerprint is computed at deployment"),
        "create_time": None,
        "tags": tag_map,
    }


def efs_file_system(
    *, name: Any, encrypted: Any, kms_key_id: Any, performance_mode: Any, throughput_mode: Any, tag_map: dict[str, str]
) -> dict[str, Any]:
    enc = bool_or_unknown(encrypted, False, "Encrypted")  # EFS CreateFileSystem: unencrypted unless Encrypted
    key = kms_key_id
    if key is None and enc is True:
        key = AWS_MANAGED_KEY["efs"]
    return {
        "file_system_id": None,
        "arn": unknown("the file system ARN is assigned at deployment"),
        "name": name,
        "encrypted": enc,
        "kms_key_id": key,
        "life_cycle_state": None,
        "performance_mode": text_or_unknown(performance_mode, "PerformanceMode") or "generalPurpose",
        "throughput_mode": text_or_unknown(throughput_mode, "ThroughputMode") or "bursting",
        "tags": tag_map,
    }


def fsx_file_system(
    *,
    name: Any,
    file_system_type: Any,
    deployment_type: Any,
    kms_key_id: Any,
    subnet_ids: Any,
    import_path: Any,
    export_path: Any,
    tag_map: dict[str, str],
) -> dict[str, Any]:
    return {
        "file_system_id": None,
        "arn": unknown("the file system ARN is assigned at deployment"),
        "name": name,
        "file_system_type": file_system_type,
        "lifecycle": None,
        "deployment_type": deployment_type,
        "kms_key_id": kms_key_id,
        "vpc_id": unknown("the subnets of the file system are not described in the templates"),
        "subnet_ids": subnet_ids if subnet_ids is not None else [],
        "import_path": import_path,
        "export_path": export_path,
        "data_repository_associations": [],
        "tags": tag_map,
    }


def data_repository_association(
    *, file_system_path: Any, data_repository_path: Any, import_events: Any, export_events: Any
) -> dict[str, Any]:
    bucket: Any = None
    if isinstance(data_repository_path, str):
        match = re.match(r"s3://([^/]+)", data_repository_path)
        bucket = match.group(1) if match else None
    elif data_repository_path is not None:
        bucket = data_repository_path
    return {
        "association_id": None,
        "file_system_path": file_system_path,
        "data_repository_path": data_repository_path,
        "bucket": bucket,
        "lifecycle": None,
        "auto_import_events": import_events if import_events is not None else [],
        "auto_export_events": export_events if export_events is not None else [],
    }


def db_instance(
    *,
    identifier: Any,
    engine: Any,
    engine_version: Any,
    publicly_accessible: Any,
    storage_encrypted: Any,
    kms_key_id: Any,
    port: Any,
    subnet_group: Any,
    master_username: Any,
    managed_secret: Any,
    security_groups: Any,
    multi_az: Any,
    tag_map: dict[str, str],
) -> dict[str, Any]:
    """publicly_accessible None means 'not set': the joins decide it from the subnet group's VPC."""
    enc = bool_or_unknown(storage_encrypted, False, "StorageEncrypted")
    key = kms_key_id
    if key is None and enc is True:
        key = AWS_MANAGED_KEY["rds"]
    port_value = _port(port, "Port")
    if port_value is None:
        port_value = ENGINE_PORTS.get(engine) if isinstance(engine, str) else None
        if port_value is None:
            port_value = unknown(f"no Port and no known default port for engine {engine!r}"[:200])
    managed = bool_or_unknown(managed_secret, False, "ManageMasterUserPassword")
    return {
        "db_instance_identifier": identifier,
        "arn": unknown("the DB instance ARN is assigned at deployment"),
        "engine": text_or_unknown(engine, "Engine"),
        "engine_version": text_or_unknown(engine_version, "EngineVersion"),
        "status": None,
        "publicly_accessible": publicly_accessible,
        "storage_encrypted": enc,
        "kms_key_id": key,
        "vpc_id": unknown("no DB subnet group in the templates: the instance goes to the default VPC"),
        "subnet_ids": [],
        "availability_zones": unknown("no DB subnet group in the templates: the default VPC's zones"),
        "endpoint_address": unknown("the endpoint address is assigned at deployment"),
        "endpoint_port": port_value,
        "endpoint": unknown("the endpoint address is assigned at deployment"),
        "master_username": text_or_unknown(master_username, "MasterUsername"),
        "master_user_secret_arn": (
            unknown("RDS creates the master user secret at deployment (ManageMasterUserPassword)")
            if managed is True
            else (managed if is_unknown(managed) else None)
        ),
        "vpc_security_group_ids": security_groups
        if security_groups not in (None, [])
        else unknown("no VPC security group: the instance gets the VPC's default security group"),
        "multi_az": bool_or_unknown(multi_az, False, "MultiAZ"),
        "tags": tag_map,
        "$subnet_group": subnet_group,  # resolved by the joins, then dropped
    }


def log_group(*, name: Any, retention: Any, kms_key_id: Any) -> dict[str, Any]:
    days = whole_number(retention, "RetentionInDays")
    return {
        "log_group_name": name,
        "arn": unknown("the log group ARN is assigned at deployment"),
        "retention_in_days": None if days == 0 else days,  # 0 (Terraform): never expire
        "kms_key_id": kms_key_id,
        "stored_bytes": None,
    }


def whole_number(value: Any, what: str) -> Any:
    if value is None or is_unknown(value) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, Link):
        return unknown(f"{what}: {value.describe()} is known only after deployment")
    return unknown(f"{what}: expected a whole number, found {value!r}"[:200])


def lambda_function(
    *, name: Any, package_type: Any, runtime: Any, role: Any, image_uri: Any, vpc: bool, tag_map: dict[str, str]
) -> dict[str, Any]:
    kind = text_or_unknown(package_type, "PackageType") if package_type is not None else "Zip"
    return {
        "function_name": name,
        "arn": unknown("the function ARN is assigned at deployment"),
        "package_type": kind,
        "runtime": runtime if isinstance(runtime, str) or runtime is None else None,
        "role": role if isinstance(role, str) else None,
        "image_uri": image_uri if kind == "Image" else None,
        "resolved_image_uri": unknown("the image digest is resolved at deployment") if kind == "Image" else None,
        # Lambda runs container images from Amazon ECR only (Lambda developer guide, container images).
        "repository_type": "ECR" if kind == "Image" else (kind if is_unknown(kind) else None),
        "policy": None,
        "policy_statements": [],
        "vpc_id": unknown("the VPC of the function's subnets is not resolved from templates") if vpc else None,
        "tags": tag_map,
    }


def permission_statement(*, sid: Any, principal: Any, action: Any, source_arn: Any, source_account: Any) -> Any:
    """An AddPermission call as GetPolicy shows it, flattened like lambdafn.statements."""
    for value, what in ((principal, "Principal"), (source_arn, "SourceArn"), (source_account, "SourceAccount")):
        reason = _reason(value, what)
        if reason:
            return unknown(reason)
    services: list[str] = []
    aws: list[str] = []
    if isinstance(principal, str):
        if principal.endswith(".amazonaws.com") or principal.endswith(".amazonaws.com.cn"):
            services = [principal]
        else:
            aws = [principal]
    return {
        "sid": sid if isinstance(sid, str) else None,
        "effect": "Allow",
        "principal_services": services,
        "principal_aws": aws,
        "actions": [action] if isinstance(action, str) else [],
        "source_arn": source_arn,
        "source_account": source_account,
    }


def _reason(value: Any, what: str) -> str | None:
    if is_unknown(value):
        return f"{what}: {value['$unknown']}"
    if isinstance(value, Link):
        return f"{what}: {value.describe()} is known only after deployment"
    return None


def rest_api(
    *, name: Any, policy: Any, endpoint_types: Any, disable_execute: Any, tag_map: dict[str, str]
) -> dict[str, Any]:
    return {
        "id": None,
        "name": name,
        "policy": policy_document(policy, "Policy"),
        "endpoint_types": endpoint_types if endpoint_types is not None else ["EDGE"],  # CreateRestApi default
        "disable_execute_api_endpoint": bool_or_unknown(disable_execute, False, "DisableExecuteApiEndpoint"),
        "methods": [],
        "tags": tag_map,
    }


def api_method(*, http_method: Any, authorization: Any, authorizer_id: Any, api_key_required: Any) -> dict[str, Any]:
    return {
        "resource_path": None,  # filled by the joins from the resource tree
        "http_method": text_or_unknown(http_method, "HttpMethod"),
        "authorization_type": text_or_unknown(authorization, "AuthorizationType") if authorization is not None
        else "NONE",
        "authorizer_id": authorizer_id if isinstance(authorizer_id, str) or authorizer_id is None else None,
        "api_key_required": bool_or_unknown(api_key_required, False, "ApiKeyRequired"),
    }


def ssm_parameter(*, name: Any, type_: Any, key_id: Any, tier: Any) -> dict[str, Any]:
    """Names and types only: a parameter's value is never read."""
    return {
        "name": name,
        "type": text_or_unknown(type_, "Type"),
        "key_id": key_id if type_ == "SecureString" else None,
        "tier": text_or_unknown(tier, "Tier") if tier is not None else "Standard",
        "last_modified": None,
    }
