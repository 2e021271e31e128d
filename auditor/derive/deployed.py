"""deployed.resource: `kms_key_arn`, the ARN of the key a deployed resource uses, from the key as its service
reports it (a key ARN, an alias name or ARN, a key id) and the snapshot's kms.alias / kms.key resources.
null stays null (the AWS managed default); a key the snapshot cannot resolve makes it unknown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.snapshot import Resource, Snapshot, is_unknown, unknown

TYPE = "deployed.resource"


def _resolver(snapshot: Snapshot) -> tuple[dict[str, str], dict[str, str]]:
    """(alias name -> target key id, key id -> key ARN)."""
    aliases: dict[str, str] = {}
    keys: dict[str, str] = {}
    for r in snapshot.resources:
        if r.type == "kms.alias" and isinstance(r.attributes.get("target_key_id"), str):
            aliases[str(r.attributes.get("name") or r.id)] = r.attributes["target_key_id"]
        elif r.type == "kms.key" and isinstance(r.attributes.get("arn"), str):
            keys[str(r.attributes.get("key_id") or r.id)] = r.attributes["arn"]
            keys[r.attributes["arn"]] = r.attributes["arn"]
    return aliases, keys


def key_arn(value: Any, aliases: dict[str, str], keys: dict[str, str]) -> Any:
    if value is None or is_unknown(value):
        return value
    text = str(value)
    if ":alias/" in text:
        text = "alias/" + text.split(":alias/", 1)[1]
    if text.startswith("alias/"):
        target = aliases.get(text)
        if target is None:
            return unknown(f"the alias {text} is not in the snapshot")
        text = target
    if ":key/" in text:
        text = text.split(":key/", 1)[1]
    arn = keys.get(text)
    return arn if arn is not None else unknown(f"the key {value} is not in the snapshot")


def derive(snapshot: Snapshot) -> Snapshot:
    if not any(r.type == TYPE for r in snapshot.resources):
        return snapshot
    aliases, keys = _resolver(snapshot)
    out: list[Resource] = []
    for r in snapshot.resources:
        if r.type == TYPE:
            arn = key_arn(r.attributes.get("kms_key"), aliases, keys)
            r = replace(r, attributes={**r.attributes, "kms_key_arn": arn})
        out.append(r)
    return replace(snapshot, resources=tuple(out))
