"""The bbp collectors against moto in-process (seed_bbp_account), and the pack evaluated on the scan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.app.pipeline import evaluate
from auditor.collect import apigateway, ec2net, efs, fsx, lambdafn, logs, rds, registry, ssm
from auditor.collect.plan import Plan
from auditor.demo.bbp import (
    CLUSTER,
    DB_INSTANCE,
    FAULTS,
    FUNCTION,
    IMPLIED,
    LOG_GROUP,
    seed_bbp_account,
    stub_associations,
)
from auditor.engine.findings import Status
from auditor.engine.rules import load_rules
from auditor.snapshot import snapshot_from_json
from tests.collect.helpers import REGION, Injector, config, moto_account, run_scan

MODULES = (ec2net, efs, fsx, rds, logs, ssm, lambdafn, apigateway)


def everything() -> Plan:
    types = frozenset(t for m in MODULES for t in m.RESOURCE_TYPES)
    return Plan(types=types, selectors=dict.fromkeys(types))


def validated(result: Any) -> Any:
    return snapshot_from_json(json.loads(json.dumps(result.snapshot.to_json(), default=str)), file="t")


def by(snapshot: Any, rtype: str) -> dict[str, Any]:
    return {r.id: r.attributes for r in snapshot.resources if r.type == rtype}


@pytest.fixture(scope="module")
def seeded() -> Any:
    with moto_account() as session:
        yield session, seed_bbp_account(session, REGION, faults=True)


def test_collected_shapes_and_values(seeded: Any) -> None:
    session, acct = seeded
    result = run_scan(session, config(), plan=everything(), client_hooks=[stub_associations(acct.associations)])
    snap = validated(result)
    assert snap.errors == ()
    groups = {a["group_name"]: a for a in by(snap, "ec2.security_group").values()
              if a["vpc_id"] == acct.cluster_vpc_id}
    debug = groups["bbp-debug-ssh"]["ingress"]
    assert [(r["protocol"], r["from_port"], r["to_port"], r["cidr_ipv4"]) for r in debug] == [
        ("tcp", 22, 22, "0.0.0.0/0")]
    cluster = groups["bbp-compute-cluster"]["ingress"]
    assert {(r["protocol"], r["cidr_ipv4"], r["referenced_group_id"]) for r in cluster} == {
        ("tcp", "10.0.0.0/16", None), ("-1", None, groups["bbp-compute-cluster"]["group_id"])}
    (peering,) = by(snap, "ec2.vpc_peering_connection").values()
    assert (peering["status"], peering["requester_vpc_id"], peering["accepter_vpc_id"]) == (
        "active", acct.main_vpc_id, acct.cluster_vpc_id)
    assert peering["accepter_cidr_blocks"] == ["10.1.0.0/16"]
    assert by(snap, "ec2.key_pair")[CLUSTER]["key_type"] == "ed25519"
    (home,) = by(snap, "efs.file_system").values()
    assert home["encrypted"] is True and home["kms_key_id"].startswith("arn:aws:kms:")
    lustre = by(snap, "fsx.file_system")[acct.fsx_id]
    assert lustre["deployment_type"] == "PERSISTENT_2"
    assert [(d["file_system_path"], d["bucket"]) for d in lustre["data_repository_associations"]] == [
        ("/project/public", "bbp-public-data"), ("/project/private", "bbp-project-private")]
    db = by(snap, "rds.db_instance")[DB_INSTANCE]
    assert (db["engine"], db["publicly_accessible"], db["storage_encrypted"], db["vpc_id"]) == (
        "mariadb", False, True, acct.cluster_vpc_id)
    assert db["availability_zones"] == [f"{REGION}a", f"{REGION}b"] and db["endpoint"].endswith(":3306")
    group = by(snap, "logs.log_group")[LOG_GROUP]
    assert group["retention_in_days"] is None and group["kms_key_id"]
    function = by(snap, "lambda.function")[FUNCTION]
    assert (function["package_type"], function["repository_type"]) == ("Image", "ECR")
    assert function["image_uri"].endswith("/hpc-resource-provisioner:latest")
    (statement,) = function["policy_statements"]
    assert statement["principal_services"] == ["apigateway.amazonaws.com"]
    assert statement["source_arn"] == f"arn:aws:execute-api:{REGION}:{acct.account}:{acct.api_id}/*/*/*"
    api = by(snap, "apigateway.rest_api")[acct.api_id]
    methods = {(m["resource_path"], m["http_method"]): m["authorization_type"] for m in api["methods"]}
    assert methods[("/status", "GET")] == "NONE" and methods[("/hpc-provisioner", "POST")] == "AWS_IAM"
    assert api["policy"]["Statement"][0]["Action"] == "execute-api:Invoke"
    # Every call the scan made is declared, with its IAM action, in the least-privilege policy.
    declared = {c.key for c in registry.calls_for(everything().types)}
    assert set(result.stats.calls) <= declared
    actions = set(registry.iam_policy(everything().types)["Statement"][0]["Action"])
    assert {"elasticfilesystem:DescribeFileSystems", "fsx:DescribeDataRepositoryAssociations", "apigateway:GET",
            "lambda:GetPolicy", "ssm:DescribeParameters"} <= actions
    assert not any(a in actions for a in ("ssm:GetParameter", "secretsmanager:GetSecretValue", "lambda:InvokeFunction"))


def test_pack_reports_exactly_the_planted_faults(seeded: Any) -> None:
    session, acct = seeded
    cfg = config(dict(acct.config_overrides()))
    rules = load_rules(None, ["bbp"])
    result = run_scan(session, cfg, rules, client_hooks=[stub_associations(acct.associations)])
    findings = evaluate(result.snapshot, rules, cfg).findings
    bad = {f.rule_id for f in findings if f.status is not Status.PASS}
    assert bad == set(FAULTS) | set(IMPLIED), [
        (f.rule_id, f.resource_id, f.message) for f in findings if f.status is not Status.PASS]
    # The scan only made calls for what the rules read: no SSM parameter values, no secret values.
    assert not any(k.endswith(("GetParameter", "GetSecretValue")) for k in result.stats.calls)


@pytest.mark.parametrize(
    ("service", "operation", "errored", "unaffected"),
    [
        ("lambda", "GetPolicy", {"BBP-LAMBDA-APIGW-ONLY"}, {"BBP-LAMBDA-IMAGE"}),
        ("logs", "DescribeLogGroups", {"BBP-SLURM-LOGGROUP", "BBP-SLURM-LOGGROUP-KMS"}, {"BBP-EFS-ENCRYPTED"}),
        ("apigateway", "GetResources", {"BBP-APIGW-AUTH"}, {"BBP-APIGW-POLICY"}),
        ("ec2", "DescribeSecurityGroups", {"BBP-SG-NO-WORLD-INGRESS", "BBP-VPCE-SG-443"}, {"BBP-PEERING-MAIN"}),
    ],
)
def test_a_denied_call_turns_exactly_its_rules_into_error(
    seeded: Any, service: str, operation: str, errored: set[str], unaffected: set[str]
) -> None:
    session, acct = seeded
    cfg = config(dict(acct.config_overrides()))
    rules = load_rules(None, ["bbp"])
    deny = Injector(service, operation, "deny")
    result = run_scan(session, cfg, rules, client_hooks=[stub_associations(acct.associations), deny],
                      max_attempts=1)
    findings = evaluate(result.snapshot, rules, cfg).findings
    status: dict[str, set[Status]] = {}
    for f in findings:
        status.setdefault(f.rule_id, set()).add(f.status)
    for rule in errored:
        assert Status.ERROR in status[rule] and Status.PASS not in status[rule], (rule, status[rule])
    for rule in unaffected:
        assert Status.ERROR not in status[rule], (rule, status[rule])
    assert deny.sent >= 1
