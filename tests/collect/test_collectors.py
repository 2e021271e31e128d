"""Every collector against moto in-process: canonical shapes validate, values are right."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.collect import acm, ec2, elbv2, iam, kms, s3
from auditor.collect.plan import Plan
from auditor.demo.account import key_policy, seed_ccme_account, tls_policy
from auditor.snapshot import snapshot_from_json
from tests.collect.helpers import REGION, config, moto_account, run_scan


def everything(*modules: Any, options: tuple[str, ...] = ()) -> Plan:
    types = {t for m in modules for t in m.RESOURCE_TYPES}
    return Plan(types=frozenset(types), selectors=dict.fromkeys(types), options=frozenset(options))


def validated(result: Any) -> Any:
    """The snapshot after a JSON round trip through the schema validation of every resource."""
    return snapshot_from_json(json.loads(json.dumps(result.snapshot.to_json(), default=str)), file="t")


def by(snapshot: Any, rtype: str) -> dict[str, Any]:
    return {r.id: r for r in snapshot.resources if r.type == rtype}


@pytest.fixture(scope="module")
def seeded() -> Any:
    with moto_account() as session:
        account = seed_ccme_account(session, REGION, faults=True)
        yield session, account


def test_kms_keys_and_aliases(seeded: Any) -> None:
    session, acct = seeded
    snap = validated(run_scan(session, config(), plan=everything(kms)))
    aliases = by(snap, "kms.alias")
    keys = {r.name: r for r in snap.resources if r.type == "kms.key"}
    assert {f"alias/ccme/{s}" for s in acct.keys} <= set(aliases)
    assert all(a.startswith(("alias/ccme/", "alias/aws/")) for a in aliases)  # moto lists AWS managed aliases
    assert aliases["alias/ccme/sns"].attributes["target_key_id"] == acct.keys["sns"]
    sns, cmh = keys["alias/ccme/sns"].attributes, keys["alias/ccme/cmh_ebs"].attributes
    assert sns["multi_region"] is True and sns["multi_region_key_type"] == "PRIMARY"
    assert cmh["multi_region"] is False and cmh["multi_region_key_type"] is None
    assert keys["alias/ccme/clusters_ebs"].attributes["multi_region"] is True
    for suffix, key_id in acct.keys.items():
        attrs = keys[f"alias/ccme/{suffix}"].attributes
        assert attrs["key_id"] == key_id and attrs["aliases"] == [f"alias/ccme/{suffix}"]
        assert (
            attrs["key_manager"],
            attrs["key_spec"],
            attrs["key_usage"],
            attrs["key_state"],
            attrs["origin"],
        ) == ("CUSTOMER", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", "AWS_KMS")
        assert attrs["rotation_enabled"] is True
        assert attrs["policy"] == key_policy(suffix, acct.account, REGION)
        assert keys[f"alias/ccme/{suffix}"].id == attrs["arn"]
        assert keys[f"alias/ccme/{suffix}"].region == REGION and keys[f"alias/ccme/{suffix}"].account == acct.account
    assert not snap.errors


def test_s3_buckets_and_account_block(seeded: Any) -> None:
    session, acct = seeded
    snap = validated(run_scan(session, config(), plan=everything(s3)))
    buckets = by(snap, "s3.bucket")
    internals = buckets[acct.buckets["internals"]].attributes
    userdata = buckets[acct.buckets["userdata"]].attributes
    assert internals["region"] == REGION
    assert internals["public_access_block"] == {
        "block_public_acls": True,
        "ignore_public_acls": True,
        "block_public_policy": True,
        "restrict_public_buckets": True,
    }
    assert internals["versioning"] == "Enabled"
    assert internals["logging"] == {"target_bucket": acct.buckets["logging"], "target_prefix": "logs/"}
    assert userdata["logging"]["target_prefix"] == f"{acct.buckets['userdata']}/"
    assert internals["encryption"]["rules"][0]["sse_algorithm"] == "AES256"
    assert userdata["policy"] == tls_policy(acct.buckets["userdata"], objects_only=True)
    assert internals["ownership"] == "BucketOwnerEnforced"
    assert any(g["permission"] == "FULL_CONTROL" for g in internals["acl_grants"])
    assert buckets[acct.buckets["logging"]].region is None  # s3.bucket is not a regional type
    account = by(snap, "s3.account_public_access_block")[f"account/{acct.account}"].attributes
    assert account["configured"] is True and account["block_public_policy"] is True
    assert not snap.errors


def test_ec2_network(seeded: Any) -> None:
    session, acct = seeded
    snap = validated(run_scan(session, config(), plan=everything(ec2)))
    vpc = by(snap, "ec2.vpc")[acct.vpc_id]
    assert vpc.name == "VPC-CCME"
    assert vpc.attributes["enable_dns_support"] is True and vpc.attributes["enable_dns_hostnames"] is True
    assert vpc.attributes["dhcp_options_id"] == acct.dhcp_options_id
    assert vpc.attributes["instance_tenancy"] == "default" and vpc.attributes["ipv6_cidr_blocks"] == []
    dhcp = by(snap, "ec2.dhcp_options")[acct.dhcp_options_id].attributes
    assert dhcp["domain_name"] == ["ec2.internal"] and dhcp["domain_name_servers"] == ["AmazonProvidedDNS"]
    subnets = by(snap, "ec2.subnet")
    fe = [subnets[s].attributes for s in acct.frontend_subnets]
    be = [subnets[s].attributes for s in acct.backend_subnets]
    assert len({s["availability_zone"] for s in fe}) == 2 and len({s["availability_zone"] for s in be}) == 2
    assert all(s["map_public_ip_on_launch"] is False for s in fe + be)
    tables = [
        r.attributes for r in snap.resources if r.type == "ec2.route_table" and r.attributes["vpc_id"] == acct.vpc_id
    ]
    default_routes = {
        a["subnet_id"]: r
        for t in tables
        for a in t["associations"]
        if a.get("subnet_id")
        for r in t["routes"]
        if r.get("destination_cidr_block") == "0.0.0.0/0"
    }
    assert all(default_routes[s]["gateway_id"].startswith("igw-") for s in acct.frontend_subnets)
    assert all((default_routes[s].get("nat_gateway_id") or "").startswith("nat-") for s in acct.backend_subnets)
    endpoint = by(snap, "ec2.vpc_endpoint")[acct.endpoint_id].attributes
    assert endpoint["service_name"] == f"com.amazonaws.{REGION}.s3" and endpoint["vpc_endpoint_type"] == "Gateway"
    assert len(endpoint["route_table_ids"]) == 2
    igws = [
        r.attributes
        for r in snap.resources
        if r.type == "ec2.internet_gateway" and any(a["vpc_id"] == acct.vpc_id for a in r.attributes["attachments"])
    ]
    assert len(igws) == 1
    nats = [
        r.attributes for r in snap.resources if r.type == "ec2.nat_gateway" and r.attributes["vpc_id"] == acct.vpc_id
    ]
    assert [n["subnet_id"] for n in nats] == [acct.frontend_subnets[0]]
    assert not snap.errors


def test_acm_every_key_type_and_elbv2(seeded: Any) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    session, acct = seeded
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    ec_arn = session.client("acm").import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )["CertificateArn"]
    try:
        snap = validated(run_scan(session, config(), plan=everything(acm, elbv2)))
    finally:
        session.client("acm").delete_certificate(CertificateArn=ec_arn)
    certs = by(snap, "acm.certificate")
    assert ec_arn in certs  # listed only because Includes.keyTypes names every key type
    main = certs[acct.certificate_arn].attributes
    assert main["domain_name"] == acct.certificate_domain and main["status"] == "ISSUED"
    assert main["cert_type"] == "IMPORTED" and main["not_after"]
    assert main["in_use_by"]  # moto names the listener
    lb = by(snap, "elbv2.load_balancer")[acct.load_balancer_arn].attributes
    assert lb["scheme"] == "internet-facing" and lb["type"] == "application"
    assert {z["subnet_id"] for z in lb["availability_zones"]} == set(acct.frontend_subnets)
    (listener,) = [r.attributes for r in snap.resources if r.type == "elbv2.listener"]
    assert (listener["protocol"], listener["port"], listener["certificates"]) == (
        "HTTPS",
        443,
        [acct.certificate_arn],
    )
    assert listener["load_balancer_arn"] == acct.load_balancer_arn


def test_iam_service_linked_role(seeded: Any) -> None:
    session, _ = seeded
    snap = validated(run_scan(session, config(), plan=everything(iam)))
    (role,) = snap.resources
    assert role.attributes["role_name"] == "AWSServiceRoleForAutoScaling"
    assert role.attributes["arn"].endswith("/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
