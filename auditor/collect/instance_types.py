"""EC2 instance facts live: ec2:DescribeInstanceTypes for the instance types (or AWS Batch families) a
cluster configuration names, when the run sets `parallelcluster.instance_facts: ec2` (the default `table`
reads auditor/iac/instance_types.json offline).

`describe` answers, per name, the facts in the table's shape ({architectures, gpu_manufacturers}: from
ProcessorInfo.SupportedArchitectures and GpuInfo.Gpus[].Manufacturer), a list of them for a family, or a
reason string when EC2 did not answer (a failed call, a type EC2 does not know): the cluster's facts are
then unknown (ERROR), never taken from the table instead.
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import CALL_ERRORS, Call, classify, iam_actions

RESOURCE_TYPES: tuple[str, ...] = ()  # no snapshot type of its own: it completes the cluster configurations
REGIONAL = True
CALLS = (Call("ec2", "DescribeInstanceTypes", "ec2:DescribeInstanceTypes"),)
IAM_ACTIONS = iam_actions(CALLS)
_CHUNK = 100  # DescribeInstanceTypes takes at most 100 names


def _facts(item: dict[str, Any]) -> dict[str, Any]:
    architectures = sorted(str(a) for a in (item.get("ProcessorInfo") or {}).get("SupportedArchitectures") or [])
    gpus = (item.get("GpuInfo") or {}).get("Gpus") or []
    return {"architectures": architectures,
            "gpu_manufacturers": sorted({str(g["Manufacturer"]) for g in gpus if g.get("Manufacturer")})}


def _error(exc: Exception) -> str:
    failed = classify(exc, CALLS[0].action)
    return f"ec2:DescribeInstanceTypes failed ({failed.code})"


def _pages(client: Any, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    while True:
        answer = client.describe_instance_types(**params)
        items.extend(i for i in answer.get("InstanceTypes") or [] if isinstance(i, dict))
        token = answer.get("NextToken")
        if not token or token in seen:
            return items
        seen.add(token)
        params["NextToken"] = token


def describe(client: Any, names: list[str]) -> dict[str, Any]:
    """name -> facts (a type), [facts, ...] (a family, `c5`), or a reason string (unknown)."""
    out: dict[str, Any] = {}
    types = sorted({n for n in names if "." in n})
    families = sorted({n for n in names if "." not in n})
    for start in range(0, len(types), _CHUNK):
        chunk = types[start:start + _CHUNK]
        try:
            found = {str(i.get("InstanceType")): _facts(i) for i in _pages(client, InstanceTypes=chunk)}
        except CALL_ERRORS:  # one name EC2 does not know fails the whole call: ask one by one
            found = {}
            for name in chunk:
                try:
                    found.update({str(i.get("InstanceType")): _facts(i) for i in _pages(client, InstanceTypes=[name])})
                except CALL_ERRORS as one:
                    out[name] = _error(one) + f": EC2 does not describe {name!r} in this Region"
        for name in chunk:
            out.setdefault(name, found.get(name, f"EC2 did not describe {name!r} in its answer"))
    for family in families:
        try:
            items = _pages(client, Filters=[{"Name": "instance-type", "Values": [f"{family}.*"]}])
        except CALL_ERRORS as exc:
            out[family] = _error(exc)
            continue
        members = [_facts(i) for i in items if str(i.get("InstanceType", "")).split(".", 1)[0] == family]
        out[family] = members or f"EC2 describes no instance type of the family {family!r} in this Region"
    return out
