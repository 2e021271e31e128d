"""Remediations: templates reports/templates/remediation/<ref>.<sh|cfn.yaml|tf>.j2 filled with real values.

A rule names template refs in `remediation:`; each FAIL finding carries the context to fill them: `params`
(the audit parameters: region, account, kms_prefix, buckets.*) and `attributes` (the resource's canonical
attributes, absent when the resource does not exist). Values reach a shell command only through the `sh`
filter (shlex.quote); policies are merged into the existing document, never replaced by a smaller one.
Nothing here calls AWS: the bundles are written for a person to review and run.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

import jinja2
import yaml

from auditor import seed
from auditor.data import data_dir
from auditor.engine.findings import Finding, Status
from auditor.errors import InputError
from auditor.partitions import partition_of
from auditor.snapshot import is_generated, is_unknown


class RemediationKind(StrEnum):
    SH = "sh"
    CLOUDFORMATION = "cloudformation"
    TERRAFORM = "terraform"


TEMPLATE_SUFFIX: dict[RemediationKind, str] = {
    RemediationKind.SH: "sh",
    RemediationKind.CLOUDFORMATION: "cfn.yaml",
    RemediationKind.TERRAFORM: "tf",
}

# Seed 000, "Key Management Service": the alias suffixes exactly as the seed writes them.
KMS_SUFFIXES = (
    "cmh_ebs",
    "dcv_proxy_ebs",
    "clusters_ebs",
    "file_systems",
    "s3",
    "sns",
    "secrets",
    "cloudWatch",
    "lambda",
)
KMS_LABELS = {
    "cmh_ebs": "CCME Management Host (CMH) EBS",
    "dcv_proxy_ebs": "DCV Proxy EBS",
    "clusters_ebs": "Clusters EBS",
    "file_systems": "File Systems (EFS and FSx)",
    "s3": "S3",
    "sns": "SNS",
    "secrets": "Secrets",
    "cloudWatch": "CloudWatch",
    "lambda": "Lambda",
}
MULTI_REGION_SUFFIXES = frozenset({"clusters_ebs"})
ASG_ROLE = seed.ASG_ROLE
POLICY_VERSION = seed.POLICY_VERSION


class RemediationError(Exception):
    """The evidence does not allow an exact fix: the bundle says what to do by hand instead."""


# ---------------------------------------------------------------------------------------------- values
def sh(value: Any) -> str:
    """Shell-quote one value (the only way values enter a shell command)."""
    import shlex

    if isinstance(value, bool):
        value = "true" if value else "false"
    return shlex.quote(str(value))


def jmespath_literal(value: Any) -> str:
    """A JMESPath literal (`...`) holding exactly `value`: its JSON text, each backtick escaped (the AWS CLI's
    --query reads it back whole, whatever the value holds; the value is data, never a part of the expression)."""
    return "`" + json.dumps(value).replace("`", "\\`") + "`"


def to_json(value: Any, indent: int | None = None) -> str:
    if indent is None:
        return json.dumps(value, separators=(",", ":"), sort_keys=False)
    return json.dumps(value, indent=indent, sort_keys=False)


class _QuotingDumper(yaml.SafeDumper):
    """Quote every string YAML would read back as something else (`Version: "2012-10-17"`, "true", "1.2")."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    implicit = dumper.resolve(yaml.ScalarNode, value, (True, False))
    style = '"' if implicit != "tag:yaml.org,2002:str" or value == "" else None
    if "\n" in value:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_QuotingDumper.add_representer(str, _represent_str)


def to_yaml(value: Any, indent: int = 0) -> str:
    text = yaml.dump(
        value, Dumper=_QuotingDumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True
    )
    if indent:
        pad = " " * indent
        text = "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))
    return text.rstrip("\n")


def hcl(value: Any) -> str:
    """A Terraform literal: JSON strings are valid HCL strings once `${` and `%{` are escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = json.dumps(str(value))
    return text.replace("${", "$${").replace("%{", "%%{")


def hcl_jsonencode(value: Any) -> str:
    """A policy as `jsonencode({...})` so Terraform compares documents, not strings."""

    def render(node: Any, depth: int) -> str:
        pad = "  " * (depth + 1)
        end = "  " * depth
        if isinstance(node, Mapping):
            if not node:
                return "{}"
            items = [f"{pad}{hcl(str(k))} = {render(v, depth + 1)}" for k, v in node.items()]
            return "{\n" + "\n".join(items) + f"\n{end}}}"
        if isinstance(node, list | tuple):
            if not node:
                return "[]"
            return "[\n" + ",\n".join(pad + render(v, depth + 1) for v in node) + f",\n{end}]"
        if node is None:
            return "null"
        return hcl(node)

    return f"jsonencode({render(value, 1)})"


def slug(value: Any, prefix: str = "r") -> str:
    """A Terraform name: letters, digits, underscores, starting with a letter."""
    text = re.sub(r"[^A-Za-z0-9]+", "_", str(value)).strip("_").lower()
    if not text or not text[0].isalpha():
        text = f"{prefix}_{text}"
    return text[:64]


def logical_id(*parts: Any) -> str:
    """A CloudFormation logical id: alphanumeric, from the resource's names."""
    words = re.split(r"[^A-Za-z0-9]+", " ".join(str(p) for p in parts))
    text = "".join(w[:1].upper() + w[1:] for w in words if w)
    if not text or not text[0].isalpha():
        text = "R" + text
    return text[:255]


def _known(value: Any) -> bool:
    return value is not None and not is_unknown(value) and not is_generated(value)


# ---------------------------------------------------------------------------------------------- policies
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _normal(statement: Mapping[str, Any]) -> Any:
    """A statement's meaning for equality: Sid ignored, a string equals a one-element list, order ignored."""

    def norm(value: Any) -> Any:
        if isinstance(value, Mapping):
            return tuple(sorted((str(k), norm(v)) for k, v in value.items()))
        if isinstance(value, list):
            return tuple(sorted(repr(norm(v)) for v in value))
        return value

    out = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in ("Action", "NotAction", "Resource", "NotResource"):
            value = sorted(str(v) for v in _as_list(value))
        elif key in ("Principal", "NotPrincipal") and isinstance(value, Mapping):
            value = {k: sorted(str(v) for v in _as_list(v)) for k, v in value.items()}
        elif key == "Condition" and isinstance(value, Mapping):
            value = {
                op: {k: sorted(str(v) for v in _as_list(v)) for k, v in (cond or {}).items()}
                for op, cond in value.items()
            }
        out[key] = value
    return norm(out)


def merge_policy(existing: Any, required: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Add the required statements missing from `existing` and keep everything already there.

    put-bucket-policy and put-key-policy replace the whole document, so a fix must carry every existing
    statement. A statement counts as present when an existing one means the same (Sid ignored); a required
    Sid that clashes with an existing one gets a suffix (Sids must be unique).
    """
    if existing is None:
        document: dict[str, Any] = {"Version": POLICY_VERSION, "Statement": []}
    elif isinstance(existing, Mapping) and not is_unknown(existing):
        document = copy.deepcopy(dict(existing))
        document.setdefault("Version", POLICY_VERSION)
        document["Statement"] = copy.deepcopy(_as_list(document.get("Statement")))
    else:
        raise RemediationError(
            "the existing policy could not be read or parsed, so a merged policy cannot be "
            "computed: fetch it, add the missing statements by hand, then put it back"
        )
    statements: list[Any] = document["Statement"]
    present = {repr(_normal(s)) for s in statements if isinstance(s, Mapping)}
    sids = {s.get("Sid") for s in statements if isinstance(s, Mapping)}
    for statement in required:
        if repr(_normal(statement)) in present:
            continue
        new = copy.deepcopy(dict(statement))
        sid = new.get("Sid")
        if sid is not None and sid in sids:
            counter = 2
            while f"{sid}-{counter}" in sids:
                counter += 1
            new["Sid"] = f"{sid}-{counter}"
        sids.add(new.get("Sid"))
        statements.append(new)
        present.add(repr(_normal(new)))
    return document


# The merge a policy bundle runs (python3 -c) when it is applied: the current document on stdin ("" when
# the resource has none), the CCME statements (each with a fixed Sid) as argv[1], a mode as argv[2]
# ("drop-tls-version-denies" for an over-strict TLS finding: the existing TLS-version denies are the
# fault). Every other statement is kept; a CCME statement already there (same Sid, same meaning, or
# another Sid with the same meaning) is not added twice; a Sid that is there with other content, or
# a document that is not a JSON policy, stops the bundle (exit 3) before anything is changed.
MERGE_PROGRAM = """
import json, sys
def fail(why):
    sys.stderr.write("ccme-audit: refusing to change the policy: " + why + "\\n")
    sys.exit(3)
def as_list(v):
    return v if isinstance(v, list) else [v]
def canon(v):
    if isinstance(v, dict):
        return sorted([str(k), canon(x)] for k, x in v.items())
    if isinstance(v, list):
        return sorted(json.dumps(canon(x), sort_keys=True) for x in v)
    return v
def meaning(s):
    out = {}
    for k, v in s.items():
        if k == "Sid":
            continue
        if k in ("Action", "NotAction", "Resource", "NotResource"):
            v = sorted(str(x) for x in as_list(v))
        elif k in ("Principal", "NotPrincipal") and isinstance(v, dict):
            v = dict((a, sorted(str(x) for x in as_list(b))) for a, b in v.items())
        elif k == "Condition" and isinstance(v, dict):
            v = dict((op, dict((a, sorted(str(x) for x in as_list(b))) for a, b in (c or {}).items()))
                     for op, c in v.items())
        out[k] = v
    return json.dumps(canon(out), sort_keys=True)
def tls_version_deny(s):
    c = s.get("Condition") or {}
    return s.get("Effect") == "Deny" and isinstance(c, dict) and any(
        isinstance(x, dict) and any(str(k).lower() == "s3:tlsversion" for k in x) for x in c.values())
required, mode = json.loads(sys.argv[1]), sys.argv[2]
text = sys.stdin.read().strip()
if text:
    try:
        doc = json.loads(text)
    except ValueError:
        fail("the current policy is not JSON")
    if not isinstance(doc, dict):
        fail("the current policy is not a JSON object")
else:
    doc = {"Version": "2012-10-17", "Statement": []}
statements = doc.get("Statement", [])
statements = [statements] if isinstance(statements, dict) else statements
if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
    fail("the current policy's Statement is not a list of statements")
if mode == "drop-tls-version-denies":
    statements = [s for s in statements if not tls_version_deny(s)]
present = set(meaning(s) for s in statements)
by_sid = dict((s.get("Sid"), s) for s in statements if s.get("Sid"))
for new in required:
    if new["Sid"] in by_sid:
        if meaning(by_sid[new["Sid"]]) != meaning(new):
            fail("its statement " + json.dumps(new["Sid"]) + " has other content than the CCME statement "
                 "of that Sid; rename or remove it, then run this again")
        continue
    if meaning(new) not in present:
        statements.append(new)
        present.add(meaning(new))
doc["Statement"] = statements
doc.setdefault("Version", "2012-10-17")
print(json.dumps(doc, separators=(",", ":")))
"""
TLS_MODE = "drop-tls-version-denies"
# The shell function a bundle defines once (bundle_sh) for its policy fixes: a fix shown alone in a report
# stops at it (command not found) before changing anything; `ccme-audit remediate` writes the whole bundle.
MERGE_FUNCTION = "ccme_merge_policy"


def with_sids(statements: Sequence[Mapping[str, Any]], label: str) -> list[dict[str, Any]]:
    """The CCME statements, each with a fixed Sid: the seed's where it gives one, ccme-audit-... otherwise."""
    out = []
    for number, statement in enumerate(statements, 1):
        new = copy.deepcopy(dict(statement))
        new.setdefault("Sid", f"ccme-audit-{label}-{number}")
        out.append(new)
    return out


def bucket_policy_merge(ctx: FixContext, plan: Mapping[str, Any]) -> dict[str, Any]:
    """What a shell bundle merges into a bucket's policy as it is when the bundle runs."""
    required = bucket_policy_statements(plan["name"], logging_target=plan["role"] == "logging", account=ctx.account,
                                        partition=partition_of(ctx.region).name)
    mode = TLS_MODE if "TLS-OVERSTRICT" in str(ctx.finding.get("rule_id")) else "add"
    return {"required": with_sids(required, "s3"), "mode": mode, "merge": MERGE_FUNCTION}


def key_policy_merge(ctx: FixContext) -> dict[str, Any]:
    """What a shell bundle merges into a key's policy as it is when the bundle runs."""
    plan = kms_plan(ctx)
    key = kms_existing_key(ctx)
    return {**key, "alias": plan["alias"], "required": with_sids(plan["policy"]["Statement"], "kms"), "mode": "add",
            "merge": MERGE_FUNCTION}


kms_root_statement = seed.root_statement
kms_key_policy = seed.key_policy


def bucket_policy_statements(bucket: str, *, logging_target: bool, account: str,
                             partition: str = "aws") -> list[dict[str, Any]]:
    """Seed 000's TLS statements for a bucket; the logging bucket also lets S3 deliver access logs."""
    statements = seed.tls_statements(bucket, partition=partition)
    if logging_target:
        statements.insert(0, seed.log_delivery_statement(bucket, account, partition))
    return statements


# ---------------------------------------------------------------------------------------------- plans
def _finding_dict(finding: Finding | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(finding, Finding):
        return finding.to_json()
    return dict(finding)


@dataclass(frozen=True)
class FixContext:
    """What a template sees: the finding, its params and attributes, and the values derived from them."""

    finding: Mapping[str, Any]
    params: Mapping[str, Any]
    attributes: Mapping[str, Any] | None

    @property
    def region(self) -> str:
        region = self.params.get("region") or self.finding.get("region")
        if not region:
            raise RemediationError("the region is unknown (the finding carries no audit parameters)")
        return str(region)

    @property
    def account(self) -> str:
        account = self.params.get("account") or self.finding.get("account")
        if not account or not re.fullmatch(r"\d{12}", str(account)):
            raise RemediationError("the account id is unknown: set it with --set account=123456789012")
        return str(account)

    def attr(self, name: str, default: Any = None) -> Any:
        if self.attributes is None:
            return default
        value = self.attributes.get(name, default)
        # A name generated at deployment is not a value a fix can use, any more than an unknown one.
        return default if is_unknown(value) or is_generated(value) else value


def fix_context(finding: Finding | Mapping[str, Any]) -> FixContext:
    data = _finding_dict(finding)
    context = data.get("context") or {}
    attributes = context.get("attributes")
    return FixContext(
        finding=data,
        params=dict(context.get("params") or {}),
        attributes=dict(attributes) if isinstance(attributes, Mapping) else None,
    )


def _prefix(ctx: FixContext) -> str:
    prefix = ctx.params.get("kms_prefix")
    if not prefix:
        raise RemediationError("the KMS prefix is unknown: set it with --kms-prefix")
    return str(prefix)


def canonical_alias(name: str, prefix: str) -> str | None:
    """The seed's spelling of a near-miss alias (doubled 'alias/', wrong case), or None."""
    rest = name
    while rest.startswith("alias/"):
        rest = rest[len("alias/") :]
    head = f"{prefix}/"
    if not rest.lower().startswith(head.lower()):
        return None
    wanted = rest[len(head) :]
    for suffix in KMS_SUFFIXES:
        if suffix.lower() == wanted.lower():
            return f"alias/{prefix}/{suffix}"
    return None


def kms_plan(ctx: FixContext) -> dict[str, Any]:
    """The key to create (or re-create) for a CCME alias, with the seed's settings and key policy."""
    prefix = _prefix(ctx)
    head = f"alias/{prefix}/"
    rtype = ctx.finding.get("resource_type")
    alias: str | None = None
    alias_exists = False
    if rtype == "kms.alias":
        alias = str(ctx.attr("name") or ctx.finding.get("resource_id"))
        alias_exists = ctx.attributes is not None
    elif rtype == "kms.key":
        aliases = [a for a in _as_list(ctx.attr("aliases", [])) if str(a).startswith(head)]
        if aliases:
            alias = str(aliases[0])
            alias_exists = True
    if not alias or not alias.startswith(head):
        raise RemediationError(f"no CCME alias under {head} is known for {ctx.finding.get('resource_id')}")
    suffix = alias[len(head) :]
    account, region = ctx.account, ctx.region
    label = KMS_LABELS.get(suffix, suffix)
    return {
        "alias": alias,
        "suffix": suffix,
        "prefix": prefix,
        "label": label,
        "multi_region": suffix in MULTI_REGION_SUFFIXES,
        "description": f"CCME {prefix}/{suffix}: {label} key",
        "policy": kms_key_policy(suffix, account, region),
        "alias_exists": alias_exists,
        "replaced_key_id": ctx.attr("key_id") if rtype == "kms.key" else ctx.attr("target_key_id"),
        "var": "key_" + slug(suffix, "k"),
        "tf_name": slug(f"{prefix}_{suffix}", "k"),
        "cfn_key": logical_id("Kms", prefix, suffix, "Key"),
        "cfn_alias": logical_id("Kms", prefix, suffix, "Alias"),
        "region": region,
        "account": account,
    }


def kms_existing_key(ctx: FixContext) -> dict[str, Any]:
    key_id = ctx.attr("key_id") or str(ctx.finding.get("resource_id", "")).rsplit("/", 1)[-1]
    if not key_id or key_id == "*":
        raise RemediationError("the key id is unknown")
    name = ctx.finding.get("resource_name") or key_id
    return {
        "key_id": key_id,
        "arn": ctx.attr("arn"),
        "name": name,
        "multi_region": bool(ctx.attr("multi_region", False)),
        "description": ctx.attr("description") or "",
        "tf_name": "existing_" + slug(name, "k"),
        "cfn_key": logical_id("Existing", name, "Key"),
        "region": ctx.region,
    }


def alias_rename_plan(ctx: FixContext) -> dict[str, Any]:
    prefix = _prefix(ctx)
    wrong = str(ctx.attr("name") or ctx.finding.get("resource_id"))
    right = canonical_alias(wrong, prefix)
    if right is None or right == wrong:
        raise RemediationError(f"{wrong} is not a near miss of a CCME alias under alias/{prefix}/")
    target = ctx.attr("target_key_id")
    if not target:
        raise RemediationError(f"{wrong} targets no known key: create the key with kms/create-key")
    suffix = right[len(f"alias/{prefix}/") :]
    return {
        "wrong": wrong,
        "right": right,
        "target_key_id": target,
        "region": ctx.region,
        "tf_name": slug(f"{prefix}_{suffix}", "k"),
        "cfn_alias": logical_id("Kms", prefix, suffix, "Alias"),
    }


def bucket_plan(ctx: FixContext) -> dict[str, Any]:
    """One CCME bucket: its role, the seed's settings, and its policy merged with the required statements."""
    name = str(ctx.attr("name") or ctx.finding.get("resource_name") or ctx.finding.get("resource_id"))
    if not name or name == "*":
        raise RemediationError("the bucket name is unknown")
    role = next((r for r in ("logging", "internals", "userdata") if ctx.params.get(f"buckets.{r}") == name), None)
    region = ctx.region
    logging_bucket = ctx.params.get("buckets.logging")
    existing_policy = ctx.attributes.get("policy") if ctx.attributes is not None else None
    return {
        "name": name,
        "role": role,
        "region": region,
        "exists": ctx.attributes is not None,
        "actual_region": ctx.attr("region"),
        "logging_bucket": logging_bucket,
        "log_prefix": str(ctx.params.get("access_log_prefix") or "{resource.name}/").replace("{resource.name}", name),
        "logs": bool(logging_bucket) and role != "logging",
        "existing_policy": existing_policy,
        "tf_name": slug(name, "b"),
        "cfn_bucket": logical_id(name, "Bucket"),
        "cfn_policy": logical_id(name, "BucketPolicy"),
    }


def _tls_version_deny(statement: Any) -> bool:
    if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
        return False
    conditions = statement.get("Condition") or {}
    return isinstance(conditions, Mapping) and any(
        isinstance(c, Mapping) and any(str(k).lower() == "s3:tlsversion" for k in c) for c in conditions.values()
    )


def bucket_policy(ctx: FixContext, plan: Mapping[str, Any]) -> dict[str, Any]:
    """The existing policy plus the seed's statements. For an over-strict TLS finding, the existing
    TLS-version denies are the fault: they are replaced by the seed's (every other statement is kept)."""
    required = bucket_policy_statements(plan["name"], logging_target=plan["role"] == "logging", account=ctx.account,
                                        partition=partition_of(ctx.region).name)
    existing = plan["existing_policy"]
    if (
        "TLS-OVERSTRICT" in str(ctx.finding.get("rule_id"))
        and isinstance(existing, Mapping)
        and not is_unknown(existing)
    ):
        existing = dict(existing)
        existing["Statement"] = [s for s in _as_list(existing.get("Statement")) if not _tls_version_deny(s)]
    return merge_policy(existing, required)


def key_policy_fix(ctx: FixContext) -> dict[str, Any]:
    """The key's policy with the seed's statements for its alias merged in (nothing removed)."""
    plan = kms_plan(ctx)
    key = kms_existing_key(ctx)
    existing = ctx.attributes.get("policy") if ctx.attributes is not None else None
    if existing is None:
        raise RemediationError(f"the policy of {key['key_id']} was not collected: merge the seed's statements by hand")
    return {**key, "alias": plan["alias"], "policy": merge_policy(existing, plan["policy"]["Statement"])}


def vpc_plan(ctx: FixContext) -> dict[str, Any]:
    """A VPC's id and settings (from the finding's ec2.vpc, ec2.subnet or ec2.topology resource)."""
    vpc_id = ctx.attr("vpc_id") or ctx.params.get("network.vpc_id")
    if not vpc_id and str(ctx.finding.get("resource_id", "")).startswith("vpc-"):
        vpc_id = ctx.finding.get("resource_id")
    region = ctx.region
    name = ctx.attr("name") or ctx.params.get("network.vpc_name") or "VPC-CCME"
    return {
        "vpc_id": vpc_id,
        "name": name,
        "cidr": ctx.attr("cidr_block"),
        "region": region,
        "ipv6": [str(c) for c in _as_list(ctx.attr("ipv6_cidr_blocks", []))],
        "dhcp_domain": ctx.params.get("dhcp_domain_name")
        or ("ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"),
        "tf_name": slug(vpc_id or name, "v"),
        "cfn_vpc": logical_id(vpc_id or name, "Vpc"),
        "s3_service": f"com.amazonaws.{region}.s3",
    }


def _require_vpc(plan: Mapping[str, Any]) -> None:
    if not plan["vpc_id"]:
        raise RemediationError("the VPC id is unknown: set network.vpc_id in the configuration")


def secret_plan(ctx: FixContext) -> dict[str, Any]:
    name = ctx.attr("name") or ctx.params.get("secret_name") or ctx.finding.get("resource_id")
    if not name or name == "*":
        raise RemediationError("the secret name is unknown: set secret_name in the configuration")
    prefix = ctx.params.get("kms_prefix") or "ccme"
    return {
        "name": str(name),
        "arn": ctx.attr("arn"),
        "exists": ctx.attributes is not None,
        "deleted": bool(ctx.attr("deleted_date")),
        "kms_alias": f"alias/{prefix}/secrets",
        "region": ctx.region,
        "tf_name": slug(name, "s"),
        "cfn_secret": logical_id(name, "Secret"),
    }


# ---------------------------------------------------------------------------------------------- templates
@cache
def environment() -> jinja2.Environment:
    """Remediation templates are shell, YAML and HCL: values pass explicit filters (sh, json, yaml, hcl)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        autoescape=False,  # noqa: S701 - not HTML: each value goes through the sh/json/yaml/hcl filter
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        {
            "sh": sh,
            "json": to_json,
            "yaml": to_yaml,
            "hcl": hcl,
            "jsonencode": hcl_jsonencode,
            "jmespath": jmespath_literal,
            "slug": slug,
            "c": _clean_line,
        }
    )
    env.globals.update({"logical_id": logical_id, "merge_policy": merge_policy, "manual": _manual})
    return env


def _manual(message: str) -> str:
    """Called by a template when the fix needs a person's decision: the bundle shows it as a manual step."""
    raise RemediationError(message)


def template_name(ref: str, kind: RemediationKind) -> str:
    return f"remediation/{ref}.{TEMPLATE_SUFFIX[kind]}.j2"


def available_refs() -> set[str]:
    """Refs that have a template for every kind."""
    root = data_dir("templates") / "remediation"
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.j2"):
        rel = path.relative_to(root).as_posix()[: -len(".j2")]
        for kind, suffix in TEMPLATE_SUFFIX.items():
            if rel.endswith("." + suffix):
                found.setdefault(rel[: -len(suffix) - 1], set()).add(kind.value)
    return {ref for ref, kinds in found.items() if len(kinds) == len(TEMPLATE_SUFFIX)}


def render_fix(ref: str, kind: RemediationKind, finding: Finding | Mapping[str, Any]) -> str:
    """Render one template for one finding; RemediationError when the evidence does not allow it."""
    ctx = fix_context(finding)
    try:
        template = environment().get_template(template_name(ref, kind))
    except jinja2.TemplateNotFound:
        raise RemediationError(f"no {kind.value} template for remediation '{ref}'") from None
    return template.render(
        vpc_plan=vpc_plan,
        require_vpc=_require_vpc,
        secret_plan=secret_plan,
        key_policy_fix=key_policy_fix,
        key_policy_merge=key_policy_merge,
        bucket_policy_merge=bucket_policy_merge,
        ctx=ctx,
        finding=ctx.finding,
        params=ctx.params,
        attributes=ctx.attributes,
        kms_plan=kms_plan,
        kms_existing_key=kms_existing_key,
        alias_rename_plan=alias_rename_plan,
        bucket_plan=bucket_plan,
        bucket_policy=bucket_policy,
    )


# ---------------------------------------------------------------------------------------------- bundles
_ORDER = {
    # fixes that need an operator's input (a CIDR, a secret value, a certificate) run last
    "vpc/create-subnet": 20,
    "vpc/create-nat-gateway": 21,
    "vpc/create-route": 22,
    "secretsmanager/create-secret": 23,
    "secretsmanager/put-secret-value": 24,
    "elbv2/modify-listener": 25,
    "acm/import-certificate": 26,
    "kms/create-key": 0,
    "kms/rename-alias": 1,
    "kms/enable-key-rotation": 2,
    "s3/create-bucket": 3,
    "s3/put-bucket-policy": 4,
    "s3/put-bucket-logging": 9,
}


@dataclass(frozen=True)
class Fix:
    ref: str
    finding: Mapping[str, Any]
    text: str | None
    problem: str | None = None


def _order_key(ref: str, finding: Mapping[str, Any]) -> tuple[int, int, str, str]:
    ctx = fix_context(finding)
    logging_first = (
        0 if ctx.params.get("buckets.logging") in (finding.get("resource_id"), finding.get("resource_name")) else 1
    )
    return (_ORDER.get(ref, 5), logging_first, str(finding.get("resource_id")), ref)


def plan_fixes(findings: Iterable[Finding | Mapping[str, Any]], kind: RemediationKind) -> list[Fix]:
    """One fix per (FAIL finding, remediation ref), identical texts once, in a safe order."""
    items = []
    for finding in findings:
        data = _finding_dict(finding)
        if data.get("status") != Status.FAIL.value:
            continue
        for ref in data.get("remediation") or []:
            items.append((ref, data))
    items.sort(key=lambda item: _order_key(item[0], item[1]))
    fixes: list[Fix] = []
    seen: set[str] = set()
    for ref, data in items:
        try:
            text = render_fix(ref, kind, data)
        except RemediationError as exc:
            fixes.append(Fix(ref=ref, finding=data, text=None, problem=str(exc)))
            continue
        key = text.strip()
        if not key or key in seen:  # a template that does not apply to this resource renders nothing
            continue
        seen.add(key)
        fixes.append(Fix(ref=ref, finding=data, text=text))
    return fixes


def _fixed_rules(fixes: Sequence[Fix]) -> list[str]:
    return sorted({f"{f.finding.get('rule_id')} {f.finding.get('resource_id')}" for f in fixes if f.text})


def _clean_line(text: Any) -> str:
    """One comment line: no newline or control character can end the comment early."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def bundle_sh(fixes: Sequence[Fix], header: Mapping[str, Any]) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "set -euo pipefail",
        "#",
        "# WARNING: this script CHANGES the AWS account: it creates keys and buckets and rewrites settings",
        "# and policies. ccme-audit never runs it. Read every command, then run it with credentials for",
        f"# account {_clean_line(header.get('account') or 'unknown')}"
        f" ({_clean_line(', '.join(header.get('regions') or []))}).",
        f"# Generated by ccme-audit {_clean_line(header.get('tool_version'))} from "
        f"{_clean_line(header.get('source'))} ({len([f for f in fixes if f.text])} fixes).",
        "",
    ]
    if any(fix.text and MERGE_FUNCTION in fix.text for fix in fixes):
        lines += [
            "# The policy merges below run python3 when they are applied: checked before anything changes.",
            "command -v python3 >/dev/null 2>&1 || { echo 'ccme-audit: python3 is needed to merge policies; "
            "nothing changed' >&2; exit 1; }",
            f"# {MERGE_FUNCTION} CCME_STATEMENTS MODE: policy on stdin, merged policy on stdout, or exit 3.",
            f"{MERGE_FUNCTION}() {{ python3 -c {sh(MERGE_PROGRAM)} \"$@\"; }}",
            "",
        ]
    for fix in fixes:
        finding = fix.finding
        lines.append(
            f"# --- {_clean_line(finding.get('rule_id'))} on {_clean_line(finding.get('resource_id'))}"
            f" [{_clean_line(fix.ref)}]"
        )
        if fix.text is None:
            lines.append(f"# MANUAL: {_clean_line(fix.problem)}")
            lines.append(f"echo {sh('manual step for ' + str(finding.get('rule_id')) + ': ' + str(fix.problem))} >&2")
        else:
            lines.append(fix.text.rstrip("\n"))
        lines.append("")
    lines.append('echo "ccme-audit remediation: done; scan again to confirm."')
    return "\n".join(lines) + "\n"


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a later fix into a resource an earlier fix made: new settings added, earlier values kept."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        elif isinstance(value, list) and isinstance(base.get(key), list) and key == "fixes":
            base[key] = base[key] + [v for v in value if v not in base[key]]
        elif key not in base:
            base[key] = copy.deepcopy(value)
    return base


def bundle_cloudformation(fixes: Sequence[Fix], header: Mapping[str, Any]) -> str:
    from auditor.fileio import parse_yaml

    resources: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    manual: list[str] = []
    for fix in fixes:
        if fix.text is None:
            manual.append(f"{fix.finding.get('rule_id')} on {fix.finding.get('resource_id')}: {fix.problem}")
            continue
        fragment = parse_yaml(fix.text, file=template_name(fix.ref, RemediationKind.CLOUDFORMATION))
        if not isinstance(fragment, dict):
            raise RemediationError(f"template {fix.ref} did not render a mapping of resources")
        for name, resource in fragment.items():
            if name == "Manual":
                manual.extend(str(m) for m in _as_list(resource))
                continue
            if name == "Parameters":
                for pname, pdef in (resource or {}).items():
                    parameters.setdefault(pname, pdef)
                continue
            resource = copy.deepcopy(resource)
            meta = resource.setdefault("Metadata", {}).setdefault("ccme-audit", {})
            meta.setdefault("fixes", [])
            meta["fixes"] = [f"{fix.finding.get('rule_id')} {fix.finding.get('resource_id')}"]
            if name in resources:
                _deep_merge(resources[name], resource)
            else:
                resources[name] = resource
    document: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"ccme-audit remediation for account {header.get('account') or 'unknown'}: review, then "
            "deploy; existing buckets and keys must be imported into the stack (resource import)"
        )[:1024],
        "Metadata": {
            "ccme-audit": {
                "tool_version": str(header.get("tool_version")),
                "source": str(header.get("source")),
                "warning": "Deploying this template changes the account. ccme-audit never deploys it.",
                "manual_steps": manual,
            }
        },
        "Resources": resources,
    }
    if parameters:
        document = {
            **{k: v for k, v in document.items() if k != "Resources"},
            "Parameters": parameters,
            "Resources": resources,
        }
    if not resources:
        document["Conditions"] = {"Never": {"Fn::Equals": ["a", "b"]}}
        document["Resources"] = {
            "NothingToFix": {"Type": "AWS::CloudFormation::WaitConditionHandle", "Condition": "Never"}
        }
    return (
        "# WARNING: deploying this template changes the AWS account; ccme-audit never deploys it.\n"
        + to_yaml(document)
        + "\n"
    )


def bundle_terraform(fixes: Sequence[Fix], header: Mapping[str, Any]) -> str:
    lines = [
        "# WARNING: applying this configuration CHANGES the AWS account; ccme-audit never applies it.",
        "# Existing resources are adopted with import blocks (Terraform >= 1.5): review `terraform plan`.",
        f"# Generated by ccme-audit {_clean_line(header.get('tool_version'))} for account "
        f"{_clean_line(header.get('account') or 'unknown')}.",
        "",
    ]
    declared: dict[str, str] = {}
    for fix in fixes:
        finding = fix.finding
        lines.append(
            f"# --- {_clean_line(finding.get('rule_id'))} on {_clean_line(finding.get('resource_id'))}"
            f" [{_clean_line(fix.ref)}]"
        )
        if fix.text is None:
            lines.append(f"# MANUAL: {_clean_line(fix.problem)}")
            lines.append("")
            continue
        blocks = _tf_blocks(fix.text)
        clash = sorted(a for a, body in blocks if a and a in declared and declared[a] != body)
        if clash:
            lines.append(f"# already declared differently by an earlier fix: {', '.join(clash)}")
        else:
            kept = []
            for address, body in blocks:
                if address and address in declared:
                    continue  # the same block again (a shared data source or variable)
                if address:
                    declared[address] = body
                kept.append(body)
            lines.append("\n\n".join(kept))
        lines.append("")
    return "\n".join(lines)


def _tf_blocks(text: str) -> list[tuple[str | None, str]]:
    """Top-level blocks (with the comments before them) and their addresses (None for loose comments)."""
    out: list[tuple[str | None, str]] = []
    current: list[str] = []
    address: str | None = None
    for line in text.rstrip("\n").splitlines():
        match = _TF_RESOURCE.match(line)
        if match and address is None:
            address = ".".join(p for p in match.groups() if p)
        elif line.startswith("import {") and address is None:
            address = "import#"
        current.append(line)
        if address is not None and line.startswith("}"):
            if address == "import#":
                to = re.search(r"^\s*to\s*=\s*(\S+)", "\n".join(current), re.MULTILINE)
                address = "import:" + (to.group(1) if to else str(len(out)))
            out.append((address, "\n".join(current).strip("\n")))
            current, address = [], None
    if current and "\n".join(current).strip():
        out.append((None, "\n".join(current).strip("\n")))
    return out


_TF_RESOURCE = re.compile(r'^(resource|data|variable) "([A-Za-z0-9_]+)"(?: "([A-Za-z0-9_]+)")?', re.MULTILINE)


def render_bundle(
    findings: Iterable[Finding | Mapping[str, Any]], kind: RemediationKind, header: Mapping[str, Any]
) -> str:
    fixes = plan_fixes(findings, kind)
    match kind:
        case RemediationKind.SH:
            return bundle_sh(fixes, header)
        case RemediationKind.CLOUDFORMATION:
            return bundle_cloudformation(fixes, header)
        case RemediationKind.TERRAFORM:
            return bundle_terraform(fixes, header)


def validate_report_attributes(findings: Iterable[Finding | Mapping[str, Any]], *, file: str) -> None:
    """A report's findings carry the attributes a fix is rendered from: each must follow its resource
    type's schema (as a snapshot's do) before anything is rendered, or the input is refused (exit 2)."""
    from auditor.snapshot import validate_resource

    for index, finding in enumerate(findings):
        data = _finding_dict(finding)
        context = data.get("context") or {}
        attributes = context.get("attributes") if isinstance(context, Mapping) else None
        rtype = data.get("resource_type")
        if attributes is None or not isinstance(rtype, str):
            continue
        if not isinstance(attributes, Mapping):
            raise InputError("the finding's attributes are not an object", file=file,
                             place=f"/findings/{index}/context/attributes", fix="follow schemas/report.json")
        try:
            validate_resource({"type": rtype, "attributes": dict(attributes)}, file=file, index=index)
        except InputError as exc:
            raise InputError(f"finding {data.get('rule_id')} on {data.get('resource_id')}: {exc.what}",
                             file=file, place=f"/findings/{index}/context/attributes", fix=exc.fix) from None


def parse_kind(name: str) -> RemediationKind:
    aliases = {"shell": "sh", "bash": "sh", "cfn": "cloudformation", "tf": "terraform"}
    try:
        return RemediationKind(aliases.get(name, name))
    except ValueError:
        raise InputError(
            f"unknown remediation format '{name}'",
            place="--format",
            fix="use one of: sh, cloudformation, terraform",
        ) from None


def sh_for_finding(finding: Finding | Mapping[str, Any]) -> str | None:
    """The shell fix of one finding (for reports), or None when it has none."""
    data = _finding_dict(finding)
    parts = []
    for ref in data.get("remediation") or []:
        try:
            text = render_fix(ref, RemediationKind.SH, data).strip("\n")
            if text.strip():
                parts.append(text)
        except RemediationError as exc:
            parts.append(f"# MANUAL ({ref}): {_clean_line(exc)}")
    return "\n".join(parts) if parts else None


__all__ = [
    "Fix",
    "FixContext",
    "RemediationError",
    "RemediationKind",
    "available_refs",
    "bundle_cloudformation",
    "bundle_sh",
    "bundle_terraform",
    "canonical_alias",
    "merge_policy",
    "parse_kind",
    "plan_fixes",
    "render_bundle",
    "render_fix",
    "sh",
    "sh_for_finding",
    "template_name",
    "to_yaml",
]
