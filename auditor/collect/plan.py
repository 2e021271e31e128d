"""What a scan must collect, derived from the selected rules and the configuration.

Types: every rule's resource_type, plus the types its assertions look up (`lookup`).
Selectors: per type, the values of the attribute paths the rules' scopes select on (for
example the three configured bucket names). A collector makes its per-resource detail calls
only for resources a selector matches; a rule whose scope cannot be reduced to literal values
(no `where`, a regex, a template reading the resource) makes its type "collect everything".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from auditor.collect.base import Plan
from auditor.collect.registry import listed_attributes
from auditor.config import AuditConfig
from auditor.engine import operators
from auditor.engine.rules import Rule
from auditor.engine.values import MissingParameter, render

EVERYTHING = None

# Facts derived before evaluation (auditor.derive, in the pipeline), and the collected types each reads:
# a rule on a subnet's classification or on the VPC topology needs the route tables, gateways and
# endpoints even though no rule names them. Per type, "*" holds the inputs of facts derived for
# every rule of the type; a named attribute, the inputs of that fact alone, needed only by a rule
# reading it (a ccme rule never reads an endpoint's 443 sources: its scan needs no security group).
_NETWORK_INPUTS = (
    "ec2.vpc",
    "ec2.subnet",
    "ec2.route_table",
    "ec2.internet_gateway",
    "ec2.nat_gateway",
    "ec2.vpc_endpoint",
)
DERIVED_INPUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "ec2.subnet": {"*": _NETWORK_INPUTS},
    "ec2.topology": {"*": _NETWORK_INPUTS},
    # auditor/derive/bbp.py: endpoint AZs and 443 sources, RDS port sources, peering routes.
    "ec2.vpc_endpoint": {
        "cluster_azs_uncovered": _NETWORK_INPUTS,
        "cluster_https_uncovered": (*_NETWORK_INPUTS, "ec2.security_group"),
    },
    "rds.db_instance": {
        "world_port_ingress": ("ec2.security_group",),
        "cluster_port_uncovered": (*_NETWORK_INPUTS, "ec2.security_group"),
    },
    "ec2.vpc_peering_connection": {"route_gaps": _NETWORK_INPUTS},
    # auditor/derive/deployed.py: the key a deployed resource uses, resolved through aliases and keys.
    "deployed.resource": {"*": ("kms.alias", "kms.key")},
    # auditor/derive/bbp.py: sources outside the cluster VPC and its peers; SSH from outside it and the main VPC.
    "ec2.security_group": {
        "foreign_ingress": (*_NETWORK_INPUTS, "ec2.vpc_peering_connection", "ec2.security_group"),
        "ssh_outside_sources": (*_NETWORK_INPUTS, "ec2.security_group"),
    },
    # auditor/derive/egress.py: the VPC's firewalls, DNS Firewall rules and endpoints.
    "egress.vpc_allowlist": {
        "*": (
            *_NETWORK_INPUTS,
            "networkfirewall.firewall",
            "networkfirewall.rule_group",
            "route53resolver.firewall_association",
            "route53resolver.firewall_rule_group",
            "route53resolver.firewall_domain_list",
        )
    },
}


def rule_reads(rule: Rule) -> dict[str, set[str]]:
    """Per resource type, the top-level attributes a rule reads: its own type's (assertion and scope)
    and those of the types it looks up."""
    reads = lookup_reads(rule.assertion, rtype=rule.resource_type)
    if rule.scope.where is not None:
        lookup_reads(rule.scope.where, reads, rule.resource_type)
    return reads


def derived_inputs(reads: Mapping[str, set[str]]) -> set[str]:
    """The collected types the derivation of the facts in `reads` (type -> attributes) needs."""
    out: set[str] = set()
    for rtype, attributes in reads.items():
        for fact, inputs in DERIVED_INPUTS.get(rtype, {}).items():
            if fact == "*" or fact in attributes:
                out.update(inputs)
    return out


def _literal_selector(where: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    ((name, args),) = where.items()
    if name in ("equals", "contains") and not args.get("ignore_case"):
        value = args["value"]
        if isinstance(value, str | int | bool) and "{resource." not in str(value):
            return args["path"], [value]
    if name == "in" and not args.get("ignore_case") and isinstance(args.get("values"), list):
        values = args["values"]
        if all(isinstance(v, str | int | bool) and "{resource." not in str(v) for v in values):
            return args["path"], list(values)
    return None


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def lookup_reads(
    assertion: Mapping[str, Any], out: dict[str, set[str]] | None = None, rtype: str | None = None
) -> dict[str, set[str]]:
    """Per looked-up type, the top-level attributes a rule's `lookup`s match on and assert."""
    out = {} if out is None else out
    ((name, args),) = assertion.items()
    if name == "lookup":
        other = args["type"]
        reads = out.setdefault(other, set())
        reads.update(_top(p) for p in args.get("match", {}) if not p.startswith("@"))
        if args.get("assert") is not None:
            lookup_reads(args["assert"], out, other)
        return out
    if rtype is not None:
        op = operators.OPERATORS[name]
        out.setdefault(rtype, set()).update(_top(p) for p in op.paths(args) if not p.startswith("@"))
    for child in operators.OPERATORS[name].children(args):
        lookup_reads(child, out, rtype)
    return out


def build_plan(
    rules: Sequence[Rule],
    config: AuditConfig,
    account: str | None,
    regions: Iterable[str] | None = None,
    cheap: Mapping[str, set[str]] | None = None,
) -> Plan:
    """The types to collect and, per type, the selectors of the resources needing detail calls.

    `cheap` names, per type, the attributes its collector fills for every resource from list calls
    ("*": all of them; default: the collectors' LISTED). A lookup reading only those needs no
    detail calls on every resource of the type.
    """
    if cheap is None:
        cheap = listed_attributes()
    types: set[str] = set()
    selectors: dict[str, dict[str, set[Any]] | None] = {}
    everything: set[str] = set()
    for rule in rules:
        if not rule.live:
            continue
        types.add(rule.resource_type)
        types.update(derived_inputs(rule_reads(rule)))
        for looked_up, reads in lookup_reads(rule.assertion).items():
            types.add(looked_up)
            listed = cheap.get(looked_up, set())
            if "*" not in listed and not reads <= listed:
                everything.add(looked_up)  # the lookup reads detail attributes of any resource
        if rule.scope.where is None:
            everything.add(rule.resource_type)
            continue
        for region in regions or config.regions:
            params = config.params(region, account)
            try:
                where = render(rule.scope.where, params, keep_prefix="resource.")
            except MissingParameter:
                continue  # the rule reports the missing parameter as ERROR; it selects nothing
            picked = _literal_selector(where)
            if picked is None:
                everything.add(rule.resource_type)
                continue
            path, values = picked
            selector = selectors.setdefault(rule.resource_type, {})
            if selector is not None:
                selector.setdefault(path, set()).update(values)
    for rtype in everything:
        selectors[rtype] = EVERYTHING
    for rtype in types:
        selectors.setdefault(rtype, EVERYTHING if rtype in everything else {})
    options = frozenset(k for k, v in (config.data.get("options") or {}).items() if v)
    return Plan(types=frozenset(types), selectors=selectors, options=options)
