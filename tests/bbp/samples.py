"""FAIL findings of the bbp rules on the broken and reachability fixtures: real remediation contexts for the
template tests (tests/report/test_remediation.py and tests/bbp/test_remediation_bbp.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.engine.rules import load_rules
from auditor.snapshot import load_snapshot
from tests.fixtures.bbp import CONFIG

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
FIXTURES = ("bbp-broken", "bbp-reach")


@cache
def findings() -> tuple[dict[str, Any], ...]:
    config = load_config(None, list(CONFIG.items()))
    rules = load_rules(None, ["bbp"])
    out: list[dict[str, Any]] = []
    for name in FIXTURES:
        evaluation = evaluate(load_snapshot(SNAPSHOTS / f"{name}.json"), rules, config)
        out += [f.to_json() for f in evaluation.findings if f.status.value == "FAIL"]
    return tuple(out)


@cache
def refs() -> frozenset[str]:
    return frozenset(ref for rule in load_rules(None, ["bbp"]) for ref in rule.remediation)


REFS = refs()


def failing(ref: str) -> list[dict[str, Any]]:
    return [f for f in findings() if ref in f["remediation"]]
