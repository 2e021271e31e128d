"""Domain matching and filter decisions (auditor.allowlist.decisions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.allowlist.decisions import (
    DnsGroup,
    DnsRule,
    NfwGroup,
    Verdict,
    dns_decide,
    dns_domain_matches,
    nfw_decide,
    nfw_target_matches,
)

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
NAME = st.lists(LABEL, min_size=2, max_size=4).map(".".join)


@pytest.mark.parametrize(("target", "host", "expected"), [
    (".example.com", "example.com", True),
    (".example.com", "a.b.example.com", True),
    (".example.com", "badexample.com", False),
    ("example.com", "www.example.com", False),
    ("Example.COM.", "example.com", True),
    ("abc.example.com", "abc.example.com.", True),
    (".", "example.com", False),
])
def test_network_firewall_targets(target: str, host: str, expected: bool) -> None:
    assert nfw_target_matches(target, host) is expected


@pytest.mark.parametrize(("domain", "host", "expected"), [
    ("*.example.com", "www.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "badexample.com", False),
    ("example.com", "www.example.com", False),
    ("EXAMPLE.com.", "example.com", True),
    ("*", "anything.org", True),
])
def test_dns_firewall_domains(domain: str, host: str, expected: bool) -> None:
    assert dns_domain_matches(domain, host) is expected


@given(NAME, LABEL)
def test_wildcards_cover_subdomains_and_differ_on_the_apex(apex: str, label: str) -> None:
    sub = f"{label}.{apex}"
    assert nfw_target_matches("." + apex, apex) and nfw_target_matches("." + apex, sub.upper() + ".")
    assert dns_domain_matches("*." + apex, sub) and not dns_domain_matches("*." + apex, apex)
    assert not nfw_target_matches(apex, sub) and not dns_domain_matches(apex, sub)
    assert not nfw_target_matches("." + apex, label + apex)  # a suffix that is not a label boundary


def group(arn: str, kind: str, targets: list[str], *, priority: int | None = None,
          types: tuple[str, ...] = ("TLS_SNI",), source: str = "domain_list") -> NfwGroup:
    return NfwGroup(arn=arn, name=arn, priority=priority, kind=source, generated_rules_type=kind,
                    targets=tuple(targets), target_types=types)


def test_action_order_pass_wins_over_a_deny() -> None:
    groups = [group("deny", "DENYLIST", [".github.com"]), group("allow", "ALLOWLIST", ["github.com"])]
    decision = nfw_decide(groups, "github.com")
    assert decision.verdict is Verdict.ALLOWED and decision.by == "allow"
    blocked = nfw_decide([group("deny", "DENYLIST", [".github.com"])], "api.github.com")
    assert blocked.verdict is Verdict.BLOCKED and blocked.fix == {"rule_group_arn": "deny", "rule_group_name": "deny",
                                                                 "remove": ".github.com"}


def test_allowlist_blocks_what_it_does_not_list_for_the_inspected_protocol_only() -> None:
    allow = group("allow", "ALLOWLIST", ["pypi.org"])
    missing = nfw_decide([allow], "github.com", 443)
    assert missing.verdict is Verdict.BLOCKED and missing.fix["add"] == "github.com"
    assert nfw_decide([allow], "github.com", 80).verdict is Verdict.ALLOWED  # HTTP_HOST not inspected
    assert nfw_decide([], "github.com").verdict is Verdict.ALLOWED


def test_strict_order_first_group_with_a_verdict_decides() -> None:
    deny_first = [group("deny", "DENYLIST", ["github.com"], priority=1),
                  group("allow", "ALLOWLIST", ["github.com"], priority=2)]
    assert nfw_decide(deny_first, "github.com", strict=True).verdict is Verdict.BLOCKED
    assert nfw_decide(deny_first, "github.com").verdict is Verdict.ALLOWED  # action order: the pass wins
    assert nfw_decide([], "github.com", strict=True, default_drop=True).verdict is Verdict.BLOCKED


def test_rule_groups_that_are_not_domain_lists_are_never_read_as_allowed() -> None:
    suricata = group("suricata", None, [], source="rules_string")  # type: ignore[arg-type]
    assert nfw_decide([suricata], "github.com").verdict is Verdict.UNKNOWN
    assert nfw_decide([suricata, group("deny", "DENYLIST", ["github.com"])], "github.com").verdict is Verdict.UNKNOWN
    assert nfw_decide([suricata, group("a", "ALLOWLIST", ["github.com"])], "github.com").verdict is Verdict.ALLOWED
    assert nfw_decide([suricata], "github.com", strict=True).verdict is Verdict.UNKNOWN


def rule(priority: int, action: str, domains: list[str] | None, list_id: str = "") -> DnsRule:
    return DnsRule(priority=priority, action=action, domain_list_id=list_id or f"l{priority}",
                   domains=tuple(domains) if domains is not None else None)


def test_dns_first_match_wins_alert_goes_on_and_unmatched_is_allowed() -> None:
    rules = (rule(10, "ALERT", ["*"]), rule(20, "ALLOW", ["*.amazonaws.com"]), rule(30, "BLOCK", ["*"]))
    groups = [DnsGroup("g1", 100, rules)]
    assert dns_decide(groups, "s3.amazonaws.com").verdict is Verdict.ALLOWED
    blocked = dns_decide(groups, "github.com")
    assert blocked.verdict is Verdict.BLOCKED and blocked.fix["domain_list_id"] == "l20"
    assert dns_decide([DnsGroup("g1", 100, (rule(10, "BLOCK", ["*.github.com"]),))], "github.com").verdict \
        is Verdict.ALLOWED


def test_dns_associations_are_read_by_priority() -> None:
    allow = DnsGroup("allow", 200, (rule(1, "ALLOW", ["github.com"]),))
    block = DnsGroup("block", 101, (rule(1, "BLOCK", ["github.com"]),))
    decision = dns_decide([allow, block], "github.com")
    assert decision.verdict is Verdict.BLOCKED and "block" in str(decision.by)
    assert "domain_list_id" not in decision.fix  # no ALLOW rule before it in that group


def test_dns_unknown_domains_are_unknown_not_allowed() -> None:
    groups = [DnsGroup("g", 100, (rule(1, "BLOCK", None),))]
    assert dns_decide(groups, "github.com").verdict is Verdict.UNKNOWN


def test_dns_a_matching_rule_of_unknown_action_is_unknown_not_allowed() -> None:
    # "" is what the derivation passes for an action the snapshot could not tell (auditor/derive/egress.py)
    for action in ("", "FUTURE_ACTION"):
        groups = [DnsGroup("g", 100, (rule(1, action, ["*"]), rule(2, "ALLOW", ["*"])))]
        decision = dns_decide(groups, "github.com")
        assert decision.verdict is Verdict.UNKNOWN and "action is unknown" in decision.reason
    # a rule of unknown action that does not match the host decides nothing
    groups = [DnsGroup("g", 100, (rule(1, "", ["other.example"]), rule(2, "BLOCK", ["*"])))]
    assert dns_decide(groups, "github.com").verdict is Verdict.BLOCKED


def test_dns_collector_never_guesses_a_priority() -> None:
    from auditor.collect import netfw
    from auditor.snapshot import is_unknown

    rule_item = netfw.dns_rule({"Name": "r", "Action": "BLOCK", "FirewallDomainListId": "l"})
    assert is_unknown(rule_item["priority"]) and "Priority" in str(rule_item["priority"])
    assert netfw.dns_rule({"Priority": 7, "Action": "ALLOW"})["priority"] == 7
    _, assoc = netfw.association({"Id": "a", "VpcId": "vpc-1", "FirewallRuleGroupId": "g"})
    assert is_unknown(assoc["priority"])
