"""Egress filters: AWS Network Firewall (firewalls, their policy's rule group references, the rule groups) and
Route 53 Resolver DNS Firewall (rule group associations, their rules, the domain lists those rules use).

Only what a filter applied to a VPC references is read in detail: the firewall policy of each firewall, the
stateful and stateless rule groups that policy references, the rules of each DNS Firewall rule group
associated with a VPC, and the domains of each domain list those rules name.

Errors: a failed listing is a type-level error (every rule reading the type is ERROR); a failed detail call
makes the attribute it fills unknown on that one resource (DescribeFirewall: vpc_id; DescribeFirewallPolicy:
stateful_rule_groups; DescribeRuleGroup: targets; ListFirewallRules: rules; ListFirewallDomains: domains).
"""

from __future__ import annotations

from typing import Any

from auditor.collect.base import Call, CollectContext, Failed, iam_actions, missing, tag_map
from auditor.snapshot import unknown

FIREWALL = "networkfirewall.firewall"
RULE_GROUP = "networkfirewall.rule_group"
ASSOCIATION = "route53resolver.firewall_association"
DNS_RULE_GROUP = "route53resolver.firewall_rule_group"
DOMAIN_LIST = "route53resolver.firewall_domain_list"
RESOURCE_TYPES = (FIREWALL, RULE_GROUP, ASSOCIATION, DNS_RULE_GROUP, DOMAIN_LIST)
REGIONAL = True
CALLS = (
    Call("network-firewall", "ListFirewalls", "network-firewall:ListFirewalls"),
    Call("network-firewall", "DescribeFirewall", "network-firewall:DescribeFirewall"),
    Call("network-firewall", "DescribeFirewallPolicy", "network-firewall:DescribeFirewallPolicy"),
    Call("network-firewall", "DescribeRuleGroup", "network-firewall:DescribeRuleGroup"),
    Call("route53resolver", "ListFirewallRuleGroupAssociations", "route53resolver:ListFirewallRuleGroupAssociations"),
    Call("route53resolver", "ListFirewallRules", "route53resolver:ListFirewallRules"),
    Call("route53resolver", "ListFirewallDomainLists", "route53resolver:ListFirewallDomainLists"),
    Call("route53resolver", "ListFirewallDomains", "route53resolver:ListFirewallDomains"),
)
IAM_ACTIONS = iam_actions(CALLS)
LISTED = {ASSOCIATION: {"*"}, DOMAIN_LIST: {"domain_list_id", "name", "arn", "managed_owner_name"}}
_DETAIL_FIREWALL = ("vpc_id", "subnet_ids", "firewall_policy_arn", "tags")
_DETAIL_POLICY = ("stateful_rule_groups", "stateless_rule_group_arns", "stateful_rule_order",
                  "stateful_default_actions", "stateless_default_actions")


def collect(ctx: CollectContext) -> None:
    if ctx.plan.wants(FIREWALL) or ctx.plan.wants(RULE_GROUP):
        _network_firewall(ctx)
    if ctx.plan.wants(ASSOCIATION) or ctx.plan.wants(DNS_RULE_GROUP) or ctx.plan.wants(DOMAIN_LIST):
        _dns_firewall(ctx)


# --- Network Firewall ------------------------------------------------------------------------------


def _network_firewall(ctx: CollectContext) -> None:
    items = ctx.paginate("network-firewall", "ListFirewalls", "Firewalls")
    if isinstance(items, Failed):
        ctx.type_error(FIREWALL, items)
        ctx.type_error(RULE_GROUP, items)  # the rule groups in use are found through the firewalls
        return
    firewalls = ctx.map(lambda item: _firewall(ctx, item), items)
    arns = sorted({g["arn"] for f in firewalls for g in _list(f.get("stateful_rule_groups"))}
                  | {a for f in firewalls for a in _list(f.get("stateless_rule_group_arns"))})
    for attributes in firewalls:
        ctx.add(FIREWALL, attributes["arn"], attributes, name=attributes["firewall_name"])
    if ctx.plan.wants(RULE_GROUP):
        ctx.map(lambda arn: _rule_group(ctx, arn), arns)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _firewall(ctx: CollectContext, item: dict[str, Any]) -> dict[str, Any]:
    arn = str(item.get("FirewallArn"))
    attributes: dict[str, Any] = {"firewall_name": str(item.get("FirewallName") or arn.rsplit("/", 1)[-1]),
                                  "arn": arn}
    answer = ctx.call("network-firewall", "DescribeFirewall", FirewallArn=arn)
    if isinstance(answer, Failed):
        value = ctx.attribute_error(FIREWALL, arn, "vpc_id", answer)
        attributes.update(dict.fromkeys(_DETAIL_FIREWALL + _DETAIL_POLICY, value))
        return attributes
    firewall = (answer or {}).get("Firewall") or {}
    attributes.update({
        "vpc_id": firewall.get("VpcId") or missing("network-firewall:DescribeFirewall", "VpcId"),
        "subnet_ids": [str(m["SubnetId"]) for m in firewall.get("SubnetMappings") or [] if m.get("SubnetId")],
        "firewall_policy_arn": firewall.get("FirewallPolicyArn"),
        "tags": tag_map(firewall.get("Tags")),
    })
    policy_arn = firewall.get("FirewallPolicyArn")
    if not policy_arn:
        attributes.update({"stateful_rule_groups": [], "stateless_rule_group_arns": [],
                           "stateful_rule_order": "DEFAULT_ACTION_ORDER", "stateful_default_actions": [],
                           "stateless_default_actions": []})
        return attributes
    policy_answer = ctx.call("network-firewall", "DescribeFirewallPolicy", FirewallPolicyArn=policy_arn)
    if isinstance(policy_answer, Failed):
        value = ctx.attribute_error(FIREWALL, arn, "stateful_rule_groups", policy_answer)
        attributes.update(dict.fromkeys(_DETAIL_POLICY, value))
        return attributes
    attributes.update(firewall_policy((policy_answer or {}).get("FirewallPolicy") or {}))
    return attributes


def firewall_policy(policy: dict[str, Any]) -> dict[str, Any]:
    order = (policy.get("StatefulEngineOptions") or {}).get("RuleOrder") or "DEFAULT_ACTION_ORDER"
    return {
        "stateful_rule_groups": [
            {"arn": str(ref["ResourceArn"]), "priority": ref.get("Priority")}
            for ref in policy.get("StatefulRuleGroupReferences") or [] if ref.get("ResourceArn")
        ],
        "stateless_rule_group_arns": [
            str(ref["ResourceArn"]) for ref in policy.get("StatelessRuleGroupReferences") or []
            if ref.get("ResourceArn")
        ],
        "stateful_rule_order": order,
        "stateful_default_actions": [str(a) for a in policy.get("StatefulDefaultActions") or []],
        "stateless_default_actions": [str(a) for a in policy.get("StatelessDefaultActions") or []],
    }


def _rule_group(ctx: CollectContext, arn: str) -> None:
    name = arn.rsplit("/", 1)[-1]
    answer = ctx.call("network-firewall", "DescribeRuleGroup", RuleGroupArn=arn)
    if isinstance(answer, Failed):
        value = ctx.attribute_error(RULE_GROUP, arn, "targets", answer)
        attributes: dict[str, Any] = {"arn": arn, "name": name, "rules_source_type": value, "targets": value,
                                      "target_types": value, "generated_rules_type": value}
        ctx.add(RULE_GROUP, arn, attributes, name=name)
        return
    attributes = rule_group(answer or {}, arn)
    ctx.add(RULE_GROUP, arn, attributes, name=attributes["name"])


def rule_group(answer: dict[str, Any], arn: str) -> dict[str, Any]:
    response = answer.get("RuleGroupResponse") or {}
    group = answer.get("RuleGroup") or {}
    source = group.get("RulesSource") or {}
    listed = source.get("RulesSourceList")
    if listed:
        kind = "domain_list"
    elif source.get("RulesString"):
        kind = "rules_string"
    elif source.get("StatefulRules"):
        kind = "stateful_rules"
    elif source.get("StatelessRulesAndCustomActions"):
        kind = "stateless"
    else:
        kind = "unknown"
    listed = listed or {}
    return {
        "arn": str(response.get("RuleGroupArn") or arn),
        "name": str(response.get("RuleGroupName") or arn.rsplit("/", 1)[-1]),
        "type": response.get("Type"),
        "capacity": response.get("Capacity"),
        "rules_source_type": kind,
        "generated_rules_type": listed.get("GeneratedRulesType"),
        "targets": [str(t) for t in listed.get("Targets") or []],
        "target_types": [str(t) for t in listed.get("TargetTypes") or []],
        "rule_variables": group.get("RuleVariables"),
        "stateful_rule_options": group.get("StatefulRuleOptions"),
    }


# --- DNS Firewall ----------------------------------------------------------------------------------


def _dns_firewall(ctx: CollectContext) -> None:
    items = ctx.paginate("route53resolver", "ListFirewallRuleGroupAssociations", "FirewallRuleGroupAssociations")
    if isinstance(items, Failed):
        for rtype in (ASSOCIATION, DNS_RULE_GROUP, DOMAIN_LIST):  # the rest is found through the associations
            ctx.type_error(rtype, items)
        return
    groups: set[str] = set()
    for item in items:
        rid, attributes = association(item)
        ctx.add(ASSOCIATION, rid, attributes, name=attributes["name"])
        groups.add(attributes["firewall_rule_group_id"])
    if not (ctx.plan.wants(DNS_RULE_GROUP) or ctx.plan.wants(DOMAIN_LIST)):
        return
    rule_sets = ctx.map(lambda gid: _dns_rules(ctx, gid), sorted(groups))
    wanted = sorted({r["firewall_domain_list_id"] for rules in rule_sets if isinstance(rules, list)
                     for r in rules if r.get("firewall_domain_list_id")})
    if not wanted or not ctx.plan.wants(DOMAIN_LIST):
        return
    lists = ctx.paginate("route53resolver", "ListFirewallDomainLists", "FirewallDomainLists")
    if isinstance(lists, Failed):
        ctx.type_error(DOMAIN_LIST, lists)
        return
    known = {str(d.get("Id")): d for d in lists if d.get("Id")}
    ctx.map(lambda lid: _domain_list(ctx, lid, known.get(lid, {})), wanted)


def _text(item: dict[str, Any], member: str) -> str | dict[str, str]:
    value = item.get(member)
    return str(value) if value else missing("route53resolver:ListFirewallRuleGroupAssociations", member)


def association(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = str(item["Id"])
    return rid, {
        "association_id": rid,
        "name": item.get("Name"),
        "vpc_id": _text(item, "VpcId"),
        "firewall_rule_group_id": _text(item, "FirewallRuleGroupId"),
        "priority": _priority(item, "route53resolver:ListFirewallRuleGroupAssociations"),
        "status": item.get("Status"),
        "mutation_protection": item.get("MutationProtection"),
    }


def _priority(item: dict[str, Any], operation: str) -> Any:
    """A DNS Firewall priority (the order rules and rule groups are read in); absent is unknown, never 0."""
    value = item.get("Priority")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return missing(operation, "Priority")


DNS_ACTIONS = ("ALLOW", "BLOCK", "ALERT")


def _dns_action(value: Any) -> Any:
    """A DNS Firewall rule's action; absent or one this version does not know is unknown, never a guess."""
    if value in DNS_ACTIONS:
        return value
    if value is None:
        return missing("route53resolver:ListFirewallRules", "Action")
    return unknown(f"DNS Firewall rule action {str(value)[:40]!r} is not one of {', '.join(DNS_ACTIONS)}")


def dns_rule(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": item.get("Name"),
        "priority": _priority(item, "route53resolver:ListFirewallRules"),
        "action": _dns_action(item.get("Action")),
        "firewall_domain_list_id": item.get("FirewallDomainListId"),
        "block_response": item.get("BlockResponse"),
    }


def _dns_rules(ctx: CollectContext, group_id: str) -> Any:
    items = ctx.paginate("route53resolver", "ListFirewallRules", "FirewallRules", FirewallRuleGroupId=group_id)
    rules: Any
    if isinstance(items, Failed):
        rules = ctx.attribute_error(DNS_RULE_GROUP, group_id, "rules", items)
    else:
        rules = [dns_rule(item) for item in items]
    ctx.add(DNS_RULE_GROUP, group_id, {"rule_group_id": group_id, "rules": rules})
    return rules


def _domain_list(ctx: CollectContext, list_id: str, listed: dict[str, Any]) -> None:
    attributes: dict[str, Any] = {
        "domain_list_id": list_id,
        "name": listed.get("Name"),
        "arn": listed.get("Arn"),
        "managed_owner_name": listed.get("ManagedOwnerName"),
    }
    items = ctx.paginate("route53resolver", "ListFirewallDomains", "Domains", FirewallDomainListId=list_id)
    if isinstance(items, Failed):
        attributes["domains"] = ctx.attribute_error(DOMAIN_LIST, list_id, "domains", items)
    else:
        attributes["domains"] = [str(d) for d in items]
    ctx.add(DOMAIN_LIST, list_id, attributes, name=attributes["name"])
