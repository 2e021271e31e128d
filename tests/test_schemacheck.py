"""The fast schema check agrees with jsonschema on every shipped schema (differential test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.resources import resource_types
from auditor.schemacheck import Unsupported, compile_schema

SNAPSHOTS = Path(__file__).parent / "fixtures" / "snapshots"
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, width=16),
                    st.sampled_from(["", "Enabled", "AES256", "x", "CUSTOMER", "PRIMARY", "vpc-1", "usable"]))
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=3),
                                                   st.dictionaries(st.text(max_size=6), c, max_size=3)), max_leaves=8)


def attribute_docs(rtype: str) -> st.SearchStrategy[dict[str, Any]]:
    props = list(resource_types()[rtype].schema.get("properties", {}))
    return st.dictionaries(st.sampled_from([*props, "extra"]), values, max_size=6)


@pytest.mark.parametrize("rtype", sorted(resource_types()))
def test_fast_check_agrees_with_jsonschema(rtype: str) -> None:
    schema = resource_types()[rtype].schema
    fast = compile_schema(schema)
    slow = jsonschema.validators.validator_for(schema)(schema)

    @settings(max_examples=150, deadline=None)
    @given(attribute_docs(rtype))
    def check(doc: dict[str, Any]) -> None:
        assert fast(doc) == slow.is_valid(doc), doc

    check()


def test_fast_check_accepts_the_fixtures() -> None:
    for path in SNAPSHOTS.glob("*.json"):
        for item in json.loads(path.read_text())["resources"]:
            schema = resource_types()[item["type"]].schema
            if "$unknown" not in json.dumps(item["attributes"]):
                assert compile_schema(schema)(item["attributes"]), (path.name, item["id"])


def test_unsupported_keywords_are_refused() -> None:
    with pytest.raises(Unsupported):
        compile_schema({"patternProperties": {}})
    with pytest.raises(Unsupported):
        compile_schema({"type": "date"})
