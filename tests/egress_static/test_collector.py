"""The netfw collector with botocore's Stubber (moto 5.2 lacks the firewall policy, rule group and DNS Firewall
calls): what it records, and how failed calls become type-level or attribute errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from auditor.collect import netfw, registry
from auditor.collect.base import CollectContext
from auditor.collect.plan import Plan, build_plan
from auditor.engine.rules import load_rules
from auditor.snapshot import is_unknown
from tests.collect.helpers import REGION, config

ACCOUNT = "111122223333"
FW = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:firewall/egress"
POLICY = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:firewall-policy/egress"
GROUP = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:stateful-rulegroup/allowed"
VPC = "vpc-0123456789abcdef0"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)


def collect(stub_nfw: Any, stub_dns: Any) -> CollectContext:
    clients = {s: boto3.client(s, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
               for s in ("network-firewall", "route53resolver")}
    stubbers = {s: Stubber(c) for s, c in clients.items()}
    stub_nfw(stubbers["network-firewall"])
    stub_dns(stubbers["route53resolver"])
    types = frozenset(netfw.RESOURCE_TYPES)
    with stubbers["network-firewall"], stubbers["route53resolver"], ThreadPoolExecutor(2) as pool:
        ctx = CollectContext(collector="netfw", calls={c.key: c for c in netfw.CALLS},
                             client_factory=lambda service, region: clients[service], region=REGION, account=ACCOUNT,
                             config=config(), plan=Plan(types=types, selectors=dict.fromkeys(types)), pool=pool)
        netfw.collect(ctx)
        for stubber in stubbers.values():
            stubber.assert_no_pending_responses()
    return ctx


def firewall_chain(s: Stubber) -> None:
    s.add_response("list_firewalls", {"Firewalls": [{"FirewallName": "egress", "FirewallArn": FW}]})
    s.add_response("describe_firewall", {"Firewall": {
        "FirewallName": "egress", "FirewallArn": FW, "FirewallPolicyArn": POLICY, "VpcId": VPC,
        "SubnetMappings": [{"SubnetId": "subnet-0123456789abcdef0"}], "FirewallId": "0" * 36}, "UpdateToken": "t"},
        {"FirewallArn": FW})
    s.add_response("describe_firewall_policy", {
        "UpdateToken": "t",
        "FirewallPolicyResponse": {"FirewallPolicyName": "egress", "FirewallPolicyArn": POLICY,
                                   "FirewallPolicyId": "1" * 36},
        "FirewallPolicy": {"StatelessDefaultActions": ["aws:forward_to_sfe"],
                           "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
                           "StatefulRuleGroupReferences": [{"ResourceArn": GROUP}]}},
        {"FirewallPolicyArn": POLICY})


def no_dns(s: Stubber) -> None:
    s.add_response("list_firewall_rule_group_associations", {"FirewallRuleGroupAssociations": []})


def test_network_firewall_chain() -> None:
    def stub(s: Stubber) -> None:
        firewall_chain(s)
        s.add_response("describe_rule_group", {
            "UpdateToken": "t",
            "RuleGroup": {"RulesSource": {"RulesSourceList": {
                "Targets": [".amazonaws.com", "github.com"], "TargetTypes": ["TLS_SNI"],
                "GeneratedRulesType": "ALLOWLIST"}}},
            "RuleGroupResponse": {"RuleGroupArn": GROUP, "RuleGroupName": "allowed", "RuleGroupId": "2" * 36,
                                  "Type": "STATEFUL", "Capacity": 100}}, {"RuleGroupArn": GROUP})

    ctx = collect(stub, no_dns)
    assert ctx.errors == []
    found = {r.type: r.attributes for r in ctx.resources}
    assert found["networkfirewall.firewall"]["vpc_id"] == VPC
    assert found["networkfirewall.firewall"]["stateful_rule_groups"] == [{"arn": GROUP, "priority": None}]
    group = found["networkfirewall.rule_group"]
    assert (group["rules_source_type"], group["generated_rules_type"], group["targets"], group["capacity"]) == (
        "domain_list", "ALLOWLIST", [".amazonaws.com", "github.com"], 100)


def test_a_failed_rule_group_call_is_an_attribute_error_on_that_group() -> None:
    def stub(s: Stubber) -> None:
        firewall_chain(s)
        s.add_client_error("describe_rule_group", "AccessDeniedException", "no", 400,
                           expected_params={"RuleGroupArn": GROUP})

    ctx = collect(stub, no_dns)
    group = next(r for r in ctx.resources if r.type == "networkfirewall.rule_group")
    assert is_unknown(group.attributes["targets"])
    (error,) = ctx.errors
    assert (error.resource_type, error.resource_id, error.attribute, error.operation) == (
        "networkfirewall.rule_group", GROUP, "targets", "network-firewall:DescribeRuleGroup")


def test_dns_firewall_chain_and_failures() -> None:
    def stub(s: Stubber) -> None:
        s.add_response("list_firewall_rule_group_associations", {"FirewallRuleGroupAssociations": [
            {"Id": "rslvr-frgassoc-1", "FirewallRuleGroupId": "rslvr-frg-1", "VpcId": VPC, "Name": "a",
             "Priority": 101, "Status": "COMPLETE"}]})
        s.add_response("list_firewall_rules", {"FirewallRules": [
            {"FirewallRuleGroupId": "rslvr-frg-1", "FirewallDomainListId": "rslvr-fdl-1", "Name": "allow",
             "Priority": 10, "Action": "ALLOW"},
            {"FirewallRuleGroupId": "rslvr-frg-1", "FirewallDomainListId": "rslvr-fdl-2", "Name": "block",
             "Priority": 20, "Action": "BLOCK", "BlockResponse": "NODATA"}]},
            {"FirewallRuleGroupId": "rslvr-frg-1"})
        s.add_response("list_firewall_domain_lists", {"FirewallDomainLists": [
            {"Id": "rslvr-fdl-1", "Name": "allowed"}, {"Id": "rslvr-fdl-2", "Name": "blocked"}]})
        s.add_response("list_firewall_domains", {"Domains": ["*.amazonaws.com"]},
                       {"FirewallDomainListId": "rslvr-fdl-1"})
        s.add_client_error("list_firewall_domains", "AccessDeniedException", "no", 400,
                           expected_params={"FirewallDomainListId": "rslvr-fdl-2"})

    def no_firewalls(s: Stubber) -> None:
        s.add_response("list_firewalls", {"Firewalls": []})

    ctx = collect(no_firewalls, stub)
    by_id = {r.id: r.attributes for r in ctx.resources}
    assert by_id["rslvr-frgassoc-1"]["priority"] == 101
    assert [(r["priority"], r["action"]) for r in by_id["rslvr-frg-1"]["rules"]] == [(10, "ALLOW"), (20, "BLOCK")]
    assert by_id["rslvr-fdl-1"]["domains"] == ["*.amazonaws.com"] and by_id["rslvr-fdl-1"]["name"] == "allowed"
    assert is_unknown(by_id["rslvr-fdl-2"]["domains"])
    (error,) = ctx.errors
    assert (error.resource_id, error.attribute) == ("rslvr-fdl-2", "domains")


def test_failed_listings_are_type_errors() -> None:
    def deny_nfw(s: Stubber) -> None:
        s.add_client_error("list_firewalls", "AccessDeniedException", "no", 400)

    def deny_dns(s: Stubber) -> None:
        s.add_client_error("list_firewall_rule_group_associations", "AccessDeniedException", "no", 400)

    ctx = collect(deny_nfw, deny_dns)
    assert ctx.resources == []
    assert {(e.resource_type, e.resource_id) for e in ctx.errors} == {(t, None) for t in netfw.RESOURCE_TYPES}


def test_the_egress_rules_plan_the_filters_and_the_policy_allows_exactly_their_calls() -> None:
    rules = [r for r in load_rules(None, ["ccme"]) if r.id.startswith("CCME-EGRESS-")]
    plan = build_plan(rules, config(), ACCOUNT)
    assert set(netfw.RESOURCE_TYPES) <= plan.types and {"ec2.subnet", "ec2.vpc_endpoint"} <= plan.types
    actions = set(registry.iam_policy(plan.types)["Statement"][0]["Action"])
    assert {c.action for c in netfw.CALLS} <= actions
    assert all(a.split(":")[1].startswith(("List", "Describe", "Get")) for a in actions)
