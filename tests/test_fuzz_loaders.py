"""Fuzzed rule files, configs and snapshots: an InputError with one line, never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.config import load_config
from auditor.engine.rules import load_rule_file
from auditor.errors import InputError
from auditor.fileio import parse_json, parse_yaml
from auditor.snapshot import snapshot_from_json

FIXTURES = Path(__file__).parent / "fixtures" / "snapshots"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)), max_leaves=25)

OPERATOR_NAMES = ["equals", "in", "exists", "regex", "all", "any", "none", "count", "each", "lookup", "bogus"]


def _one_line(error: InputError) -> None:
    assert "\n" not in error.line()


@SETTINGS
@given(st.binary(max_size=400))
def test_parse_yaml_and_json_on_arbitrary_bytes(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    for parse in (parse_yaml, parse_json):
        try:
            parse(text, file="fuzz")
        except InputError as exc:
            _one_line(exc)


assertions = st.recursive(
    st.fixed_dictionaries({}, optional={name: json_values for name in OPERATOR_NAMES}),
    lambda children: st.one_of(
        st.fixed_dictionaries({"all": st.lists(children, max_size=3)}),
        st.fixed_dictionaries({"each": st.fixed_dictionaries({"path": st.text(max_size=8), "assert": children})}),
    ),
    max_leaves=6,
)
rules = st.fixed_dictionaries(
    {"id": st.sampled_from(["T-A", "t", "T-{x}", ""]), "title": st.text(max_size=20),
     "severity": st.sampled_from(["high", "low", "bad"]),
     "source": st.one_of(json_values, st.just({"document": "doc", "section": "s"})),
     "resource_type": st.sampled_from(["s3.bucket", "kms.key", "nope"]), "assert": assertions},
    optional={k: json_values for k in ("scope", "message", "remediation", "foreach", "applies_to", "area")},
)


@SETTINGS
@given(st.one_of(json_values, st.fixed_dictionaries({"rules": st.lists(rules, max_size=3)})))
def test_rule_files(tmp_path_factory: Any, doc: Any) -> None:
    path = tmp_path_factory.mktemp("rules") / "r.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_rule_file(path, "fuzz")
    except InputError as exc:
        _one_line(exc)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["regions", "kms_prefix", "buckets", "network", "waivers", "packs",
                                        "options", "account", "secret_name", "other"]), json_values, max_size=5))
def test_configs(tmp_path_factory: Any, doc: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_config(path)
    except InputError as exc:
        _one_line(exc)


BASE = json.loads((FIXTURES / "ccme-broken.json").read_text())


@SETTINGS
@given(st.integers(min_value=0, max_value=len(BASE["resources"]) - 1), st.text(max_size=12), json_values)
def test_snapshots_with_one_attribute_replaced(index: int, key: str, value: Any) -> None:
    doc = json.loads(json.dumps(BASE))
    doc["resources"][index]["attributes"][key] = value
    try:
        snapshot_from_json(doc, file="fuzz.json")
    except InputError as exc:
        _one_line(exc)


@SETTINGS
@given(json_values)
def test_snapshot_envelopes(doc: Any) -> None:
    try:
        snapshot_from_json(doc, file="fuzz.json")
    except InputError as exc:
        _one_line(exc)


def test_deep_nesting_is_bounded() -> None:
    deep = "[" * 5000 + "]" * 5000
    for parse in (parse_yaml, parse_json):
        try:
            parse(deep, file="deep")
        except InputError as exc:
            assert "nested" in exc.line()
        else:
            raise AssertionError("deep nesting accepted")
