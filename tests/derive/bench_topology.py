"""Figures for the topology derivation on a large synthetic account (not a test: prints timings).

    python -m tests.derive.bench_topology [VPCS]

Each VPC has 30 subnets, 3 route tables (main, public, NAT), an internet gateway, a NAT gateway and an
S3 Gateway endpoint: 37 resources per VPC (2,500 VPCs = 92,500 resources).
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.derive import derive
from auditor.engine.rules import load_rules
from auditor.snapshot import Resource, Snapshot

REGION = "eu-west-1"


def account(vpcs: int) -> Snapshot:
    out: list[Resource] = []
    for v in range(vpcs):
        vpc, igw, nat = f"vpc-{v:08x}", f"igw-{v:08x}", f"nat-{v:08x}"
        name = "VPC-CCME" if v == 0 else f"vpc-{v}"
        out.append(
            Resource(
                "ec2.vpc",
                vpc,
                {"vpc_id": vpc, "name": name, "cidr_block": "10.0.0.0/16", "cidr_blocks": ["10.0.0.0/16"]},
                region=REGION,
            )
        )
        out.append(
            Resource(
                "ec2.internet_gateway",
                igw,
                {"internet_gateway_id": igw, "attachments": [{"vpc_id": vpc, "state": "available"}]},
                region=REGION,
            )
        )
        subnets = []
        for s in range(30):
            sid = f"subnet-{v:06x}{s:02x}"
            subnets.append(sid)
            label = "FrontEnd" if s < 2 else "BackEnd" if s < 4 else f"other-{s}"
            out.append(
                Resource(
                    "ec2.subnet",
                    sid,
                    {
                        "subnet_id": sid,
                        "vpc_id": vpc,
                        "cidr_block": f"10.0.{s}.0/24",
                        "availability_zone": REGION + "ab"[s % 2],
                        "name": label,
                    },
                    region=REGION,
                )
            )
        out.append(
            Resource(
                "ec2.nat_gateway",
                nat,
                {"nat_gateway_id": nat, "subnet_id": subnets[0], "state": "available", "connectivity_type": "public"},
                region=REGION,
            )
        )
        tables = [
            ([{"main": True}], [], True),
            (
                [{"subnet_id": s} for s in subnets[:2]],
                [{"destination_cidr_block": "0.0.0.0/0", "gateway_id": igw, "state": "active"}],
                False,
            ),
            (
                [{"subnet_id": s} for s in subnets[2:20]],
                [{"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": nat, "state": "active"}],
                False,
            ),
        ]
        for index, (associations, routes, main) in enumerate(tables):
            rid = f"rtb-{v:08x}{index}"
            out.append(
                Resource(
                    "ec2.route_table",
                    rid,
                    {
                        "route_table_id": rid,
                        "vpc_id": vpc,
                        "main": main,
                        "associations": associations,
                        "routes": routes,
                    },
                    region=REGION,
                )
            )
        out.append(
            Resource(
                "ec2.vpc_endpoint",
                f"vpce-{v:08x}",
                {
                    "vpc_endpoint_id": f"vpce-{v:08x}",
                    "vpc_id": vpc,
                    "service_name": f"com.amazonaws.{REGION}.s3",
                    "vpc_endpoint_type": "Gateway",
                    "state": "available",
                    "route_table_ids": [f"rtb-{v:08x}2"],
                },
                region=REGION,
            )
        )
    return Snapshot(kind="live", resources=tuple(out), regions=(REGION,))


def main() -> None:
    vpcs = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
    snapshot = account(vpcs)
    config = load_config(None, [])
    today = dt.date(2026, 11, 22)
    start = time.perf_counter()
    derived = derive(snapshot, config, today=today)
    took = time.perf_counter() - start
    print(
        f"derive: {len(snapshot.resources)} resources in {took:.2f} s "
        f"({took / len(snapshot.resources) * 1e6:.0f} us per resource), {len(derived.resources)} out"
    )
    rules = [r for r in load_rules(packs=["ccme"]) if r.file.endswith("network.yaml")]
    start = time.perf_counter()
    result = evaluate(snapshot, rules, config, today=today)
    took = time.perf_counter() - start
    print(f"evaluate (derive + {len(rules)} network rules): {took:.2f} s, {len(result.findings)} findings")


if __name__ == "__main__":
    main()
