"""Scheduled runs in a member account (issue 26): the CloudTrail attribution reuses the session the scan assumed
(no second sts:AssumeRole), and a role assumed for it is built in the caller's partition (GovCloud, China)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import boto3
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from auditor.aws_lambda.handler import attributed
from auditor.aws_lambda.settings import Settings
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Status
from auditor.multi.orchestrate import scan_account
from auditor.multi.targets import Target
from auditor.report import jsonfmt
from tests.report.conftest import make_finding

MEMBER, HOME = "210987654321", "123456789012"
T0 = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)


def _drift() -> tuple[Evaluation, dict[str, Any]]:
    was_pass = make_finding(resource_id="bucket-a")
    previous = jsonfmt.document(Evaluation(findings=(dataclasses.replace(was_pass, status=Status.PASS),),
                                           account=MEMBER, regions=("eu-west-1",), rules=(),
                                           evaluated_at=T0.isoformat()))
    current = Evaluation(findings=(was_pass,), account=MEMBER, regions=("eu-west-1",), rules=(),
                         evaluated_at=(T0 + dt.timedelta(hours=1)).isoformat())
    return current, previous


class NoAssume:
    def assume_role(self, **_: Any) -> Any:
        raise AssertionError("the member role was assumed a second time")


class MemberSession:
    """The session the scan assumed: hands out a CloudTrail client answering LookupEvents with no event."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def client(self, name: str, **_: Any) -> Any:
        self.asked.append(name)
        client = boto3.client(name, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
        stubber = Stubber(client)
        stubber.add_response("lookup_events", {"Events": []})
        stubber.activate()
        return client


def test_the_attribution_reuses_the_scans_member_session() -> None:
    current, previous = _drift()
    member = MemberSession()
    settings = Settings(bucket="b", member_role_name="CcmeAuditRole")
    got = attributed(current, previous, None, object(), NoAssume(), MEMBER, HOME, settings, "eu-west-1", (),
                     member_session=member)
    assert member.asked == ["cloudtrail"]
    assert got.findings[0].attribution is not None and got.findings[0].attribution["status"] == "not-found"


def test_a_role_assumed_for_the_attribution_is_in_the_callers_partition() -> None:
    current, previous = _drift()

    class Denied:
        def assume_role(self, **params: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": params["RoleArn"]}}, "AssumeRole")

    settings = Settings(bucket="b", member_role_name="CcmeAuditRole")
    got = attributed(current, previous, None, object(), Denied(), MEMBER, HOME, settings, "us-gov-west-1", (),
                     partition="aws-us-gov")
    text = got.findings[0].attribution["text"] if got.findings[0].attribution else ""
    assert f"arn:aws-us-gov:iam::{MEMBER}:role/CcmeAuditRole" in text


def test_scan_account_keeps_the_session_it_read_with() -> None:
    """The session of a failed assume is None (nothing to reuse), and the failure names the partition's ARN."""
    from auditor.config import load_config
    from auditor.engine.rules import load_rules

    asked: list[str] = []

    class Sts:
        def assume_role(self, **params: Any) -> Any:
            asked.append(params["RoleArn"])
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    config = load_config(None, [("regions", ["cn-north-1"])])
    rules = [r for r in load_rules(None, ["ccme"]) if r.id.startswith("CCME-S3-VERSIONING")]
    result = scan_account(config, rules, Target(MEMBER), base_session=object(), sts=Sts(), home_account=HOME,
                          role_name="CcmeAuditRole", partition="aws-cn")
    assert asked == [f"arn:aws-cn:iam::{MEMBER}:role/CcmeAuditRole"]
    assert result.session is None and result.failure and "arn:aws-cn:" in result.failure
