"""The Lambda's SECURITY_HUB setting: off by default, imports and updates when on, fails closed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from auditor.aws_lambda.settings import settings_from_env
from auditor.demo.account import tls_policy
from auditor.errors import InputError
from auditor.securityhub import SecurityHubImportError
from tests.collect.helpers import REGION, error_response

from .helpers import REPORT_BUCKET, LambdaWorld
from .test_lambda_handler import T0, invoke


def hub(world: LambdaWorld) -> dict[str, dict[str, Any]]:
    client = world.session.client("securityhub", region_name=REGION)
    out: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("get_findings").paginate():
        out.update({f["Id"]: f for f in page["Findings"]})
    return out


def test_the_setting_is_off_unless_asked_and_strict() -> None:
    base = {"REPORT_BUCKET": "b"}
    assert settings_from_env(base).security_hub is False
    assert settings_from_env({**base, "SECURITY_HUB": "false"}).security_hub is False
    assert settings_from_env({**base, "SECURITY_HUB": " TRUE "}).security_hub is True
    with pytest.raises(InputError, match="SECURITY_HUB"):
        settings_from_env({**base, "SECURITY_HUB": "maybe"})


def test_off_by_default_then_imports_and_updates(world: LambdaWorld) -> None:
    first = invoke(world, T0)
    assert first["security_hub"] is None and hub(world) == {}
    world.env["SECURITY_HUB"] = "true"
    second = invoke(world, T0 + dt.timedelta(hours=1))
    s3 = world.session.client("s3")
    base = f"audits/{world.seeded.account}/{REGION}/latest/report.json"
    report = json.loads(s3.get_object(Bucket=REPORT_BUCKET, Key=base)["Body"].read())
    exported = {f["id"] for f in report["findings"] if f["status"] != "SKIPPED"}
    assert second["security_hub"]["imported"] == len(exported) and second["security_hub"]["failed"] == 0
    found = hub(world)
    assert {f["ProductFields"]["ccme-audit/FindingId"] for f in found.values()} == exported
    assert {f["RecordState"] for f in found.values()} == {"ACTIVE"}
    # A planted fault is fixed: its Security Hub finding turns PASSED, nothing is duplicated.
    userdata = world.seeded.buckets["userdata"]
    failing = next(f for f in report["findings"]
                   if f["status"] == "FAIL" and f["rule_id"] == "CCME-S3-POLICY-TLS12-USERDATA")
    s3.put_bucket_policy(Bucket=userdata, Policy=json.dumps(tls_policy(userdata)))
    third = invoke(world, T0 + dt.timedelta(hours=2))
    assert third["security_hub"]["imported"] == len(exported) and third["security_hub"]["archived"] == 0
    after = hub(world)
    assert len(after) == len(found)
    fixed = next(f for f in after.values() if f["ProductFields"]["ccme-audit/FindingId"] == failing["id"])
    assert fixed["Compliance"]["Status"] == "PASSED"


def test_a_refused_import_fails_the_invocation_after_the_reports(world: LambdaWorld) -> None:
    world.env["SECURITY_HUB"] = "true"

    def refuse(request: Any, **_: Any) -> Any:
        return error_response("securityhub", request.url, "InvalidAccessException", 401,
                              "Account is not subscribed to AWS Security Hub")

    world.session.events.register("before-send.securityhub.BatchImportFindings", refuse)
    with pytest.raises(SecurityHubImportError, match="InvalidAccessException"):
        invoke(world, T0)
    s3 = world.session.client("s3")
    key = f"audits/{world.seeded.account}/{REGION}/latest/report.json"
    assert s3.head_object(Bucket=REPORT_BUCKET, Key=key)["ContentLength"] > 0


def test_the_deploy_template_grants_the_import_only_under_its_parameter() -> None:
    from pathlib import Path

    from auditor.iac.cloudformation import decode
    from auditor.securityhub import ACTIONS, policy_statement

    template, problem = decode(Path(__file__).parents[2] / "deploy" / "template.yaml")
    assert problem is None
    assert template["Parameters"]["ImportToSecurityHub"]["Default"] == "false"
    assert template["Conditions"]["ImportsToSecurityHub"] == {"Fn::Equals": [{"Ref": "ImportToSecurityHub"}, "true"]}
    env = template["Resources"]["ScanFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SECURITY_HUB"] == {"Ref": "ImportToSecurityHub"}
    granting = {name: res for name, res in template["Resources"].items()
                if "securityhub:" in json.dumps(res.get("Properties", {}), default=str)}
    assert list(granting) == ["SecurityHubImportPolicy"]  # nowhere else, in particular not the read-only role
    policy = granting["SecurityHubImportPolicy"]
    assert policy["Condition"] == "ImportsToSecurityHub"
    assert policy["Properties"]["Roles"] == [{"Ref": "FunctionRole"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement == policy_statement() and sorted(statement["Action"]) == sorted(ACTIONS)
