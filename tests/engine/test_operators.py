"""Each operator: holds, does not hold, and unknown evidence. A meta-test checks the table is covered."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.engine import operators
from auditor.engine.operators import OPERATORS, evaluate, matches
from auditor.engine.values import UnknownValue
from auditor.snapshot import Resource, unknown

OTHER = [
    Resource("kms.key", "k1", {"key_id": "k1", "key_state": "Enabled"}),
    Resource("kms.key", "k2", {"key_id": "k2", "key_state": "Disabled"}),
]


class Ctx:
    def __init__(self, resource: Resource, others: list[Resource] | None = None, denied: bool = False):
        self.resource = resource
        self._others = others if others is not None else OTHER
        self._denied = denied

    def lookup(self, rtype: str) -> list[Resource]:
        if self._denied:
            raise UnknownValue(f"{rtype} could not be collected")
        return [r for r in self._others if r.type == rtype]

    def matching(self, rtype: str, wanted: dict[str, Any]) -> list[Resource]:
        return [r for r in self.lookup(rtype) if matches(r, wanted)]

    def render(self, value: Any) -> Any:
        return value


SEED_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
OBJECTS_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
MALFORMED = {"Version": "2012-10-17", "Statement": [{"Effect": "deny", "Principal": "*", "Action": "*",
                                                     "Resource": "*"}]}
ATTRS = {
    "name": "b", "n": 5, "flag": True, "tags": ["a", "b"], "nested": {"x": "y"},
    "rules": [{"alg": "AES256"}, {"alg": "AES256"}], "target": "k1", "lost": unknown("AccessDenied"),
    "items": [{"v": 1}, unknown("throttled")],
    "policy": SEED_POLICY, "objects_only": OBJECTS_ONLY, "malformed": MALFORMED,
}
TLS = {"requirement": "s3-deny-insecure-transport", "account": "111122223333", "region": "eu-west-1",
       "bucket": "=name"}
RES = Resource("s3.bucket", "b", ATTRS, name="b", region="eu-west-1")

# operator -> (assertion that holds, assertion that fails, assertion that meets unknown evidence)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "equals": ({"equals": {"path": "nested.x", "value": "y"}}, {"equals": {"path": "flag", "value": "true"}},
               {"equals": {"path": "lost.deeper", "value": 1}}),
    "not_equals": ({"not_equals": {"path": "name", "value": "c"}}, {"not_equals": {"path": "name", "value": "B",
                                                                                   "ignore_case": True}},
                   {"not_equals": {"path": "lost", "value": 1}}),
    "in": ({"in": {"path": "n", "values": [4, 5]}}, {"in": {"path": "n", "values": ["5"]}},
           {"in": {"path": "lost", "values": [1]}}),
    "contains": ({"contains": {"path": "tags", "value": "a"}}, {"contains": {"path": "tags", "value": "c"}},
                 {"contains": {"path": "lost", "value": "a"}}),
    "exists": ({"exists": {"path": "nested"}}, {"exists": {"path": "missing"}}, {"exists": {"path": "lost"}}),
    "absent": ({"absent": {"path": "missing"}}, {"absent": {"path": "name"}}, {"absent": {"path": "lost"}}),
    "regex": ({"regex": {"path": "name", "pattern": "[a-c]"}}, {"regex": {"path": "name", "pattern": "b+c"}},
              {"regex": {"path": "lost", "pattern": "."}}),
    "compare": ({"compare": {"path": "n", "op": "ge", "value": 5}}, {"compare": {"path": "flag", "op": "ge",
                                                                                 "value": 0}},
                {"compare": {"path": "lost", "op": "lt", "value": 1}}),
    "all": ({"all": [{"exists": {"path": "name"}}, {"equals": {"path": "n", "value": 5}}]},
            {"all": [{"exists": {"path": "name"}}, {"equals": {"path": "n", "value": 6}}]},
            {"all": [{"exists": {"path": "name"}}, {"exists": {"path": "lost"}}]}),
    "any": ({"any": [{"exists": {"path": "lost"}}, {"equals": {"path": "n", "value": 5}}]},
            {"any": [{"exists": {"path": "missing"}}, {"equals": {"path": "n", "value": 6}}]},
            {"any": [{"exists": {"path": "missing"}}, {"exists": {"path": "lost"}}]}),
    "none": ({"none": [{"exists": {"path": "missing"}}]}, {"none": [{"exists": {"path": "name"}}]},
             {"none": [{"exists": {"path": "lost"}}]}),
    "count": ({"count": {"path": "rules", "where": {"equals": {"path": "alg", "value": "AES256"}}, "min": 2}},
              {"count": {"path": "tags", "max": 1}},
              {"count": {"path": "items", "where": {"equals": {"path": "v", "value": 1}}, "min": 2}}),
    "each": ({"each": {"path": "rules", "assert": {"equals": {"path": "alg", "value": "AES256"}}}},
             {"each": {"path": "rules", "assert": {"equals": {"path": "alg", "value": "aws:kms"}}}},
             {"each": {"path": "items", "assert": {"equals": {"path": "v", "value": 1}}}}),
    "lookup": ({"lookup": {"type": "kms.key", "match": {"key_id": "=target"},
                           "assert": {"equals": {"path": "key_state", "value": "Enabled"}}}},
               {"lookup": {"type": "kms.key", "match": {"key_id": "=name"}}},
               {"lookup": {"type": "kms.key", "match": {"key_id": "=lost"}}}),
    "policy": ({"policy": {"path": "policy", **TLS}}, {"policy": {"path": "objects_only", **TLS}},
               {"policy": {"path": "malformed", **TLS}}),
}


def test_every_operator_has_cases() -> None:
    assert set(CASES) == set(OPERATORS), "add holds/fails/unknown cases for every operator in the table"


@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_holds_fails_and_fails_closed(name: str) -> None:
    holds, fails, unknown_case = CASES[name]
    assert evaluate(holds, Ctx(RES), ATTRS).ok is True
    outcome = evaluate(fails, Ctx(RES), ATTRS)
    assert outcome.ok is False
    assert outcome.evidence, "a failing assertion explains itself"
    with pytest.raises(UnknownValue):
        evaluate(unknown_case, Ctx(RES), ATTRS)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operator_schema_fragment_is_closed(name: str) -> None:
    op = OPERATORS[name]
    assert op.doc
    schema = op.schema
    if schema.get("type") == "object":
        assert schema.get("additionalProperties") is False


def test_lookup_fails_closed_when_the_other_type_was_not_collected() -> None:
    holds = CASES["lookup"][0]
    with pytest.raises(UnknownValue):
        evaluate(holds, Ctx(RES, denied=True), ATTRS)


def test_lookup_expect_none_and_all() -> None:
    none = {"lookup": {"type": "kms.key", "match": {"key_id": "k9"}, "expect": "none"}}
    assert evaluate(none, Ctx(RES), ATTRS).ok
    every = {"lookup": {"type": "kms.key", "match": {"key_id": "k1"}, "expect": "all",
                        "assert": {"equals": {"path": "key_state", "value": "Enabled"}}}}
    assert evaluate(every, Ctx(RES), ATTRS).ok


def test_all_reports_a_definite_failure_even_when_another_part_is_unknown() -> None:
    assertion = {"all": [{"equals": {"path": "n", "value": 6}}, {"exists": {"path": "lost"}}]}
    assert evaluate(assertion, Ctx(RES), ATTRS).ok is False


def test_count_over_maximum_is_certain_despite_unknown_items() -> None:
    assertion = {"count": {"path": "items", "max": 0}}
    assert evaluate(assertion, Ctx(RES), ATTRS).ok is False


def test_envelope_paths() -> None:
    assert evaluate({"equals": {"path": "@region", "value": "eu-west-1"}}, Ctx(RES), ATTRS).ok
    with pytest.raises(UnknownValue):
        evaluate({"equals": {"path": "@secret", "value": 1}}, Ctx(RES), ATTRS)


def test_jmespath_paths_fail_closed_through_unknown_markers() -> None:
    assert evaluate({"equals": {"path": "rules[0].alg", "value": "AES256"}}, Ctx(RES), ATTRS).ok
    with pytest.raises(UnknownValue):
        evaluate({"equals": {"path": "items[1].v", "value": 1}}, Ctx(RES), ATTRS)


def test_walk_visits_nested_assertions() -> None:
    tree = {"all": [{"each": {"path": "x", "assert": {"exists": {"path": "y"}}}}, {"any": [{"absent": {"path": "z"}}]}]}
    assert sorted(name for name, _ in operators.walk(tree)) == ["absent", "all", "any", "each", "exists"]


def test_policy_operator_fails_without_a_policy_and_on_unknown() -> None:
    outcome = evaluate({"policy": {"path": "missing", **TLS}}, Ctx(RES), ATTRS)
    assert outcome.ok is False
    with pytest.raises(UnknownValue):
        evaluate({"policy": {"path": "lost", **TLS}}, Ctx(RES), ATTRS)


def test_policy_operator_no_policy_holds_only_when_the_rule_says_so() -> None:
    # Over-strictness (judge: warnings) of a bucket without a policy: no statement refuses anything
    # (replay corpus, s3-faults: NoSuchBucketPolicy on the logging bucket read as "denies TLS 1.2").
    tls = {"requirement": "s3-deny-tls-below-1.2", "account": "111122223333", "region": "eu-west-1",
           "bucket": "=name", "judge": "warnings"}
    assert evaluate({"policy": {"path": "missing", **tls}}, Ctx(RES), ATTRS).ok is False
    assert evaluate({"policy": {"path": "missing", **tls, "no_policy": "holds"}}, Ctx(RES), ATTRS).ok is True
    assert evaluate({"policy": {"path": "missing", **TLS, "no_policy": "fails"}}, Ctx(RES), ATTRS).ok is False
    with pytest.raises(UnknownValue):  # an unread policy stays unknown
        evaluate({"policy": {"path": "lost", **tls, "no_policy": "holds"}}, Ctx(RES), ATTRS)


def test_policy_operator_evidence_names_the_breaking_request() -> None:
    outcome = evaluate({"policy": {"path": "objects_only", **TLS}}, Ctx(RES), ATTRS)
    text = " ".join(e["violation"] for e in outcome.evidence)
    assert "arn:aws:s3:::b" in text and "not denied" in text
