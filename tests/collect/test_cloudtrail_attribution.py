"""Who changed it: CloudTrail LookupEvents attribution of PASS -> FAIL findings.

moto 5 does not emulate cloudtrail:LookupEvents (NotImplementedError), so the CloudTrail client is a real
botocore client driven by botocore's Stubber: the requests are checked against the service model and the
expected parameters, the responses are shaped like CloudTrail's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from auditor.collect import cloudtrail
from auditor.collect.registry import calls_for, iam_policy
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Status
from auditor.report import jsonfmt, markdown, text
from auditor.report.common import evaluation_from_report
from auditor.snapshot import Resource, Snapshot
from tests.report.conftest import HOSTILE, make_finding

START = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
ALICE = "arn:aws:sts::111122223333:assumed-role/Admin/alice"


def event(name: str, when: dt.datetime, *, read_only: bool = False, principal: str = ALICE,
          source: str = "s3.amazonaws.com", event_id: str = "e-1") -> dict[str, Any]:
    detail = {"eventVersion": "1.09", "userIdentity": {"type": "AssumedRole", "arn": principal},
              "eventSource": source, "eventName": name, "readOnly": read_only}
    return {"EventId": event_id, "EventName": name, "ReadOnly": str(read_only).lower(), "EventTime": when,
            "EventSource": source, "Username": "alice", "CloudTrailEvent": json.dumps(detail),
            "Resources": [{"ResourceType": "AWS::S3::Bucket", "ResourceName": "bucket-a"}]}


def expected(name: str, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": name}],
                              "StartTime": ANY, "EndTime": ANY, "MaxResults": cloudtrail.PAGE_SIZE}
    if token:
        params["NextToken"] = token
    return params


@pytest.fixture()
def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("cloudtrail", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.activate()
    yield client, stubber
    stubber.deactivate()


def test_the_latest_write_event_is_the_attribution(stubbed) -> None:
    client, stubber = stubbed
    stubber.add_response("lookup_events", {"Events": [
        event("GetBucketVersioning", END - dt.timedelta(hours=1), read_only=True, principal="arn:aws:iam::1:user/ro"),
    ], "NextToken": "t2"}, expected("bucket-a"))
    stubber.add_response("lookup_events", {"Events": [
        event("PutBucketTagging", START + dt.timedelta(hours=1), principal="arn:aws:iam::1:user/bob"),
        event("PutBucketVersioning", START + dt.timedelta(hours=3), event_id="e-latest"),
    ], "NextToken": "t3"}, expected("bucket-a", "t2"))  # no third page asked: older events only
    got = cloudtrail.attribute_one(client, ["bucket-a"], START, END)
    stubber.assert_no_pending_responses()
    assert got.status == "found" and got.event_id == "e-latest"
    assert got.text == f"changed by {ALICE} at 2026-11-23T09:00:00Z with s3:PutBucketVersioning"
    assert got.to_json()["window"] == {"start": "2026-11-23T06:00:00Z", "end": "2026-11-24T06:00:00Z"}


def test_names_are_tried_in_order_until_one_has_write_events(stubbed) -> None:
    client, stubber = stubbed
    stubber.add_response("lookup_events", {"Events": []}, expected("arn:aws:kms:eu-west-1:1:key/k"))
    stubber.add_response("lookup_events", {"Events": [
        event("DisableKeyRotation", START + dt.timedelta(minutes=5), source="kms.amazonaws.com")]}, expected("k"))
    got = cloudtrail.attribute_one(client, ["arn:aws:kms:eu-west-1:1:key/k", "k", "alias/never-asked"], START, END)
    stubber.assert_no_pending_responses()
    assert got.api_call == "kms:DisableKeyRotation" and got.time == "2026-11-23T06:05:00Z"


def test_the_principal_names_the_service_acting_for_it() -> None:
    via = event("PutBucketVersioning", START)
    detail = json.loads(via["CloudTrailEvent"])
    detail["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
    via["CloudTrailEvent"] = json.dumps(detail)
    service = {**event("PutBucketVersioning", START), "Username": None,
               "CloudTrailEvent": json.dumps({"userIdentity": {"type": "AWSService",
                                                               "invokedBy": "backup.amazonaws.com"}})}
    unparsable = {**event("PutBucketVersioning", START), "CloudTrailEvent": "{not json"}

    class Client:
        def __init__(self, item: dict[str, Any]) -> None:
            self.item = item

        def lookup_events(self, **_: Any) -> Any:
            return {"Events": [self.item]}

    got = [cloudtrail.attribute_one(Client(e), ["b"], START, END).principal for e in (via, service, unparsable)]
    assert got == [f"{ALICE} via cloudformation.amazonaws.com", "backup.amazonaws.com", "alice"]


def test_no_write_event_is_not_found_and_pagination_is_bounded(stubbed) -> None:
    client, stubber = stubbed
    stubber.add_response("lookup_events", {"Events": [event("GetBucketAcl", START, read_only=True)]},
                         expected("bucket-a"))
    got = cloudtrail.attribute_one(client, ["bucket-a"], START, END)
    assert got.status == "not-found" and "no CloudTrail write event for bucket-a between" in got.text
    for index in range(3):
        stubber.add_response("lookup_events", {"Events": [], "NextToken": f"t{index + 1}"},
                             expected("bucket-a", f"t{index}" if index else None))
    got = cloudtrail.attribute_one(client, ["bucket-a"], START, END, max_calls=3)
    stubber.assert_no_pending_responses()
    assert got.status == "unknown" and got.text == "unknown: no write event in the first 3 pages of CloudTrail events"


@pytest.mark.parametrize(("code", "reason"), [
    ("AccessDeniedException", "AccessDeniedException on cloudtrail:LookupEvents"),
    ("ThrottlingException", "ThrottlingException on cloudtrail:LookupEvents"),
])
def test_a_failed_lookup_is_unknown_with_the_reason(stubbed, code: str, reason: str) -> None:
    client, stubber = stubbed
    stubber.add_client_error("lookup_events", service_error_code=code, http_status_code=400)
    got = cloudtrail.attribute_one(client, ["bucket-a"], START, END)
    assert got.status == "unknown" and got.text == f"unknown: {reason}"


def test_an_unexpected_exception_is_unknown_too() -> None:
    class Broken:
        def lookup_events(self, **_: Any) -> Any:
            raise NotImplementedError("The lookup_events action has not been implemented")

    got = cloudtrail.attribute_one(Broken(), ["bucket-a"], START, END)
    assert got.status == "unknown" and got.reason.startswith("NotImplementedError on cloudtrail:LookupEvents")


def _report(findings: list[Any]) -> dict[str, Any]:
    return jsonfmt.document(Evaluation(findings=tuple(findings), account="111122223333", regions=("eu-west-1",),
                                       rules=(), evaluated_at=START.isoformat()))


def test_only_pass_to_fail_findings_are_attributed_with_bounded_lookups() -> None:
    was_pass = make_finding(resource_id="bucket-a")
    was_fail = make_finding(resource_id="bucket-b")
    new = make_finding(resource_id="bucket-c")
    previous = _report([dataclasses.replace(was_pass, status=Status.PASS), was_fail])
    current = Evaluation(findings=(was_pass, was_fail, new), account="111122223333", regions=("eu-west-1",),
                         rules=(), evaluated_at=END.isoformat())
    assert [f.resource_id for f in cloudtrail.changed_to_fail(previous, current)] == ["bucket-a"]
    asked: list[str] = []

    class Client:
        def lookup_events(self, **params: Any) -> Any:
            asked.append(params["LookupAttributes"][0]["AttributeValue"])
            assert params["StartTime"] == START and params["EndTime"] == END
            return {"Events": [event("PutBucketVersioning", START + dt.timedelta(hours=2))]}

    result = cloudtrail.attribute_evaluation(current, previous, None, lambda region: Client(), END)
    by_resource = {f.resource_id: f for f in result.findings}
    assert asked == ["bucket-a"]
    assert by_resource["bucket-a"].attribution["principal"] == ALICE
    assert by_resource["bucket-b"].attribution is None and by_resource["bucket-c"].attribution is None
    many = [make_finding(resource_id=f"b{i}") for i in range(4)]
    got = cloudtrail.attribute(many, None, lambda region: Client(), START, END, max_resources=2)
    assert [got[f.id].status for f in many] == ["found", "found", "unknown", "unknown"]
    assert got[many[3].id].reason == "not looked up: more than 2 changed resources"


def test_lookup_names_follow_what_cloudtrail_records() -> None:
    snapshot = Snapshot(kind="live", resources=(
        Resource(type="kms.key", id="arn:aws:kms:eu-west-1:1:key/k", name="alias/ccme/x", region="eu-west-1",
                 attributes={"arn": "arn:aws:kms:eu-west-1:1:key/k", "key_id": "k"}),
        Resource(type="s3.bucket", id="bucket-a", name="bucket-a", region="eu-west-1",
                 attributes={"arn": "arn:aws:s3:::bucket-a"}),
    ), errors=(), account="1", regions=("eu-west-1",), collected_at=START.isoformat())
    key = make_finding(resource_type="kms.key", resource_id="arn:aws:kms:eu-west-1:1:key/k",
                       resource_name="alias/ccme/x")
    bucket = make_finding(resource_id="bucket-a")
    vpc = make_finding(resource_type="ec2.vpc", resource_id="vpc-1", resource_name="VPC-CCME")
    assert cloudtrail.lookup_names(key, snapshot) == ["arn:aws:kms:eu-west-1:1:key/k", "alias/ccme/x"]
    assert cloudtrail.lookup_names(bucket, snapshot) == ["bucket-a", "arn:aws:s3:::bucket-a"]
    assert cloudtrail.lookup_names(vpc, None) == ["vpc-1", "VPC-CCME"]
    assert cloudtrail.lookup_names(make_finding(resource_id="*"), None) == []
    assert cloudtrail.lookup_names(make_finding(resource_id="templates/a.yaml#Bucket"), None) == []


def test_the_iam_policy_grants_lookup_events_only_when_asked() -> None:
    def actions(options: tuple[str, ...]) -> set[str]:
        return {a for s in iam_policy({"s3.bucket"}, options)["Statement"] for a in s["Action"]}

    assert "cloudtrail:LookupEvents" not in actions(())
    assert "cloudtrail:LookupEvents" in actions(("attribute_changes",))
    made = {f"{c.service}:{c.operation}" for c in calls_for({"s3.bucket"}, ("attribute_changes",))}
    assert "cloudtrail:LookupEvents" in made  # the operation attribute_one calls (the stub tests check the name)
    assert {c.action for c in cloudtrail.CALLS} == {"cloudtrail:LookupEvents"}


def test_attribution_is_in_the_json_report_and_shown_escaped() -> None:
    attribution = cloudtrail.Attribution("found", "2026-11-23T06:00:00Z", "2026-11-24T06:00:00Z",
                                         principal=HOSTILE, time="2026-11-23T09:00:00Z",
                                         api_call="s3:PutBucketVersioning", event_id="e-1").to_json()
    finding = dataclasses.replace(make_finding(), attribution=attribution)
    evaluation = Evaluation(findings=(finding,), account="111122223333", regions=("eu-west-1",), rules=(),
                            evaluated_at=END.isoformat())
    doc = jsonfmt.document(evaluation)
    back = evaluation_from_report(json.loads(json.dumps(doc)), file="r.json")  # validates schemas/report.json
    assert back.findings[0].attribution == attribution
    assert f"changed by {HOSTILE}" in attribution["text"]
    md = markdown.render(evaluation)
    assert "Who changed it (CloudTrail): changed by" in md and "<img" not in md and "<script" not in md
    assert "changed by x" in text.render(evaluation)
    unattributed = jsonfmt.document(dataclasses.replace(evaluation, findings=(make_finding(),)))
    assert "attribution" not in unattributed["findings"][0]  # reports without the option are unchanged


# --------------------------------------------------------------------------- the CLI door, on moto
@pytest.mark.parametrize("opt_in", [["--attribute-changes"], ["--set", "options.attribute_changes=true"]])
def test_scan_previous_attribute_changes_on_moto(tmp_path, monkeypatch, capsys, opt_in: list[str]) -> None:
    from auditor.cli import main
    from auditor.demo.account import seed_ccme_account
    from tests.collect.helpers import REGION, moto_account
    from tests.collect.test_end_to_end import kms_s3_rules

    rules = kms_s3_rules(tmp_path)
    with moto_account() as session:
        seeded = seed_ccme_account(session, REGION, faults=True)
        sets = [a for k, v in seeded.config_overrides() for a in ("--set", f"{k}={json.dumps(v)}")
                if not isinstance(v, dict)]
        base = ["scan", "--rules", str(rules), "--pack", "ccme", "--region", REGION, *sets]
        first, second = tmp_path / "first.json", tmp_path / "second.json"
        assert main([*base, "--format", "json", "--output", str(first)]) == 1
        bucket = seeded.buckets["internals"]
        session.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        stub_client = boto3.client("cloudtrail", region_name=REGION)
        stubber = Stubber(stub_client)
        stubber.add_response("lookup_events", {"Events": [event("PutBucketVersioning", END)]}, expected(bucket))
        stubber.activate()
        monkeypatch.setattr(cloudtrail, "client_factory", lambda session, region: lambda name: stub_client)
        capsys.readouterr()
        code = main([*base, "--previous", str(first), *opt_in, "--format", "json",
                     "--output", str(second)])
        stubber.assert_no_pending_responses()
    assert code == 1
    changed = f"changed by {ALICE} at 2026-11-24T06:00:00Z with s3:PutBucketVersioning"
    report = json.loads(second.read_text())
    [finding] = [f for f in report["findings"] if f.get("attribution")]
    assert finding["rule_id"] == "CCME-S3-VERSIONING-INTERNALS" and finding["attribution"]["text"] == changed
    err = capsys.readouterr().err
    assert "NEW FAILURES (1)" in err and err.count(changed) == 1


def test_attribute_changes_needs_a_previous_report_and_a_valid_one(tmp_path, capsys) -> None:
    from auditor.cli import main

    assert main(["scan", "--attribute-changes", "--region", "eu-west-1"]) == 2
    assert "--previous REPORT.json" in capsys.readouterr().err
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"report_version": 1, "findings": "nope"}))
    assert main(["scan", "--previous", str(bad), "--region", "eu-west-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "old.json" in err and "Traceback" not in err


def test_iam_policy_command_adds_lookup_events_only_with_the_flag(capsys) -> None:
    from auditor.cli import main

    assert main(["iam-policy", "--pack", "ccme"]) == 0
    assert "cloudtrail:LookupEvents" not in capsys.readouterr().out
    assert main(["iam-policy", "--pack", "ccme", "--attribute-changes"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert "cloudtrail:LookupEvents" in policy["Statement"][0]["Action"]
