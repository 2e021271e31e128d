"""An attribute the evidence could not tell never yields PASS for a rule that reads it.

Issue 15's property (c), on the evaluator's side (the shape fuzzer proves the collectors' side: an
absent or unknown member of an answer becomes an unknown attribute, never a default). For every
PASS that an expectation file proves on a named resource, each attribute its rule reads (on the
resource itself, or on the type it looks up: auditor.collect.plan.rule_reads) is replaced by an
unknown value and the rule evaluated again. The verdict may stay PASS only where the attribute did
not decide it (three-valued logic: `any_of` with another branch true); that is checked by putting
concrete values of every kind in its place: if one of them does not PASS, the unknown one must not
either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.app.pipeline import evaluate
from auditor.collect.plan import derived_inputs, rule_reads
from auditor.config import load_config
from auditor.engine.rules import Rule, load_rules
from auditor.errors import InputError
from auditor.snapshot import Snapshot, load_snapshot, unknown, validate_resource

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTATIONS = sorted((FIXTURES / "expectations").glob("*.yaml"))
# Values of every JSON kind, and the ones a collector's default would have been.
CONCRETE: tuple[Any, ...] = (None, "", "x", 0, 1, False, True, [], ["x"], {}, {"x": "y"})


@cache
def _rules() -> dict[str, Rule]:
    return {r.id: r for r in load_rules()}


@cache
def _spec(path: Path) -> tuple[dict[str, Any], Snapshot, Any, dt.date]:
    spec = yaml.safe_load(path.read_text())
    snapshot = load_snapshot(FIXTURES / "snapshots" / spec["snapshot"])
    config = load_config(None, list((spec.get("config") or {}).items()))
    today = dt.date.fromisoformat(str(spec["today"])) if spec.get("today") else dt.date(2026, 11, 22)
    return spec, snapshot, config, today


def _verdict(path: Path, snapshot: Snapshot, rule: Rule, resource_id: str) -> str:
    spec, _, config, today = _spec(path)
    result = evaluate(snapshot, [rule], config, today=today, mode=spec.get("mode"))
    found = [f.status.value for f in result.findings if f.resource_id == resource_id]
    return found[0] if found else "no finding"


def _with(snapshot: Snapshot, rtype: str, only: str | None, attribute: str, value: Any) -> Snapshot | None:
    """The snapshot with `attribute` set to `value` on resource `only` (or every resource of the type),
    or None if a changed resource would not pass its schema (no collector or loader could write it)."""
    resources = []
    for r in snapshot.resources:
        if r.type == rtype and (only is None or r.id == only) and attribute in r.attributes:
            r = dataclasses.replace(r, attributes={**r.attributes, attribute: value})
            try:
                validate_resource(r.to_json(), file="<test>", index=0)
            except InputError:
                return None
        resources.append(r)
    return dataclasses.replace(snapshot, resources=tuple(resources))


def _proven_passes() -> Iterator[tuple[Path, str, str]]:
    for path in EXPECTATIONS:
        spec = yaml.safe_load(path.read_text())
        for rule_id, resources in spec["expect"].items():
            for resource_id, status in resources.items():
                if status == "PASS" and resource_id != "*" and rule_id in _rules():
                    yield path, rule_id, str(resource_id)


CASES = sorted(set(_proven_passes()))


def test_there_are_passes_to_break() -> None:
    assert len(CASES) > 100  # every rule's PASS proof (tests/test_rule_fixtures.py) is among them


@pytest.mark.parametrize(("path", "rule_id", "resource_id"), CASES,
                         ids=[f"{p.stem}:{r}:{i}" for p, r, i in CASES])
def test_an_unknown_attribute_never_passes_a_rule_that_reads_it(path: Path, rule_id: str, resource_id: str) -> None:
    rule = _rules()[rule_id]
    _, snapshot, _, _ = _spec(path)
    assert _verdict(path, snapshot, rule, resource_id) == "PASS"
    problems = []
    reads = rule_reads(rule)
    targets: list[tuple[str, str | None, str]] = []
    for rtype, attributes in sorted(reads.items()):
        only = resource_id if rtype == rule.resource_type else None
        targets += [(rtype, only, a) for a in sorted(attributes)]
    # Derived facts (auditor/derive) are computed from collected types: those types' attributes.
    for rtype in sorted(derived_inputs(reads)):
        present = {a for r in snapshot.resources if r.type == rtype for a in r.attributes}
        targets += [(rtype, None, a) for a in sorted(present)]
    tried = 0
    for rtype, only, attribute in dict.fromkeys(targets):
        if not any(r.type == rtype and (only is None or r.id == only) and attribute in r.attributes
                   for r in snapshot.resources):
            continue
        tried += 1
        blind = _with(snapshot, rtype, only, attribute, unknown("not told (test)"))
        if blind is None or _verdict(path, blind, rule, resource_id) != "PASS":
            continue
        # still PASS: only right if no valid concrete value there could have made it anything else
        for value in CONCRETE:
            told = _with(snapshot, rtype, only, attribute, value)
            got = "PASS" if told is None else _verdict(path, told, rule, resource_id)
            if got != "PASS":
                problems.append(f"{rtype}.{attribute}: PASS when unknown, {got} when {value!r}")
                break
    assert not problems, problems
    assert tried or not reads, f"{rule_id}: no attribute it reads is on {resource_id} or the types it derives from"
