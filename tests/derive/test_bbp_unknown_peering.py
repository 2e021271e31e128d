"""A peering connection whose side VPC is an unknown value: its route gaps are unknown, never a crash or []."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.config import load_config
from auditor.derive import derive
from auditor.snapshot import is_unknown, snapshot_from_json, unknown
from tests.fixtures import bbp

CONFIG = load_config(None, list(bbp.CONFIG.items()))


@pytest.mark.parametrize("side", ["requester_vpc_id", "accepter_vpc_id"])
def test_an_unknown_side_vpc_makes_the_route_gaps_unknown(side: str) -> None:
    snap: dict[str, Any] = bbp.compliant_snapshot()
    pcx = next(r for r in snap["resources"] if r["type"] == "ec2.vpc_peering_connection" and r["id"] == bbp.PCX)
    pcx["attributes"][side] = unknown("ec2:DescribeVpcPeeringConnections did not say")
    snapshot = snapshot_from_json(json.loads(json.dumps(snap)), file="t")
    facts = {(r.type, r.id): r.attributes for r in derive(snapshot, CONFIG).resources}
    gaps = facts[("ec2.vpc_peering_connection", bbp.PCX)]["route_gaps"]
    assert is_unknown(gaps) and "is not recorded" in gaps["$unknown"]
