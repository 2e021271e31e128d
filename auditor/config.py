"""The audit configuration (ccme-audit.yaml): what the seeds leave to the customer."""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from auditor.data import data_dir
from auditor.errors import InputError
from auditor.fileio import load_document, parse_yaml

DEFAULT_CONFIG_FILE = "ccme-audit.yaml"
# Looked for, in this order, in the working directory and each parent up to the repository root.
CONFIG_FILE_NAMES = (DEFAULT_CONFIG_FILE, ".ccme-audit.yaml")
# CCME_AUDIT_<NAME>: the configuration keys the environment can set (between the file and the flags).
ENV_KEYS: dict[str, str] = {
    "CCME_AUDIT_REGIONS": "regions",
    "CCME_AUDIT_ACCOUNT": "account",
    "CCME_AUDIT_KMS_PREFIX": "kms_prefix",
    "CCME_AUDIT_PACKS": "packs",
    "CCME_AUDIT_CHECK": "check",
    "CCME_AUDIT_SKIP_CHECK": "skip_check",
    "CCME_AUDIT_SEVERITY": "severity",
    "CCME_AUDIT_SKIP_PATH": "skip_path",
}
_LIST_KEYS = {"regions", "packs", "check", "skip_check", "severity", "skip_path"}

# Defaults follow the seeds' examples (seed 000, "S3 Storage" and "Key Management Service").
DEFAULTS: dict[str, Any] = {
    "regions": ["eu-west-1"],
    "account": None,
    "kms_prefix": "ccme",
    "buckets": {
        "logging": "ucit-ccme-logging-{region}",
        "internals": "ucit-ccme-internals-{region}",
        "userdata": "ucit-ccme-userdata-{region}",
    },
    "network": {
        # Seed 000 makes a pre-created VPC optional ("it is possible to create in advance"): a missing
        # CCME VPC fails only when this is true or network.vpc_id names one.
        "require_vpc": False,
        "vpc_id": None,
        "vpc_name": "VPC-CCME",
        "frontend_subnets": [],
        "backend_subnets": [],
        "cluster_vpc_id": None,
        "cluster_subnets": [],
    },
    # Seed 003 provisioner (pack bbp); hpc-resource-provisioner is the public provisioner's repository name.
    "bbp": {
        "main_vpc_id": None,
        "provisioner_function": "hpc-resource-provisioner",
        "slurm_log_group": None,
        "slurm_db_instance": None,
        "slurm_db_secret": "",
        "key_pair_pattern": ".+",
    },
    # The CCME Management Host: an EC2 instance id, or its Name tag (seed 000, management_host_os).
    "management_host": None,
    # The management_host_os parameter of the CCME deployment configuration file (al2023, rhel8, rhel9).
    "management_host_os": None,
    # After deployment: the CloudFormation stacks of the CCME deployment whose resources must use their key.
    # CCME's resources are those of these stacks, or (name_prefix) whose Name tag starts with the prefix.
    # dcv_proxy: the DCV proxy instance (id or Name tag), whose volumes use the dcv_proxy_ebs key.
    "deployment": {"stacks": [], "name_prefix": None, "dcv_proxy": None},
    # Instance facts of cluster configurations: the generated table (offline) or EC2 (DescribeInstanceTypes).
    "parallelcluster": {"instance_facts": "table"},
    "secret_name": None,
    "certificate_domain": None,
    "certificate_min_days": 30,
    # Server access log prefix of the CCME buckets; {bucket} is the bucket's name. Seed 000 gives
    # "EXAMPLE_OF_CCME_CLUSTER_S3_BUCKET_NAME/" "as example": its form is the default.
    "access_log_prefix": "{bucket}/",
    # The log groups CloudWatch Logs must be able to encrypt with the CloudWatch key: those whose name
    # starts with this prefix. Empty (the default): every log group of the account in the Region, as the
    # seed's key policy allows (seed 000, "Key Management Service > CloudWatch > Key policy").
    "cloudwatch_log_group_prefix": "",
    "packs": ["ccme"],
    "options": {"read_secret_values": False, "probe_cost_explorer": False, "attribute_changes": False},
    # The CI gate: true when the templates of a run describe the whole CCME prerequisite set, so that a
    # resource a rule expects and does not find in them is missing (FAIL), as in an account.
    "iac": {"complete": False},
    "egress": {"extra_endpoints": [], "remove": []},
    "waivers": [],
}


@dataclass(frozen=True)
class Waiver:
    rule: str
    resource: str
    reason: str
    expires: dt.date

    def matches(self, rule_id: str, resource_id: str) -> bool:
        return fnmatch.fnmatchcase(rule_id, self.rule) and fnmatch.fnmatchcase(resource_id, self.resource)


@dataclass(frozen=True)
class AuditConfig:
    data: Mapping[str, Any]
    source: str = "<defaults>"
    waivers: tuple[Waiver, ...] = field(default=())

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self.data["regions"])

    @property
    def packs(self) -> tuple[str, ...]:
        return tuple(self.data["packs"])

    @property
    def account(self) -> str | None:
        value = self.data.get("account")
        return str(value) if value else None

    def option(self, name: str) -> bool:
        return bool(self.data.get("options", {}).get(name, False))

    def params(self, region: str, account: str | None) -> dict[str, Any]:
        """Rule parameters for one region: flat dotted names (`buckets.logging`, `kms_prefix`, ...)."""
        flat: dict[str, Any] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, Mapping):
                for key, sub in value.items():
                    walk(f"{prefix}.{key}" if prefix else key, sub)
            else:
                flat[prefix] = value

        walk("", {k: v for k, v in self.data.items() if k not in ("waivers", "regions")})
        for key, value in list(flat.items()):
            if isinstance(value, str):
                flat[key] = value.replace("{region}", region)
        flat["region"] = region
        flat["regions"] = list(self.regions)
        flat["account"] = account or self.account
        buckets = self.data.get("buckets", {})
        flat["buckets.all"] = [flat[f"buckets.{k}"] for k in ("logging", "internals", "userdata") if buckets.get(k)]
        flat["buckets.logged"] = [flat[f"buckets.{k}"] for k in ("internals", "userdata") if buckets.get(k)]
        if isinstance(flat.get("access_log_prefix"), str):
            flat["access_log_prefix"] = flat["access_log_prefix"].replace("{bucket}", "{resource.name}")
        egress = self.data.get("egress")
        extra = egress.get("extra_endpoints") if isinstance(egress, Mapping) else None
        # The EF Portal hosts the configuration adds (seed 000 names the family without a host).
        flat["egress.ef_portal_hosts"] = [e.get("host") for e in extra or [] if isinstance(e, Mapping)
                                          and e.get("family") == "ef-portal"]
        flat["dhcp_domain_name"] = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
        return flat


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((data_dir("schemas") / "config.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(f"cannot set '{dotted}': '{part}' is not a section", place="--set",
                             fix="name a key of the configuration schema")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a `--set path=value` flag; the value is read as YAML (lists and numbers allowed)."""
    if "=" not in text:
        raise InputError(f"--set '{text}' has no '='", place="--set", fix="write --set PATH=VALUE")
    path, raw = text.split("=", 1)
    path = path.strip()
    value = parse_yaml(raw, file="--set") if raw.strip() else ""
    if not isinstance(value, str | list | dict) and "string" in _schema_types(path):
        value = raw.strip()  # an account id or a bucket name that YAML read as a number
    return path, value


def _schema_types(dotted: str) -> set[str]:
    node: Any = json.loads((data_dir("schemas") / "config.json").read_text(encoding="utf-8"))
    for part in dotted.split("."):
        node = node.get("properties", {}).get(part) if isinstance(node, dict) else None
        if node is None:
            return set()
    kinds = node.get("type", [])
    return set(kinds if isinstance(kinds, list) else [kinds]) | ({"string"} if "$ref" in node else set())


def _validate(data: Any, source: str) -> None:
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        raise InputError(error.message, file=source, place=pointer,
                         fix=_typo_fix(error) or "follow schemas/config.json (see README, 'Configuration')")


def _typo_fix(error: Any) -> str | None:
    """For keys the schema does not allow: 'did you mean' the closest allowed keys ('bukets' -> 'buckets')."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    from auditor.suggest import closest

    known = set((error.schema or {}).get("properties") or {})
    hints = []
    for key in error.instance:
        if key in known:
            continue
        near = closest(str(key), known, n=1)
        if near:
            hints.append(f"{near[0]} for {key}")
    if not hints:
        return None
    return "did you mean " + ", ".join(hints) + "? see schemas/config.json"


def repository_root(start: Path) -> Path | None:
    """The first directory from `start` upwards holding `.git` (a directory, or a worktree's file); None outside."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def discover_config(start: Path | None = None) -> tuple[Path | None, list[Path]]:
    """The configuration file a run without --config reads: `ccme-audit.yaml` or `.ccme-audit.yaml` in the working
    directory, then each parent up to the repository root (the working directory alone outside a repository).
    Returns the file (None) and the directories searched."""
    start = (start or Path.cwd()).absolute()
    root = repository_root(start)
    searched: list[Path] = []
    for directory in (start, *start.parents):
        searched.append(directory)
        for name in CONFIG_FILE_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate, searched
        if root is None or directory == root:
            break
    return None, searched


def env_overrides(environ: Mapping[str, str]) -> list[tuple[str, Any]]:
    """CCME_AUDIT_REGIONS=eu-west-1,us-east-1, CCME_AUDIT_ACCOUNT=..., ...: (key, value) pairs, lists
    comma-separated; an empty variable is ignored."""
    out: list[tuple[str, Any]] = []
    for name, key in ENV_KEYS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        out.append((key, [p.strip() for p in raw.split(",") if p.strip()] if key in _LIST_KEYS else raw))
    return out


def load_config(
    path: Path | None = None,
    overrides: Sequence[tuple[str, Any]] = (),
    *,
    today: dt.date | None = None,
    base: Mapping[str, Any] | None = None,
) -> AuditConfig:
    """Load defaults < `base` (a snapshot's recorded configuration) < file (`path`, else the one discover_config
    finds) < overrides (the environment's, then the flags'), validate against schemas/config.json."""
    source = "<defaults>"
    raw: Any = {}
    if path is None:
        path, _ = discover_config()
    if path is not None:
        source = str(path)
        raw = load_document(Path(path))
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise InputError("the configuration must be a mapping", file=source, place="/",
                             fix="write key: value pairs (see README, 'Configuration')")
        _validate(raw, source)
    if base:
        _validate(dict(base), "the configuration recorded in the snapshot")
        if path is None:
            source = "the configuration recorded in the snapshot (--config FILE to use another)"
    data = _merge(_merge(DEFAULTS, base or {}), raw)
    for dotted, value in overrides:
        _set_path(data, dotted, value)
    _validate(data, source if not overrides else f"{source} with flags")
    from auditor.regions import check_regions

    for index, region in enumerate(data["regions"]):
        check_regions([region], file=source, place=f"/regions/{index}")
    waivers = []
    for index, item in enumerate(data["waivers"]):
        try:
            expires = dt.date.fromisoformat(item["expires"])
        except ValueError:
            raise InputError(f"waiver expiry '{item['expires']}' is not a date", file=source,
                             place=f"/waivers/{index}/expires", fix="write YYYY-MM-DD") from None
        waivers.append(Waiver(rule=item["rule"], resource=item["resource"], reason=item["reason"], expires=expires))
    return AuditConfig(data=data, source=source, waivers=tuple(waivers))
