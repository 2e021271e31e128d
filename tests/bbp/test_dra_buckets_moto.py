"""BBP-FSX-DRA-SEPARATE-BUCKETS on the moto provisioner account (FSx associations answered by the demo's
Stubber, as moto lacks them): two buckets pass; both associations on one bucket fail."""

from __future__ import annotations

import copy

from auditor.app.pipeline import evaluate
from auditor.demo.bbp import seed_bbp_account, stub_associations
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan

RULE = "BBP-FSX-DRA-SEPARATE-BUCKETS"


def test_two_buckets_pass_one_bucket_fails() -> None:
    with moto_account() as session:
        acct = seed_bbp_account(session, REGION, faults=False)
        cfg = config(dict(acct.config_overrides()))
        rules = [r for r in load_rules(None, ["bbp"]) if r.id == RULE]

        def statuses(associations: list) -> set[str]:
            result = run_scan(session, cfg, rules, client_hooks=[stub_associations(associations)])
            return {f.status.value for f in evaluate(result.snapshot, rules, cfg).findings}

        good = statuses(acct.associations)
        one_bucket = copy.deepcopy(acct.associations)
        first = one_bucket[0]["DataRepositoryPath"].split("/")[2]
        for association in one_bucket:
            association["DataRepositoryPath"] = f"s3://{first}/{association['FileSystemPath'].strip('/')}/"
        bad = statuses(one_bucket)
    assert len({a["DataRepositoryPath"].split("/")[2] for a in acct.associations}) == 2
    assert good == {"PASS"} and bad == {"FAIL"}
