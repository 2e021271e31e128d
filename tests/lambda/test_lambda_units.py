"""The handler's pure parts: settings, events, the diff rules, metric data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from auditor.aws_lambda.handler import _event_target, metric_data
from auditor.aws_lambda.settings import build_config, flatten, settings_from_env
from auditor.engine.findings import Finding, Severity, Source, Status
from auditor.errors import InputError
from auditor.report.diff import compare, message, subject


def f(fid: str, status: str, rule: str = "R", resource: str = "r") -> dict[str, Any]:
    return {"id": fid, "status": status, "rule_id": rule, "resource_id": resource, "region": "eu-west-1",
            "account": "111111111111", "severity": "high", "message": "m"}


def test_diff_kinds() -> None:
    before = {"findings": [f("1", "PASS"), f("2", "FAIL"), f("3", "FAIL"), f("4", "ERROR"), f("5", "FAIL"),
                           f("6", "FAIL"), f("7", "PASS")]}
    after = {"findings": [f("1", "FAIL"), f("2", "FAIL"), f("3", "PASS"), f("4", "FAIL"), f("6", "ERROR"),
                          f("7", "PASS"), f("8", "ERROR")]}
    changes = compare(before, after)
    assert [(c.before, c.after) for c in changes.new_failures] == [("PASS", "FAIL"), ("ERROR", "FAIL")]
    assert [(c.before, c.after) for c in changes.new_errors] == [("FAIL", "ERROR"), ("ABSENT", "ERROR")]
    assert sorted((c.before, c.after) for c in changes.fixed) == [("FAIL", "ABSENT"), ("FAIL", "PASS")]
    assert compare(after, after).empty and not compare(after, after).first_run
    assert compare(None, after).first_run and len(compare(None, after).new_failures) == 3


def test_subject_is_short_ascii_and_message_is_bounded() -> None:
    changes = compare(None, {"findings": [f(str(i), "FAIL", resource="é" * 200) for i in range(3000)]})
    text = subject(changes, "111111111111", "eu-west-1")
    assert len(text) <= 100 and text.isascii()
    body = message(changes, account="111111111111", scope="eu-west-1", report_url=None)
    assert len(body.encode()) < 250_000 and body.endswith("(truncated: see the report in S3)\n")


@pytest.mark.parametrize(("env", "text"), [
    ({}, "REPORT_BUCKET"),
    ({"REPORT_BUCKET": "b", "REPORT_SSE": "aws:kms:dsse"}, "REPORT_SSE"),
    ({"REPORT_BUCKET": "b", "CCME_AUDIT_CONFIG_JSON": "{}", "CCME_AUDIT_CONFIG_S3": "s3://b/k"}, "both"),
    ({"REPORT_BUCKET": "b", "CCME_AUDIT_CONFIG_S3": "https://b/k"}, "s3://"),
    ({"REPORT_BUCKET": "b", "REPORT_PREFIX": "a b"}, "REPORT_PREFIX"),
])
def test_bad_settings(env: dict[str, str], text: str) -> None:
    with pytest.raises(InputError, match=text):
        settings_from_env(env)


def test_config_from_json_merges_into_defaults_and_names_its_source() -> None:
    config = build_config({"buckets": {"logging": "my-logs"}, "regions": ["us-east-1"]}, "CCME_AUDIT_CONFIG_JSON",
                          [("packs", ["ccme"])])
    assert config.data["buckets"]["logging"] == "my-logs"
    assert config.data["buckets"]["internals"] == "ucit-ccme-internals-{region}"
    assert config.regions == ("us-east-1",)
    with pytest.raises(InputError, match="CCME_AUDIT_CONFIG_JSON") as info:
        build_config({"regions": "eu-west-1"}, "CCME_AUDIT_CONFIG_JSON", [])
    assert "\n" not in info.value.line()
    with pytest.raises(InputError, match="mapping"):
        build_config(["x"], "CCME_AUDIT_CONFIG_JSON", [])
    assert flatten({"a": {"b": 1, "c": {}}, "d": [1]}) == [("a.b", 1), ("d", [1])]


def test_event_targets() -> None:
    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "region": "us-east-1", "detail": {}}
    assert _event_target(scheduled) == (None, None)
    assert _event_target({}) == (None, None)
    assert _event_target({"account": "111111111111", "region": "eu-west-1"}) == ("111111111111", "eu-west-1")
    with pytest.raises(InputError, match="12-digit"):
        _event_target({"account": 111111111111})
    with pytest.raises(InputError, match="region"):
        _event_target({"account": "111111111111", "region": "eu west 1"})


def test_metric_data_has_every_status_per_scope() -> None:
    source = Source(document="seed")
    findings = [Finding(rule_id="R", title="t", pack="ccme", area="s3", resource_type="s3.bucket", resource_id="b",
                        status=Status.FAIL, severity=Severity.HIGH, message="m", source=source, region=None,
                        account="111111111111")]
    data = metric_data(findings, "111111111111", ["eu-west-1"], ["ccme"], dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    scopes = {tuple(d["Value"] for d in m["Dimensions"]) for m in data}
    assert scopes == {("111111111111", "eu-west-1", "ccme"), ("111111111111", "global", "ccme")}
    assert len(data) == 2 * len(Status)
    fail_global = [m["Value"] for m in data if m["MetricName"] == "FAIL" and m["Dimensions"][1]["Value"] == "global"]
    assert fail_global == [1.0]
