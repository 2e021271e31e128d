"""End to end: moto_server on 127.0.0.1, the real `ccme-audit scan` / `iam-policy` / `demo` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.collect import registry
from auditor.collect.plan import Plan
from auditor.collect.runner import local_s3control
from auditor.demo.account import seed_ccme_account
from auditor.engine.rules import load_rules
from tests.collect.helpers import FAKE, REGION, config, moto_account, run_scan
from tests.motoserver import moto_server

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(FAKE)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with moto_server(env=clean_env()) as endpoint:
        yield endpoint


def server_session(endpoint: str) -> Any:
    class Clients:
        def __call__(self, service: str) -> Any:
            client = boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            return local_s3control(client) if service == "s3control" else client

    return Clients()


def kms_s3_rules(tmp_path: Path) -> Path:
    """The ccme pack's KMS and S3 rule files only: moto_server answers the services it does not
    implement (Snowball, Cloud9, CUR, ...) with HTTP 500, which the scan rightly retries for
    minutes, so the service probes are exercised in-process (test_collectors_fresh) instead."""
    root = tmp_path / "rules"
    (root / "ccme").mkdir(parents=True)
    for name in ("kms.yaml", "s3.yaml"):
        (root / "ccme" / name).write_text((ROOT / "policies" / "ccme" / name).read_text())
    return root


def scan_process(endpoint: str, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / "report.json"
    args = ("--rules", str(kms_s3_rules(tmp_path)), *args)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "scan",
            "--pack",
            "ccme",
            "--format",
            "json",
            "--output",
            str(report),
            "--region",
            REGION,
            "--stats",
            *args,
        ],
        env=clean_env(AWS_ENDPOINT_URL=endpoint),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(report.read_text()), proc.stderr


def test_scan_against_moto_server(server: str, tmp_path: Path) -> None:
    seeded = seed_ccme_account(server_session(server), REGION, faults=True)
    code, report, stderr = scan_process(server, tmp_path, "--snapshot-out", str(tmp_path / "snap.json"))
    assert code == 1  # planted faults fail
    assert "kms:DescribeKey" in stderr and "s3:GetBucketVersioning" in stderr  # --stats
    verdicts = {(f["rule_id"], f["resource_id"]): f["status"] for f in report["findings"]}
    keys = {s: f"arn:aws:kms:{REGION}:{seeded.account}:key/{k}" for s, k in seeded.keys.items()}
    kms_s3 = [r for r in load_rules(None, ["ccme"]) if r.file.endswith(("kms.yaml", "s3.yaml"))]
    userdata = seeded.buckets["userdata"]
    expected_fail = {
        ("CCME-KMS-REGIONALITY-SNS", keys["sns"]),
        ("CCME-S3-ACCESS-LOGGING-INTERNALS", seeded.buckets["internals"]),
        # The TLS deny statements cover userdata/* only: every bucket-policy rule on it fails.
        *(
            (r.id, userdata)
            for r in kms_s3
            if r.id in ("CCME-S3-POLICY-SECURETRANSPORT-USERDATA", "CCME-S3-POLICY-TLS12-USERDATA")
        ),
        # Not planted: the seed's own CloudWatch key policy has no confused-deputy condition (info advisory).
        ("CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH", keys["cloudWatch"]),
    }
    for rule_id, resource in expected_fail:
        assert verdicts[(rule_id, resource)] == "FAIL"
    checked = 0
    for (rule_id, resource), status in verdicts.items():
        if (
            rule_id in {r.id for r in kms_s3}
            and (rule_id, resource) not in expected_fail
            and (
                rule_id == "CCME-KMS-ALIAS-NAMING"
                or resource.startswith("arn:")
                or resource in seeded.buckets.values()
                or resource.startswith(("alias/", "account/"))
            )
        ):
            assert status == "PASS", (rule_id, resource, status)
            checked += 1
    assert checked >= 9 * 5 + 3 * 4  # every KMS key/alias check and every bucket check was made
    for suffix, arn in keys.items():
        assert verdicts[(f"CCME-KMS-KEY-{suffix.upper().replace('_', '-')}", arn)] == "PASS"
    assert verdicts[("CCME-S3-ACCOUNT-PAB", f"account/{seeded.account}")] == "PASS"
    snapshot = json.loads((tmp_path / "snap.json").read_text())
    assert snapshot["source"]["kind"] == "live" and snapshot["source"]["account"] == seeded.account


def test_no_credentials_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(tmp_path),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "--region", REGION],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no AWS credentials found" in proc.stderr
    assert "--profile" in proc.stderr and "Traceback" not in proc.stderr


def test_iam_policy_covers_every_call_of_a_full_scan(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "auditor",
            "iam-policy",
            "--pack",
            "ccme",
            "--read-secret-values",
            "--probe-cost-explorer",
        ],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    policy = json.loads(proc.stdout)
    (statement,) = policy["Statement"]
    actions = set(statement["Action"])
    assert not any("*" in a for a in actions) and statement["Effect"] == "Allow"
    everything = frozenset(t for c in registry.COLLECTORS for t in c.RESOURCE_TYPES)
    all_actions = set(
        registry.iam_policy(everything, ("read_secret_values", "probe_cost_explorer"))["Statement"][0]["Action"]
    )
    declared = {c.key: c.action for c in registry.calls_for(everything, ("read_secret_values", "probe_cost_explorer"))}
    with moto_account() as session:
        seeded = seed_ccme_account(session, REGION, faults=True)
        cfg = config(
            {"options.read_secret_values": True, "options.probe_cost_explorer": True, "secret_name": seeded.secret_name}
        )
        full = run_scan(
            session,
            cfg,
            plan=Plan(
                types=everything,
                selectors=dict.fromkeys(everything),
                options=frozenset({"read_secret_values", "probe_cost_explorer"}),
            ),
        )
        ccme = run_scan(session, cfg, load_rules(None, ["ccme"]))
    recorded = {declared[k] for k in full.stats.calls}
    assert recorded <= all_actions
    assert {declared[k] for k in ccme.stats.calls} <= actions
    assert "secretsmanager:GetSecretValue" in recorded and "ce:GetCostAndUsage" in recorded
    # Without the opt-ins, the policy leaves out the secret value and the paid call.
    plain = subprocess.run(
        [sys.executable, "-m", "auditor", "iam-policy", "--pack", "ccme"],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    plain_actions = set(json.loads(plain.stdout)["Statement"][0]["Action"])
    assert "secretsmanager:GetSecretValue" not in plain_actions and "ce:GetCostAndUsage" not in plain_actions


def test_demo_reports_the_planted_faults(tmp_path: Path) -> None:
    out = tmp_path / "report"
    env = clean_env(AWS_ENDPOINT_URL="http://127.0.0.1:9")  # the demo must ignore it: no network
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--output-dir", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "planted faults" in proc.stdout and "summary:" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    snapshot = json.loads((out / "snapshot.json").read_text())
    fails = {(f["rule_id"], f["resource_id"]) for f in report["findings"] if f["status"] == "FAIL"}
    resources = snapshot["resources"]
    # The snapshot records the configuration it was collected with (evaluate reuses it).
    assert snapshot["source"]["options"]["config"]["secret_name"] == "ccme/directory-reader"
    assert "self-test: passed" in proc.stdout
    sns_key = next(
        r["id"] for r in resources if r["type"] == "kms.key" and "alias/ccme/sns" in r["attributes"]["aliases"]
    )
    assert ("CCME-KMS-REGIONALITY-SNS", sns_key) in fails
    assert ("CCME-S3-ACCESS-LOGGING-INTERNALS", "ucit-ccme-internals-eu-west-1") in fails
    rules = {r["id"]: r for r in report["rules"]}
    # The DHCP and TLS-policy faults: asserted on the rules that check them, when the pack has them.
    dhcp_rules = [i for i, r in rules.items() if "DHCP" in i]
    if dhcp_rules:
        assert any(rule in dhcp_rules for rule, _ in fails), "the wrong DHCP domain name is not reported"
    tls_rules = [i for i, r in rules.items() if "TLS" in i and r["resource_type"] == "s3.bucket"]
    if tls_rules:
        assert any((rule, "ucit-ccme-userdata-eu-west-1") in fails for rule in tls_rules)
    # No network rule fails but the DHCP one: the route tables and gateways the topology needs were collected.
    assert {r for r, _ in fails if r.startswith(("CCME-NET-", "CCME-VPCE-"))} == set()
    # Nothing else fails on the KMS and S3 rules: the rest of the environment is compliant.
    kms_s3_fails = {
        (r, x) for r, x in fails if r.startswith(("CCME-KMS-", "CCME-S3-")) and "TLS" not in r and "SECURE" not in r
    }
    cloudwatch_key = next(
        r["id"] for r in resources if r["type"] == "kms.key" and "alias/ccme/cloudWatch" in r["attributes"]["aliases"]
    )
    assert kms_s3_fails == {
        ("CCME-KMS-REGIONALITY-SNS", sns_key),
        ("CCME-S3-ACCESS-LOGGING-INTERNALS", "ucit-ccme-internals-eu-west-1"),
        # not planted: the advisory the seed's own CloudWatch key policy draws (info)
        ("CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH", cloudwatch_key),
    }
    # Exactly the planted faults and the findings they imply: no FAIL nobody planted (a call moto does not
    # emulate is answered empty, never read as a blocked service), and no ERROR.
    assert {rule for rule, _ in fails} == {
        "CCME-KMS-REGIONALITY-SNS",
        "CCME-S3-ACCESS-LOGGING-INTERNALS",
        "CCME-S3-POLICY-SECURETRANSPORT-USERDATA",
        "CCME-S3-POLICY-TLS12-USERDATA",
        "CCME-VPC-DHCP",
        "CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH",
    }
    assert [f["rule_id"] for f in report["findings"] if f["status"] == "ERROR"] == []
