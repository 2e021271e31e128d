"""Remediation round trip: the shell bundle, run with the aws CLI against an emulated account (moto_server on
127.0.0.1), makes a second scan pass the rules it fixes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.engine.findings import Status
from tests.motoserver import moto_server

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed (pip install awscli)"),
    pytest.mark.skipif(
        shutil.which("moto_server") is None, reason="moto_server is not installed (pip install '.[dev]')"
    ),
]
REGION = "eu-west-1"
NEEDS_INPUT = {
    "vpc/create-subnet",
    "vpc/create-nat-gateway",
    "vpc/create-route",
    "secretsmanager/create-secret",
    "secretsmanager/put-secret-value",
    "elbv2/modify-listener",
    "acm/import-certificate",
}
FAKE = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@pytest.fixture()
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_server() as url:
        for key in [k for k in os.environ if k.startswith("AWS_")]:
            monkeypatch.delenv(key)
        for key, value in FAKE.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        yield url


def _strip_account_host(request, **_) -> None:
    """botocore puts the account id in front of the S3 Control host, which a loopback server cannot resolve."""
    request.url = re.sub(r"^(https?://)\d{12}\.", r"\1", request.url)


def _local_s3control(client, service: str) -> None:
    if service == "s3control":
        client.meta.events.register("before-sign.s3-control.*", _strip_account_host)


def _scan(session, seeded):
    from auditor.app.pipeline import evaluate
    from auditor.collect.runner import scan
    from auditor.config import load_config
    from auditor.demo.run import _stub_not_mocked
    from auditor.engine.rules import load_rules

    config = load_config(Path(os.devnull), seeded.config_overrides())
    rules = load_rules(None, config.packs)
    result = scan(config, rules, session=session, client_hooks=[_stub_not_mocked, _local_s3control], progress=False)
    return evaluate(result.snapshot, rules, config)


def test_shell_bundle_fixes_the_demo_account(moto_endpoint: str, tmp_path: Path) -> None:
    import boto3

    from auditor.demo.account import seed_ccme_account
    from auditor.demo.gaps import EMULATOR_GAPS, probe_findings_on_gaps
    from auditor.report.remediation import RemediationKind, plan_fixes, render_bundle

    session = boto3.Session(region_name=REGION)
    clients: dict[str, object] = {}

    def client(service: str) -> object:  # s3control must not prefix the account id to a loopback host
        if service not in clients:
            clients[service] = session.client(service, region_name=REGION)
            _local_s3control(clients[service], service)
        return clients[service]

    seeded = seed_ccme_account(client, REGION, faults=True)
    before = _scan(session, seeded)
    # Fixes that wait for an operator's input (a CIDR, a NAT subnet, a password, a certificate) stop the
    # script by design; the round trip runs every other fix.
    made_up = probe_findings_on_gaps(before.findings, EMULATOR_GAPS.answered)  # what moto does not emulate
    failing = [
        f for f in before.findings
        if f.status is Status.FAIL and f.remediation and not set(f.remediation) & NEEDS_INPUT
        and f.rule_id not in made_up
    ]
    # The userdata bucket's TLS statements carry the seed's Sids with other content (objects only): the
    # policy fix refuses rather than replace a statement it did not write, and changes nothing.
    userdata = seeded.buckets["userdata"]
    clash = [f for f in failing if f.resource_id == userdata and "s3/put-bucket-policy" in f.remediation]
    assert clash
    header = {"account": seeded.account, "regions": [REGION], "tool_version": "test", "source": "demo"}
    env = {**os.environ, "HOME": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    s3 = session.client("s3", region_name=REGION)
    policy_before = s3.get_bucket_policy(Bucket=userdata)["Policy"]
    refused = subprocess.run(["bash", "-c", render_bundle(clash, RemediationKind.SH, header)], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 3 and "enforce-tls" in refused.stderr, refused.stderr[-2000:]
    assert s3.get_bucket_policy(Bucket=userdata)["Policy"] == policy_before
    failing = [f for f in failing if f not in clash]
    fixes = plan_fixes(failing, RemediationKind.SH)
    fixable = {fix.finding["rule_id"] for fix in fixes if fix.text}
    assert fixable, "the demo account should have planted faults with automatic fixes"
    script = tmp_path / "fix.sh"
    script.write_text(render_bundle(failing, RemediationKind.SH, header))
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = _scan(session, seeded)
    still = sorted(
        {
            (f.rule_id, f.resource_id, f.message)
            for f in after.findings
            if f.status is Status.FAIL and f.rule_id in fixable
        }
    )
    assert not still, f"rules still failing after the fix: {still}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    print("fixed:", sorted(fixable))


CUSTOMER = [
    {"Sid": "CustomerDenyDelete", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
     "Resource": "arn:aws:s3:::BUCKET"},
    {"Sid": "CustomerAllowRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::ACCOUNT:root"},
     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/*"},
]
KEY_CUSTOMER = [
    {"Sid": "CustomerDenyDisable", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::ACCOUNT:role/Intern"},
     "Action": ["kms:DisableKey", "kms:ScheduleKeyDeletion"], "Resource": "*"},
    {"Sid": "CustomerAllowAudit", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::ACCOUNT:role/Auditor"},
     "Action": "kms:DescribeKey", "Resource": "*"},
]


def test_policy_bundle_merges_into_the_policy_as_it_is_when_it_runs(moto_endpoint: str, tmp_path: Path) -> None:
    """Buckets and keys holding customer Deny and Allow statements and none of the seed's: the bundle
    adds the seed's statements, every customer statement is still there, and the policy rules pass."""
    import json

    import boto3

    from auditor.demo.account import seed_ccme_account
    from auditor.report.remediation import RemediationKind, render_bundle

    session = boto3.Session(region_name=REGION)
    clients: dict[str, object] = {}

    def client(service: str) -> object:
        if service not in clients:
            clients[service] = session.client(service, region_name=REGION)
            _local_s3control(clients[service], service)
        return clients[service]

    seeded = seed_ccme_account(client, REGION, faults=False)
    s3 = session.client("s3", region_name=REGION)
    kms = session.client("kms", region_name=REGION)
    customer: dict[str, list[dict[str, object]]] = {}
    for bucket in seeded.buckets.values():
        statements = json.loads(json.dumps(CUSTOMER).replace("BUCKET", bucket).replace("ACCOUNT", seeded.account))
        customer[bucket] = statements
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key_id = seeded.keys["cloudWatch"]
    current = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    root = [s for s in current["Statement"] if s.get("Sid") == "Enable IAM User Permissions"]
    key_statements = json.loads(json.dumps(KEY_CUSTOMER).replace("ACCOUNT", seeded.account))
    kms.put_key_policy(KeyId=key_id, PolicyName="default",
                       Policy=json.dumps({"Version": "2012-10-17", "Statement": root + key_statements}))
    before = _scan(session, seeded)
    policy_rules = [f for f in before.findings if f.status is Status.FAIL and f.remediation
                    and set(f.remediation) & {"s3/put-bucket-policy", "kms/put-key-policy"}]
    assert {f.resource_id for f in policy_rules} >= set(seeded.buckets.values())
    assert any(f.resource_type == "kms.key" for f in policy_rules)
    script = render_bundle(policy_rules, RemediationKind.SH,
                           {"account": seeded.account, "regions": [REGION], "tool_version": "test", "source": "t"})
    env = {**os.environ, "HOME": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for bucket, statements in customer.items():
        after = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
        assert all(s in after for s in statements), (bucket, after)
    key_after = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])["Statement"]
    assert all(s in key_after for s in key_statements) and root[0] in key_after
    after_scan = _scan(session, seeded)
    fixed = {(f.rule_id, f.resource_id) for f in policy_rules}
    still = [(f.rule_id, f.resource_id, f.message) for f in after_scan.findings
             if (f.rule_id, f.resource_id) in fixed and f.status is not Status.PASS]
    assert not still, still
