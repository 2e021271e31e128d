"""Static egress allowlist decisions: does a firewall configuration let a required domain through?

Pure functions over plain data (no snapshot, no AWS). Two filters are modelled:

- AWS Network Firewall stateful domain list rule groups (RulesSourceList): a target `.example.com` matches
  example.com and every subdomain, a plain name matches exactly; `TargetTypes` TLS_SNI inspects HTTPS,
  HTTP_HOST inspects HTTP. ALLOWLIST passes matching traffic of the inspected protocols and drops the rest
  of those protocols; DENYLIST drops matching traffic.
  https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_RulesSourceList.html
  https://docs.aws.amazon.com/network-firewall/latest/developerguide/stateful-rule-groups-domain-names.html
  With the default (action order) rule order, pass rules win over drop rules whatever group holds them; with
  STRICT_ORDER the groups are read by priority and the first one with a verdict decides.
- Route 53 Resolver DNS Firewall: a domain `*.example.com` matches subdomains (not the apex), `example.com`
  matches exactly. Rule groups associated with the VPC are read by association priority, their rules by rule
  priority; the first matching rule decides (ALLOW allows, BLOCK blocks, ALERT logs and goes on); a domain no
  rule matches is allowed.
  https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-dns-firewall-rule-group-adding.html

Matching is case-insensitive and ignores a trailing dot. A verdict is one of ALLOWED, BLOCKED or UNKNOWN
(the configuration holds something this module cannot judge: a Suricata rule string, a rule without a domain
list, a stateless rule group); UNKNOWN must never be read as allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def normalise(name: str) -> str:
    return name.strip().lower().rstrip(".")


def nfw_target_matches(target: str, host: str) -> bool:
    """Network Firewall domain list target: `.example.com` is the domain and its subdomains, else exact."""
    target, host = normalise(target), normalise(host)
    if target.startswith("."):
        apex = target[1:]
        return bool(apex) and (host == apex or host.endswith(target))
    return bool(target) and host == target


def dns_domain_matches(domain: str, host: str) -> bool:
    """DNS Firewall domain: `*.example.com` is every subdomain (not the apex), `*` everything, else exact."""
    domain, host = normalise(domain), normalise(host)
    if domain == "*":
        return bool(host)
    if domain.startswith("*."):
        suffix = domain[1:]  # ".example.com"
        return len(host) > len(suffix) and host.endswith(suffix)
    return bool(domain) and host == domain


class Verdict(StrEnum):
    ALLOWED = "allowed"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    by: str | None = None  # the rule group / domain list that decided, when one did
    matched: str | None = None  # the entry that matched (target or domain), when one did
    fix: dict[str, Any] = field(default_factory=dict)  # what would let the domain through


# --- Network Firewall ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NfwGroup:
    """One stateful rule group referenced by a firewall policy, as far as it is known."""

    arn: str
    name: str
    priority: int | None
    kind: str  # domain_list | rules_string | stateful_rules | unknown
    generated_rules_type: str | None = None  # ALLOWLIST | DENYLIST
    targets: tuple[str, ...] = ()
    target_types: tuple[str, ...] = ()


def target_type_for(port: int) -> str:
    """The domain list target type that inspects a connection to this port (HTTP on 80, TLS otherwise)."""
    return "HTTP_HOST" if port == 80 else "TLS_SNI"


def _first_match(group: NfwGroup, host: str) -> str | None:
    return next((t for t in group.targets if nfw_target_matches(t, host)), None)


def nfw_decide(
    groups: Sequence[NfwGroup], host: str, port: int = 443, *, strict: bool = False, default_drop: bool = False
) -> Decision:
    """Whether the stateful domain list rule groups of one firewall policy let `host:port` through.

    `default_drop`: the policy's stateful default actions drop what no rule passed (strict order only:
    aws:drop_strict, aws:drop_established, aws:reject_established).
    """
    ttype = target_type_for(port)
    inspecting = [g for g in groups if g.kind != "domain_list" or ttype in g.target_types]
    if strict:
        ordered = sorted(inspecting, key=lambda g: (g.priority is None, g.priority or 0, g.arn))
        for group in ordered:
            if group.kind != "domain_list":
                return Decision(Verdict.UNKNOWN, f"rule group {group.name} ({group.kind}) comes first in strict order "
                                f"and is not a domain list: its verdict on {host} cannot be judged statically",
                                by=group.arn)
            matched = _first_match(group, host)
            if group.generated_rules_type == "DENYLIST":
                if matched is not None:
                    return _nfw_denied(group, host, matched)
                continue
            if matched is not None:
                return Decision(Verdict.ALLOWED, f"{host} is allowed by {matched} in {group.name}", by=group.arn,
                                matched=matched)
            return _nfw_not_listed(group, host, ttype)
        if default_drop:
            return Decision(Verdict.BLOCKED, f"no rule group passes {host} ({ttype}) and the policy's stateful "
                            "default action drops it", by="stateful default action")
        return Decision(Verdict.ALLOWED, f"no domain list rule group inspects {ttype} for {host}")
    # Action order: pass rules (ALLOWLIST matches) win over drop rules, whatever group holds them.
    for group in inspecting:
        if group.kind == "domain_list" and group.generated_rules_type == "ALLOWLIST":
            matched = _first_match(group, host)
            if matched is not None:
                return Decision(Verdict.ALLOWED, f"{host} is allowed by {matched} in {group.name}", by=group.arn,
                                matched=matched)
    opaque = [g for g in inspecting if g.kind != "domain_list"]
    if opaque:  # its pass rules could let the domain through, its drop rules could block it
        return Decision(Verdict.UNKNOWN, f"no domain list allows {host}, and rule group {opaque[0].name} "
                        f"({opaque[0].kind}) cannot be judged statically", by=opaque[0].arn)
    for group in inspecting:
        if group.kind == "domain_list" and group.generated_rules_type == "DENYLIST":
            matched = _first_match(group, host)
            if matched is not None:
                return _nfw_denied(group, host, matched)
    for group in inspecting:
        if group.generated_rules_type == "ALLOWLIST":
            return _nfw_not_listed(group, host, ttype)
    return Decision(Verdict.ALLOWED, f"no domain list rule group blocks {host} ({ttype})")


def _nfw_denied(group: NfwGroup, host: str, matched: str) -> Decision:
    return Decision(Verdict.BLOCKED, f"{host} is denied by {matched} in the DENYLIST rule group {group.name}",
                    by=group.arn, matched=matched,
                    fix={"rule_group_arn": group.arn, "rule_group_name": group.name, "remove": matched})


def _nfw_not_listed(group: NfwGroup, host: str, ttype: str) -> Decision:
    return Decision(Verdict.BLOCKED, f"{host} is not in the ALLOWLIST rule group {group.name} ({ttype})",
                    by=group.arn, fix={"rule_group_arn": group.arn, "rule_group_name": group.name, "add": host})


# --- DNS Firewall ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DnsRule:
    priority: int
    action: str  # ALLOW | BLOCK | ALERT
    domain_list_id: str | None
    domains: tuple[str, ...] | None  # None: the domain list is unknown (not collected, or no list)
    name: str = ""


@dataclass(frozen=True)
class DnsGroup:
    """One DNS Firewall rule group associated with the VPC, at its association priority."""

    rule_group_id: str
    association_priority: int
    rules: tuple[DnsRule, ...]
    name: str = ""


def dns_decide(groups: Sequence[DnsGroup], host: str) -> Decision:
    """The DNS Firewall verdict on a query for `host` from a VPC with these associated rule groups."""
    for group in sorted(groups, key=lambda g: (g.association_priority, g.rule_group_id)):
        rules = sorted(group.rules, key=lambda r: r.priority)
        for rule in rules:
            label = f"rule {rule.name or rule.priority} (priority {rule.priority}) of rule group {group.rule_group_id}"
            if rule.domains is None:
                return Decision(Verdict.UNKNOWN, f"the domains of {label} are unknown", by=group.rule_group_id)
            matched = next((d for d in rule.domains if dns_domain_matches(d, host)), None)
            if matched is None:
                continue
            if rule.action not in ("ALLOW", "BLOCK", "ALERT"):  # unknown (not told, or a newer action)
                return Decision(Verdict.UNKNOWN, f"{host} matches {matched} in {label}, whose action is unknown",
                                by=group.rule_group_id)
            if rule.action == "ALLOW":
                return Decision(Verdict.ALLOWED, f"{host} is allowed by {matched} in {label}",
                                by=group.rule_group_id, matched=matched)
            if rule.action == "BLOCK":
                allow = next((r for r in rules if r.action == "ALLOW" and r.priority < rule.priority
                              and r.domain_list_id), None)
                fix: dict[str, Any] = {"rule_group_id": group.rule_group_id, "blocking_priority": rule.priority,
                                       "blocking_domain_list_id": rule.domain_list_id, "add": host}
                if allow is not None:
                    fix["domain_list_id"] = allow.domain_list_id
                return Decision(Verdict.BLOCKED, f"{host} is blocked by {matched} in {label}",
                                by=f"{group.rule_group_id}/{rule.domain_list_id}", matched=matched, fix=fix)
            # ALERT: logged, evaluation goes on
    return Decision(Verdict.ALLOWED, f"no DNS Firewall rule matches {host}")
