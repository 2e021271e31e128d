"""The demo answers what moto does not emulate, found by asking moto, and only there (auditor.demo.gaps)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from auditor.collect.base import Failed
from auditor.collect.probes import PROBES, status_of
from auditor.demo.gaps import EmulatorGaps, empty_result, probe_findings_on_gaps
from auditor.demo.run import offline_account
from tests.motoserver import moto_server

REGION = "eu-west-1"

# The probes moto (the version in constraints.txt) does not emulate. This list is not used by the tool:
# it is how the suite notices when moto starts (or stops) emulating one of them, so that whoever bumps
# moto sees which demo verdicts now come from the emulator rather than from a made-up empty answer.
KNOWN_PROBE_GAPS = {
    "athena:ListWorkGroups",
    "bcm-data-exports:ListExports",
    "cloud9:ListEnvironments",
    "cur:DescribeReportDefinitions",
    "pricing:DescribeServices",
    "snowball:ListJobs",
}


def _call_every_probe(gaps: EmulatorGaps, session: Any) -> None:
    for probe in PROBES:
        client = session.client(probe.call.service, region_name=probe.region or REGION)
        gaps.hook(client, probe.call.service)
        method = getattr(client, boto3.session.botocore.xform_name(probe.call.operation))
        params = dict(probe.params)
        if probe.service == "budgets":
            params["AccountId"] = "123456789012"
        if probe.service == "ce":
            params["TimePeriod"] = {"Start": "2026-10-01", "End": "2026-11-01"}
        with contextlib.suppress(ClientError):  # an emulated operation may refuse the probe's parameters
            method(**params)


def test_the_emulators_gaps_are_found_by_asking_it() -> None:
    gaps = EmulatorGaps()
    with offline_account(REGION) as session:
        _call_every_probe(gaps, session)
    now_emulated = KNOWN_PROBE_GAPS - gaps.answered
    newly_missing = gaps.answered - KNOWN_PROBE_GAPS
    assert not now_emulated, (
        f"moto now emulates {sorted(now_emulated)}: the demo's verdicts on them come from moto; "
        "drop them from KNOWN_PROBE_GAPS"
    )
    assert not newly_missing, f"moto does not emulate {sorted(newly_missing)}: add them to KNOWN_PROBE_GAPS"


def test_a_made_up_answer_has_every_list_and_map_of_the_output_shape() -> None:
    model = boto3.client("athena", region_name=REGION).meta.service_model.operation_model("ListWorkGroups")
    answer = empty_result(model.output_shape)
    assert answer["WorkGroups"] == [] and "NextToken" not in answer
    body = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    # the made-up answer is a valid instance of the output shape (botocore's own validator)
    assert not ParamValidator().validate(body, model.output_shape).has_errors()


def test_an_emulated_operation_is_answered_by_the_emulator_not_made_up() -> None:
    gaps = EmulatorGaps()
    with offline_account(REGION) as session:
        session.client("s3", region_name=REGION).create_bucket(
            Bucket="seen", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3 = session.client("s3", region_name=REGION)
        gaps.hook(s3, "s3")
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == ["seen"] and not gaps.answered


def test_a_live_account_keeps_the_meaning_of_404() -> None:
    # No emulator: the hook answers nothing, the 404 reaches the probe, which reads it as "unavailable".
    gaps = EmulatorGaps()
    client = boto3.client("athena", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    gaps.hook(client, "athena")
    with Stubber(client) as stub:
        stub.add_client_error("list_work_groups", service_error_code="404", service_message="Not yet implemented",
                              http_status_code=404)
        with pytest.raises(ClientError):
            client.list_work_groups(MaxResults=1)
    assert not gaps.answered
    failed = Failed(code="404", message="Not yet implemented", action="athena:ListWorkGroups", status=404)
    assert status_of(failed) == ("unavailable", "404: Not yet implemented")


def test_probe_verdicts_on_made_up_answers_are_named() -> None:
    class F:
        def __init__(self, rule_id: str, rtype: str, operation: str) -> None:
            self.rule_id, self.resource_type = rule_id, rtype
            self.context = {"attributes": {"operation": operation}}

    findings = [F("A", "service.probe", "athena:ListWorkGroups"), F("B", "service.probe", "sns:ListTopics"),
                F("C", "s3.bucket", "athena:ListWorkGroups")]
    assert probe_findings_on_gaps(findings, {"athena:ListWorkGroups"}) == {"A"}


@pytest.fixture()
def server() -> Iterator[str]:
    if shutil.which("moto_server") is None:
        pytest.skip("moto_server is not installed (pip install '.[dev]')")
    with moto_server() as url:
        yield url


@pytest.mark.server
def test_a_moto_server_on_loopback_is_asked_the_same_way(server: str) -> None:
    gaps = EmulatorGaps()
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    athena = boto3.client("athena", region_name=REGION, endpoint_url=server, **keys)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=server, **keys)
    gaps.hook(athena, "athena")
    gaps.hook(s3, "s3")
    assert athena.list_work_groups(MaxResults=1)["WorkGroups"] == []
    assert s3.list_buckets()["Buckets"] == []  # emulated: the server answered
    assert gaps.answered == {"athena:ListWorkGroups"}
