"""S3: s3.bucket (every bucket; details only for selected buckets) and the account's Block Public Access.

The CCME rules select buckets by name (the three configured names), so the eight detail calls
are made for those buckets only; other buckets carry their name and unknown("not collected")
attributes. Bucket tags are not collected (no rule reads them).
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, decode_policy, iam_actions, not_collected

RESOURCE_TYPES = ("s3.bucket", "s3.account_public_access_block")
REGIONAL = False
CALLS = (
    Call("s3", "ListBuckets", "s3:ListAllMyBuckets"),
    Call("s3", "GetBucketLocation", "s3:GetBucketLocation"),
    Call("s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    Call("s3", "GetBucketVersioning", "s3:GetBucketVersioning"),
    Call("s3", "GetBucketLogging", "s3:GetBucketLogging"),
    Call("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    Call("s3", "GetBucketPolicy", "s3:GetBucketPolicy"),
    Call("s3", "GetBucketAcl", "s3:GetBucketAcl"),
    Call("s3", "GetBucketOwnershipControls", "s3:GetBucketOwnershipControls"),
    Call("s3control", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
)
IAM_ACTIONS = iam_actions(CALLS)
# Attributes every resource gets from the list calls alone.
LISTED = {"s3.bucket": {"name"}}

DETAIL_ATTRIBUTES = (
    "region",
    "public_access_block",
    "versioning",
    "mfa_delete",
    "logging",
    "encryption",
    "policy",
    "acl_grants",
    "ownership",
)


def collect(ctx: CollectContext) -> None:
    if ctx.plan.wants("s3.account_public_access_block"):
        _account(ctx)
    if not ctx.plan.wants("s3.bucket"):
        return
    buckets = ctx.paginate("s3", "ListBuckets", "Buckets")
    if isinstance(buckets, Failed):
        ctx.type_error("s3.bucket", buckets, regional=False)
        return
    work: list[tuple[dict[str, Any], str]] = []
    chosen: list[dict[str, Any]] = []
    for bucket in buckets:
        name = str(bucket["Name"])
        attributes: dict[str, Any] = {"name": name}
        if ctx.plan.selected("s3.bucket", {"name": name}):
            chosen.append(attributes)
            work.extend((attributes, op) for op in _DETAILS)
        else:
            attributes.update({a: not_collected() for a in DETAIL_ATTRIBUTES})
            ctx.add("s3.bucket", name, attributes, name=name, regional=False)
    ctx.map(lambda item: _DETAILS[item[1]](ctx, item[0]), work)
    for attributes in chosen:
        ctx.add("s3.bucket", attributes["name"], attributes, name=attributes["name"], regional=False)


def _fail(ctx: CollectContext, attributes: dict[str, Any], names: tuple[str, ...], failed: Failed) -> None:
    for name in names:
        attributes[name] = ctx.attribute_error("s3.bucket", attributes["name"], name, failed, regional=False)


def _location(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call("s3", "GetBucketLocation", Bucket=a["name"])
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("region",), answer)
    constraint = (answer or {}).get("LocationConstraint")
    a["region"] = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)
    return None


def _public_access_block(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call("s3", "GetPublicAccessBlock", Bucket=a["name"], absent=("NoSuchPublicAccessBlockConfiguration",))
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("public_access_block",), answer)
    a["public_access_block"] = None if answer is None else _flags(answer.get("PublicAccessBlockConfiguration"))
    return None


def _flags(conf: dict[str, Any] | None) -> dict[str, Any]:
    conf = conf or {}
    return {
        "block_public_acls": conf.get("BlockPublicAcls"),
        "ignore_public_acls": conf.get("IgnorePublicAcls"),
        "block_public_policy": conf.get("BlockPublicPolicy"),
        "restrict_public_buckets": conf.get("RestrictPublicBuckets"),
    }


def _versioning(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call("s3", "GetBucketVersioning", Bucket=a["name"])
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("versioning", "mfa_delete"), answer)
    a["versioning"] = (answer or {}).get("Status")
    a["mfa_delete"] = (answer or {}).get("MFADelete")
    return None


def _logging(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call("s3", "GetBucketLogging", Bucket=a["name"])
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("logging",), answer)
    enabled = (answer or {}).get("LoggingEnabled")
    a["logging"] = (
        None
        if not enabled
        else {
            "target_bucket": enabled.get("TargetBucket", ""),
            "target_prefix": enabled.get("TargetPrefix", ""),
        }
    )
    return None


def _encryption(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call(
        "s3",
        "GetBucketEncryption",
        Bucket=a["name"],
        absent=("ServerSideEncryptionConfigurationNotFoundError",),
    )
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("encryption",), answer)
    if answer is None:
        a["encryption"] = None
        return None
    rules = []
    for rule in (answer.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        rules.append(
            {
                "sse_algorithm": default.get("SSEAlgorithm"),
                "kms_master_key_id": default.get("KMSMasterKeyID"),
                "bucket_key_enabled": rule.get("BucketKeyEnabled"),
            }
        )
    a["encryption"] = {"rules": rules}
    return None


def _policy(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call("s3", "GetBucketPolicy", Bucket=a["name"], absent=("NoSuchBucketPolicy",))
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("policy",), answer)
    a["policy"] = None if answer is None else decode_policy(answer.get("Policy"))
    return None


def _acl(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call("s3", "GetBucketAcl", Bucket=a["name"])
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("acl_grants",), answer)
    a["acl_grants"] = [
        {
            "grantee_type": (g.get("Grantee") or {}).get("Type"),
            "grantee_uri": (g.get("Grantee") or {}).get("URI"),
            "grantee_id": (g.get("Grantee") or {}).get("ID"),
            "permission": g.get("Permission"),
        }
        for g in (answer or {}).get("Grants") or []
    ]
    return None


def _ownership(ctx: CollectContext, a: dict[str, Any]) -> None:
    answer = ctx.call("s3", "GetBucketOwnershipControls", Bucket=a["name"], absent=("OwnershipControlsNotFoundError",))
    if isinstance(answer, Failed):
        return _fail(ctx, a, ("ownership",), answer)
    rules = ((answer or {}).get("OwnershipControls") or {}).get("Rules") or []
    a["ownership"] = rules[0].get("ObjectOwnership") if rules else None
    return None


_DETAILS = {
    "location": _location,
    "public_access_block": _public_access_block,
    "versioning": _versioning,
    "logging": _logging,
    "encryption": _encryption,
    "policy": _policy,
    "acl": _acl,
    "ownership": _ownership,
}


def _account(ctx: CollectContext) -> None:
    rid = f"account/{ctx.account}"
    answer = ctx.call(
        "s3control",
        "GetPublicAccessBlock",
        AccountId=ctx.account,
        absent=("NoSuchPublicAccessBlockConfiguration",),
    )
    if isinstance(answer, Failed):
        ctx.type_error("s3.account_public_access_block", answer, regional=False)
        return
    if answer is None:
        attributes: dict[str, Any] = {"account": ctx.account, "configured": False, **_flags(None)}
    else:
        attributes = {
            "account": ctx.account,
            "configured": True,
            **_flags(answer.get("PublicAccessBlockConfiguration")),
        }
    ctx.add("s3.account_public_access_block", rid, attributes, regional=False)
