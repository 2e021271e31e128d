"""The egress.vpc_allowlist derivation fails closed on what a scan did not collect."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from auditor.config import load_config
from auditor.derive import derive
from auditor.snapshot import is_unknown, load_snapshot

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"


def allowlist(snapshot_name: str, **changes: object) -> dict[str, object]:
    snapshot = dataclasses.replace(load_snapshot(SNAPSHOTS / snapshot_name), **changes)  # type: ignore[arg-type]
    derived = derive(snapshot, load_config(Path(os.devnull), []))
    (found,) = [r for r in derived.resources if r.type == "egress.vpc_allowlist" and r.id == "vpc-0c0ffee000000001"]
    return dict(found.attributes)


def test_a_live_scan_that_did_not_plan_the_filters_is_unknown_not_unfiltered() -> None:
    attrs = allowlist("egress-static-allowed.json", kind="live", options={"plan": {"types": ["ec2.vpc"]}})
    assert is_unknown(attrs["network_firewall_first_blocked"]) and is_unknown(attrs["dns_firewall_verdict"])
    assert "was not collected" in attrs["network_firewall_verdict"]["$unknown"]  # type: ignore[index]


def test_iac_snapshots_do_not_describe_firewalls() -> None:
    attrs = allowlist("egress-static-allowed.json", kind="cloudformation")
    assert is_unknown(attrs["network_firewall_verdict"])


def test_blocked_fixture_names_the_blocking_entries_and_the_fixes() -> None:
    attrs = allowlist("egress-static-blocked.json")
    blocked = {b["host"]: b for b in attrs["network_firewall_blocked"]}  # type: ignore[attr-defined]
    assert set(blocked) == {"github.com", "files.pythonhosted.org"}
    assert blocked["files.pythonhosted.org"]["matched"] == ".pythonhosted.org"
    fixes = {f["rule_group_name"]: f for f in attrs["network_firewall_fixes"]}  # type: ignore[attr-defined]
    assert fixes["ccme-allowed-domains"]["added"] == ["github.com"]
    assert fixes["ccme-denied-domains"]["removed"] == [".pythonhosted.org"]
    dns = attrs["dns_firewall_fixes"]
    assert dns == [{"rule_group_id": "rslvr-frg-0c0ffee000000001", "blocking_priority": 200,
                    "blocking_domain_list_id": "rslvr-fdl-0b10c00000000002",
                    "domain_list_id": "rslvr-fdl-0a11ow0000000001",
                    "add": ["developer.download.nvidia.com", "us.download.nvidia.com"]}]
    assert attrs["internet_path"] is False
    assert {m["service"] for m in attrs["endpoints_missing"]} == {  # type: ignore[attr-defined]
        "cloudformation", "ec2", "logs", "dynamodb", "secretsmanager"}
