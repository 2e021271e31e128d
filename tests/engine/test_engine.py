"""Engine behaviour: fail closed, crashing rules, parameters, waivers, scopes, determinism."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.app.pipeline import evaluate
from auditor.config import AuditConfig, Waiver, load_config
from auditor.engine import operators
from auditor.engine.findings import Severity, Status, finding_id
from auditor.engine.rules import load_rule_file, load_rules
from auditor.snapshot import CollectionError, Resource, Snapshot, load_snapshot, unknown

FIXTURES = Path(__file__).parents[1] / "fixtures" / "snapshots"
TODAY = dt.date(2026, 11, 22)


def write_rules(tmp_path: Path, text: str) -> Path:
    pack = tmp_path / "policies" / "t"
    pack.mkdir(parents=True)
    (pack / "r.yaml").write_text(text)
    return tmp_path / "policies"


RULE = """
rules:
  - id: T-VERSIONING
    title: versioning enabled
    severity: high
    source: {document: test, section: s}
    resource_type: s3.bucket
    scope:
      where: {in: {path: name, values: "{buckets.all}"}}
    assert: {equals: {path: versioning, value: Enabled}}
"""


def bucket(name: str, **attrs: object) -> Resource:
    return Resource("s3.bucket", name, {"name": name, **attrs}, name=name)


def snap(*resources: Resource, errors: tuple[CollectionError, ...] = ()) -> Snapshot:
    return Snapshot(kind="fixture", resources=resources, errors=errors, account="111122223333",
                    regions=("eu-west-1",))


def config(**data: object) -> AuditConfig:
    return load_config(None, list(data.items()))


def statuses(result) -> dict[str, Status]:  # type: ignore[no-untyped-def]
    return {f.resource_id: f.status for f in result.findings}


def test_scoped_rule_only_sees_configured_buckets(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, RULE))
    s = snap(bucket("ucit-ccme-logging-eu-west-1", versioning="Enabled"),
             bucket("ucit-ccme-internals-eu-west-1", versioning=None), bucket("unrelated", versioning=None))
    assert statuses(evaluate(s, rules, config(), today=TODAY)) == {
        "ucit-ccme-logging-eu-west-1": Status.PASS, "ucit-ccme-internals-eu-west-1": Status.FAIL}


def test_unknown_attribute_is_error_never_pass(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, RULE))
    s = snap(bucket("ucit-ccme-logging-eu-west-1", versioning=unknown("AccessDenied on s3:GetBucketVersioning")))
    (finding,) = evaluate(s, rules, config(), today=TODAY).findings
    assert finding.status is Status.ERROR
    assert "AccessDenied" in finding.message


def test_per_attribute_error_marks_the_attribute_unknown(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, RULE))
    error = CollectionError("s3.bucket", "s3:GetBucketVersioning", "AccessDenied", "denied",
                            resource_id="ucit-ccme-logging-eu-west-1", attribute="versioning")
    s = snap(bucket("ucit-ccme-logging-eu-west-1", versioning="Enabled"), errors=(error,))
    (finding,) = evaluate(s, rules, config(), today=TODAY).findings
    assert finding.status is Status.ERROR


def test_whole_resource_error_and_type_error(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, RULE))
    whole = CollectionError("s3.bucket", "s3:HeadBucket", "403", "Forbidden", resource_id="ucit-ccme-logging-eu-west-1")
    s = snap(bucket("ucit-ccme-logging-eu-west-1", versioning="Enabled"), errors=(whole,))
    assert statuses(evaluate(s, rules, config(), today=TODAY))["ucit-ccme-logging-eu-west-1"] is Status.ERROR
    listing = CollectionError("s3.bucket", "s3:ListBuckets", "Throttling", "retries exhausted")
    result = evaluate(snap(errors=(listing,)), rules, config(), today=TODAY)
    assert [(f.resource_id, f.status) for f in result.findings] == [("*", Status.ERROR)]


def test_unknown_scope_membership_is_error(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, RULE))
    s = snap(Resource("s3.bucket", "x", {"name": unknown("not resolvable: !Ref BucketName")}))
    (finding,) = evaluate(s, rules, config(), today=TODAY).findings
    assert finding.status is Status.ERROR and finding.resource_id == "x"


def test_missing_parameter_is_error(tmp_path: Path) -> None:
    text = RULE.replace('"{buckets.all}"', '["{secret_name}"]')
    rules = load_rules(write_rules(tmp_path, text))
    (finding,) = evaluate(snap(), rules, config(), today=TODAY).findings
    assert finding.status is Status.ERROR and "secret_name" in finding.message


def test_a_crashing_rule_becomes_an_error_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = load_rules(write_rules(tmp_path, RULE))

    def boom(*args: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(operators.OPERATORS, "equals", operators.Operator("equals", "x", {}, boom))
    result = evaluate(snap(bucket("ucit-ccme-logging-eu-west-1")), rules, config(), today=TODAY)
    (finding,) = result.findings
    assert finding.status is Status.ERROR and finding.rule_id == "T-VERSIONING"
    assert "ZeroDivisionError" in finding.message


def test_waivers_apply_until_they_expire(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, RULE))
    s = snap(bucket("ucit-ccme-internals-eu-west-1", versioning=None))
    live = config(waivers=[{"rule": "T-*", "resource": "ucit-ccme-*", "reason": "migration", "expires": "2026-12-31"}])
    (finding,) = evaluate(s, rules, live, today=TODAY).findings
    assert finding.status is Status.WAIVED and finding.waiver == {"reason": "migration", "expires": "2026-12-31",
                                                                  "status": "FAIL"}
    expired = config(waivers=[{"rule": "T-VERSIONING", "resource": "*", "reason": "old", "expires": "2026-01-01"}])
    (finding,) = evaluate(s, rules, expired, today=TODAY).findings
    assert finding.status is Status.FAIL and "waiver expired on 2026-01-01" in finding.message


def test_waiver_matching() -> None:
    waiver = Waiver("CCME-S3-*", "ucit-*", "r", dt.date(2030, 1, 1))
    assert waiver.matches("CCME-S3-PAB-LOGGING", "ucit-ccme-logging")
    assert not waiver.matches("CCME-KMS-KEY-S3", "ucit-ccme-logging")


def test_option_gated_rule_is_skipped(tmp_path: Path) -> None:
    text = RULE.replace("    scope:\n", "    scope:\n      options: [read_secret_values]\n")
    rules = load_rules(write_rules(tmp_path, text))
    (finding,) = evaluate(snap(), rules, config(), today=TODAY).findings
    assert finding.status is Status.SKIPPED and "--read-secret-values" in finding.message
    result = evaluate(snap(bucket("ucit-ccme-logging-eu-west-1", versioning="Enabled")), rules,
                      config(options={"read_secret_values": True}), today=TODAY)
    assert [f.status for f in result.findings] == [Status.PASS]


def test_findings_are_deterministic_and_ids_stable() -> None:
    snapshot = load_snapshot(FIXTURES / "ccme-broken.json")
    rules = load_rules()
    first = evaluate(snapshot, rules, config(), today=TODAY)
    second = evaluate(snapshot, list(reversed(rules)), config(), today=TODAY)
    assert [f.to_json() for f in first.findings] == [f.to_json() for f in second.findings]
    assert first.findings[0].id == finding_id(first.findings[0].rule_id, first.findings[0].resource_id,
                                              first.findings[0].region, first.findings[0].account)
    assert len({f.id for f in first.findings}) == len(first.findings)
    json.dumps([f.to_json() for f in first.findings])


def test_each_configured_region_is_evaluated() -> None:
    snapshot = load_snapshot(FIXTURES / "ccme-compliant.json")
    rules = [r for r in load_rules() if r.id == "CCME-KMS-ALIAS-S3"]
    result = evaluate(snapshot, rules, config(regions=["eu-west-1", "us-east-1"]), today=TODAY)
    assert {(f.region, f.status) for f in result.findings} == {("eu-west-1", Status.PASS), ("us-east-1", Status.FAIL)}


def test_iac_mode_skips_live_only_rules(tmp_path: Path) -> None:
    text = RULE.replace("    assert:", "    applies_to: [live]\n    assert:")
    rules = load_rules(write_rules(tmp_path, text))
    s = snap(bucket("ucit-ccme-logging-eu-west-1", versioning="Enabled"))
    assert evaluate(s, rules, config(), today=TODAY, mode="iac").findings == ()
    assert len(evaluate(s, rules, config(), today=TODAY, mode="live").findings) == 1


def test_severity_order() -> None:
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.MEDIUM.rank > Severity.LOW.rank > Severity.INFO.rank


def test_rule_file_foreach_expands_and_renders(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("""
rules:
  - id: T-{tag}
    foreach: [{tag: A, v: 1}, {tag: B, v: 2}]
    title: "value {v}"
    severity: low
    source: {document: test, section: s}
    resource_type: s3.bucket
    assert: {equals: {path: n, value: "{v}"}}
""")
    rules = load_rule_file(path, "t")
    assert [(r.id, r.title, r.assertion) for r in rules] == [
        ("T-A", "value 1", {"equals": {"path": "n", "value": 1}}),
        ("T-B", "value 2", {"equals": {"path": "n", "value": 2}}),
    ]


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["a", "b", "1"]),
                    st.just(unknown("AccessDenied")), st.lists(st.sampled_from(["a", "b"]), max_size=2),
                    st.just({"x": "a"}))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_VALUES, min_size=0, max_size=12), other=st.lists(_VALUES, max_size=12),
       wanted=st.dictionaries(st.sampled_from(["v", "w", "@name"]), _VALUES, min_size=1, max_size=2))
def test_lookup_index_finds_what_a_scan_finds(values: list, other: list, wanted: dict) -> None:
    """`lookup` goes through an exact-value index: it must find exactly the resources a scan would."""
    from auditor.engine.evaluate import SnapshotIndex, _Ctx

    resources = tuple(
        Resource("kms.key", f"k{i}", {"v": v, "w": other[i] if i < len(other) else None}, name=str(v)[:3],
                 region="eu-west-1")
        for i, v in enumerate(values)
    )
    index = SnapshotIndex(Snapshot(kind="live", resources=resources))
    ctx = _Ctx(resource=Resource("kms.alias", "a", {}), index=index, region="eu-west-1")
    wanted = {k: (v if not isinstance(v, dict) or "$unknown" not in v else None) for k, v in wanted.items()}
    scan = [r.id for r in resources if operators.matches(r, wanted)]
    assert [r.id for r in ctx.matching("kms.key", wanted)] == scan
    assert [r.id for r in ctx.matching("kms.key", wanted)] == scan  # the index, now cached, again


ACCOUNT_RULE = """
rules:
  - id: T-POLICY-ACCOUNT
    title: the logging bucket is owned by the account
    severity: high
    source: {document: test, section: s}
    resource_type: s3.bucket
    scope:
      where: {equals: {path: name, value: "{buckets.logging}"}}
    assert: {equals: {path: owner, value: "{account}"}}
"""


def test_an_unset_assertion_parameter_matters_only_with_a_resource_in_scope(tmp_path: Path) -> None:
    rules = load_rules(write_rules(tmp_path, ACCOUNT_RULE))
    unrelated = Snapshot(kind="cloudformation", resources=(bucket("team-artifacts"),), regions=("eu-west-1",))
    assert evaluate(unrelated, rules, config(), today=TODAY).findings == ()
    in_scope = Snapshot(kind="cloudformation", resources=(bucket("ucit-ccme-logging-eu-west-1"),),
                        regions=("eu-west-1",))
    (finding,) = evaluate(in_scope, rules, config(), today=TODAY, complete=True).findings
    assert finding.status is Status.ERROR and "does not set 'account'" in finding.message
    # Templates not declared complete: the unset value opts the rule out (SKIPPED, naming the value).
    (finding,) = evaluate(in_scope, rules, config(), today=TODAY, mode="iac", complete=False).findings
    assert finding.status is Status.SKIPPED and "'account'" in finding.message and "--set account=" in finding.message


EXISTS_RULE = """
rules:
  - id: T-EXISTS
    title: the logging bucket exists
    severity: high
    source: {document: test, section: s}
    resource_type: s3.bucket
    scope:
      where: {equals: {path: name, value: "{buckets.logging}"}}
      expect: at_least_one
      missing_id: "{buckets.logging}"
    assert: {exists: {path: name}}
"""


@pytest.mark.parametrize("kind, declared, status", [
    ("live", False, Status.FAIL),  # an account is complete, whatever iac.complete says
    ("cloudformation", False, Status.SKIPPED),
    ("cloudformation", True, Status.FAIL),
])
def test_a_missing_resource_fails_only_in_a_complete_snapshot(tmp_path: Path, kind: str, declared: bool,
                                                              status: Status) -> None:
    rules = load_rules(write_rules(tmp_path, EXISTS_RULE))
    snapshot = Snapshot(kind=kind, resources=(bucket("team-artifacts"),), regions=("eu-west-1",))
    (finding,) = evaluate(snapshot, rules, config(**{"iac.complete": declared}), today=TODAY).findings
    assert (finding.resource_id, finding.status) == ("ucit-ccme-logging-eu-west-1", status)
    assert ("--complete" in finding.message) is (status is Status.SKIPPED)
