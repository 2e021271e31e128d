"""Every expectation file is evaluated; every rule has PASS and FAIL proofs (the meta-test)."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Status
from auditor.engine.rules import Rule, load_rules
from auditor.snapshot import load_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTATIONS = sorted((FIXTURES / "expectations").glob("*.yaml"))


@cache
def all_rules() -> tuple[Rule, ...]:
    return tuple(load_rules())


def _config(spec: dict[str, Any]) -> Any:
    overrides = [(key, value) for key, value in (spec.get("config") or {}).items()]
    return load_config(None, overrides)


@cache
def run(path: Path) -> tuple[dict[str, Any], Evaluation]:
    spec = yaml.safe_load(path.read_text())
    snapshot = load_snapshot(FIXTURES / "snapshots" / spec["snapshot"])
    rules = [r for r in all_rules() if (not spec.get("packs") or r.pack in spec["packs"])
             and (not spec.get("rules") or any(fnmatch.fnmatchcase(r.id, g) for g in spec["rules"]))]
    today = dt.date.fromisoformat(str(spec["today"])) if spec.get("today") else dt.date(2026, 11, 22)
    result = evaluate(snapshot, rules, _config(spec), today=today, mode=spec.get("mode"))
    return spec, result


@pytest.mark.parametrize("path", EXPECTATIONS, ids=[p.stem for p in EXPECTATIONS])
def test_expectations(path: Path) -> None:
    spec, result = run(path)
    got = {(f.rule_id, f.resource_id): f for f in result.findings}
    problems = []
    for rule_id, resources in spec["expect"].items():
        for resource_id, status in resources.items():
            finding = got.get((rule_id, str(resource_id)))
            if finding is None:
                problems.append(f"{rule_id} {resource_id}: expected {status}, no finding")
            elif finding.status.value != status:
                problems.append(f"{rule_id} {resource_id}: expected {status}, got {finding.status.value}: "
                                f"{finding.message}")
    if spec.get("others"):
        listed = {(r, str(res)) for r, resources in spec["expect"].items() for res in resources}
        for key, finding in got.items():
            if key not in listed and finding.status.value != spec["others"]:
                problems.append(f"{key[0]} {key[1]}: expected {spec['others']} (others), "
                                f"got {finding.status.value}: {finding.message}")
    assert not problems, "\n".join(problems)


def proofs() -> dict[str, set[str]]:
    """rule id -> statuses proven on a named resource by some expectation file."""
    proven: dict[str, set[str]] = defaultdict(set)
    for path in EXPECTATIONS:
        spec, result = run(path)
        for rule_id, resources in spec["expect"].items():
            for resource_id, status in resources.items():
                if resource_id != "*":
                    proven[rule_id].add(status)
        if spec.get("others"):
            # `others` is asserted on every finding by test_expectations: it proves those findings too.
            for finding in result.findings:
                if finding.status.value == spec["others"] and finding.resource_id != "*":
                    proven[finding.rule_id].add(finding.status.value)
    return proven


def test_every_rule_has_pass_and_fail_proofs() -> None:
    proven = proofs()
    missing = [f"{r.id} ({r.file}): {sorted({'PASS', 'FAIL'} - proven.get(r.id, set()))}"
               for r in all_rules() if not {"PASS", "FAIL"} <= proven.get(r.id, set())]
    assert not missing, "rules without a PASS and a FAIL fixture:\n" + "\n".join(missing)


def test_expectations_name_only_existing_rules() -> None:
    ids = {r.id for r in all_rules()}
    unknown = [(p.name, rule_id) for p in EXPECTATIONS
               for rule_id in yaml.safe_load(p.read_text())["expect"] if rule_id not in ids]
    assert not unknown


def test_every_rule_has_a_source_and_unique_id() -> None:
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules)
    for rule in rules:
        assert rule.source.document
        assert rule.source.section or rule.source.url, rule.id


def test_denied_collection_never_passes_dependent_rules() -> None:
    _, result = run(FIXTURES / "expectations" / "ccme-denied.yaml")
    for finding in result.findings:
        if finding.resource_type in ("kms.key", "s3.bucket"):
            assert finding.status is Status.ERROR, (finding.rule_id, finding.resource_id, finding.status)
