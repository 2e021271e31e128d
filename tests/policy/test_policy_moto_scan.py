"""A live scan (in-process moto) of an account whose bucket and key policies are written against a
request sampler: the solver's verdicts reach the findings (issue 21)."""

from __future__ import annotations

import json
from typing import Any

from auditor.app.pipeline import evaluate
from auditor.demo.account import seed_ccme_account
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan


def _rules() -> list[Any]:
    return [r for r in load_rules(None, ["ccme"]) if r.file.endswith(("kms.yaml", "s3.yaml"))]


def test_a_scan_fails_sampler_dodging_policies_and_passes_the_seeds() -> None:
    rules = _rules()
    with moto_account() as session:
        seeded = seed_ccme_account(session, REGION, faults=False)
        s3 = session.client("s3")
        internals, userdata = seeded.buckets["internals"], seeded.buckets["userdata"]
        exempt = {"Version": "2012-10-17", "Statement": [{
            "Sid": "enforce-tls-requests-only", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
            "Resource": [f"arn:aws:s3:::{internals}", f"arn:aws:s3:::{internals}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"},
                          "StringNotEquals": {"aws:PrincipalType": "FederatedUser"}}}]}
        s3.put_bucket_policy(Bucket=internals, Policy=json.dumps(exempt))
        scoped = {"Version": "2012-10-17", "Statement": [{
            "Sid": "enforce-tls-requests-only", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
            "Resource": [f"arn:aws:s3:::{userdata}", f"arn:aws:s3:::{userdata}/k*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
        s3.put_bucket_policy(Bucket=userdata, Policy=json.dumps(scoped))
        cfg = config(dict(seeded.config_overrides()))
        result = run_scan(session, cfg, rules)
    evaluation = evaluate(result.snapshot, rules, cfg)
    status = {(f.rule_id, f.resource_id): f for f in evaluation.findings}
    internals_http = status[("CCME-S3-POLICY-SECURETRANSPORT-INTERNALS", internals)]
    assert internals_http.status.value == "FAIL"
    assert "federated principal" in internals_http.message
    userdata_http = status[("CCME-S3-POLICY-SECURETRANSPORT-USERDATA", userdata)]
    assert userdata_http.status.value == "FAIL"
    assert f"arn:aws:s3:::{userdata}/" in userdata_http.message
    logging = seeded.buckets["logging"]
    assert status[("CCME-S3-POLICY-SECURETRANSPORT-LOGGING", logging)].status.value == "PASS"
    assert status[("CCME-S3-POLICY-OUTSIDE-LOGGING", logging)].status.value == "PASS"
    kms = [f for f in evaluation.findings if f.rule_id.startswith(("CCME-KMS-POLICY-ROOT", "CCME-KMS-POLICY-OUTSIDE"))]
    assert len(kms) == 18 and all(f.status.value == "PASS" for f in kms), [(f.rule_id, f.message) for f in kms]
