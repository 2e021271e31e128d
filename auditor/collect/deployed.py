"""CCME's deployed resources -> deployed.resource: after deployment, the resources of the CloudFormation stacks
the configuration names (`deployment.stacks`, per region; cloudformation:ListStackResources) whose encryption
key seed 000 assigns, with the key each one uses:

- AWS::SNS::Topic (sns:GetTopicAttributes KmsMasterKeyId) -> the <KMS_PREFIX>/sns key;
- AWS::Logs::LogGroup (logs:DescribeLogGroups kmsKeyId) -> <KMS_PREFIX>/cloudWatch;
- AWS::Lambda::Function (lambda:GetFunctionConfiguration KMSKeyArn, environment encryption) -> <KMS_PREFIX>/lambda;
- AWS::SecretsManager::Secret (secretsmanager:DescribeSecret KmsKeyId) -> <KMS_PREFIX>/secrets;
- AWS::FSx::FileSystem (fsx:DescribeFileSystems KmsKeyId) and AWS::EFS::FileSystem (elasticfilesystem:
  DescribeFileSystems KmsKeyId) -> <KMS_PREFIX>/file_systems;
- the EBS volumes (ec2:DescribeVolumes KmsKeyId) attached to CCME's instances: the stacks' AWS::EC2::Instance
  resources and the nodes of a ParallelCluster cluster whose stack is named (ec2:DescribeInstances, tag
  parallelcluster:cluster-name = the stack's name, which ParallelCluster gives its cluster stack). The key
  follows the instance's role: the Management Host (`management_host`) -> <KMS_PREFIX>/cmh_ebs, the DCV proxy
  (`deployment.dcv_proxy`) -> <KMS_PREFIX>/dcv_proxy_ebs, a ParallelCluster node (tag
  parallelcluster:cluster-name) -> <KMS_PREFIX>/clusters_ebs. An instance of none of these roles leaves its
  volumes' kind unknown (ERROR naming how to say which it is), never a guessed key.

Instead of (or besides) stacks, `deployment.name_prefix` finds CCME's instances and FSx file systems by their
Name tag (ec2:DescribeInstances with a tag:Name filter, fsx:DescribeFileSystems).

`kms_key` is the key as the service reports it (an ARN, an alias or a key id; null for the AWS managed
default); auditor/derive/deployed.py resolves it to the key's ARN (`kms_key_arn`). A named stack that does not
exist, or a call that fails, is a collection error (ERROR), never an absent resource.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions
from auditor.snapshot import unknown

RESOURCE_TYPES = ("deployed.resource",)
REGIONAL = True
CALLS = (
    Call("cloudformation", "ListStackResources", "cloudformation:ListStackResources"),
    Call("sns", "GetTopicAttributes", "sns:GetTopicAttributes"),
    Call("logs", "DescribeLogGroups", "logs:DescribeLogGroups"),
    Call("lambda", "GetFunctionConfiguration", "lambda:GetFunctionConfiguration"),
    Call("secretsmanager", "DescribeSecret", "secretsmanager:DescribeSecret"),
    Call("ec2", "DescribeInstances", "ec2:DescribeInstances"),
    Call("ec2", "DescribeVolumes", "ec2:DescribeVolumes"),
    Call("fsx", "DescribeFileSystems", "fsx:DescribeFileSystems"),
    Call("efs", "DescribeFileSystems", "elasticfilesystem:DescribeFileSystems"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"deployed.resource": {"*"}}
KINDS = {"AWS::SNS::Topic": "sns", "AWS::Logs::LogGroup": "logs", "AWS::Lambda::Function": "lambda",
         "AWS::SecretsManager::Secret": "secrets", "AWS::EFS::FileSystem": "efs"}


TYPE = "deployed.resource"
_ROLE_KIND = {"cmh": "ebs_cmh", "dcv_proxy": "ebs_dcv_proxy", "clusters": "ebs_clusters"}
_CHUNK = 200  # ids per DescribeVolumes filter value list / DescribeFileSystems call


def stacks(ctx: CollectContext) -> list[str]:
    section = ctx.config.data.get("deployment") or {}
    return [str(s) for s in (section.get("stacks") or [])] if isinstance(section, dict) else []


def name_prefix(ctx: CollectContext) -> str | None:
    section = ctx.config.data.get("deployment") or {}
    value = section.get("name_prefix") if isinstance(section, dict) else None
    return str(value) if value else None


def collect(ctx: CollectContext) -> None:
    instances: dict[str, str | None] = {}  # instance id -> the stack it was found through (None: name prefix)
    file_systems: dict[str, str | None] = {}
    for stack in stacks(ctx):
        summaries = ctx.paginate("cloudformation", "ListStackResources", "StackResourceSummaries", StackName=stack)
        if isinstance(summaries, Failed):
            ctx.type_error(TYPE, summaries)
            continue
        chosen = [s for s in summaries if s.get("ResourceType") in KINDS and s.get("PhysicalResourceId")]
        ctx.map(lambda s, stack=stack: _resource(ctx, stack, s), chosen)  # type: ignore[misc]
        for s in summaries:
            physical = s.get("PhysicalResourceId")
            if s.get("ResourceType") == "AWS::EC2::Instance" and physical:
                instances.setdefault(str(physical), stack)
            elif s.get("ResourceType") == "AWS::FSx::FileSystem" and physical:
                file_systems.setdefault(str(physical), stack)
        # A ParallelCluster cluster's stack carries the cluster's name: its nodes (launched by the head node,
        # not stack resources) carry it in the tag parallelcluster:cluster-name.
        nodes = _instances(ctx, [{"Name": "tag:parallelcluster:cluster-name", "Values": [stack]}])
        if nodes is None:
            continue
        for instance in nodes:
            instances.setdefault(str(instance["InstanceId"]), stack)
    prefix = name_prefix(ctx)
    found: list[dict[str, Any]] = []
    if prefix:
        named = _instances(ctx, [{"Name": "tag:Name", "Values": [f"{prefix}*"]}])
        for instance in named or []:
            instances.setdefault(str(instance["InstanceId"]), None)
        listed = ctx.paginate("fsx", "DescribeFileSystems", "FileSystems")
        if isinstance(listed, Failed):
            ctx.type_error(TYPE, listed)
        else:
            for item in listed:
                name = next((str(t.get("Value")) for t in item.get("Tags") or [] if t.get("Key") == "Name"), "")
                if name.startswith(prefix) and item.get("FileSystemId"):
                    file_systems.setdefault(str(item["FileSystemId"]), None)
                    found.append(item)
    if instances:
        _volumes(ctx, instances)
    if file_systems:
        _file_systems(ctx, file_systems, found)


def _instances(ctx: CollectContext, filters: list[dict[str, Any]] | None = None,
               ids: list[str] | None = None) -> list[dict[str, Any]] | None:
    """Running or stopped instances (a collection error, and None, when the call fails)."""
    params: dict[str, Any] = {"Filters": filters} if filters else {"InstanceIds": ids or []}
    reservations = ctx.paginate("ec2", "DescribeInstances", "Reservations", **params)
    if isinstance(reservations, Failed):
        ctx.type_error(TYPE, reservations)
        return None
    out = []
    for reservation in reservations:
        for instance in reservation.get("Instances") or []:
            if (instance.get("State") or {}).get("Name") in ("terminated", "shutting-down"):
                continue
            if instance.get("InstanceId"):
                out.append(instance)
    return out


def _named(ctx: CollectContext, key: str) -> str | None:
    value = ctx.config.data.get(key) if key == "management_host" else (
        (ctx.config.data.get("deployment") or {}).get(key))
    return str(value) if value else None


def role_of(instance: dict[str, Any], management_host: str | None, dcv_proxy: str | None) -> Any:
    """cmh, dcv_proxy, clusters, or unknown (which CCME key its volumes need cannot be told)."""
    tags = {str(t.get("Key")): str(t.get("Value")) for t in instance.get("Tags") or []}
    names = {str(instance.get("InstanceId")), tags.get("Name", "")}
    if management_host and management_host in names:
        return "cmh"
    if dcv_proxy and dcv_proxy in names:
        return "dcv_proxy"
    if "parallelcluster:cluster-name" in tags:
        return "clusters"
    return unknown(
        f"the instance {instance.get('InstanceId')} ({tags.get('Name') or 'no Name tag'}) is CCME's, but neither "
        "the Management Host (management_host), the DCV proxy (deployment.dcv_proxy) nor a ParallelCluster node "
        "(tag parallelcluster:cluster-name): which CCME key its volumes need cannot be told")


def _volumes(ctx: CollectContext, instances: dict[str, str | None]) -> None:
    ids = sorted(instances)
    described: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = _instances(ctx, ids=ids[start:start + _CHUNK])
        if chunk is None:
            return
        described.update({str(i["InstanceId"]): i for i in chunk})
    management_host, dcv_proxy = _named(ctx, "management_host"), _named(ctx, "dcv_proxy")
    roles = {iid: role_of(i, management_host, dcv_proxy) for iid, i in described.items()}
    for start in range(0, len(ids), _CHUNK):
        chunk_ids = [i for i in ids[start:start + _CHUNK] if i in described]
        if not chunk_ids:
            continue
        volumes = ctx.paginate("ec2", "DescribeVolumes", "Volumes",
                               Filters=[{"Name": "attachment.instance-id", "Values": chunk_ids}])
        if isinstance(volumes, Failed):
            ctx.type_error(TYPE, volumes)
            return
        _add_unanswered(ctx, instances, [described[i] for i in chunk_ids], volumes, roles)
        for volume in volumes:
            vid = str(volume["VolumeId"])
            attached = [str(a.get("InstanceId")) for a in volume.get("Attachments") or []
                        if str(a.get("InstanceId")) in roles]
            iid = attached[0] if attached else None
            role = roles.get(iid) if iid else unknown(f"the volume {vid} names no CCME instance it is attached to")
            stack = instances.get(iid) if iid else None
            ctx.add(TYPE, f"{stack or 'name_prefix'}/{iid}/{vid}", {
                "stack": stack, "found_by": "stack" if stack else "name_prefix", "logical_id": None,
                "cfn_type": "AWS::EC2::Volume", "physical_id": vid, "instance_id": iid,
                "kind": _ROLE_KIND[role] if isinstance(role, str) else role,
                "kms_key": volume.get("KmsKeyId") if volume.get("Encrypted") else None,
            }, name=vid)


def _add_unanswered(ctx: CollectContext, instances: dict[str, str | None], described: list[dict[str, Any]],
                    volumes: list[dict[str, Any]], roles: dict[str, Any]) -> None:
    """A volume an instance lists (BlockDeviceMappings) that DescribeVolumes did not return: its key is unknown
    (ERROR on that volume), never a volume less to judge."""
    answered = {str(v.get("VolumeId")) for v in volumes}
    for instance in described:
        iid = str(instance["InstanceId"])
        for mapping in instance.get("BlockDeviceMappings") or []:
            vid = (mapping.get("Ebs") or {}).get("VolumeId")
            if not vid or str(vid) in answered:
                continue
            role = roles.get(iid)
            stack = instances.get(iid)
            ctx.add(TYPE, f"{stack or 'name_prefix'}/{iid}/{vid}", {
                "stack": stack, "found_by": "stack" if stack else "name_prefix", "logical_id": None,
                "cfn_type": "AWS::EC2::Volume", "physical_id": str(vid), "instance_id": iid,
                "kind": _ROLE_KIND[role] if isinstance(role, str) else role,
                "kms_key": unknown(f"the volume {vid} attached to {iid} is not in the ec2:DescribeVolumes answer"),
            }, name=str(vid))


def _file_systems(ctx: CollectContext, wanted: dict[str, str | None], listed: list[dict[str, Any]]) -> None:
    by_id = {str(i["FileSystemId"]): i for i in listed}
    missing = sorted(i for i in wanted if i not in by_id)
    for start in range(0, len(missing), _CHUNK):
        items = ctx.paginate("fsx", "DescribeFileSystems", "FileSystems", FileSystemIds=missing[start:start + _CHUNK])
        if isinstance(items, Failed):
            ctx.type_error(TYPE, items)
            return
        by_id.update({str(i["FileSystemId"]): i for i in items})
    for fid, stack in sorted(wanted.items()):
        item = by_id.get(fid)
        if item is None:
            ctx.type_error(TYPE, Failed("NotFound", f"the FSx file system {fid} of CCME is not described",
                                        "fsx:DescribeFileSystems"))
            continue
        ctx.add(TYPE, f"{stack or 'name_prefix'}/{fid}", {
            "stack": stack, "found_by": "stack" if stack else "name_prefix", "logical_id": None,
            "cfn_type": "AWS::FSx::FileSystem", "physical_id": fid, "kind": "fsx", "kms_key": item.get("KmsKeyId"),
        }, name=fid)


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
    if kind == "efs":
        answer = ctx.call("efs", "DescribeFileSystems", FileSystemId=physical)
        if isinstance(answer, Failed):
            return answer
        systems = (answer or {}).get("FileSystems") or []
        if not systems:
            return Failed("NotFound", f"the EFS file system {physical} is not described",
                          "elasticfilesystem:DescribeFileSystems")
        return systems[0].get("KmsKeyId") if systems[0].get("Encrypted") else None
    answer = ctx.call("secretsmanager", "DescribeSecret", SecretId=physical)
    return answer if isinstance(answer, Failed) else (answer or {}).get("KmsKeyId")


def _resource(ctx: CollectContext, stack: str, summary: dict[str, Any]) -> None:
    kind = KINDS[str(summary["ResourceType"])]
    physical = str(summary["PhysicalResourceId"])
    rid = f"{stack}/{summary.get('LogicalResourceId')}"
    attributes: dict[str, Any] = {"stack": stack, "found_by": "stack", "logical_id": summary.get("LogicalResourceId"),
                                  "cfn_type": summary.get("ResourceType"), "physical_id": physical, "kind": kind}
    key = _key(ctx, kind, physical)
    attributes["kms_key"] = ctx.attribute_error("deployed.resource", rid, "kms_key", key) \
        if isinstance(key, Failed) else key
    ctx.add("deployed.resource", rid, attributes, name=physical)
