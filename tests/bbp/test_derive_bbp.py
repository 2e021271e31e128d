"""auditor/derive/bbp.py: CIDR coverage, port matching, and unknown (never PASS) when evidence is missing."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from auditor.config import load_config
from auditor.derive import derive
from auditor.derive.bbp import covers, port_admits
from auditor.snapshot import CollectionError, is_unknown, snapshot_from_json
from tests.fixtures import bbp

CONFIG = load_config(None, list(bbp.CONFIG.items()))


def derived(snap: dict[str, Any], cfg: Any = CONFIG) -> dict[tuple[str, str], dict[str, Any]]:
    snapshot = snapshot_from_json(json.loads(json.dumps(snap)), file="t")
    return {(r.type, r.id): dict(r.attributes) for r in derive(snapshot, cfg).resources}


def test_cidr_coverage() -> None:
    assert covers("10.1.0.0/16", "10.1.2.0/24") and covers("0.0.0.0/0", "10.1.2.0/24")
    assert not covers("10.1.1.0/24", "10.1.0.0/16") and not covers("10.0.0.0/16", "10.1.2.0/24")
    assert not covers("::/0", "10.1.2.0/24") and not covers("not-a-cidr", "10.1.2.0/24")


@given(st.ip_addresses(v=4), st.integers(0, 32), st.integers(0, 32))
def test_cidr_coverage_matches_the_prefix_order(address: Any, a: int, b: int) -> None:
    outer = ipaddress.ip_network(f"{address}/{min(a, b)}", strict=False)
    inner = ipaddress.ip_network(f"{address}/{max(a, b)}", strict=False)
    assert covers(str(outer), str(inner))
    assert covers(str(inner), str(outer)) == (a == b)


def test_port_matching() -> None:
    assert port_admits({"protocol": "-1"}, 443)
    assert port_admits({"protocol": "tcp", "from_port": 0, "to_port": 65535}, 3306)
    assert not port_admits({"protocol": "tcp", "from_port": 22, "to_port": 22}, 443)
    assert not port_admits({"protocol": "udp", "from_port": 443, "to_port": 443}, 443)


def test_compliant_facts_are_empty_lists() -> None:
    facts = derived(bbp.compliant_snapshot())
    endpoint = facts[("ec2.vpc_endpoint", bbp.interface_id("logs"))]
    assert endpoint["cluster_azs_uncovered"] == [] and endpoint["cluster_https_uncovered"] == []
    assert facts[("rds.db_instance", bbp.DB)]["cluster_port_uncovered"] == []
    assert facts[("ec2.vpc_peering_connection", bbp.PCX)]["route_gaps"] == []
    assert "cluster_azs_uncovered" not in facts[("ec2.vpc_endpoint", bbp.S3_EP)]  # gateway endpoints: no facts


def test_reach_facts_name_what_is_missing() -> None:
    facts = derived(bbp.reach())
    assert facts[("ec2.vpc_endpoint", bbp.interface_id("logs"))]["cluster_azs_uncovered"] == [bbp.AZ_B]
    assert facts[("ec2.vpc_endpoint", bbp.interface_id("sts"))]["cluster_https_uncovered"] == [bbp.C2]
    assert facts[("ec2.vpc_endpoint", bbp.interface_id("monitoring"))]["cluster_https_uncovered"] == [bbp.C1, bbp.C2]
    assert is_unknown(facts[("ec2.vpc_endpoint", bbp.interface_id("ec2"))]["cluster_https_uncovered"])
    db = facts[("rds.db_instance", bbp.DB)]
    assert db["cluster_port_uncovered"] == [bbp.C2] and len(db["world_port_ingress"]) == 1
    gaps = facts[("ec2.vpc_peering_connection", bbp.PCX)]["route_gaps"]
    assert len(gaps) == 1 and gaps[0].startswith(f"requester {bbp.MAIN_VPC}") and "10.1.1.0/24" in gaps[0]


def test_missing_subnets_or_groups_make_the_facts_unknown() -> None:
    snapshot = snapshot_from_json(json.loads(json.dumps(bbp.compliant_snapshot())), file="t")
    kept = tuple(r for r in snapshot.resources if r.type not in ("ec2.subnet", "ec2.security_group"))
    errors = tuple(CollectionError(resource_type=t, operation="ec2:Describe", code="AccessDenied", message="no",
                                   region=bbp.REGION, account=bbp.ACCOUNT)
                   for t in ("ec2.subnet", "ec2.security_group"))
    out = derive(replace(snapshot, resources=kept, errors=errors), CONFIG)
    endpoint = next(r for r in out.resources if r.id == bbp.interface_id("logs"))
    db = next(r for r in out.resources if r.id == bbp.DB)
    assert is_unknown(endpoint.attributes["cluster_azs_uncovered"])
    assert is_unknown(endpoint.attributes["cluster_https_uncovered"])
    assert is_unknown(db.attributes["cluster_port_uncovered"]) and is_unknown(db.attributes["world_port_ingress"])


def test_no_cluster_subnet_at_all_is_unknown() -> None:
    snap = bbp.compliant_snapshot()
    for table in (r for r in snap["resources"] if r["id"] == bbp.RT_CLUSTER):
        table["attributes"]["routes"].append({"destination_cidr_block": "0.0.0.0/0", "gateway_id": bbp.IGW_MAIN,
                                              "state": "active", "origin": "CreateRoute"})
    cfg = load_config(None, [*bbp.CONFIG.items(), ("network.cluster_subnets", [])])
    facts = derived(snap, cfg)
    assert is_unknown(facts[("ec2.vpc_endpoint", bbp.interface_id("logs"))]["cluster_azs_uncovered"])


def test_a_peer_vpc_outside_the_snapshot_is_unknown_unless_this_side_already_lacks_its_route() -> None:
    snap = bbp.compliant_snapshot()
    snap["resources"] = [r for r in snap["resources"] if not (r["type"] == "ec2.vpc" and r["id"] == bbp.MAIN_VPC)]
    gaps = derived(snap)[("ec2.vpc_peering_connection", bbp.PCX)]["route_gaps"]
    assert is_unknown(gaps) and bbp.MAIN_VPC in gaps["$unknown"]
    for table in (r for r in snap["resources"] if r["id"] == bbp.RT_CLUSTER):
        routes = table["attributes"]["routes"]
        table["attributes"]["routes"] = [r for r in routes if not r.get("vpc_peering_connection_id")]
    gaps = derived(snap)[("ec2.vpc_peering_connection", bbp.PCX)]["route_gaps"]
    assert gaps == [f"accepter {bbp.CLUSTER_VPC} has no active route to requester {bbp.MAIN_CIDR} through {bbp.PCX}"]
