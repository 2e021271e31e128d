"""CCME's deployed resources -> deployed.resource: after deployment, the resources of the CloudFormation stacks
the configuration names (`deployment.stacks`, per region; cloudformation:ListStackResources) whose encryption
key seed 000 assigns, with the key each one uses:

- AWS::SNS::Topic (sns:GetTopicAttributes KmsMasterKeyId) -> the <KMS_PREFIX>/sns key;
- AWS::Logs::LogGroup (logs:DescribeLogGroups kmsKeyId) -> <KMS_PREFIX>/cloudWatch;
- AWS::Lambda::Function (lambda:GetFunctionConfiguration KMSKeyArn, environment encryption) -> <KMS_PREFIX>/lambda;
- AWS::SecretsManager::Secret (secretsmanager:DescribeSecret KmsKeyId) -> <KMS_PREFIX>/secrets.

`kms_key` is the key as the service reports it (an ARN, an alias or a key id; null for the AWS managed
default); auditor/derive/deployed.py resolves it to the key's ARN (`kms_key_arn`). A named stack that does not
exist, or a call that fails, is a collection error (ERROR), never an absent resource.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions

RESOURCE_TYPES = ("deployed.resource",)
REGIONAL = True
CALLS = (
    Call("cloudformation", "ListStackResources", "cloudformation:ListStackResources"),
    Call("sns", "GetTopicAttributes", "sns:GetTopicAttributes"),
    Call("logs", "DescribeLogGroups", "logs:DescribeLogGroups"),
    Call("lambda", "GetFunctionConfiguration", "lambda:GetFunctionConfiguration"),
    Call("secretsmanager", "DescribeSecret", "secretsmanager:DescribeSecret"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"deployed.resource": {"*"}}
KINDS = {"AWS::SNS::Topic": "sns", "AWS::Logs::LogGroup": "logs", "AWS::Lambda::Function": "lambda",
         "AWS::SecretsManager::Secret": "secrets"}


def stacks(ctx: CollectContext) -> list[str]:
    section = ctx.config.data.get("deployment") or {}
    return [str(s) for s in (section.get("stacks") or [])] if isinstance(section, dict) else []


def collect(ctx: CollectContext) -> None:
    for stack in stacks(ctx):
        summaries = ctx.paginate("cloudformation", "ListStackResources", "StackResourceSummaries", StackName=stack)
        if isinstance(summaries, Failed):
            ctx.type_error("deployed.resource", summaries)
            continue
        chosen = [s for s in summaries if s.get("ResourceType") in KINDS and s.get("PhysicalResourceId")]
        ctx.map(lambda s, stack=stack: _resource(ctx, stack, s), chosen)  # type: ignore[misc]


def _key(ctx: CollectContext, kind: str, physical: str) -> Any:
    """The key as the service reports it (None: the AWS managed default), or Failed."""
    if kind == "sns":
        answer = ctx.call("sns", "GetTopicAttributes", TopicArn=physical)
        return answer if isinstance(answer, Failed) else ((answer or {}).get("Attributes") or {}).get("KmsMasterKeyId")
    if kind == "logs":
        # Every page (groups sharing the prefix may come first); a group the stack names and the listing lacks is
        # a collection error, never the AWS managed default (found by the all-operations property test).
        groups = ctx.paginate("logs", "DescribeLogGroups", "logGroups", logGroupNamePrefix=physical)
        if isinstance(groups, Failed):
            return groups
        group = next((g for g in groups if isinstance(g, dict) and g.get("logGroupName") == physical), None)
        if group is None:
            return Failed("ResourceNotFound", f"the stack's log group {physical} is not in the answer of "
                          "logs:DescribeLogGroups", "logs:DescribeLogGroups")
        return group.get("kmsKeyId")
    if kind == "lambda":
        answer = ctx.call("lambda", "GetFunctionConfiguration", FunctionName=physical)
        return answer if isinstance(answer, Failed) else (answer or {}).get("KMSKeyArn")
    answer = ctx.call("secretsmanager", "DescribeSecret", SecretId=physical)
    return answer if isinstance(answer, Failed) else (answer or {}).get("KmsKeyId")


def _resource(ctx: CollectContext, stack: str, summary: dict[str, Any]) -> None:
    kind = KINDS[str(summary["ResourceType"])]
    physical = str(summary["PhysicalResourceId"])
    rid = f"{stack}/{summary.get('LogicalResourceId')}"
    attributes: dict[str, Any] = {"stack": stack, "logical_id": summary.get("LogicalResourceId"),
                                  "cfn_type": summary.get("ResourceType"), "physical_id": physical, "kind": kind}
    key = _key(ctx, kind, physical)
    attributes["kms_key"] = ctx.attribute_error("deployed.resource", rid, "kms_key", key) \
        if isinstance(key, Failed) else key
    ctx.add("deployed.resource", rid, attributes, name=physical)
