"""Secrets Manager: secretsmanager.secret from ListSecrets (metadata only, no value).

The value is read (GetSecretValue) only when options.read_secret_values is set, and only for the
secrets the rules select (the configured secret name). It is classified in memory as plaintext,
json, binary or empty and dropped at once: never stored, printed or logged. Otherwise
value_format is unknown("not read: pass --read-secret-values").
"""

from __future__ import annotations

import json
from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions, tag_map
from auditor.snapshot import unknown

RESOURCE_TYPES = ("secretsmanager.secret",)
REGIONAL = True
OPTION = "read_secret_values"
CALLS = (
    Call("secretsmanager", "ListSecrets", "secretsmanager:ListSecrets"),
    Call("secretsmanager", "GetSecretValue", "secretsmanager:GetSecretValue", option=OPTION),
)
IAM_ACTIONS = iam_actions(CALLS)
# Attributes every resource gets from the list calls alone (all but value_format).
LISTED = {"secretsmanager.secret": {"name", "arn", "kms_key_id", "deleted_date", "tags"}}
NOT_READ = "not read: pass --read-secret-values"


def collect(ctx: CollectContext) -> None:
    secrets = ctx.paginate("secretsmanager", "ListSecrets", "SecretList", IncludePlannedDeletion=True)
    if isinstance(secrets, Failed):
        ctx.type_error("secretsmanager.secret", secrets)
        return
    reading = OPTION in ctx.plan.options
    chosen = []
    for secret in secrets:
        name = str(secret["Name"])
        deleted = secret.get("DeletedDate")
        attributes: dict[str, Any] = {
            "name": name,
            "arn": secret.get("ARN"),
            "kms_key_id": secret.get("KmsKeyId"),
            "deleted_date": deleted.isoformat() if hasattr(deleted, "isoformat") else deleted,
            "value_format": unknown(NOT_READ),
            "tags": tag_map(secret.get("Tags")),
        }
        rid = str(secret.get("ARN") or name)
        if reading and ctx.plan.selected("secretsmanager.secret", {"name": name, "arn": secret.get("ARN")}):
            chosen.append((rid, attributes))
        else:
            ctx.add("secretsmanager.secret", rid, attributes, name=name)
    ctx.map(lambda item: _value_format(ctx, *item), chosen)


def classify_value(answer: dict[str, Any]) -> str:
    """plaintext, json, binary or empty; the caller drops the answer right after."""
    if answer.get("SecretBinary") is not None:
        return "binary"
    text = answer.get("SecretString")
    if text is None or text == "":
        return "empty"
    try:
        decoded = json.loads(text)
    except ValueError:
        return "plaintext"
    return "json" if isinstance(decoded, dict | list) else "plaintext"


def _value_format(ctx: CollectContext, rid: str, attributes: dict[str, Any]) -> None:
    # ResourceNotFoundException on a secret just listed: it has no AWSCURRENT value (empty).
    answer = ctx.call(
        "secretsmanager",
        "GetSecretValue",
        SecretId=attributes["arn"] or attributes["name"],
        absent=("ResourceNotFoundException",),
    )
    if isinstance(answer, Failed):
        attributes["value_format"] = ctx.attribute_error("secretsmanager.secret", rid, "value_format", answer)
    else:
        attributes["value_format"] = "empty" if answer is None else classify_value(answer)
    answer = None  # the value is dropped here and never leaves this function
    ctx.add("secretsmanager.secret", rid, attributes, name=attributes["name"])
