"""Canonical shapes built from template values, with the defaults AWS applies at creation.

Both loaders (CloudFormation, Terraform) extract their own property names and call these
builders, so a bucket or a key looks the same to a rule whichever language described it.
Defaults documented by AWS for a newly created resource are applied (a new bucket blocks
public access and encrypts with SSE-S3 since 2023; a new key is an enabled symmetric
encrypt/decrypt key); a value the template leaves to deployment is unknown, never guessed.
"""

from __future__ import annotations

import json
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
