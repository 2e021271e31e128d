"""Collectors against fresh moto accounts (one per test): absent configurations, scoping, secrets, probes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from auditor.collect import iam, kms, probes, probes_pcluster, s3, secrets
from auditor.collect.plan import build_plan
from auditor.demo.account import seed_ccme_account, self_signed_certificate
from auditor.engine.rules import load_rules
from auditor.snapshot import is_unknown
from tests.collect.helpers import REGION, Injector, config, moto_account, run_scan
from tests.collect.test_collectors import by, everything, validated


def test_s3_absent_configurations_read_as_null() -> None:
    with moto_account() as session:
        session.client("s3", region_name="eu-central-1").create_bucket(
            Bucket="bare-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )
        session.client("s3", region_name="us-east-1").create_bucket(Bucket="bare-east")
        snap = validated(run_scan(session, config(), plan=everything(s3)))
    bare = by(snap, "s3.bucket")["bare-bucket"].attributes
    assert bare["region"] == "eu-central-1"
    assert by(snap, "s3.bucket")["bare-east"].attributes["region"] == "us-east-1"  # LocationConstraint None
    for name in ("public_access_block", "encryption", "policy", "ownership", "versioning", "logging"):
        assert bare[name] is None, name
    account = next(r for r in snap.resources if r.type == "s3.account_public_access_block").attributes
    assert account["configured"] is False and account["block_public_acls"] is None
    assert not snap.errors


def test_detail_calls_only_for_selected_resources() -> None:
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        kms_client, s3c = session.client("kms"), session.client("s3")
        for n in range(12):
            s3c.create_bucket(Bucket=f"unrelated-{n}", CreateBucketConfiguration={"LocationConstraint": REGION})
            kms_client.create_key(Description=f"unrelated {n}")
        near = [kms_client.create_key()["KeyMetadata"]["KeyId"] for _ in range(2)]
        kms_client.create_alias(AliasName="alias/CCME/CloudWatch", TargetKeyId=near[0])
        kms_client.create_alias(AliasName="alias/alias/ccme/lambda", TargetKeyId=near[1])
        cfg = config()
        rules = load_rules(None, ["ccme"])
        result = run_scan(session, cfg, rules)
    calls = result.stats.calls
    assert calls["kms:DescribeKey"] == 9 + 2  # the nine CCME keys and the two near misses
    assert calls["kms:GetKeyPolicy"] == calls["kms:GetKeyRotationStatus"] == 11
    assert calls["s3:GetBucketVersioning"] == calls["s3:GetBucketPolicy"] == 3
    assert calls["kms:ListAliases"] == 1
    assert calls["s3:ListBuckets"] == 2  # the bucket collector, and the S3 service probe (probes_pcluster)
    assert calls["kms:ListKeys"] == 2  # the collector's, and the KMS service probe (Limit=1)
    unrelated = by(result.snapshot, "s3.bucket")["unrelated-3"].attributes
    assert is_unknown(unrelated["versioning"]) and "not collected" in unrelated["versioning"]["$unknown"]
    near_key = next(r for r in result.snapshot.resources if r.type == "kms.key" and r.name == "alias/CCME/CloudWatch")
    assert near_key.attributes["key_state"] == "Enabled"
    # Only the types the ccme rules use (directly or through lookups) were collected.
    assert {r.type for r in result.snapshot.resources} <= result.plan.types
    assert result.plan.selectors["s3.bucket"] == {"name": set(cfg.params(REGION, None)["buckets.all"])}


SECRET_VALUES = {"plain": "hunter2-plain-value", "json": '{"password": "hunter2-json-value"}', "empty": ""}


def test_secret_values_are_read_only_on_opt_in_and_never_kept() -> None:
    with moto_account() as session:
        sm = session.client("secretsmanager")
        for name, value in SECRET_VALUES.items():
            sm.create_secret(Name=name, SecretString=value) if value else sm.create_secret(Name=name)
        sm.create_secret(Name="binary", SecretBinary=b"\x00hunter2-binary")
        off = validated(run_scan(session, config(), plan=everything(secrets)))
        on_result = run_scan(
            session,
            config({"options.read_secret_values": True}),
            plan=everything(secrets, options=("read_secret_values",)),
        )
    on = validated(on_result)
    names = {r.name: r.attributes for r in off.resources}
    assert all(a["value_format"] == {"$unknown": secrets.NOT_READ} for a in names.values())
    assert off_calls(on_result) is not None
    formats = {r.name: r.attributes["value_format"] for r in on.resources}
    assert formats == {"plain": "plaintext", "json": "json", "empty": "empty", "binary": "binary"}
    text = json.dumps(on_result.snapshot.to_json(), default=str)
    assert "hunter2" not in text


def off_calls(result: Any) -> Any:
    assert result.stats.calls["secretsmanager:GetSecretValue"] == 4
    return result.stats.calls


def test_secret_value_not_read_without_opt_in() -> None:
    with moto_account() as session:
        session.client("secretsmanager").create_secret(Name="s", SecretString="x")
        result = run_scan(session, config(), plan=everything(secrets))
    assert result.stats.calls["secretsmanager:GetSecretValue"] == 0


def _stub_billing(client: Any, service: str) -> None:
    """CUR and Price List are not mocked by moto: answer them with botocore's Stubber."""
    if service == "cur":
        stub = Stubber(client)
        stub.add_response("describe_report_definitions", {"ReportDefinitions": []}, {"MaxResults": 5})
        stub.activate()
    if service == "pricing":
        stub = Stubber(client)
        stub.add_client_error(
            "describe_services",
            "AccessDeniedException",
            "User is not authorized to perform "
            "pricing:DescribeServices with an explicit deny in a service control policy",
            400,
        )
        stub.activate()


def test_service_probes() -> None:
    with moto_account() as session:
        plain_deny = Injector("ds", "DescribeDirectories", "deny", message="not authorized to perform this")
        throttled = Injector("sqs", "ListQueues", "throttle")
        result = run_scan(
            session,
            config(),
            plan=everything(probes),
            max_attempts=2,
            client_hooks=[_stub_billing, plain_deny, throttled],
        )
    snap = validated(result)
    found = {(r.id, r.region): r.attributes for r in snap.resources}
    assert found[("sns", REGION)]["status"] == "usable" and found[("sns", REGION)]["mandatory"] is True
    assert found[("kms", REGION)]["status"] == "usable"
    assert found[("cur", None)]["status"] == "usable"  # global: one probe, valid in every region
    assert found[("pricing", None)]["status"] == "blocked-by-organization"
    assert found[("ds", REGION)]["status"] == "access-denied"
    assert found[("ce", None)]["status"] == "not-probed"
    assert result.stats.calls["ce:GetCostAndUsage"] == 0
    assert found[("snowball", REGION)]["mandatory"] is False
    # Throttled to the end: no answer, so a collection error on that probe (its rules become ERROR).
    (error,) = [e for e in snap.errors if e.resource_id == "sqs"]
    assert error.code == "ThrottlingException" and error.operation == "sqs:ListQueues"
    # service.probe is also collected by probes_pcluster (the services ParallelCluster v3 uses, and Billing).
    assert {r.id for r in snap.resources} == {p.service for p in probes.PROBES + probes_pcluster.PROBES}


def test_cost_explorer_probed_only_on_opt_in() -> None:
    with moto_account() as session:
        result = run_scan(
            session,
            config({"options.probe_cost_explorer": True}),
            plan=everything(probes, options=("probe_cost_explorer",)),
            client_hooks=[_stub_billing],
        )
    ce = next(r for r in result.snapshot.resources if r.id == "ce").attributes
    assert ce["status"] == "usable" and result.stats.calls["ce:GetCostAndUsage"] == 1


def test_collector_crash_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx: Any) -> None:
        raise KeyError("unexpected shape")

    monkeypatch.setattr(iam, "collect", boom)
    with moto_account() as session:
        snap = run_scan(session, config(), plan=everything(iam)).snapshot
    (error,) = snap.errors
    assert error.resource_type == "iam.role" and error.resource_id is None and error.code == "CollectorCrashed"


def test_plan_from_ccme_rules() -> None:
    cfg = config()
    plan = build_plan(load_rules(None, ["ccme"]), cfg, "123456789012")
    assert {"kms.key", "kms.alias", "s3.bucket", "s3.account_public_access_block"} <= plan.types
    assert plan.selectors["kms.key"] == {
        "aliases": {
            f"alias/ccme/{s}"
            for s in (
                "cmh_ebs",
                "dcv_proxy_ebs",
                "clusters_ebs",
                "file_systems",
                "s3",
                "sns",
                "secrets",
                "cloudWatch",
                "lambda",
            )
        }
    }
    assert plan.selects_all("s3.account_public_access_block")
    # The subnet classification and topology the engine derives read route tables and gateways.
    assert {"ec2.route_table", "ec2.internet_gateway", "ec2.nat_gateway", "ec2.vpc_endpoint"} <= plan.types
    # Security groups feed only the facts bbp rules read (an endpoint's 443 sources, an RDS port's).
    assert "ec2.security_group" not in plan.types
    assert plan.selected("kms.key", {"aliases": ["alias/alias/CCME/cloudwatch"]}, normalize=kms.normalize_alias)
    assert not plan.selected("kms.key", {"aliases": ["alias/other/sns"]}, normalize=kms.normalize_alias)


def test_derived_facts_pull_their_inputs_only_for_the_rules_reading_them() -> None:
    cfg = config()
    rules = {r.id: r for r in load_rules(None, ["bbp"])}
    https = build_plan([rules["BBP-VPCE-SG-443"]], cfg, "123456789012")
    assert {"ec2.security_group", "ec2.subnet", "ec2.route_table"} <= https.types
    azs = build_plan([rules["BBP-VPCE-AZ-COVERAGE"]], cfg, "123456789012")
    assert "ec2.subnet" in azs.types and "ec2.security_group" not in azs.types
    world = build_plan([rules["BBP-RDS-NO-WORLD-INGRESS"]], cfg, "123456789012")
    assert "ec2.security_group" in world.types


def test_self_signed_certificate_is_pem() -> None:
    cert, key = self_signed_certificate("x.example.com", days=2)
    assert cert.startswith(b"-----BEGIN CERTIFICATE-----") and b"PRIVATE KEY" in key


def test_iam_service_linked_role_absent() -> None:
    with moto_account() as empty:
        assert validated(run_scan(empty, config(), plan=everything(iam))).resources == ()
