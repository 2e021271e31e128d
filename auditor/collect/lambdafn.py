"""Lambda: lambda.function from ListFunctions; for the functions the rules select, GetFunction (the
image URI and repository type) and GetPolicy (the resource policy, normalised per statement).

A function without a resource policy (ResourceNotFoundException on GetPolicy) has policy null and
no statements: only principals of its own account with IAM permissions can invoke it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, decode_policy, iam_actions, not_collected

RESOURCE_TYPES = ("lambda.function",)
REGIONAL = True
CALLS = (
    Call("lambda", "ListFunctions", "lambda:ListFunctions"),
    Call("lambda", "GetFunction", "lambda:GetFunction"),
    Call("lambda", "GetPolicy", "lambda:GetPolicy"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"lambda.function": {"function_name", "arn", "package_type", "runtime", "role", "vpc_id"}}
DETAIL = ("image_uri", "resolved_image_uri", "repository_type", "policy", "policy_statements", "tags")


def collect(ctx: CollectContext) -> None:
    items = ctx.paginate("lambda", "ListFunctions", "Functions")
    if isinstance(items, Failed):
        ctx.type_error("lambda.function", items)
        return
    chosen = []
    for item in items:
        name = str(item["FunctionName"])
        attributes: dict[str, Any] = {
            "function_name": name,
            "arn": item.get("FunctionArn"),
            "package_type": item.get("PackageType", "Zip"),
            "runtime": item.get("Runtime"),
            "role": item.get("Role"),
            "vpc_id": (item.get("VpcConfig") or {}).get("VpcId") or None,
        }
        if ctx.plan.selected("lambda.function", {"function_name": name, "@id": name, "@name": name}):
            chosen.append(attributes)
        else:
            attributes.update({k: not_collected() for k in DETAIL})
            ctx.add("lambda.function", name, attributes, name=name)
    ctx.map(lambda attributes: _details(ctx, attributes), chosen)


def _details(ctx: CollectContext, attributes: dict[str, Any]) -> None:
    name = attributes["function_name"]
    answer = ctx.call("lambda", "GetFunction", FunctionName=name)
    if isinstance(answer, Failed):
        for key in ("image_uri", "resolved_image_uri", "repository_type", "tags"):
            attributes[key] = ctx.attribute_error("lambda.function", name, key, answer)
    else:
        code = (answer or {}).get("Code") or {}
        attributes["image_uri"] = code.get("ImageUri")
        attributes["resolved_image_uri"] = code.get("ResolvedImageUri")
        attributes["repository_type"] = code.get("RepositoryType")
        attributes["tags"] = {str(k): str(v) for k, v in ((answer or {}).get("Tags") or {}).items()}
    policy = ctx.call("lambda", "GetPolicy", FunctionName=name, absent=("ResourceNotFoundException",))
    if isinstance(policy, Failed):
        attributes["policy"] = ctx.attribute_error("lambda.function", name, "policy", policy)
        attributes["policy_statements"] = ctx.attribute_error("lambda.function", name, "policy_statements", policy)
    else:
        document = decode_policy((policy or {}).get("Policy"))
        attributes["policy"] = document
        attributes["policy_statements"] = statements(document)
    ctx.add("lambda.function", name, attributes, name=name)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _condition(conditions: Any, key: str) -> str | None:
    """The value(s) of a condition key under any operator (keys are case-insensitive), joined by ','."""
    values: list[str] = []
    if isinstance(conditions, dict):
        for block in conditions.values():
            if isinstance(block, dict):
                for name, value in block.items():
                    if str(name).lower() == key:
                        values.extend(_strings(value))
    return ",".join(values) if values else None


def statements(document: Any) -> list[dict[str, Any]]:
    """The policy's statements as flat records (a raw, undecodable policy gives none)."""
    if not isinstance(document, dict):
        return []
    raw = document.get("Statement")
    items: Iterable[Any] = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        principal = item.get("Principal")
        services: list[str] = []
        aws: list[str] = []
        if principal == "*":
            aws = ["*"]
        elif isinstance(principal, dict):
            services = _strings(principal.get("Service"))
            aws = _strings(principal.get("AWS"))
        out.append({
            "sid": item.get("Sid"),
            "effect": item.get("Effect"),
            "principal_services": services,
            "principal_aws": aws,
            "actions": _strings(item.get("Action")),
            "source_arn": _condition(item.get("Condition"), "aws:sourcearn"),
            "source_account": _condition(item.get("Condition"), "aws:sourceaccount"),
        })
    return out
