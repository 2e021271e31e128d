"""BBP-SG-INGRESS-OUTSIDE-NETWORK and BBP-SG-SSH-WORKFLOW-ONLY on moto: the clean provisioner account passes;
a group admitting SSH from 10.0.0.0/1 (not the whole Internet, still outside the cluster network) fails both."""

from __future__ import annotations

from auditor.app.pipeline import evaluate
from auditor.demo.bbp import seed_bbp_account, stub_associations
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan

RULES = ("BBP-SG-INGRESS-OUTSIDE-NETWORK", "BBP-SG-SSH-WORKFLOW-ONLY", "BBP-SG-NO-WORLD-INGRESS")


def test_ingress_from_outside_the_cluster_network() -> None:
    with moto_account() as session:
        acct = seed_bbp_account(session, REGION, faults=False)
        cfg = config(dict(acct.config_overrides()))
        rules = [r for r in load_rules(None, ["bbp"]) if r.id in RULES]

        def verdicts() -> dict[tuple[str, str], str]:
            result = run_scan(session, cfg, rules, client_hooks=[stub_associations(acct.associations)])
            return {(f.rule_id, f.resource_id): f.status.value for f in evaluate(result.snapshot, rules, cfg).findings}

        clean = verdicts()
        ec2 = session.client("ec2", region_name=REGION)
        wide = ec2.create_security_group(GroupName="bbp-partner-ssh", Description="partner access",
                                         VpcId=acct.cluster_vpc_id)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=wide, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/1"}]}])
        broken = verdicts()
    assert clean and {s for (rule, _), s in clean.items() if rule != "BBP-SG-NO-WORLD-INGRESS"} == {"PASS"}, clean
    assert broken[("BBP-SG-INGRESS-OUTSIDE-NETWORK", wide)] == "FAIL"
    assert broken[("BBP-SG-SSH-WORKFLOW-ONLY", wide)] == "FAIL"
    assert broken[("BBP-SG-NO-WORLD-INGRESS", wide)] == "PASS"  # the exact 0.0.0.0/0 test misses it
    assert {k: v for k, v in broken.items() if k[1] != wide} == clean
