"""The services AWS ParallelCluster v3 uses, and AWS Billing, probed on moto: usable answers pass, a service
control policy blocking one is seen (CCME-SERVICE-PC-*, CCME-SERVICE-OPTIONAL-BILLING)."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from auditor.app.pipeline import evaluate
from auditor.collect import probes_pcluster
from auditor.collect.plan import Plan
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, Injector, config, moto_account, run_scan

SCP = "User is not authorized to perform this with an explicit deny in a service control policy"


def _billing(client: Any, service: str) -> None:
    """Billing's ListBillingViews answered by botocore's Stubber (whether moto emulates it or not)."""
    if service == "billing":
        stub = Stubber(client)
        stub.add_response("list_billing_views", {"billingViews": []}, {"maxResults": 1})
        stub.activate()


def _scan(*hooks: Any) -> Any:
    plan = Plan(types=frozenset({"service.probe"}), selectors={"service.probe": None}, options=frozenset())
    with moto_account() as session:
        return run_scan(session, config(), plan=plan, max_attempts=2, client_hooks=[_billing, *hooks])


def _verdicts(result: Any) -> dict[str, str]:
    rules = [r for r in load_rules(None, ["ccme"])
             if r.id.startswith("CCME-SERVICE-PC-") or r.id == "CCME-SERVICE-OPTIONAL-BILLING"]
    findings = evaluate(result.snapshot, rules, config()).findings
    return {f.rule_id: f.status.value for f in findings}


def test_every_service_probed_once_and_usable_on_moto() -> None:
    result = _scan()
    found = {(r.id, r.region): r.attributes for r in result.snapshot.resources
             if r.id in {p.service for p in probes_pcluster.PROBES}}
    assert {sid for sid, _ in found} == {p.service for p in probes_pcluster.PROBES}
    assert found[("cloudformation", REGION)]["mandatory"] is True
    assert found[("iam", None)]["status"] == "usable"  # global: probed once, valid in every region
    assert found[("billing", None)]["mandatory"] is False
    verdicts = _verdicts(result)
    assert len(verdicts) == 12 and set(verdicts.values()) == {"PASS"}, verdicts


def test_a_service_control_policy_blocking_one_is_seen() -> None:
    blocked = Injector("dynamodb", "ListTables", "deny", message=SCP)
    denied = Injector("logs", "DescribeLogGroups", "deny", message="not authorized to perform this")
    verdicts = _verdicts(_scan(blocked, denied))
    assert verdicts["CCME-SERVICE-PC-DYNAMODB"] == "FAIL"
    # Denied to the auditor by IAM (not by an SCP): whether CloudWatch Logs is usable cannot be told.
    assert verdicts["CCME-SERVICE-PC-LOGS"] == "ERROR"
    assert verdicts["CCME-SERVICE-PC-EC2"] == "PASS"
