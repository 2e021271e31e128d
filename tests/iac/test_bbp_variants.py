"""Per bbp rule, in CloudFormation and Terraform: the compliant example PASSes, a breakage FAILs and an
unresolvable value is ERROR, each on the named resource at its declaration line (tests/iac/bbp_variants.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding
from auditor.engine.rules import load_rules
from tests.iac import bbp_variants as bv
from tests.iac.test_live_equivalence_bbp import iac_config

TODAY = dt.date(2026, 11, 22)
ACCOUNT = "123456789012"
FLAVOURS = ("cloudformation", "terraform")
# bbp rules on resource types the CloudFormation and Terraform loaders produce, each with a FAIL variant;
# BBP-PC-* read ParallelCluster configurations (tests/iac/test_parallelcluster.py).


def _run(flavour: str, text: str, tmp: Path) -> tuple[Evaluation, Path]:
    if flavour == "cloudformation":
        path = tmp / "bbp.yaml"
        path.write_text(text, encoding="utf-8")
    else:
        path = tmp / "tf"
        path.mkdir()
        (path / "main.tf").write_text(text, encoding="utf-8")
    result, problems = audit_paths([path], iac_config(flavour, path, ACCOUNT), load_rules(None, ["bbp"]),
                                   today=TODAY)
    assert not problems
    return result, path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], tuple[Evaluation, str]]:
    out = {}
    for flavour in FLAVOURS:
        for group in [0, *bv.groups()]:
            text = (bv.CFN_GOOD if flavour == "cloudformation" else bv.TF_GOOD).read_text(encoding="utf-8") \
                if group == 0 else bv.variant_text(flavour, group)
            result, _ = _run(flavour, text, tmp_path_factory.mktemp(f"{flavour}{group}"))
            out[(flavour, group)] = (result, text)
    return out


def _on(findings: tuple[Finding, ...], rule: str, flavour: str, key: str) -> list[Finding]:
    """The findings of `rule` on the template resource `key` (resource ids are names or <prefix><file>#<key>)."""
    return [f for f in findings if f.rule_id == rule
            and (f.resource_id.endswith(f"#{key}") or (f.location or {}).get("logical_id") == key)]


def _ids(result: Evaluation) -> str:
    return " ".join(f.resource_id for f in result.findings) + " " + " ".join(
        f"#{(f.location or {}).get('logical_id')}" for f in result.findings)


def test_every_rule_on_a_loaded_type_has_a_fail_variant() -> None:
    rules = {r.id for r in load_rules(None, ["bbp"]) if r.iac and r.resource_type != "pcluster.cluster"}
    failing = {v.rule for v in bv.VARIANTS if v.status == "FAIL"}
    assert rules <= failing, sorted(rules - failing)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("variant", bv.VARIANTS, ids=lambda v: f"{v.rule}-{v.status}-g{v.group}")
def test_variant(runs: dict[tuple[str, int], tuple[Evaluation, str]], flavour: str, variant: bv.Variant) -> None:
    result, text = runs[(flavour, variant.group)]
    if variant.missing_id:
        found = [f for f in result.findings if f.rule_id == variant.rule]
        assert [(f.resource_id, f.status.value) for f in found] == [(variant.missing_id, variant.status)]
        return
    key = variant.cfn_key if flavour == "cloudformation" else variant.tf_key
    found = _on(result.findings, variant.rule, flavour, key)
    assert found, [(f.resource_id, f.status.value) for f in result.findings if f.rule_id == variant.rule]
    assert {f.status.value for f in found} == {variant.status}, [(f.status.value, f.message) for f in found]
    if not variant.located:
        return
    line = bv.line_of(text, flavour, key)
    assert all(f.location and f.location.get("line") == line for f in found), [f.location for f in found]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_compliant_example_passes_on_the_same_resources(
    runs: dict[tuple[str, int], tuple[Evaluation, str]], flavour: str
) -> None:
    result, text = runs[(flavour, 0)]
    for variant in bv.VARIANTS:
        if variant.status != "FAIL" or variant.rule == "BBP-LAMBDA-APIGW-ONLY":
            continue  # APIGW-ONLY: the example's SourceArn embeds the API id (ERROR); its PASS variant is group 2
        key = variant.cfn_key if flavour == "cloudformation" else variant.tf_key
        if key and not variant.missing_id and f"#{key}" not in _ids(result):
            continue  # a resource the breakage adds (the debug security group)
        found = ([f for f in result.findings if f.rule_id == variant.rule] if variant.missing_id
                 else _on(result.findings, variant.rule, flavour, key))
        assert found and {f.status.value for f in found} == {"PASS"}, (variant.rule, [f.status for f in found])
        if variant.located and not variant.missing_id:
            assert all(f.location and f.location.get("line") == bv.line_of(text, flavour, key) for f in found)


def test_broken_examples_are_generated_from_the_variants() -> None:
    header = "# Generated by python -m tests.iac.bbp_variants"
    for flavour, path in zip(FLAVOURS, (bv.CFN_BROKEN, bv.TF_BROKEN), strict=True):
        text = path.read_text(encoding="utf-8")
        assert text.startswith(header) and text.split("\n", 1)[1] == bv.variant_text(flavour, 1)
