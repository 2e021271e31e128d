"""The retry budget (auditor/collect/retry.py): bounded retries per call and per operation, the
throttling/5xx distinction, the note a failed call carries, and the scan's account of its waits.

Unit cases drive one real botocore client whose every request is answered by a before-send handler;
botocore's sleeps are recorded on a fake clock instead of slept. The hidden-failure case scans the
in-process moto demo account with one operation answering HTTP 500 forever, real back-off included.
"""

from __future__ import annotations

import json
import threading
import types
from collections import defaultdict
from typing import Any

import boto3
import botocore.endpoint
import jsonschema
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.retries import standard

from auditor.app.pipeline import evaluate
from auditor.collect import retry as retry_module
from auditor.collect.base import CallCounter, classify
from auditor.collect.retry import RetryBudget, RetryPolicy
from auditor.collect.runner import ClientFactory
from auditor.data import data_dir
from auditor.demo.account import seed_ccme_account
from auditor.engine.evaluate import retry_waits
from auditor.engine.rules import load_rules
from auditor.report import jsonfmt, text
from tests.collect.helpers import REGION, _Raw, config, error_response, moto_account, run_scan
from tests.collect.test_fault_injection import dependent, statuses


class Clock:
    """time.monotonic for the budget, advanced by botocore's (recorded, not slept) back-off."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Answers:
    """A before-send handler answering from a script: 'ok', 'error' (500), 'throttle', 'deny', 'drop'."""

    def __init__(self, *script: str, then: str | None = None):
        self.script = list(script)
        self.then = then or (script[-1] if script else "ok")
        self.sent: list[str] = []

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        kind = self.script.pop(0) if self.script else self.then
        self.sent.append(kind)
        if kind == "ok":
            return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"},
                               _Raw(b'{"Keys": [], "Truncated": false}'))
        if kind == "drop":
            raise EndpointConnectionError(endpoint_url=request.url)
        code, status = {"error": ("InternalFailure", 500), "throttle": ("ThrottlingException", 400),
                        "deny": ("AccessDeniedException", 400)}[kind]
        return error_response("kms", request.url, code, status, f"{kind} injected")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(retry_module, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=fake.sleep, time=fake.monotonic))
    return fake


def delays(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: seconds)


def kms_client(budget: RetryBudget, answers: Answers, max_attempts: int = 10) -> Any:
    # Standard mode: the decision is the same as in adaptive mode, whose rate limiter would add real
    # sleeps once throttled (its own clock); the scans below run adaptive.
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    client = session.client("kms", config=Config(retries={"mode": "standard", "max_attempts": max_attempts}))
    budget.attach(client, "kms", REGION)
    client.meta.events.register_first("before-send.kms.ListKeys", answers)
    return client


def fail(client: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        client.list_keys()
    return caught.value


def wait(budget: RetryBudget) -> dict[str, Any]:
    return budget.waits[("kms:ListKeys", REGION)].to_json()


def test_a_persistent_500_gives_up_after_the_error_attempts(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(monkeypatch, 0.5)
    budget = RetryBudget(RetryPolicy(error_attempts=3, error_seconds=4))
    answers = Answers("error")
    exc = fail(kms_client(budget, answers))
    assert answers.sent == ["error"] * 3
    assert clock.sleeps == [0.5, 0.5]
    assert wait(budget) == {"retries": 2, "throttled": 0, "seconds": 1.0, "gave_up": 1}
    failed = classify(exc, "kms:ListKeys")
    assert failed.code == "InternalFailure"
    assert "gave up after 3 attempts" in failed.message and "retry budget for server errors" in failed.message
    assert "retry.error_seconds" in failed.message


def test_throttling_gets_more_patience_than_a_500(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(monkeypatch, 0.5)
    budget = RetryBudget(RetryPolicy(error_attempts=3, throttle_attempts=6, throttle_seconds=60))
    answers = Answers("throttle")
    exc = fail(kms_client(budget, answers))
    assert len(answers.sent) == 6
    assert wait(budget) == {"retries": 5, "throttled": 5, "seconds": 2.5, "gave_up": 1}
    assert "retry budget for throttling" in classify(exc, "kms:ListKeys").message


@pytest.mark.parametrize(("kind", "field"), [("error", "error_seconds"), ("throttle", "throttle_seconds")])
def test_the_seconds_bound_a_call_whatever_its_attempts(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, kind: str, field: str
) -> None:
    delays(monkeypatch, 1.5)
    policy = RetryPolicy(error_attempts=50, throttle_attempts=50, **{field: 4.0})
    budget = RetryBudget(policy)
    answers = Answers(kind)
    fail(kms_client(budget, answers, max_attempts=100))
    # 0 + 1.5 <= 4: retry; 1.5 + 1.5 <= 4: retry; 3.0 + 1.5 > 4: give up.
    assert len(answers.sent) == 3
    assert clock.sleeps == [1.5, 1.5]


def test_the_callers_max_attempts_still_caps(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(monkeypatch, 0.0)
    budget = RetryBudget(RetryPolicy(throttle_attempts=8))
    answers = Answers("throttle")
    fail(kms_client(budget, answers, max_attempts=1))  # botocore: 1 retry, 2 attempts in all
    assert len(answers.sent) == 2


def test_a_spent_operation_is_not_retried_until_it_answers(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(monkeypatch, 0.1)
    budget = RetryBudget(RetryPolicy(error_attempts=3))
    answers = Answers("error", "error", "error", "error", "ok", "error", "error", "error")
    client = kms_client(budget, answers)
    fail(client)
    assert len(answers.sent) == 3
    second = fail(client)
    assert len(answers.sent) == 4  # one attempt, no retry
    assert "ran out on an earlier call" in classify(second, "kms:ListKeys").message
    assert client.list_keys()["Keys"] == []  # the operation answers again...
    fail(client)
    assert len(answers.sent) == 8  # ...so the next failing call gets its retries back
    assert wait(budget)["gave_up"] == 3


def test_a_transient_500_is_retried_and_answers(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(monkeypatch, 0.2)
    budget = RetryBudget()
    answers = Answers("error", "error", then="ok")
    assert kms_client(budget, answers).list_keys()["Keys"] == []
    assert wait(budget) == {"retries": 2, "throttled": 0, "seconds": 0.4, "gave_up": 0}


def test_a_failed_connection_is_bounded_and_says_so(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(monkeypatch, 0.0)
    budget = RetryBudget(RetryPolicy(error_attempts=2))
    answers = Answers("drop")
    client = kms_client(budget, answers)
    with pytest.raises(EndpointConnectionError) as caught:
        client.list_keys()
    assert len(answers.sent) == 2
    failed = classify(caught.value, "kms:ListKeys")
    assert failed.code == "EndpointConnectionError" and "retry budget" in failed.message


def test_access_denied_is_not_retried_and_has_no_note(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    delays(monkeypatch, 0.0)
    budget = RetryBudget()
    answers = Answers("deny")
    exc = fail(kms_client(budget, answers))
    assert len(answers.sent) == 1
    assert "retry budget" not in classify(exc, "kms:ListKeys").message
    assert budget.waits == {}


def test_the_scan_clients_use_adaptive_retries_and_the_configured_timeouts() -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    policy = RetryPolicy(connect_timeout=2.5, read_timeout=7)
    factory = ClientFactory(session, REGION, max_attempts=10, counter=CallCounter(), budget=RetryBudget(policy))
    client = factory("kms", None)
    assert client.meta.config.retries["mode"] == "adaptive"
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (2.5, 7)


def test_the_config_sets_the_budget() -> None:
    cfg = config({"retry.error_seconds": 1.5, "retry.throttle_attempts": 4})
    policy = RetryPolicy.from_config(cfg.data.get("retry"))
    assert (policy.error_seconds, policy.throttle_attempts, policy.error_attempts) == (1.5, 4, 3)


# --- the hidden failure: one operation answers HTTP 500 forever ------------------------------------


class Broken:
    """A client hook: one service:Operation answers HTTP 500 on every request."""

    def __init__(self, service: str, operation: str):
        self.service, self.operation, self.sent = service, operation, 0
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        if service == self.service:
            event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{self.operation}"
            client.meta.events.register_first(event, self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        with self._lock:
            self.sent += 1
        return error_response(self.service, request.url, "InternalFailure", 500, "we encountered an internal error")


def test_one_operation_answering_500_forever_errors_only_its_rules_and_the_scan_says_it_waited() -> None:
    from auditor.collect import kms

    rules = [r for r in load_rules(None, ["ccme"]) if r.file.endswith(("kms.yaml", "s3.yaml"))]
    (call,) = [c for c in kms.CALLS if c.key == "kms:GetKeyPolicy"]
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=True)
        clean = statuses(run_scan(session, config(), rules), rules)
        broken = Broken("kms", "GetKeyPolicy")
        result = run_scan(session, config(), rules, client_hooks=[broken])
    calls = result.stats.calls["kms:GetKeyPolicy"]
    assert calls > 1 and broken.sent <= 3 * calls  # never more than the error budget's attempts per call
    # The verdicts: the rules reading key policies are ERROR, every other finding is as in a clean scan.
    faulty = statuses(result, rules)
    by_rule: dict[str, dict[Any, str]] = defaultdict(dict)
    for key, status in faulty.items():
        by_rule[key[0]][key] = status
    errored = set()
    for rule in rules:
        got = by_rule.get(rule.id, {})
        if dependent(rule, call):
            assert got and set(got.values()) == {"ERROR"}, rule.id
            errored.add(rule.id)
        else:
            assert got == {k: v for k, v in clean.items() if k[0] == rule.id}, rule.id
    assert errored
    # Each lost policy says which operation, the error, and that the retry budget ran out.
    errors = [e for e in result.snapshot.errors if e.operation == "kms:GetKeyPolicy"]
    assert errors and all(e.code == "InternalFailure" and "retry budget" in e.message for e in errors)
    evaluation = evaluate(result.snapshot, rules, config())
    messages = [f.message for f in evaluation.findings if f.rule_id in errored]
    assert all("kms:GetKeyPolicy" in m and "InternalFailure" in m and "retry budget" in m for m in messages)
    # The scan reports its waiting: stats, the text report's last line, the JSON report.
    (row,) = [r for r in result.stats.waits["operations"] if r["operation"] == "kms:GetKeyPolicy"]
    assert row["gave_up"] == len(errors) and row["retries"] >= 2 and row["seconds"] > 0
    assert result.stats.waits["wait_seconds"] >= row["seconds"]
    last = text.render(evaluation).splitlines()[-1]
    assert last.startswith("retries: ") and " retries, waited " in last
    assert "kms:GetKeyPolicy eu-west-1" in last and "gave up" in last
    doc = json.loads(jsonfmt.render(evaluation))
    jsonschema.validate(doc, json.loads((data_dir("schemas") / "report.json").read_text()))
    assert doc["retries"]["operations"][0]["operation"] == "kms:GetKeyPolicy"
    assert any("waited" in line and "kms:GetKeyPolicy" in line for line in result.stats.lines())


def test_a_clean_scan_reports_no_wait() -> None:
    rules = [r for r in load_rules(None, ["ccme"]) if r.file.endswith("kms.yaml")]
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        result = run_scan(session, config(), rules)
    evaluation = evaluate(result.snapshot, rules, config())
    assert evaluation.retries is not None
    assert not [r for r in evaluation.retries["operations"] if r["retries"] or r["gave_up"]]
    # Nothing was retried: no retries line (the summary is the last line).
    assert text.render(evaluation).splitlines()[-1].startswith("summary: ")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "3 s",
        {"wait_seconds": "3", "operations": []},
        {"wait_seconds": True, "operations": []},
        {"wait_seconds": 1, "operations": [{"operation": "<script>", "region": "x"}]},
        {"wait_seconds": 1, "operations": [{"operation": 1, "region": "x", "retries": 1, "throttled": 0,
                                            "seconds": 1, "gave_up": 0}]},
    ],
)
def test_a_snapshot_with_another_shape_of_waits_reports_none(value: Any) -> None:
    assert retry_waits(value) is None


def test_a_snapshot_keeps_its_waits_through_a_reload(tmp_path: Any) -> None:
    from auditor.snapshot import Snapshot, load_snapshot

    waits = {"wait_seconds": 1.25, "operations": [{"operation": "kms:ListKeys", "region": REGION, "retries": 2,
                                                     "throttled": 2, "seconds": 1.25, "gave_up": 0}]}
    snap = Snapshot(kind="live", resources=(), errors=(), account="123456789012", regions=(REGION,),
                    collected_at="2026-12-05T00:00:00+00:00", options={"retries": waits})
    snap.dump(tmp_path / "s.json")
    evaluation = evaluate(load_snapshot(tmp_path / "s.json"), [], config())
    assert evaluation.retries == waits


@pytest.mark.parametrize("setting", [{"retry.error_seconds": -1}, {"retry.throttle_attempts": 0},
                                     {"retry.connect_timeout": 0}, {"retry.bogus": 1}])
def test_a_bad_retry_setting_is_bad_input(setting: dict[str, Any]) -> None:
    from auditor.errors import InputError

    with pytest.raises(InputError, match="/retry"):
        config(setting)


def test_the_waits_of_several_accounts_add_up() -> None:
    from auditor.engine.evaluate import merge_waits

    row = {"operation": "kms:ListKeys", "region": REGION, "retries": 1, "throttled": 0, "seconds": 0.5, "gave_up": 0}
    slow = {**row, "operation": "s3:ListBuckets", "seconds": 2.0}
    merged = merge_waits([{"wait_seconds": 0.5, "operations": [row]}, None,
                          {"wait_seconds": 2.0, "operations": [slow]}])
    assert merged == {"wait_seconds": 2.5, "operations": [slow, row]}
    assert merge_waits([None, None]) is None
