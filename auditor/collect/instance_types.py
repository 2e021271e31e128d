"""EC2 instance facts live, from ec2:DescribeInstanceTypes (ProcessorInfo.SupportedArchitectures,
GpuInfo.Gpus[].Manufacturer):

- on a scan: the running nodes of ParallelCluster clusters (ec2:DescribeInstances, instances carrying the tag
  parallelcluster:cluster-name) -> pcluster.node, with the architecture and GPU maker of their instance type,
  for seed 000's "aarch64 does not support GPU instances" on what is deployed (a type EC2 does not describe,
  or a failed call, leaves the facts unknown: ERROR);
- for the instance types (or AWS Batch families) a cluster configuration names, when an iac run sets
  `parallelcluster.instance_facts: ec2` (`describe`; the default `table` reads auditor/iac/instance_types.json).

`describe` answers, per name, the facts in the table's shape ({architectures, gpu_manufacturers}: from
ProcessorInfo.SupportedArchitectures and GpuInfo.Gpus[].Manufacturer), a list of them for a family, or a
reason string when EC2 did not answer (a failed call, a type EC2 does not know): the cluster's facts are
then unknown (ERROR), never taken from the table instead.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import CALL_ERRORS, Call, CollectContext, Failed, classify, iam_actions
from auditor.snapshot import unknown

RESOURCE_TYPES = ("pcluster.node",)
REGIONAL = True
CALLS = (
    Call("ec2", "DescribeInstances", "ec2:DescribeInstances"),
    Call("ec2", "DescribeInstanceTypes", "ec2:DescribeInstanceTypes"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {"pcluster.node": {"*"}}
CLUSTER_TAG = "parallelcluster:cluster-name"
_CHUNK = 100  # DescribeInstanceTypes takes at most 100 names


def _facts(item: dict[str, Any]) -> dict[str, Any]:
    architectures = sorted(str(a) for a in (item.get("ProcessorInfo") or {}).get("SupportedArchitectures") or [])
    gpus = (item.get("GpuInfo") or {}).get("Gpus") or []
    return {"architectures": architectures,
            "gpu_manufacturers": sorted({str(g["Manufacturer"]) for g in gpus if g.get("Manufacturer")})}


_MAX_PAGES = 200  # a family has at most a few dozen types: more pages than this is an answer that never ends


class _Unfinished(Exception):
    """A listing that did not end: a page token seen before, or more pages than _MAX_PAGES."""


def _error(exc: Exception) -> str:
    if isinstance(exc, _Unfinished):
        return f"ec2:DescribeInstanceTypes: {exc}"
    failed = classify(exc, CALLS[0].action)
    return f"ec2:DescribeInstanceTypes failed ({failed.code})"


def _pages(client: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page, or _Unfinished: a shorter list would judge a family on some of its types only."""
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        answer = client.describe_instance_types(**params)
        items.extend(i for i in answer.get("InstanceTypes") or [] if isinstance(i, dict))
        token = answer.get("NextToken")
        if not token:
            return items
        if token in seen:
            raise _Unfinished(f"the page token {str(token)[:40]!r} came back a second time")
        seen.add(token)
        params["NextToken"] = token
    raise _Unfinished(f"more than {_MAX_PAGES} pages")


def _unknown_name(exc: Exception) -> str | None:
    """EC2's error code when the call failed because it does not know an instance type name, else None."""
    if isinstance(exc, _Unfinished):
        return None
    code = classify(exc, CALLS[0].action).code
    return code if code.startswith("InvalidInstanceType") else None


def describe(client: Any, names: list[str]) -> dict[str, Any]:
    """name -> facts (a type), [facts, ...] (a family, `c5`), or a reason string (unknown)."""
    out: dict[str, Any] = {}
    types = sorted({n for n in names if "." in n})
    families = sorted({n for n in names if "." not in n})
    for start in range(0, len(types), _CHUNK):
        chunk = types[start:start + _CHUNK]
        try:
            found = {str(i.get("InstanceType")): _facts(i) for i in _pages(client, InstanceTypes=chunk)}
        except (*CALL_ERRORS, _Unfinished) as exc:
            if _unknown_name(exc) is None:  # credentials, permissions, throttling: no answer for any of them
                out.update({name: _error(exc) for name in chunk})
                continue
            found = {}  # one name EC2 does not know fails the whole call: ask one by one
            for name in chunk:
                try:
                    found.update({str(i.get("InstanceType")): _facts(i) for i in _pages(client, InstanceTypes=[name])})
                except (*CALL_ERRORS, _Unfinished) as one:
                    out[name] = _error(one) + (f": EC2 does not describe {name!r} in this Region"
                                               if _unknown_name(one) else "")
        for name in chunk:
            out.setdefault(name, found.get(name, f"EC2 did not describe {name!r} in its answer"))
    for family in families:
        try:
            items = _pages(client, Filters=[{"Name": "instance-type", "Values": [f"{family}.*"]}])
        except (*CALL_ERRORS, _Unfinished) as exc:
            out[family] = _error(exc)
            continue
        members = [_facts(i) for i in items if str(i.get("InstanceType", "")).split(".", 1)[0] == family]
        out[family] = members or f"EC2 describes no instance type of the family {family!r} in this Region"
    return out


def collect(ctx: CollectContext) -> None:
    reservations = ctx.paginate("ec2", "DescribeInstances", "Reservations",
                                Filters=[{"Name": "tag-key", "Values": [CLUSTER_TAG]}])
    if isinstance(reservations, Failed):
        ctx.type_error("pcluster.node", reservations)
        return
    nodes = [i for r in reservations for i in r.get("Instances") or []
             if i.get("InstanceId") and (i.get("State") or {}).get("Name") not in ("terminated", "shutting-down")]
    types = sorted({str(i.get("InstanceType")) for i in nodes if i.get("InstanceType")})
    facts: dict[str, Any] = {}
    for start in range(0, len(types), _CHUNK):
        chunk = types[start:start + _CHUNK]
        items = ctx.paginate("ec2", "DescribeInstanceTypes", "InstanceTypes", InstanceTypes=chunk)
        if isinstance(items, Failed):
            for name in chunk:
                facts[name] = items
            continue
        facts.update({str(i.get("InstanceType")): _facts(i) for i in items})
    for node in nodes:
        iid = str(node["InstanceId"])
        tags = {str(t.get("Key")): str(t.get("Value")) for t in node.get("Tags") or []}
        itype = node.get("InstanceType")
        found = facts.get(str(itype)) if itype else None
        attributes: dict[str, Any] = {"instance_id": iid, "cluster": tags.get(CLUSTER_TAG),
                                      "node_type": tags.get("parallelcluster:node-type"), "instance_type": itype}
        if isinstance(found, Failed):
            for key in ("arm64", "gpu", "nvidia_gpu"):
                attributes[key] = ctx.attribute_error("pcluster.node", iid, key, found)
        elif found is None:
            reason = f"EC2 does not describe the instance type {itype!r} of {iid}"
            attributes.update({"arm64": unknown(reason), "gpu": unknown(reason), "nvidia_gpu": unknown(reason)})
        else:
            makers = [m.lower() for m in found["gpu_manufacturers"]]
            attributes.update({"arm64": "arm64" in found["architectures"], "gpu": bool(makers),
                               "nvidia_gpu": "nvidia" in makers})
        ctx.add("pcluster.node", iid, attributes, name=tags.get("Name") or iid)
