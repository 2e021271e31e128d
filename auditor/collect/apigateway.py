"""API Gateway: apigateway.rest_api from GetRestApis, with every method of every resource
(GetResources with embed=methods, one paginated call per REST API the rules select).

IAM: both reads are the apigateway:GET action on the management API.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, decode_policy, iam_actions, not_collected

RESOURCE_TYPES = ("apigateway.rest_api",)
REGIONAL = True
CALLS = (
    Call("apigateway", "GetRestApis", "apigateway:GET"),
    Call("apigateway", "GetResources", "apigateway:GET"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"apigateway.rest_api": {"id", "name", "policy", "endpoint_types", "disable_execute_api_endpoint", "tags"}}


def collect(ctx: CollectContext) -> None:
    apis = ctx.paginate("apigateway", "GetRestApis", "items")
    if isinstance(apis, Failed):
        ctx.type_error("apigateway.rest_api", apis)
        return
    chosen = []
    for api in apis:
        rid = str(api["id"])
        policy = api.get("policy")
        attributes: dict[str, Any] = {
            "id": rid,
            "name": api.get("name"),
            # GetRestApis returns the policy JSON with its quotes escaped (\").
            "policy": decode_policy(policy.replace('\\"', '"') if isinstance(policy, str) else policy),
            "endpoint_types": list((api.get("endpointConfiguration") or {}).get("types") or []),
            "disable_execute_api_endpoint": api.get("disableExecuteApiEndpoint"),
            "tags": {str(k): str(v) for k, v in (api.get("tags") or {}).items()},
        }
        if ctx.plan.selected("apigateway.rest_api", {"id": rid, "name": attributes["name"], "@id": rid}):
            chosen.append(attributes)
        else:
            attributes["methods"] = not_collected()
            ctx.add("apigateway.rest_api", rid, attributes, name=attributes["name"])
    ctx.map(lambda attributes: _methods(ctx, attributes), chosen)


def _methods(ctx: CollectContext, attributes: dict[str, Any]) -> None:
    rid = attributes["id"]
    resources = ctx.paginate("apigateway", "GetResources", "items", restApiId=rid, embed=["methods"])
    if isinstance(resources, Failed):
        attributes["methods"] = ctx.attribute_error("apigateway.rest_api", rid, "methods", resources)
    else:
        attributes["methods"] = methods(resources)
    ctx.add("apigateway.rest_api", rid, attributes, name=attributes["name"])


def methods(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for resource in sorted(resources, key=lambda r: str(r.get("path"))):
        for verb, method in sorted((resource.get("resourceMethods") or {}).items()):
            method = method or {}
            out.append({
                "resource_path": resource.get("path"),
                "http_method": str(method.get("httpMethod") or verb),
                "authorization_type": method.get("authorizationType"),
                "authorizer_id": method.get("authorizerId"),
                "api_key_required": method.get("apiKeyRequired"),
            })
    return out
