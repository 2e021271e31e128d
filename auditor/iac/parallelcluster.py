"""ParallelCluster v3 cluster configuration files into one `pcluster.cluster` resource each.

The instance-family table below is data (public EC2 naming: a `g` after the generation number
marks Graviton, arm64; a1 is arm64 too; GPU families from the EC2 accelerated-computing list).
An instance type that does not follow the EC2 naming pattern is unknown (ERROR), never guessed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.iac.model import ParseProblem, TemplateResource
from auditor.iac.suppress import comment_lines, inline_suppressions
from auditor.snapshot import Location, unknown

# GPU instance families (EC2 "Accelerated computing"); vendor of the GPU.
GPU_FAMILIES: dict[str, str] = {
    "p2": "nvidia",
    "p3": "nvidia",
    "p3dn": "nvidia",
    "p4d": "nvidia",
    "p4de": "nvidia",
    "p5": "nvidia",
    "p5e": "nvidia",
    "p5en": "nvidia",
    "p6-b200": "nvidia",
    "g3": "nvidia",
    "g3s": "nvidia",
    "g4dn": "nvidia",
    "g4ad": "amd",
    "g5": "nvidia",
    "g5g": "nvidia",
    "g6": "nvidia",
    "g6e": "nvidia",
    "gr6": "nvidia",
    "g6f": "nvidia",
    "gr6f": "nvidia",
    "p6e-gb200": "nvidia",  # NVIDIA GB200: Grace (arm64) CPUs with Blackwell GPUs
}
ARM64_SPECIAL = frozenset({"a1", "p6e-gb200"})  # arm64 families the naming pattern does not mark with a 'g'
_FAMILY = re.compile(r"^(?P<family>[a-z]+(?P<gen>\d+)(?P<suffix>[a-z-]*?)(?:-[a-z0-9]+)?)\.[a-z0-9-]+$")


def instance_facts(instance_type: Any, role: str) -> dict[str, Any]:
    if not isinstance(instance_type, str):
        return {
            "instance_type": None,
            "role": role,
            "family": None,
            "arm64": unknown("instance type not set"),
            "gpu": unknown("instance type not set"),
            "nvidia_gpu": unknown("instance type not set"),
        }
    match = _FAMILY.match(instance_type)
    if not match:
        reason = f"{instance_type!r} does not follow the EC2 instance type naming"
        return {
            "instance_type": instance_type,
            "role": role,
            "family": None,
            "arm64": unknown(reason),
            "gpu": unknown(reason),
            "nvidia_gpu": unknown(reason),
        }
    family = instance_type.split(".")[0]
    base = re.sub(r"-.*$", "", family)
    suffix = re.sub(r"^[a-z]+\d+", "", base)
    arm64 = base in ARM64_SPECIAL or family in ARM64_SPECIAL or "g" in suffix
    vendor = GPU_FAMILIES.get(family) or GPU_FAMILIES.get(base)
    return {
        "instance_type": instance_type,
        "role": role,
        "family": family,
        "arm64": arm64,
        "gpu": vendor is not None,
        "nvidia_gpu": vendor == "nvidia",
    }


# ParallelCluster reads its configuration through marshmallow fields: a Boolean accepts these spellings (quoted
# or not), an Integer accepts a number written as text. Anything else it refuses: unknown here, never guessed.
_TRUE = frozenset({"t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes", "YES", "1"})
_FALSE = frozenset({"f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No", "NO", "0"})


def schema_bool(value: Any, default: Any, what: str) -> Any:
    """A Boolean as ParallelCluster's schema reads it: `Encrypted: "false"` is false, not a truthy string."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in _TRUE:
        return True
    if isinstance(value, str) and value in _FALSE:
        return False
    return unknown(f"{what}: {str(value)[:60]!r} is not a boolean ParallelCluster accepts (it would refuse the file)")


def schema_int(value: Any, default: Any, what: str) -> Any:
    """An Integer as ParallelCluster's schema reads it: `RetentionInDays: "30"` is 30."""
    if value is None:
        return default
    if isinstance(value, bool):
        return unknown(f"{what}: {value!r} is not an integer ParallelCluster accepts")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return unknown(f"{what}: {str(value)[:60]!r} is not an integer ParallelCluster accepts (it would refuse the file)")


def _elastic_ip(value: Any) -> Any:
    """HeadNode.Networking.ElasticIp: true, false or an allocation id; "false" written as text is false."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


KEYS_FILE = Path(__file__).resolve().parent / "pcluster_keys.yaml"
_KEYS: dict[str, Any] | None = None


def schema_keys() -> dict[str, Any]:
    """The key tree of pcluster_keys.yaml (read once)."""
    global _KEYS
    if _KEYS is None:
        import yaml

        _KEYS = yaml.safe_load(KEYS_FILE.read_text(encoding="utf-8"))
    return _KEYS


def _resembles(key: Any, wanted: str) -> bool:
    """A top-level key that is `wanted` give or take case and a small typo (`Headnode`, `HeadNodes`)."""
    if not isinstance(key, str):
        return False
    from auditor.suggest import distance

    return key == wanted or distance(key.lower(), wanted.lower()) <= 2


def is_parallelcluster(doc: Any) -> bool:
    """A cluster configuration: HeadNode and Scheduling at the top, or keys a typo away from both (read, so that
    the misspelt key is reported rather than the file skipped as not a configuration)."""
    if not isinstance(doc, dict):
        return False
    if "HeadNode" in doc and "Scheduling" in doc:
        return True
    return any(_resembles(k, "HeadNode") for k in doc) and any(_resembles(k, "Scheduling") for k in doc)


def _key_line(lines: list[str], key: str, after: int) -> int | None:
    """The first line at or after `after` (1-based) where `key` is written as a mapping key."""
    pattern = re.compile(rf"^(?:\s*-)?\s*['\"]?{re.escape(key)}['\"]?\s*:")
    for number in range(max(after, 1), len(lines) + 1):
        if pattern.match(lines[number - 1]):
            return number
    return None


def check_keys(path: Path, doc: dict[str, Any], lines: list[str]) -> list[ParseProblem]:
    """Every key ParallelCluster's schema would refuse (unknown, or spelt with another case): one problem each,
    naming the place and the key it resembles. A refused key is never read as an absent section."""
    from auditor.suggest import closest

    problems: list[ParseProblem] = []

    def walk(node: Any, tree: Any, place: str, line: int) -> None:
        if isinstance(node, list) and isinstance(tree, dict):
            for index, item in enumerate(node):
                walk(item, tree, f"{place}[{index}]", line)
            return
        if not isinstance(node, dict) or not isinstance(tree, dict):
            return
        for key, value in node.items():
            where = f"{place}.{key}" if place else str(key)
            at = _key_line(lines, str(key), line) or line
            if key in tree:
                walk(value, tree[key], where, at)
                continue
            near = closest(str(key), tree, 1)
            hint = (f"did you mean '{near[0]}'?" if near
                    else f"the keys here are {', '.join(sorted(tree))[:300]}")
            problems.append(ParseProblem(
                str(path),
                f"{where}: unknown key '{key}': ParallelCluster's schema refuses it (keys are case-sensitive) and "
                f"would not create the cluster; {hint}",
                at,
            ))

    walk(doc, schema_keys(), "", 1)
    return problems


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _line_of(lines: list[str], key: str) -> int | None:
    for number, line in enumerate(lines, 1):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return None


def load(
    path: Path, doc: dict[str, Any], text: str, *, region: str | None, account: str | None
) -> tuple[list[TemplateResource], list[ParseProblem]]:
    lines = comment_lines(text, "yaml")
    refused = check_keys(path, doc, text.splitlines())
    if refused:
        return [], refused
    head = doc.get("HeadNode") or {}
    scheduling = doc.get("Scheduling") or {}
    slurm = _get(scheduling, "SlurmSettings") or {}
    instance_types = [instance_facts(_get(head, "InstanceType"), "HeadNode")]
    subnets: list[Any] = [_get(head, "Networking", "SubnetId")]
    queue_amis = []
    for queue in _get(scheduling, "SlurmQueues") or _get(scheduling, "AwsBatchQueues") or []:
        if not isinstance(queue, dict):
            continue
        qname = str(queue.get("Name"))
        subnets.extend(_get(queue, "Networking", "SubnetIds") or [])
        if _get(queue, "Image", "CustomAmi"):
            queue_amis.append(_get(queue, "Image", "CustomAmi"))
        for cr in queue.get("ComputeResources") or []:
            if not isinstance(cr, dict):
                continue
            role = f"queue {qname} / {cr.get('Name')}"
            if cr.get("InstanceType") is not None:
                instance_types.append(instance_facts(cr.get("InstanceType"), role))
            for item in cr.get("Instances") or []:
                if isinstance(item, dict):
                    instance_types.append(instance_facts(item.get("InstanceType"), role))
            # AWS Batch: types or whole families ("c5"); "optimal" lets Batch pick among x86 CPU families.
            batch_types = cr.get("InstanceTypes")
            for item in batch_types if isinstance(batch_types, list) else []:
                if item != "optimal":
                    text = str(item)
                    instance_types.append(instance_facts(text if "." in text else f"{text}.large", role))
    for pool in _get(doc, "LoginNodes", "Pools") or []:
        if isinstance(pool, dict):
            instance_types.append(instance_facts(pool.get("InstanceType"), f"login pool {pool.get('Name')}"))
    storage = []
    for item in doc.get("SharedStorage") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("StorageType")
        settings = item.get(f"{kind}Settings") or {}
        entry: dict[str, Any] = {
            "name": item.get("Name"),
            "storage_type": kind,
            "mount_dir": item.get("MountDir"),
            "existing": settings.get("FileSystemId") is not None or settings.get("VolumeId") is not None,
            "kms_key_id": settings.get("KmsKeyId"),
        }
        if kind == "Efs":
            entry["encrypted"] = schema_bool(settings.get("Encrypted"), False, "EfsSettings.Encrypted")
        elif kind == "Ebs":
            entry["encrypted"] = schema_bool(settings.get("Encrypted"), True, "EbsSettings.Encrypted")
        elif kind == "FsxLustre":
            dras = settings.get("DataRepositoryAssociations") or []
            entry.update(
                {
                    "deployment_type": settings.get("DeploymentType", "SCRATCH_2"),
                    "data_repository_associations": len(dras) if isinstance(dras, list) else 0,
                    "import_path": settings.get("ImportPath"),
                    "export_path": settings.get("ExportPath"),
                    "encrypted": True,
                }
            )
        storage.append(entry)
    database = slurm.get("Database")
    cloudwatch = _get(doc, "Monitoring", "Logs", "CloudWatch") or {}
    image_os = _get(doc, "Image", "Os")
    attrs = {
        "name": path.stem,
        "image_os": image_os,
        "custom_ami": _get(doc, "Image", "CustomAmi"),
        "queue_custom_amis": queue_amis,
        "scheduler": scheduling.get("Scheduler"),
        "head_node": {
            **instance_types[0],
            "elastic_ip": _elastic_ip(_get(head, "Networking", "ElasticIp")),
            "subnet_id": _get(head, "Networking", "SubnetId"),
            "dcv_enabled": schema_bool(_get(head, "Dcv", "Enabled"), False, "HeadNode.Dcv.Enabled"),
            "ssh_key_name": _get(head, "Ssh", "KeyName"),
        },
        "dcv_enabled": schema_bool(_get(head, "Dcv", "Enabled"), False, "HeadNode.Dcv.Enabled"),
        "instance_types": instance_types,
        "subnet_ids": [s for s in subnets if s is not None],
        "internet_access": unknown(
            "whether the cluster subnets reach the internet is not in the cluster "
            "configuration (scan it with the network template)"
        ),
        "dns": {
            "disable_managed_dns": schema_bool(_get(slurm, "Dns", "DisableManagedDns"), False,
                                               "SlurmSettings.Dns.DisableManagedDns"),
            "use_ec2_hostnames": schema_bool(_get(slurm, "Dns", "UseEc2Hostnames"), False,
                                             "SlurmSettings.Dns.UseEc2Hostnames"),
        },
        "database": None
        if not isinstance(database, dict)
        else {
            "uri": database.get("Uri"),
            "user_name": database.get("UserName"),
            "password_secret_arn": database.get("PasswordSecretArn"),
            "database_name": database.get("DatabaseName"),
        },
        "shared_storage": storage,
        "cloudwatch_logs": {
            "enabled": schema_bool(cloudwatch.get("Enabled"), True, "Monitoring.Logs.CloudWatch.Enabled"),
            "retention_in_days": schema_int(cloudwatch.get("RetentionInDays"), 180,
                                            "Monitoring.Logs.CloudWatch.RetentionInDays"),
            "deletion_policy": cloudwatch.get("DeletionPolicy", "Retain"),
        },
        "region": doc.get("Region", region),
    }
    line = _line_of(lines, "HeadNode") or 1
    location = Location(file=str(path), line=line, logical_id=path.stem)
    item = TemplateResource(
        type="pcluster.cluster",
        key=str(path),
        attributes=attrs,
        location=location,
        name=path.stem,
        id=f"{path}#cluster",
        region=region,
        account=account,
    )
    item.suppressions.extend(inline_suppressions(lines, 1))
    item.suppressions.extend(inline_suppressions(lines, line))
    return [item], []


def join_subnets(clusters: list[TemplateResource], subnets_internet: dict[str, bool]) -> None:
    """Fill internet_access when every cluster subnet is described by a network template in the same run."""
    for cluster in clusters:
        ids = cluster.attributes["subnet_ids"]
        if ids and all(isinstance(s, str) and s in subnets_internet for s in ids):
            cluster.attributes["internet_access"] = any(subnets_internet[s] for s in ids)
