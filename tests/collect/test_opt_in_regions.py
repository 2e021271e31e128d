"""Opt-in regions: a configured region the account has not enabled is reported ERROR, never called.

moto enables every region, so ec2:DescribeRegions (and, for the fallback, every request to the
disabled region) is answered by a before-send handler with what AWS answers.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from botocore.awsrequest import AWSResponse

from auditor.app.pipeline import evaluate
from auditor.collect import registry
from auditor.demo.account import seed_ccme_account
from auditor.engine.rules import load_rules
from auditor.partitions import ENABLED_BY_DEFAULT, opt_in_candidate
from tests.collect.helpers import REGION, _Raw, config, moto_account, run_scan

DISABLED = "ap-east-1"


def regions_answer(url: str, statuses: dict[str, str]) -> AWSResponse:
    items = "".join(
        f"<item><regionName>{name}</regionName><regionEndpoint>ec2.{name}.amazonaws.com</regionEndpoint>"
        f"<optInStatus>{status}</optInStatus></item>"
        for name, status in statuses.items()
    )
    body = (f'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId>'
            f"<regionInfo>{items}</regionInfo></DescribeRegionsResponse>")
    return AWSResponse(url, 200, {"Content-Type": "text/xml"}, _Raw(body.encode()))


class Account:
    """Answers DescribeRegions from `statuses` (or denies it); counts requests per client region;
    with `refuse`, answers every request to DISABLED as AWS does for a region not enabled."""

    def __init__(self, statuses: dict[str, str] | None, refuse: bool = False):
        self.statuses, self.refuse = statuses, refuse
        self.by_region: Counter[str] = Counter()
        self.asked_in: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        region = client.meta.region_name

        def count(request: Any, **_: Any) -> AWSResponse | None:
            with self._lock:
                self.by_region[region] += 1
            if self.refuse and region == DISABLED:
                body = (b'{"__type": "UnrecognizedClientException", '
                        b'"message": "The security token included in the request is invalid."}')
                return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))
            return None

        client.meta.events.register_first("before-send", count)
        if service == "ec2":
            def regions(request: Any, **_: Any) -> AWSResponse:
                self.asked_in.append(region)
                if self.statuses is None:
                    body = (b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>denied</Message>"
                            b"</Error></Errors><RequestID>1</RequestID></Response>")
                    return AWSResponse(request.url, 403, {"Content-Type": "text/xml"}, _Raw(body))
                return regions_answer(request.url, self.statuses)

            client.meta.events.register_first("before-send.ec2.DescribeRegions", regions)


def _rules() -> list[Any]:
    return [r for r in load_rules(None, ["ccme"]) if r.file.endswith(("kms.yaml", "s3.yaml"))]


def test_the_always_enabled_regions_are_not_opt_in() -> None:
    assert not opt_in_candidate("eu-west-1") and not opt_in_candidate("us-gov-west-1")
    assert opt_in_candidate(DISABLED) and opt_in_candidate("me-central-1") and DISABLED not in ENABLED_BY_DEFAULT


def test_a_region_not_enabled_is_not_called_and_its_findings_say_how_to_enable_it() -> None:
    rules = _rules()
    cfg = config({"regions": [REGION, DISABLED]})
    account = Account({REGION: "opt-in-not-required", DISABLED: "not-opted-in", "us-east-1": "opt-in-not-required"})
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=True)
        alone = evaluate(run_scan(session, config(), rules).snapshot, rules, config())
        result = run_scan(session, cfg, rules, client_hooks=[account])
    assert account.asked_in == ["us-east-1"]  # once, in the partition's always-enabled region
    assert account.by_region[DISABLED] == 0  # nothing sent to the disabled region
    assert result.stats.calls["ec2:DescribeRegions"] == 1
    evaluation = evaluate(result.snapshot, rules, cfg)
    # Regional evidence (KMS) is lost there; S3 buckets and the account's Block Public Access are
    # global (ListBuckets lists every region's buckets): their rules still judge what exists.
    there = [f for f in evaluation.findings if f.region == DISABLED and f.resource_type.startswith("kms.")]
    assert there and all(f.status.value == "ERROR" for f in there)
    for finding in there:
        assert f"{DISABLED} is an opt-in region not enabled" in finding.message
        assert f"aws account enable-region --region-name {DISABLED}" in finding.message
    here = {(f.rule_id, f.resource_id): f.status for f in evaluation.findings if f.region == REGION}
    assert here == {(f.rule_id, f.resource_id): f.status for f in alone.findings}


def test_a_region_unknown_to_the_partition_is_reported_too() -> None:
    rules = _rules()
    cfg = config({"regions": [REGION, DISABLED]})
    account = Account({REGION: "opt-in-not-required"})
    with moto_account() as session:
        result = run_scan(session, cfg, rules, client_hooks=[account])
    messages = {e.message for e in result.snapshot.errors if e.region == DISABLED}
    assert messages and all("is not a region of the aws partition" in m for m in messages)


def test_without_describe_regions_a_disabled_region_fails_fast_with_the_hint() -> None:
    rules = _rules()
    cfg = config({"regions": [REGION, DISABLED]})
    account = Account(None, refuse=True)  # DescribeRegions denied; the region answers as a disabled one
    with moto_account() as session:
        result = run_scan(session, cfg, rules, client_hooks=[account])
    errors = [e for e in result.snapshot.errors if e.region == DISABLED]
    assert errors and all(e.code == "UnrecognizedClientException" for e in errors)
    assert all(f"aws account enable-region --region-name {DISABLED}" in e.message for e in errors)
    kms_calls = sum(n for k, n in result.stats.calls.items() if k.startswith("kms:"))
    assert account.by_region[DISABLED] <= kms_calls  # one attempt each: an authentication error is not retried
    assert result.snapshot.errors and not [e for e in result.snapshot.errors if e.region == REGION]


def test_only_opt_in_regions_cost_a_describe_regions_call() -> None:
    rules = _rules()
    account = Account({REGION: "opt-in-not-required"})
    with moto_account() as session:
        result = run_scan(session, config(), rules, client_hooks=[account])
    assert account.asked_in == [] and "ec2:DescribeRegions" not in result.stats.calls


def test_the_iam_policy_allows_describe_regions() -> None:
    from auditor.collect.plan import build_plan

    plan = build_plan(_rules(), config(), "123456789012")
    assert "ec2:DescribeRegions" in registry.iam_policy(plan.types)["Statement"][0]["Action"]
