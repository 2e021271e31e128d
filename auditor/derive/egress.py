"""One egress.vpc_allowlist resource per VPC: do the required egress endpoints get through its filters?

Reads the snapshot after the topology derivation (subnet classes, attached internet gateways) and decides,
per required endpoint (auditor/allowlist/endpoints.yaml for the VPC's region), with auditor.allowlist.decisions:

- network_firewall_*: the Network Firewall firewalls deployed in the VPC (none: not filtered);
- dns_firewall_*: the DNS Firewall rule groups associated with the VPC (none: not filtered);
- endpoint_* / endpoints_missing: when no subnet of the VPC has an internet path (every subnet isolated, no
  internet gateway attached, no NAT gateway), the AWS-service endpoints (`aws_service`) must be served by an
  available VPC endpoint com.amazonaws.<region>.<service> (Interface endpoints with private DNS).

Fails closed: a filter type not collected (not in the scan plan, a listing error) or a referenced rule group /
domain list that could not be read makes the verdict unknown, unless some domain is already certainly blocked
(then the blocked list stands and the verdict names what could not be judged). A firewall in another VPC
(centralised inspection through a transit gateway) is not analysed; the verdict says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auditor.allowlist.decisions import Decision, DnsGroup, DnsRule, NfwGroup, Verdict, dns_decide, nfw_decide
from auditor.snapshot import CollectionError, Resource, Snapshot, is_unknown, unknown, unknown_reason

if TYPE_CHECKING:
    from auditor.allowlist.endpoints import Endpoint
    from auditor.config import AuditConfig

TYPE = "egress.vpc_allowlist"
FIREWALL = "networkfirewall.firewall"
RULE_GROUP = "networkfirewall.rule_group"
ASSOCIATION = "route53resolver.firewall_association"
DNS_RULE_GROUP = "route53resolver.firewall_rule_group"
DOMAIN_LIST = "route53resolver.firewall_domain_list"
INPUTS = (FIREWALL, RULE_GROUP, ASSOCIATION, DNS_RULE_GROUP, DOMAIN_LIST)
_DROP_DEFAULTS = frozenset({"aws:drop_strict", "aws:drop_established", "aws:reject_established"})
_GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})


class _Unknown(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _View:
    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.by_type: dict[str, list[Resource]] = defaultdict(list)
        for resource in snapshot.resources:
            self.by_type[resource.type].append(resource)
        self.type_errors: dict[str, list[CollectionError]] = defaultdict(list)
        for error in snapshot.errors:
            if error.resource_id is None:
                self.type_errors[error.resource_type].append(error)
        plan = snapshot.options.get("plan") if isinstance(snapshot.options, Mapping) else None
        types = plan.get("types") if isinstance(plan, Mapping) else None
        self.planned: frozenset[str] | None = frozenset(types) if isinstance(types, list) else None

    def resources(self, rtype: str, region: str | None) -> list[Resource]:
        self.require(rtype, region)
        return [r for r in self.by_type.get(rtype, []) if region is None or r.region in (region, None)]

    def require(self, rtype: str, region: str | None) -> None:
        if self.planned is not None:
            if rtype not in self.planned:
                raise _Unknown(f"{rtype} was not collected by this scan")
        elif self.snapshot.kind != "fixture":
            raise _Unknown(f"{rtype} is not described by a {self.snapshot.kind} snapshot")
        errors = [e for e in self.type_errors.get(rtype, []) if e.region in (None, region) or region is None]
        if errors:
            first = errors[0]
            raise _Unknown(f"{rtype} could not be collected: {first.code} on {first.operation}: {first.message}")


def _known(value: Any, what: str) -> Any:
    if is_unknown(value):
        raise _Unknown(f"{what} could not be read: {unknown_reason(value)}")
    return value


def _endpoints_for(endpoints: Sequence[Endpoint], region: str | None) -> list[Endpoint]:
    return [e for e in endpoints if e.region is None or e.region == region]


# --- Network Firewall ------------------------------------------------------------------------------


def _nfw_groups(view: _View, firewall: Resource, region: str | None) -> tuple[list[NfwGroup], bool, str | None]:
    """(stateful groups, strict order, a stateless verdict that short-circuits: 'pass' | 'drop' | None)."""
    attrs = firewall.attributes
    label = f"firewall {firewall.name or firewall.id}"
    stateless = _known(attrs.get("stateless_rule_group_arns", []), f"the stateless rule groups of {label}") or []
    if stateless:
        raise _Unknown(f"{label} has stateless rule groups ({stateless[0]}): they are not evaluated")
    defaults = _known(attrs.get("stateless_default_actions", []), f"the stateless default actions of {label}") or []
    short = "drop" if "aws:drop" in defaults else "pass" if "aws:pass" in defaults else None
    refs = _known(attrs.get("stateful_rule_groups", []), f"the firewall policy of {label}") or []
    by_arn = {r.id: r for r in view.resources(RULE_GROUP, region)}
    groups: list[NfwGroup] = []
    for ref in refs:
        arn = str(ref.get("arn"))
        group = by_arn.get(arn)
        if group is None:
            raise _Unknown(f"rule group {arn} of {label} was not collected")
        g = group.attributes
        kind = _known(g.get("rules_source_type", "unknown"), f"rule group {group.name or arn}")
        targets = _known(g.get("targets", []), f"the targets of rule group {group.name or arn}") or []
        groups.append(NfwGroup(
            arn=arn, name=str(group.name or g.get("name") or arn), priority=ref.get("priority"), kind=str(kind),
            generated_rules_type=g.get("generated_rules_type"), targets=tuple(str(t) for t in targets),
            target_types=tuple(str(t) for t in _known(g.get("target_types", []), "target types") or []),
        ))
    return groups, attrs.get("stateful_rule_order") == "STRICT_ORDER", short


def _network_firewall(view: _View, vpc_id: str, region: str | None, endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    firewalls = []
    for firewall in view.resources(FIREWALL, region):
        fvpc = _known(firewall.attributes.get("vpc_id"), f"the VPC of firewall {firewall.name or firewall.id}")
        if fvpc == vpc_id:
            firewalls.append(firewall)
    firewalls.sort(key=lambda f: f.id)
    names = [str(f.name or f.id) for f in firewalls]
    if not firewalls:
        return {"network_firewalls": [], "network_firewall_filtered": False,
                "network_firewall_verdict": f"not filtered: no Network Firewall is deployed in {vpc_id} (a firewall "
                                            "in another VPC, reached through a transit gateway, is not analysed)",
                "network_firewall_first_blocked": None, "network_firewall_blocked": [], "network_firewall_fixes": []}
    decided: list[tuple[Resource, list[NfwGroup], bool, str | None, bool]] = []
    for firewall in firewalls:
        groups, strict, short = _nfw_groups(view, firewall, region)
        drop = strict and bool(_DROP_DEFAULTS & set(firewall.attributes.get("stateful_default_actions") or []))
        decided.append((firewall, groups, strict, short, drop))
    blocked: list[dict[str, Any]] = []
    undecided: list[str] = []
    for endpoint in endpoints:
        for firewall, groups, strict, short, drop in decided:
            if short == "pass":
                continue
            if short == "drop":
                decision = Decision(Verdict.BLOCKED, f"the stateless default action aws:drop of firewall "
                                    f"{firewall.name or firewall.id} drops {endpoint.host}", by=firewall.id)
            else:
                decision = nfw_decide(groups, endpoint.host, endpoint.port, strict=strict, default_drop=drop)
            if decision.verdict is Verdict.BLOCKED:
                blocked.append(_entry(endpoint, decision))
                break
            if decision.verdict is Verdict.UNKNOWN:
                undecided.append(decision.reason)
                break
    groups_by_arn = {r.id: r.attributes for r in view.by_type.get(RULE_GROUP, [])}
    return _summary("network_firewall", "Network Firewall", names, blocked, undecided, len(endpoints),
                    {"network_firewalls": names, "network_firewall_filtered": True,
                     "network_firewall_fixes": _nfw_fixes(blocked, groups_by_arn)})


def _nfw_fixes(blocked: Sequence[Mapping[str, Any]], groups: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per rule group to change: its new target list (missing hosts added to an ALLOWLIST, matching entries
    removed from a DENYLIST) and what the update must keep (types, capacity, variables, options)."""
    out: dict[str, dict[str, Any]] = {}
    for entry in blocked:
        fix = entry.get("fix") or {}
        arn = fix.get("rule_group_arn")
        if not arn or arn not in groups:
            continue
        g = groups[arn]
        plan = out.setdefault(arn, {
            "rule_group_arn": arn, "rule_group_name": fix.get("rule_group_name"),
            "generated_rules_type": g.get("generated_rules_type"), "targets": list(g.get("targets") or []),
            "target_types": list(g.get("target_types") or []), "capacity": g.get("capacity"),
            "rule_variables": g.get("rule_variables"), "stateful_rule_options": g.get("stateful_rule_options"),
            "added": [], "removed": [],
        })
        if fix.get("add") and fix["add"] not in plan["targets"]:
            plan["targets"].append(fix["add"])
            plan["added"].append(fix["add"])
        if fix.get("remove") and fix["remove"] in plan["targets"]:
            plan["targets"].remove(fix["remove"])
            plan["removed"].append(fix["remove"])
    return [out[arn] for arn in sorted(out)]


def _entry(endpoint: Endpoint, decision: Decision) -> dict[str, Any]:
    return {"host": endpoint.host, "endpoint_id": endpoint.id, "port": endpoint.port, "reason": decision.reason,
            "by": decision.by, "matched": decision.matched, "fix": dict(decision.fix)}


def _summary(prefix: str, label: str, names: Sequence[str], blocked: list[dict[str, Any]], undecided: list[str],
             total: int, base: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    if blocked:
        first = blocked[0]
        more = f" (+{len(blocked) - 1} more)" if len(blocked) > 1 else ""
        note = f"; {len(undecided)} more cannot be judged: {undecided[0]}" if undecided else ""
        out[f"{prefix}_first_blocked"] = f"{first['reason']}{more}"
        out[f"{prefix}_verdict"] = f"blocked: {first['reason']}{more}{note}"
    elif undecided:
        raise _Unknown(undecided[0])
    else:
        out[f"{prefix}_first_blocked"] = None
        out[f"{prefix}_verdict"] = f"allowed: the {total} required endpoints get through {label} ({', '.join(names)})"
    out[f"{prefix}_blocked"] = blocked
    return out


# --- DNS Firewall ----------------------------------------------------------------------------------


def _dns_firewall(view: _View, vpc_id: str, region: str | None, endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    associations = [a for a in view.resources(ASSOCIATION, region) if a.attributes.get("vpc_id") == vpc_id]
    if not associations:
        return {"dns_firewall_rule_groups": [], "dns_firewall_filtered": False,
                "dns_firewall_verdict": f"not filtered: no DNS Firewall rule group is associated with {vpc_id}",
                "dns_firewall_first_blocked": None, "dns_firewall_blocked": [], "dns_firewall_fixes": []}
    rule_groups = {r.id: r for r in view.resources(DNS_RULE_GROUP, region)}
    lists = {r.id: r for r in view.resources(DOMAIN_LIST, region)}
    groups: list[DnsGroup] = []
    for assoc in associations:
        gid = str(assoc.attributes.get("firewall_rule_group_id"))
        group = rule_groups.get(gid)
        if group is None:
            raise _Unknown(f"DNS Firewall rule group {gid} was not collected")
        rules = []
        for rule in _known(group.attributes.get("rules"), f"the rules of DNS Firewall rule group {gid}") or []:
            list_id = rule.get("firewall_domain_list_id")
            domains: tuple[str, ...] | None = None
            domain_list = lists.get(str(list_id)) if list_id else None
            if domain_list is not None and not is_unknown(domain_list.attributes.get("domains")):
                domains = tuple(str(d) for d in domain_list.attributes.get("domains") or [])
            priority = _known(rule.get("priority"), f"the priority of a rule of DNS Firewall rule group {gid}")
            action = rule.get("action")
            rules.append(DnsRule(priority=int(priority), action="" if is_unknown(action) else str(action),
                                 domain_list_id=list_id, domains=domains, name=str(rule.get("name") or "")))
        order = _known(assoc.attributes.get("priority"), f"the priority of DNS Firewall association {assoc.id}")
        groups.append(DnsGroup(rule_group_id=gid, association_priority=int(order),
                               rules=tuple(rules), name=str(assoc.name or "")))
    names = [g.rule_group_id for g in sorted(groups, key=lambda g: g.association_priority)]
    blocked: list[dict[str, Any]] = []
    undecided: list[str] = []
    for endpoint in endpoints:
        decision = dns_decide(groups, endpoint.host)
        if decision.verdict is Verdict.BLOCKED:
            blocked.append(_entry(endpoint, decision))
        elif decision.verdict is Verdict.UNKNOWN:
            undecided.append(decision.reason)
    return _summary("dns_firewall", "DNS Firewall", names, blocked, undecided, len(endpoints),
                    {"dns_firewall_rule_groups": names, "dns_firewall_filtered": True,
                     "dns_firewall_fixes": _dns_fixes(blocked)})


def _dns_fixes(blocked: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per blocking rule: the domains to add to the domain list of an ALLOW rule evaluated before it (in the same
    rule group), or, when there is none, the rule group and priority where such a rule must be created."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in blocked:
        fix = entry.get("fix") or {}
        if not fix.get("rule_group_id"):
            continue
        key = (str(fix["rule_group_id"]), int(fix.get("blocking_priority", 0)))
        plan = out.setdefault(key, {"rule_group_id": key[0], "blocking_priority": key[1],
                                    "blocking_domain_list_id": fix.get("blocking_domain_list_id"),
                                    "domain_list_id": fix.get("domain_list_id"), "add": []})
        if fix.get("add") and fix["add"] not in plan["add"]:
            plan["add"].append(fix["add"])
    return [out[k] for k in sorted(out)]


# --- VPC endpoints for a VPC without internet ------------------------------------------------------


def _internet_path(view: _View, vpc_id: str, region: str | None, topology: Resource | None) -> tuple[bool, str]:
    subnets = [s for s in view.resources("ec2.subnet", region) if s.attributes.get("vpc_id") == vpc_id]
    if not subnets:
        raise _Unknown(f"{vpc_id} has no subnet in the snapshot: its internet path cannot be told")
    classes = {s.id: s.attributes.get("classification") for s in subnets}
    open_subnets = sorted(sid for sid, value in classes.items() if isinstance(value, str) and value != "isolated")
    if open_subnets:  # one known way out is enough, whatever the other subnets are
        return True, f"subnet {open_subnets[0]} is {classes[open_subnets[0]]}"
    undecided = sorted(sid for sid, value in classes.items() if value != "isolated")
    if undecided:
        raise _Unknown(f"the routing class of subnet {undecided[0]} is unknown")
    igws = topology.attributes.get("internet_gateway_ids") if topology is not None else None
    if igws is None or is_unknown(igws):
        raise _Unknown(f"the internet gateways of {vpc_id} are unknown")
    if igws:
        return True, f"internet gateway {igws[0]} is attached"
    nats = [n for n in view.resources("ec2.nat_gateway", region) if n.attributes.get("vpc_id") == vpc_id]
    if nats:
        return True, f"NAT gateway {nats[0].id} is in the VPC"
    return False, "every subnet is isolated, no internet gateway is attached and no NAT gateway exists"


def _usable(endpoint: Resource, service_name: str) -> bool:
    a = endpoint.attributes
    if a.get("service_name") != service_name or str(a.get("state") or "").lower() != "available":
        return False
    if str(a.get("vpc_endpoint_type") or "Gateway").lower() == "interface":
        return a.get("private_dns_enabled") is True
    return True


def _vpc_endpoints(view: _View, vpc_id: str, region: str | None, endpoints: Sequence[Endpoint],
                   topology: Resource | None) -> dict[str, Any]:
    has_path, why = _internet_path(view, vpc_id, region, topology)
    if has_path:
        return {"internet_path": True, "endpoints_missing": [], "endpoint_first_missing": None,
                "endpoint_verdict": f"not required: {vpc_id} has an internet path ({why})"}
    in_vpc = [e for e in view.resources("ec2.vpc_endpoint", region) if e.attributes.get("vpc_id") == vpc_id]
    missing = []
    for endpoint in endpoints:
        if not endpoint.aws_service:
            continue
        service_name = f"com.amazonaws.{endpoint.region or region}.{endpoint.aws_service}"
        if not any(_usable(e, service_name) for e in in_vpc):
            missing.append({"host": endpoint.host, "endpoint_id": endpoint.id, "service": endpoint.aws_service,
                            "service_name": service_name})
    if missing:
        kind = "Gateway" if missing[0]["service"] in _GATEWAY_SERVICES else "Interface (private DNS)"
        more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
        first = f"{missing[0]['host']} needs an available {kind} endpoint {missing[0]['service_name']}{more}"
        return {"internet_path": False, "endpoints_missing": missing, "endpoint_first_missing": first,
                "endpoint_verdict": f"missing: {first} ({why})"}
    return {"internet_path": False, "endpoints_missing": [], "endpoint_first_missing": None,
            "endpoint_verdict": f"covered: every AWS-service endpoint is served by a VPC endpoint ({why})"}


# --- the derived resource --------------------------------------------------------------------------


def _part(fn: Any, *args: Any, keys: Sequence[str]) -> dict[str, Any]:
    try:
        return dict(fn(*args))
    except _Unknown as exc:
        return {key: unknown(exc.reason) for key in keys}


_NFW_KEYS = ("network_firewalls", "network_firewall_filtered", "network_firewall_verdict",
             "network_firewall_first_blocked", "network_firewall_blocked", "network_firewall_fixes")
_DNS_KEYS = ("dns_firewall_rule_groups", "dns_firewall_filtered", "dns_firewall_verdict",
             "dns_firewall_first_blocked", "dns_firewall_blocked", "dns_firewall_fixes")
_VPCE_KEYS = ("internet_path", "endpoints_missing", "endpoint_first_missing", "endpoint_verdict")


def vpc_allowlists(snapshot: Snapshot, config: AuditConfig) -> list[Resource]:
    """One egress.vpc_allowlist per VPC of the (already topology-derived) snapshot."""
    from auditor.allowlist.endpoints import required_endpoints

    view = _View(snapshot)
    required = required_endpoints(config)
    topologies = {r.id: r for r in view.by_type.get("ec2.topology", [])}
    out = []
    for vpc in view.by_type.get("ec2.vpc", []):
        vpc_id = str(vpc.attributes.get("vpc_id") or vpc.id)
        region = vpc.region
        endpoints = _endpoints_for(required, region)
        role = vpc.attributes.get("ccme_role")
        attributes: dict[str, Any] = {"vpc_id": vpc_id, "role": role if role in ("ccme", "cluster") else None,
                                      "required_hosts": len(endpoints)}
        if is_unknown(role):
            attributes["role"] = role
        attributes.update(_part(_network_firewall, view, vpc_id, region, endpoints, keys=_NFW_KEYS))
        attributes.update(_part(_dns_firewall, view, vpc_id, region, endpoints, keys=_DNS_KEYS))
        attributes.update(_part(_vpc_endpoints, view, vpc_id, region, endpoints, topologies.get(vpc_id),
                                keys=_VPCE_KEYS))
        name = vpc.name if isinstance(vpc.name, str) and vpc.name else vpc_id
        out.append(Resource(type=TYPE, id=vpc_id, attributes=attributes, name=name, region=region,
                            account=vpc.account))
    return out
