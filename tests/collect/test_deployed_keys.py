"""CCME-DEPLOYED-KMS-* on moto: a CCME CloudFormation stack (deployment.stacks) whose SNS topic uses the sns
key passes, and whose second topic uses the AWS managed default fails; a named stack that is not there is ERROR."""

from __future__ import annotations

import json

from auditor.app.pipeline import evaluate
from auditor.demo.account import seed_ccme_account
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan

TEMPLATE = {
    "Resources": {
        "Events": {"Type": "AWS::SNS::Topic",
                   "Properties": {"TopicName": "ccme-events", "KmsMasterKeyId": "alias/ccme/sns"}},
        "Plain": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "ccme-plain"}},
    }
}


def _rules() -> list:
    return [r for r in load_rules(None, ["ccme"]) if r.id.startswith("CCME-DEPLOYED-KMS-")]


def test_stack_resources_use_their_key() -> None:
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        session.client("cloudformation", region_name=REGION).create_stack(
            StackName="ccme-cluster", TemplateBody=json.dumps(TEMPLATE))
        cfg = config({"deployment.stacks": ["ccme-cluster"]})
        result = run_scan(session, cfg, _rules())
    found = {(f.rule_id, f.resource_id): f.status.value for f in evaluate(result.snapshot, _rules(), cfg).findings}
    assert found == {("CCME-DEPLOYED-KMS-SNS", "ccme-cluster/Events"): "PASS",
                     ("CCME-DEPLOYED-KMS-SNS", "ccme-cluster/Plain"): "FAIL"}, found


def test_a_named_stack_that_is_not_there_is_an_error() -> None:
    with moto_account() as session:
        cfg = config({"deployment.stacks": ["no-such-stack"]})
        result = run_scan(session, cfg, _rules())
    findings = evaluate(result.snapshot, _rules(), cfg).findings
    assert findings and {f.status.value for f in findings} == {"ERROR"}, [(f.rule_id, f.message) for f in findings]
