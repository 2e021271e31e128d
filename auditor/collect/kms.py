"""KMS: kms.alias (every alias) and kms.key (every key; details only for selected keys).

Detail calls (DescribeKey, GetKeyPolicy, GetKeyRotationStatus) are made only for keys that the
rules' scopes select through their aliases, compared case-insensitively and with a doubled
"alias/" folded, so near misses of the configured prefix are read too. Other keys carry their
id, ARN and aliases; their other attributes are unknown("not collected: ..."). The number of
detail calls therefore stays flat as the account grows; only the list calls page.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, decode_policy, iam_actions, not_collected

RESOURCE_TYPES = ("kms.alias", "kms.key")
REGIONAL = True
CALLS = (
    Call("kms", "ListAliases", "kms:ListAliases"),
    Call("kms", "ListKeys", "kms:ListKeys"),
    Call("kms", "DescribeKey", "kms:DescribeKey"),
    Call("kms", "GetKeyPolicy", "kms:GetKeyPolicy"),
    Call("kms", "GetKeyRotationStatus", "kms:GetKeyRotationStatus"),
)
IAM_ACTIONS = iam_actions(CALLS)
# Attributes every resource gets from the list calls alone.
LISTED = {"kms.alias": {"name", "arn", "target_key_id"}, "kms.key": {"key_id", "arn", "aliases"}}

_DESCRIBED = (
    "arn",
    "description",
    "key_manager",
    "key_spec",
    "key_usage",
    "key_state",
    "origin",
    "multi_region",
    "multi_region_key_type",
)


def normalize_alias(name: Any) -> Any:
    """Fold case and a doubled 'alias/' so near misses of a CCME alias are selected too."""
    if not isinstance(name, str):
        return name
    text = name.lower()
    while text.startswith("alias/alias/"):
        text = text[len("alias/") :]
    return text


def collect(ctx: CollectContext) -> None:
    aliases = ctx.paginate("kms", "ListAliases", "Aliases")
    if isinstance(aliases, Failed):
        # Without aliases neither the alias rules nor the key scopes (by alias) can be decided.
        for rtype in RESOURCE_TYPES:
            if ctx.plan.wants(rtype):
                ctx.type_error(rtype, aliases)
        return
    by_key: dict[str, list[str]] = {}
    if ctx.plan.wants("kms.alias"):
        for alias in aliases:
            name = str(alias["AliasName"])
            ctx.add(
                "kms.alias",
                name,
                {"name": name, "arn": alias.get("AliasArn"), "target_key_id": alias.get("TargetKeyId")},
                name=name,
            )
    for alias in aliases:
        if alias.get("TargetKeyId"):
            by_key.setdefault(str(alias["TargetKeyId"]), []).append(str(alias["AliasName"]))
    if not ctx.plan.wants("kms.key"):
        return
    keys = ctx.paginate("kms", "ListKeys", "Keys")
    if isinstance(keys, Failed):
        ctx.type_error("kms.key", keys)
        return
    selected = []
    for key in keys:
        key_id = str(key["KeyId"])
        names = sorted(by_key.get(key_id, []))
        attributes: dict[str, Any] = {"key_id": key_id, "arn": key.get("KeyArn"), "aliases": names}
        if ctx.plan.selected(
            "kms.key",
            {"aliases": names, "key_id": key_id, "arn": key.get("KeyArn")},
            normalize=normalize_alias,
        ):
            selected.append(attributes)
        else:
            for name in (*_DESCRIBED[1:], "policy", "rotation_enabled"):
                attributes[name] = not_collected()
            if attributes.get("arn") is None:  # no ARN in the listing: the schema's arn is a string or absent
                attributes.pop("arn")
            ctx.add("kms.key", str(key.get("KeyArn") or key_id), attributes, name=names[0] if names else None)
    ctx.map(lambda a: _detail(ctx, a), selected)


def _detail(ctx: CollectContext, attributes: dict[str, Any]) -> None:
    key_id = attributes["key_id"]
    rid = str(attributes.get("arn") or key_id)
    described = ctx.call("kms", "DescribeKey", KeyId=key_id)
    if isinstance(described, Failed) or described is None:
        failed = described or Failed("NotFound", "no key metadata", "kms:DescribeKey")
        for name in _DESCRIBED[1:]:
            attributes[name] = ctx.attribute_error("kms.key", rid, name, failed)
    else:
        meta = described.get("KeyMetadata", {})
        attributes.update(
            {
                "arn": meta.get("Arn") or attributes.get("arn"),
                "description": meta.get("Description"),
                "key_manager": meta.get("KeyManager"),
                "key_spec": meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
                "key_usage": meta.get("KeyUsage"),
                "key_state": meta.get("KeyState"),
                "origin": meta.get("Origin"),
                "multi_region": meta.get("MultiRegion"),
                "multi_region_key_type": (meta.get("MultiRegionConfiguration") or {}).get("MultiRegionKeyType"),
            }
        )
    policy = ctx.call("kms", "GetKeyPolicy", KeyId=key_id, PolicyName="default")
    if isinstance(policy, Failed):
        attributes["policy"] = ctx.attribute_error("kms.key", rid, "policy", policy)
    else:
        attributes["policy"] = decode_policy((policy or {}).get("Policy"))
    rotation = ctx.call("kms", "GetKeyRotationStatus", KeyId=key_id)
    if isinstance(rotation, Failed):
        attributes["rotation_enabled"] = ctx.attribute_error("kms.key", rid, "rotation_enabled", rotation)
    else:
        attributes["rotation_enabled"] = (rotation or {}).get("KeyRotationEnabled")
    if attributes.get("arn") is None:
        attributes.pop("arn")
    names = attributes["aliases"]
    ctx.add("kms.key", rid, attributes, name=names[0] if names else None)
