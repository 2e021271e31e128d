"""Names generated at deployment: never a concrete value a rule can PASS on, never equal to a configured
name outside their shape (the resource is out of a name-scoped rule's scope), undecidable inside it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.engine import operators
from auditor.engine.findings import Status
from auditor.engine.rules import load_rules
from auditor.engine.values import UnknownValue
from auditor.iac import canonical as C
from auditor.snapshot import Resource, Snapshot, generated, generated_may_be, is_generated, validate_resource
from tests.engine.test_engine import EXISTS_RULE

TODAY = dt.date(2026, 11, 22)
CFN_BUCKET = C.cfn_generated_name("bucket", "BucketName", s3=True)
TF_BUCKET = C.tf_generated_name("bucket", "bucket", None)
TF_PREFIXED = C.tf_generated_name("bucket", "bucket", "ucit-ccme-logging-")
MARKERS = [CFN_BUCKET, TF_BUCKET, TF_PREFIXED, C.cfn_generated_name("secret", "Name")]


class _Ctx:
    def __init__(self, resource: Resource):
        self.resource = resource

    def lookup(self, rtype: str) -> Sequence[Resource]:
        return []

    def matching(self, rtype: str, wanted: Mapping[str, Any]) -> Sequence[Resource]:
        return []

    def render(self, value: Any) -> Any:
        return value


def run(assertion: Mapping[str, Any], name: Any) -> bool | None:
    """The outcome of an assertion on a bucket whose name is `name`; None when it cannot be told."""
    resource = Resource("s3.bucket", "b", {"name": name, "aliases": [name]})
    try:
        return operators.evaluate(assertion, _Ctx(resource), resource.attributes).ok
    except UnknownValue:
        return None


NAMES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}-[a-z0-9.-]{1,20}-[a-z0-9]{8,14}", fullmatch=True),
    st.from_regex(r"terraform-[0-9a-f]{26}", fullmatch=True),
    st.from_regex(r"ucit-ccme-logging-[0-9a-f]{20,30}", fullmatch=True),
    st.sampled_from(["ucit-ccme-logging-eu-west-1", "ccme/directory-reader", "VPC-CCME"]),
)


@settings(max_examples=300, deadline=None)
@given(marker=st.sampled_from(MARKERS), literal=NAMES, ignore_case=st.booleans())
def test_a_generated_name_never_passes_a_comparison(marker: dict[str, str], literal: str, ignore_case: bool) -> None:
    could = generated_may_be(marker, literal, ignore_case=ignore_case)
    equals = run({"equals": {"path": "name", "value": literal, "ignore_case": ignore_case}}, marker)
    member = run({"in": {"path": "name", "values": ["other", literal], "ignore_case": ignore_case}}, marker)
    differs = run({"not_equals": {"path": "name", "value": literal, "ignore_case": ignore_case}}, marker)
    holds = run({"contains": {"path": "aliases", "value": literal}}, marker)
    # Outside the shape: certainly different. Inside: cannot be told. Never equal.
    assert equals is (None if could else False)
    assert member is (None if could else False)
    assert differs is (None if could else True)
    assert holds in (None, False)
    # A pattern matching just the literal: undecided when the literal has the shape, else a certain miss.
    exact = run({"regex": {"path": "name", "pattern": re.escape(literal) or "x{0}", "ignore_case": ignore_case}},
                marker)
    assert exact is (None if could else False)
    assert run({"regex": {"path": "name", "pattern": ".*"}}, marker) is None


def test_shapes_follow_the_generators() -> None:
    assert generated_may_be(CFN_BUCKET, "mystack-loggingbucket-1a2b3c4d5e6f")
    assert not generated_may_be(CFN_BUCKET, "ucit-ccme-logging-eu-west-1")
    assert not generated_may_be(CFN_BUCKET, "MyStack-LoggingBucket-1A2B3C4D5E6F")  # S3 names are lower case
    assert generated_may_be(TF_BUCKET, "terraform-20261122093015123400000001")
    assert not generated_may_be(TF_BUCKET, "ucit-ccme-logging-eu-west-1")
    assert generated_may_be(TF_PREFIXED, "ucit-ccme-logging-20261122093015123400000001")
    assert not generated_may_be(TF_PREFIXED, "ucit-ccme-logging-eu-west-1")
    # A prefix that is itself unknown leaves the name unknown, not generated.
    assert not is_generated(C.tf_generated_name("bucket", "bucket", {"$unknown": "var.prefix has no value"}))


def test_a_generated_name_exists_and_is_not_absent() -> None:
    assert run({"exists": {"path": "name"}}, CFN_BUCKET) is True
    assert run({"absent": {"path": "name"}}, CFN_BUCKET) is False


def test_a_lookup_never_matches_a_literal_through_a_generated_name() -> None:
    other = Resource("s3.bucket", "o", {"name": CFN_BUCKET})
    assert not operators.matches(other, {"name": "mystack-loggingbucket-1a2b3c4d5e6f"})
    assert operators.matches(other, {"name": dict(CFN_BUCKET)})  # the same generated name: the same bucket


def test_a_snapshot_with_generated_names_validates() -> None:
    # The type schema checks only what is known: a generated name is left out, as an unknown value is.
    logging = {"target_bucket": CFN_BUCKET, "target_prefix": ""}
    validate_resource({"type": "s3.bucket", "id": "b", "attributes": {"name": "b", "logging": logging}},
                      file="snapshot.json", index=0)


RULES = EXISTS_RULE + """  - id: T-VERSIONING
    title: versioning on every CCME bucket
    severity: high
    source: {document: test, section: s}
    resource_type: s3.bucket
    scope:
      where: {in: {path: name, values: "{buckets.all}"}}
    assert: {equals: {path: versioning, value: Enabled}}
  - id: T-SLOW-SCOPE
    title: a scope the value index cannot answer
    severity: high
    source: {document: test, section: s}
    resource_type: s3.bucket
    scope:
      where: {any: [{equals: {path: name, value: "{buckets.logging}"}}, {equals: {path: name, value: x}}]}
    assert: {equals: {path: versioning, value: Enabled}}
"""


def _evaluate(tmp_path: Path, name: Any, *, complete: bool, **config: Any) -> dict[tuple[str, str], Status]:
    pack = tmp_path / "policies" / "t"
    pack.mkdir(parents=True, exist_ok=True)
    (pack / "r.yaml").write_text(RULES)
    snapshot = Snapshot(kind="cloudformation", account="111122223333", regions=("eu-west-1",), resources=(
        Resource("s3.bucket", "t.yaml#Bucket", {"name": name, "region": "eu-west-1", "versioning": None}),))
    cfg = load_config(None, [("account", "111122223333"), *config.items()])
    result = evaluate(snapshot, load_rules(tmp_path / "policies"), cfg, today=TODAY, mode="iac", complete=complete)
    return {(f.rule_id, f.resource_id): f.status for f in result.findings}


@pytest.mark.parametrize("complete", [False, True])
def test_a_bucket_with_a_generated_name_is_out_of_scope(tmp_path: Path, complete: bool) -> None:
    found = _evaluate(tmp_path, CFN_BUCKET, complete=complete)
    assert found == {("T-EXISTS", "ucit-ccme-logging-eu-west-1"): Status.FAIL if complete else Status.SKIPPED}


def test_a_configured_name_of_the_generated_shape_cannot_be_told(tmp_path: Path) -> None:
    found = _evaluate(tmp_path, CFN_BUCKET, complete=True, **{"buckets.logging": "stack-logs-1a2b3c4d5e6f"})
    assert found == {("T-EXISTS", "t.yaml#Bucket"): Status.ERROR, ("T-VERSIONING", "t.yaml#Bucket"): Status.ERROR,
                     ("T-SLOW-SCOPE", "t.yaml#Bucket"): Status.ERROR}


def test_an_unknown_name_stays_error(tmp_path: Path) -> None:
    found = _evaluate(tmp_path, {"$unknown": "parameter LogBucketName has no default"}, complete=False)
    assert set(found.values()) == {Status.ERROR}


def test_generated_needs_its_shape() -> None:
    assert is_generated(generated("why", ".+"))
    assert not is_generated({"$generated": "why"})


WORDS = st.text(alphabet="ab/-_", min_size=1, max_size=5)


@settings(max_examples=400, deadline=None)
@given(fixed=st.lists(WORDS, min_size=1, max_size=3), fillers=st.lists(st.text(alphabet="ab/-_", max_size=4),
       min_size=3, max_size=3), choices=st.lists(WORDS, min_size=1, max_size=4), optional=WORDS,
       ignore_case=st.booleans(), upper=st.booleans())
def test_a_shaped_name_that_can_match_a_pattern_is_never_said_to_miss_it(
        fixed: list[str], fillers: list[str], choices: list[str], optional: str, ignore_case: bool,
        upper: bool) -> None:
    # A shape: fixed text with an unknown part after each piece; a name of that shape: the gaps filled in.
    shape = "".join(re.escape(piece) + ".*" for piece in fixed)
    name = "".join(piece + filler for piece, filler in zip(fixed, fillers, strict=False))
    name = name.upper() if upper else name
    marker = generated("test", shape)
    pattern = f"({re.escape(optional)})?(" + "|".join(re.escape(c) for c in choices) + ")"
    assertion = {"regex": {"path": "name", "pattern": pattern, "ignore_case": ignore_case}}
    outcome = run(assertion, marker)
    assert outcome is not True  # never a PASS on a shaped name
    if re.fullmatch(pattern, name, re.IGNORECASE if ignore_case else 0):
        assert outcome is None  # such a name exists: it must stay undecided, never a certain "no"


def test_a_shape_outside_the_alias_naming_pattern_is_out_of_its_scope() -> None:
    pattern = "alias/(alias/)?ccme/(cmh_ebs|dcv_proxy_ebs|s3|cloudwatch)"
    assertion = {"regex": {"path": "name", "pattern": pattern, "ignore_case": True}}
    assert run(assertion, generated("test", "alias/.*\\-app")) is False
    assert run(assertion, generated("test", "alias/.*/CMH_EBS")) is None
    assert run({"regex": {"path": "name", "pattern": ".+"}}, generated("test", "x.*")) is None
    assert run({"regex": {"path": "name", "pattern": "(?i)ALIAS/x"}}, generated("test", "alias/x")) is None
