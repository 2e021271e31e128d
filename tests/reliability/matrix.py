"""The fault matrix shared by test_faults.py (ccme demo account) and test_faults_bbp.py (bbp).

An Account is a seeded in-process moto account with its configuration, rules and clean scan;
`check` injects one fault on one operation and compares with the clean findings.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.app.pipeline import evaluate
from auditor.collect import registry
from auditor.collect.base import STS_CALLS, Call
from auditor.collect.plan import derived_inputs, rule_reads
from auditor.config import AuditConfig, load_config
from auditor.demo.account import seed_ccme_account
from auditor.engine.rules import Rule, load_rules
from tests.collect.helpers import REGION, moto_account, run_scan
from tests.reliability import record
from tests.reliability.faults import KINDS, Fault

OPTIONS = (("options.read_secret_values", True), ("options.probe_cost_explorer", True))
# Finer than "every type of the collector" where known: the resource types each operation feeds
# (an operation shared with a service probe also feeds service.probe). Other operations feed the
# types of the collectors declaring them. Derived types (subnet classification, topology) read
# the inputs of the facts they read: see auditor.collect.plan.DERIVED_INPUTS.
FEEDS: dict[str, set[str]] = {
    "kms:ListAliases": {"kms.alias", "kms.key"},
    "kms:ListKeys": {"kms.key"},
    "kms:DescribeKey": {"kms.key"},
    "kms:GetKeyPolicy": {"kms.key"},
    "kms:GetKeyRotationStatus": {"kms.key"},
    **{f"s3:{op}": {"s3.bucket"} for op in (
        "ListBuckets", "GetBucketLocation", "GetPublicAccessBlock", "GetBucketVersioning", "GetBucketLogging",
        "GetBucketEncryption", "GetBucketPolicy", "GetBucketAcl", "GetBucketOwnershipControls")},
    "s3control:GetPublicAccessBlock": {"s3.account_public_access_block"},
    "ec2:DescribeVpcs": {"ec2.vpc"},
    "ec2:DescribeVpcAttribute": {"ec2.vpc"},
    "ec2:DescribeDhcpOptions": {"ec2.dhcp_options"},
    "ec2:DescribeSubnets": {"ec2.subnet"},
    "ec2:DescribeRouteTables": {"ec2.route_table"},
    "ec2:DescribeVpcEndpoints": {"ec2.vpc_endpoint"},
    "ec2:DescribeInternetGateways": {"ec2.internet_gateway"},
    "ec2:DescribeNatGateways": {"ec2.nat_gateway"},
    "elbv2:DescribeListeners": {"elbv2.listener"},
}
PROBE_CALLS = {c.key for c in registry.probes.CALLS}
# Operations whose answer no shipped rule's verdict depends on in the demo accounts (a fault changes
# no finding); each is listed in docs/reliability.md. The call is still made: a scan collects a
# selected resource's details whole, and probes every service.
UNREAD = {
    "s3:GetBucketOwnershipControls": "no rule reads s3.bucket ownership",
    "s3:GetBucketAcl": "read only by CCME-S3-LOGGING-DELIVERY's `any`, which the bucket policy decides here",
    "acm:DescribeCertificate": "the listing already gives what the rules read; only in_use_by is its own",
    "ec2:DescribeInternetGateways": "the topology reads the routes' igw- targets; attachments only for isolation",
    "shield:ListProtections": "no rule reads the Shield probe (WAF & Shield is probed through WAF)",
    "bcm-data-exports:ListExports": "read only by CCME-SERVICE-CUR's `any`, which the CUR probe decides here",
}
# Read only inside an `any` another branch decides when this probe's answer is AccessDenied.
ANY_DECIDED = {"cur:DescribeReportDefinitions": "CCME-SERVICE-CUR: Data Exports is usable"}
# Operations whose output is a raw payload (no parser involved): a garbled answer is a garbled
# document, which the rule reading it reports as ERROR without a collection error.
PAYLOAD = {"s3:GetBucketPolicy"}
# Answered by a demo stub before any HTTP request exists (moto lacks it): no request to fault.
STUBBED = {"fsx:DescribeDataRepositoryAssociations": "moto lacks it; the bbp demo answers it at before-call"}
# The default run: operations of several collectors, list and detail calls, the JSON, query, EC2 and
# REST-XML protocols, a raw-payload answer, an opt-in call and a probe.
SAMPLE = (
    "kms:ListAliases",
    "s3:GetBucketPolicy",
    "ec2:DescribeSubnets",
    "secretsmanager:GetSecretValue",
    "sns:ListTopics",
)
Key = tuple[str, str, "str | None"]


def all_calls() -> dict[str, tuple[Call, set[str]]]:
    """Every declared operation, with the resource types of the collectors declaring it."""
    seen: dict[str, tuple[Call, set[str]]] = {}
    for collector in registry.COLLECTORS:
        for call in collector.CALLS:
            seen.setdefault(call.key, (call, set()))[1].update(collector.RESOURCE_TYPES)
    return seen


CALLS = all_calls()


def feeds(key: str) -> set[str]:
    types = set(FEEDS[key]) if key in FEEDS else set(CALLS[key][1]) - {"service.probe"}
    return types | ({"service.probe"} if key in PROBE_CALLS else set())


def rule_types(rule: Rule) -> set[str]:
    """Every resource type a rule's verdict reads: its own, its lookups' (scope and assertion), and
    the inputs of the facts derived for them."""
    reads = rule_reads(rule)  # its own type's attributes and its lookups' (scope and assertion)
    return {rule.resource_type, *reads} | derived_inputs(reads)


def statuses(result: Any, rules: list[Rule], cfg: AuditConfig) -> dict[Key, str]:
    evaluation = evaluate(result.snapshot, rules, cfg)
    return {(f.rule_id, f.resource_id, f.region): f.status.value for f in evaluation.findings}


@dataclass
class Account:
    """A seeded in-process moto account, its configuration and rules, and its clean scan."""

    name: str
    session: Any
    cfg: AuditConfig
    rules: list[Rule]
    hooks: list[Any]
    clean: dict[Key, str]
    made: set[str]
    overrides: list[tuple[str, Any]]

    def scan(self, *hooks: Any) -> Any:
        # A fault's handler is registered first on its exact event, so it answers before the stubs.
        return run_scan(self.session, self.cfg, self.rules, client_hooks=[*hooks, *self.hooks], max_attempts=2,
                        retry_mode="standard")


def _account(name: str) -> Iterator[Account]:
    from auditor.demo.run import _stub_not_mocked

    with moto_account() as session:
        hooks: list[Any] = [_stub_not_mocked]
        if name == "bbp":
            from auditor.demo.bbp import seed_bbp_account, stub_associations

            provisioner = seed_bbp_account(session, REGION, faults=False)
            overrides = provisioner.config_overrides()
            hooks.insert(0, stub_associations(provisioner.associations))
        else:
            overrides = seed_ccme_account(session, REGION, faults=False).config_overrides()
        cfg = load_config(Path(os.devnull), [*overrides, *OPTIONS])
        rules = load_rules(None, cfg.packs)
        account = Account(name, session, cfg, rules, hooks, {}, set(), [*overrides, *OPTIONS])
        result = account.scan()
        assert not result.snapshot.errors, result.snapshot.errors
        account.clean = statuses(result, rules, cfg)
        account.made = set(result.stats.calls)
        assert "ERROR" not in account.clean.values() and "PASS" in account.clean.values()
        yield account


def check(account: Account, key: str, kind: str) -> None:
    call = CALLS[key][0]
    fault = Fault(call.service, call.operation, kind)
    result = account.scan(fault)
    assert fault.sent > 0, f"{key} was never called"
    crashed = [e for e in result.snapshot.errors if e.code == "CollectorCrashed"]
    assert not crashed, f"{key} {kind}: a collector crashed instead of recording the failed call: {crashed}"
    recorded = [e for e in result.snapshot.errors if e.operation == call.action]
    if kind in ("throttle", "timeout"):
        # Retried within the retry budget (auditor/collect/retry.py): a failing call is retried
        # (max_attempts 2: up to 3 attempts); once one call of the operation has used its budget, the later ones are
        # not retried until the operation answers. Each lost call says the budget ran out.
        calls = result.stats.calls[key]
        assert calls < fault.sent <= 3 * calls, f"{key} {kind}: {fault.sent} requests for {calls} calls"
        assert all("retry budget" in e.message for e in recorded), f"{key} {kind}: no retry budget note"
    fed = feeds(key) & (set(result.plan.types) | {"service.probe"})
    # AccessDenied is a probe's answer (status access-denied, usability unknown), not a failed call.
    probe_answer = kind == "deny" and fed == {"service.probe"}
    garbled = kind == "malformed" and key in PAYLOAD
    assert recorded or probe_answer or garbled, f"{key} {kind}: no collection error names {call.action}"
    faulty = statuses(result, account.rules, account.cfg)
    if record.enabled():
        _record(account, key, kind, result, faulty, recorded)
    by_rule: dict[str, dict[Key, str]] = defaultdict(dict)
    for fkey, status in faulty.items():
        by_rule[fkey[0]][fkey] = status
    errored = []
    for rule in account.rules:
        got = by_rule.get(rule.id, {})
        before = {k: v for k, v in account.clean.items() if k[0] == rule.id}
        if not (rule_types(rule) & fed):
            assert got == before, f"{key} {kind}: {rule.id} does not read what {key} feeds, yet changed"
            continue
        for fkey, status in got.items():
            assert status == "ERROR" or status == before.get(fkey), (
                f"{key} {kind}: {rule.id} {fkey[1]} went {before.get(fkey)} -> {status} on missing evidence"
            )
            if status == "ERROR":
                errored.append(rule.id)
    if key in UNREAD:
        assert not errored, f"{key} is listed as unread, yet {errored} became ERROR: remove it from the list"
    elif not (key in ANY_DECIDED and probe_answer):
        assert errored, f"{key} {kind}: no rule became ERROR"




def _record(account: Account, key: str, kind: str, result: Any, faulty: dict[Key, str], recorded: list[Any]) -> None:
    """For bench/reliability.py: the rules that became ERROR, the unchanged findings, the exit code."""
    from auditor.engine.findings import Severity, failing

    changed = {k for k, v in faulty.items() if account.clean.get(k) != v}
    errored = sorted({k[0] for k in changed if faulty[k] == "ERROR"})
    evaluation = evaluate(result.snapshot, account.rules, account.cfg)
    record.record("fault", account=account.name, key=key, kind=kind, errored_rules=errored,
                  changed=len(changed), unchanged=len(faulty) - len(changed),
                  other=sorted({f"{k[0]} {account.clean.get(k)}->{v}" for k in changed if (v := faulty[k]) != "ERROR"}),
                  errors=sorted({f"{e.operation} {e.code}" for e in recorded}),
                  crashed=sum(1 for e in result.snapshot.errors if e.code == "CollectorCrashed"),
                  exit_code=1 if failing(evaluation.findings, Severity.LOW) else 0)


def planned_calls(packs: list[str]) -> set[str]:
    """The operations a scan of these packs may make (from the plan, no AWS needed)."""
    from auditor.collect.plan import build_plan

    cfg = load_config(Path(os.devnull), [("packs", packs), *OPTIONS])
    plan = build_plan(load_rules(None, cfg.packs), cfg, "123456789012")
    return {c.key for c in registry.calls_for(plan.types, plan.options)} - {c.key for c in STS_CALLS}


def cases(keys: set[str], sample: set[str]) -> list[Any]:
    """Parameters: the sampled operations x every kind by default, the others behind --runslow."""
    out = []
    for key in sorted(keys, key=lambda k: (k not in sample, k)):
        for kind in KINDS:
            marks = () if key in sample else (pytest.mark.slow,)
            out.append(pytest.param(key, kind, id=f"{key}-{kind}", marks=marks))
    return out


def run_case(account: Account, key: str, kind: str) -> None:
    if key in STUBBED:
        pytest.skip(STUBBED[key])
    if key not in account.made:  # a detail call with nothing to describe in this account
        pytest.skip(f"the clean scan of the {account.name} demo account makes no {key} call")
    check(account, key, kind)


@contextmanager
def no_backoff() -> Iterator[None]:
    """Retries without sleeping: the attempts still happen, the waits between them do not."""
    from botocore.retries import standard

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
        yield


def account(name: str) -> Iterator[Account]:
    """Seed one demo account (no planted faults) and scan it clean; one at a time per process."""
    with no_backoff():
        yield from _account(name)
