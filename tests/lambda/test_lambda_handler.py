"""The Lambda handler against moto: reports in S3, SNS only on change, the exact diff, metrics."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from auditor.aws_lambda.handler import NAMESPACE, run
from auditor.demo.account import tls_policy
from auditor.demo.run import _stub_not_mocked, offline_guard

from .helpers import REPORT_BUCKET, LambdaWorld

HOOKS = [_stub_not_mocked, offline_guard]
T0 = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)


def invoke(world: LambdaWorld, at: dt.datetime, event: Any = None) -> dict[str, Any]:
    return run(event if event is not None else {}, world.env, session=world.session, client_hooks=HOOKS, now=at)


def sections(body: str) -> dict[str, set[tuple[str, str]]]:
    """{section: {(rule id, resource id)}} from a notification body."""
    out: dict[str, set[tuple[str, str]]] = {}
    current = None
    for line in body.splitlines():
        if line and not line.startswith(" ") and "(" in line and line.split(" (")[0] in ("NEW FAILURES", "NEW ERRORS",
                                                                                          "FIXED"):
            current = line.split(" (")[0]
            out[current] = set()
        elif line.startswith("  ") and current:
            rule, resource = (part.strip() for part in line.split("|")[:2])
            out[current].add((rule, resource))
    return out


def test_first_run_stores_reports_and_notifies_then_an_unchanged_run_is_silent(world: LambdaWorld) -> None:
    first = invoke(world, T0)
    assert first["first_run"] and first["notified"] and first["failure"] is None
    s3 = world.session.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=REPORT_BUCKET)["Contents"]}
    account = world.seeded.account
    base = f"audits/{account}/eu-west-1"
    names = ("snapshot.json", "report.json", "report.html", "changes.json")
    assert keys == {f"{base}/2026/11/23/060000Z/{n}" for n in names} | {f"{base}/latest/{n}" for n in names}
    head = s3.head_object(Bucket=REPORT_BUCKET, Key=f"{base}/latest/report.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(world.kms_key)
    report = json.loads(s3.get_object(Bucket=REPORT_BUCKET, Key=f"{base}/latest/report.json")["Body"].read())
    failing = {(f["rule_id"], f["resource_id"]) for f in report["findings"] if f["status"] == "FAIL"}
    errors = {(f["rule_id"], f["resource_id"]) for f in report["findings"] if f["status"] == "ERROR"}
    assert failing, "the seeded account has planted faults"

    [note] = world.messages()
    assert note["Subject"].startswith(f"ccme-audit {account} eu-west-1: {len(failing)} new FAIL")
    got = sections(note["Message"])
    assert got["NEW FAILURES"] == failing
    assert got["NEW ERRORS"] == errors
    assert got["FIXED"] == set()
    assert "first run" in note["Message"]

    metrics = world.session.client("cloudwatch").list_metrics(Namespace=NAMESPACE)["Metrics"]
    names_seen = {m["MetricName"] for m in metrics}
    assert names_seen == {"PASS", "FAIL", "ERROR", "SKIPPED", "WAIVED"}
    dims = {tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in metrics}
    assert (("Account", account), ("Pack", "ccme"), ("Region", "eu-west-1")) in dims

    second = invoke(world, T0 + dt.timedelta(hours=24))
    assert not second["first_run"] and not second["notified"]
    assert second["changes"] == {"new_failures": 0, "fixed": 0, "new_errors": 0}
    assert world.messages() == []
    versions = s3.list_object_versions(Bucket=REPORT_BUCKET, Prefix=f"{base}/latest/report.json")["Versions"]
    assert len(versions) == 2  # the bucket keeps the previous latest


def test_a_fixed_and_a_broken_resource_produce_exactly_that_diff(world: LambdaWorld) -> None:
    invoke(world, T0)
    world.messages()
    s3 = world.session.client("s3")
    userdata, internals = world.seeded.buckets["userdata"], world.seeded.buckets["internals"]
    s3.put_bucket_policy(Bucket=userdata, Policy=json.dumps(tls_policy(userdata)))  # fixed
    s3.put_bucket_versioning(Bucket=internals, VersioningConfiguration={"Status": "Suspended"})  # broken
    result = invoke(world, T0 + dt.timedelta(hours=24))
    assert result["notified"]
    [note] = world.messages()
    got = sections(note["Message"])
    assert got == {
        "NEW FAILURES": {("CCME-S3-VERSIONING-INTERNALS", internals)},
        "NEW ERRORS": set(),
        "FIXED": {("CCME-S3-POLICY-SECURETRANSPORT-USERDATA", userdata), ("CCME-S3-POLICY-TLS12-USERDATA", userdata)},
    }
    assert result["changes"] == {"new_failures": 1, "fixed": 2, "new_errors": 0}
    assert "FAIL -> PASS" in note["Message"] and "PASS -> FAIL" in note["Message"]
    changes = json.loads(s3.get_object(Bucket=REPORT_BUCKET, Key=(
        f"audits/{world.seeded.account}/eu-west-1/latest/changes.json"))["Body"].read())
    assert {(c["kind"], c["rule_id"]) for c in changes["changes"]} == {
        ("new-failure", "CCME-S3-VERSIONING-INTERNALS"), ("fixed", "CCME-S3-POLICY-SECURETRANSPORT-USERDATA"),
        ("fixed", "CCME-S3-POLICY-TLS12-USERDATA")}
