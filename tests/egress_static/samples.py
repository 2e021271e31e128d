"""FAIL findings of the egress rules on the blocked fixture: real remediation contexts for the template tests."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.engine.rules import load_rules
from auditor.snapshot import load_snapshot

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
REFS = frozenset({"network-firewall/update-rule-group", "route53resolver/update-firewall-domains",
                  "vpc/create-service-endpoints"})


@cache
def _findings(name: str = "egress-static-blocked") -> tuple[dict[str, Any], ...]:
    config = load_config(Path(os.devnull), [("network.vpc_id", None), ("network.vpc_name", "VPC-CCME")])
    rules = [r for r in load_rules(None, ["ccme"]) if r.id.startswith("CCME-EGRESS-")]
    evaluation = evaluate(load_snapshot(SNAPSHOTS / f"{name}.json"), rules, config)
    return tuple(f.to_json() for f in evaluation.findings if f.status.value == "FAIL")


def failing(ref: str, name: str = "egress-static-blocked") -> list[dict[str, Any]]:
    return [f for f in _findings(name) if ref in f["remediation"]]
