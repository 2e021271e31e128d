"""The drift alert says who changed it: a bucket whose versioning is suspended between two scheduled runs
(moto) is attributed from CloudTrail (botocore's Stubber: moto 5 does not implement LookupEvents)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.stub import ANY, Stubber

from auditor.aws_lambda.handler import run
from auditor.report.common import evaluation_from_report

from .helpers import REPORT_BUCKET, LambdaWorld
from .test_lambda_handler import HOOKS, T0

ALICE = "arn:aws:sts::123456789012:assumed-role/Admin/alice"


def cloudtrail_stub(bucket: str, responses: list[Any], asked: list[str], start: Any = ANY):
    """A client hook that answers LookupEvents on the CloudTrail client with `responses`, in order, and
    expects exactly these parameters (the bucket's name, the window's start)."""

    def hook(client: Any, service: str) -> None:
        # the scan probes CloudTrail too (describe_trails): stub only the attribution's client
        if service != "cloudtrail" or "ccme-audit-attribution" not in (client.meta.config.user_agent_extra or ""):
            return
        asked.append(service)
        stubber = Stubber(client)
        for response in responses:
            params = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": bucket}],
                      "StartTime": start, "EndTime": ANY, "MaxResults": 50}
            if isinstance(response, str):
                stubber.add_client_error("lookup_events", service_error_code=response, http_status_code=400,
                                         expected_params=params)
            else:
                stubber.add_response("lookup_events", response, params)
        stubber.activate()

    return hook


def write_event(name: str, when: dt.datetime, principal: str = ALICE, read_only: bool = False) -> dict[str, Any]:
    detail = {"userIdentity": {"type": "AssumedRole", "arn": principal}, "eventSource": "s3.amazonaws.com",
              "eventName": name, "readOnly": read_only}
    return {"EventId": f"id-{name}", "EventName": name, "ReadOnly": str(read_only).lower(), "EventTime": when,
            "EventSource": "s3.amazonaws.com", "CloudTrailEvent": json.dumps(detail)}


def _break_versioning(world: LambdaWorld) -> str:
    bucket = world.seeded.buckets["internals"]
    world.session.client("s3").put_bucket_versioning(Bucket=bucket,
                                                     VersioningConfiguration={"Status": "Suspended"})
    return bucket


def _latest(world: LambdaWorld, name: str) -> bytes:
    key = f"audits/{world.seeded.account}/eu-west-1/latest/{name}"
    return world.session.client("s3").get_object(Bucket=REPORT_BUCKET, Key=key)["Body"].read()


def test_the_drift_alert_names_who_changed_the_resource(world: LambdaWorld) -> None:
    env = {**world.env, "ATTRIBUTE_CHANGES": "true"}
    run({}, env, session=world.session, client_hooks=HOOKS, now=T0)  # first run: nothing to attribute
    world.messages()
    previous = json.loads(_latest(world, "report.json"))
    bucket = _break_versioning(world)
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    asked: list[str] = []
    page = {"Events": [write_event("GetBucketVersioning", when, "arn:aws:iam::123456789012:user/auditor", True),
                       write_event("PutBucketVersioning", when)]}
    # the window starts at the previous report's evaluation
    start = dt.datetime.fromisoformat(previous["evaluated_at"])
    hooks = [cloudtrail_stub(bucket, [page], asked, start), *HOOKS]
    result = run({}, env, session=world.session, client_hooks=hooks, now=T0 + dt.timedelta(hours=24))
    assert result["changes"]["new_failures"] == 1 and result["changes"]["new_errors"] == 0, result
    changed = f"changed by {ALICE} at {when:%Y-%m-%dT%H:%M:%SZ} with s3:PutBucketVersioning"
    [note] = world.messages()
    [line] = [x for x in note["Message"].splitlines() if "CCME-S3-VERSIONING-INTERNALS" in x]
    assert "PASS -> FAIL" in line and line.endswith(changed)
    assert asked == ["cloudtrail"]  # one CloudTrail client, whose stubbed answers were all used
    report = json.loads(_latest(world, "report.json"))
    evaluation_from_report(report, file="report.json")  # the report with attributions validates
    [finding] = [f for f in report["findings"] if f["rule_id"] == "CCME-S3-VERSIONING-INTERNALS"]
    assert finding["status"] == "FAIL" and finding["attribution"]["text"] == changed
    assert finding["attribution"]["principal"] == ALICE
    assert sum("attribution" in f for f in report["findings"]) == 1  # only the PASS -> FAIL finding
    changes = json.loads(_latest(world, "changes.json"))
    assert [c["attribution"] for c in changes["changes"] if c["kind"] == "new-failure"] == [changed]
    assert changed.replace(":", "") in _latest(world, "report.html").decode().replace(":", "")


def test_a_denied_lookup_is_unknown_and_the_run_goes_on(world: LambdaWorld) -> None:
    env = {**world.env, "ATTRIBUTE_CHANGES": "true"}
    run({}, env, session=world.session, client_hooks=HOOKS, now=T0)
    world.messages()
    bucket = _break_versioning(world)
    hooks = [cloudtrail_stub(bucket, ["AccessDeniedException"], []), *HOOKS]
    result = run({}, env, session=world.session, client_hooks=hooks, now=T0 + dt.timedelta(hours=24))
    assert result["notified"] and result["changes"]["new_failures"] == 1
    [note] = world.messages()
    assert "unknown: AccessDeniedException on cloudtrail:LookupEvents" in note["Message"]


def test_without_the_setting_no_lookup_is_made(world: LambdaWorld) -> None:
    run({}, world.env, session=world.session, client_hooks=HOOKS, now=T0)
    world.messages()
    _break_versioning(world)
    asked: list[str] = []
    hooks = [cloudtrail_stub("unused", [], asked), *HOOKS]
    run({}, world.env, session=world.session, client_hooks=hooks, now=T0 + dt.timedelta(hours=24))
    [note] = world.messages()
    assert asked == [] and "changed by" not in note["Message"]
    assert "attribution" not in _latest(world, "report.json").decode()


def test_the_stacks_grant_lookup_events_only_with_attribute_changes() -> None:
    from pathlib import Path

    import pytest

    decode = pytest.importorskip("cfnlint.decode")
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    for name, role in (("template.yaml", "FunctionRole"), ("member-role.yaml", "MemberRole")):
        template, errors = decode.decode(str(deploy / name))
        assert not errors
        assert template["Parameters"]["AttributeChanges"]["Default"] == "false"
        statements = [s for p in template["Resources"][role]["Properties"]["Policies"]
                      for s in p["PolicyDocument"]["Statement"]]
        [conditional] = [s for s in statements if "Fn::If" in s]
        condition, granted, otherwise = conditional["Fn::If"]
        assert template["Conditions"][condition] == {"Fn::Equals": [{"Ref": "AttributeChanges"}, "true"]}
        assert granted["Action"] == "cloudtrail:LookupEvents" and otherwise == {"Ref": "AWS::NoValue"}
        assert all("cloudtrail:LookupEvents" not in str(s) for s in statements if s is not conditional)
    template, _ = decode.decode(str(deploy / "template.yaml"))
    variables = template["Resources"]["ScanFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["ATTRIBUTE_CHANGES"] == {"Ref": "AttributeChanges"}
    assert variables["HISTORY_REPORTS"] == {"Ref": "HistoryReports"}
    assert template["Parameters"]["HistoryReports"]["Default"] == 0


def test_history_reports_put_the_rule_history_in_report_html(world: LambdaWorld) -> None:
    env = {**world.env, "HISTORY_REPORTS": "10"}
    first = run({}, env, session=world.session, client_hooks=HOOKS, now=T0)
    assert first["history"].startswith("no history: ") and "no report.json under this prefix" in first["history"]
    assert 'id="history"' not in _latest(world, "report.html").decode()
    _break_versioning(world)
    second = run({}, env, session=world.session, client_hooks=HOOKS, now=T0 + dt.timedelta(hours=24))
    assert second["history"] == 1  # the first run's dated report (latest/ is not counted twice)
    page = _latest(world, "report.html").decode()
    section = page.split('<section id="history">', 1)[1].split("</section>", 1)[0]
    row = section.split('>CCME-S3-VERSIONING-INTERNALS</a></td>', 1)[1].split("</tr>", 1)[0]  # (linked to its doc)
    assert ">PASS</td><td>FAIL</td>" in row
    data = json.loads(page.split('<script type="application/json" id="ccme-data">')[1].split("</script>")[0])
    [detail] = [d["h"] for d in data["findings"] if d["r"] == "CCME-S3-VERSIONING-INTERNALS"]
    assert detail.startswith("FAIL since ") and detail.endswith("(was PASS)")


def test_history_reports_must_be_a_bounded_number() -> None:
    import pytest

    from auditor.aws_lambda.settings import settings_from_env
    from auditor.errors import InputError

    assert settings_from_env({"REPORT_BUCKET": "b", "HISTORY_REPORTS": "30"}).history_reports == 30
    assert settings_from_env({"REPORT_BUCKET": "b"}).history_reports == 0
    for bad in ("-1", "lots", "501"):
        with pytest.raises(InputError, match="HISTORY_REPORTS"):
            settings_from_env({"REPORT_BUCKET": "b", "HISTORY_REPORTS": bad})


def test_attribute_changes_is_strict_like_the_other_switches() -> None:
    """A misspelt ATTRIBUTE_CHANGES is a configuration error naming it, not a silently disabled lookup."""
    import pytest

    from auditor.aws_lambda.settings import settings_from_env
    from auditor.errors import InputError

    assert settings_from_env({"REPORT_BUCKET": "b"}).attribute_changes is False
    assert settings_from_env({"REPORT_BUCKET": "b", "ATTRIBUTE_CHANGES": " True "}).attribute_changes is True
    assert settings_from_env({"REPORT_BUCKET": "b", "ATTRIBUTE_CHANGES": "false"}).attribute_changes is False
    with pytest.raises(InputError, match="ATTRIBUTE_CHANGES"):
        settings_from_env({"REPORT_BUCKET": "b", "ATTRIBUTE_CHANGES": "ture"})


def test_a_member_role_that_cannot_be_assumed_leaves_the_attribution_unknown_with_why() -> None:
    """The member account's CloudTrail cannot be asked: every PASS -> FAIL finding says so, once, and the
    others carry no attribution; nothing is looked up and the run goes on."""
    import dataclasses

    from botocore.exceptions import ClientError

    from auditor.aws_lambda.handler import attributed
    from auditor.aws_lambda.settings import Settings
    from auditor.engine.evaluate import Evaluation
    from auditor.engine.findings import Status
    from auditor.report import jsonfmt
    from tests.report.conftest import make_finding

    member = "210987654321"
    was_pass, still_fail = make_finding(resource_id="bucket-a"), make_finding(resource_id="bucket-b")
    previous = jsonfmt.document(Evaluation(
        findings=(dataclasses.replace(was_pass, status=Status.PASS), still_fail), account=member,
        regions=("eu-west-1",), rules=(), evaluated_at=T0.isoformat()))
    current = Evaluation(findings=(was_pass, still_fail), account=member, regions=("eu-west-1",), rules=(),
                         evaluated_at=(T0 + dt.timedelta(hours=1)).isoformat())

    class Sts:
        def assume_role(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    class NoSession:
        def client(self, *_: Any, **__: Any) -> Any:
            raise AssertionError("no CloudTrail client when the member role cannot be assumed")

    settings = Settings(bucket="b", member_role_name="CcmeAuditRole")
    got = attributed(current, previous, None, NoSession(), Sts(), member, "123456789012", settings, "eu-west-1", ())
    by_resource = {f.resource_id: f.attribution for f in got.findings}
    assert by_resource["bucket-b"] is None
    assert by_resource["bucket-a"]["status"] == "unknown"
    assert by_resource["bucket-a"]["text"] == (f"unknown: cannot assume arn:aws:iam::{member}:role/CcmeAuditRole "
                                               "for cloudtrail:LookupEvents (AccessDenied)")
