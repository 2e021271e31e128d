"""Remediations of the bbp rules, rendered on the FAIL findings of the broken and reachability fixtures: the
real ids reach the commands, scripts run with a fake `aws` (hostile values stay quoted, no private key is
printed), the CloudFormation bundle passes cfn-lint and the Terraform bundle declares each address once."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from auditor.report.remediation import RemediationKind, render_bundle, render_fix
from tests.bbp import samples
from tests.fixtures import bbp

HEADER = {"account": bbp.ACCOUNT, "regions": [bbp.REGION], "tool_version": "test", "source": "bbp"}
HOSTILE = "x'; touch PWNED; echo '$(touch PWNED2)`touch PWNED3`"


def sh(ref: str, rule: str, resource: str) -> str:
    found = [f for f in samples.failing(ref) if f["rule_id"] == rule and f["resource_id"] == resource]
    assert found, (ref, rule, resource)
    return render_fix(ref, RemediationKind.SH, found[0])


def test_every_bbp_ref_has_a_failing_sample_and_renders_every_kind() -> None:
    assert len(samples.REFS) >= 10
    for ref in samples.REFS:
        found = samples.failing(ref)
        assert found, ref
        for kind in RemediationKind:
            for finding in found:
                assert render_fix(ref, kind, finding).strip(), (ref, kind, finding["resource_id"])


def test_commands_carry_the_real_ids() -> None:
    region = f"--region {bbp.REGION}"
    text = sh("vpc/create-gateway-endpoint", "BBP-VPCE-S3-GATEWAY", bbp.C2)
    assert f"--vpc-id {bbp.CLUSTER_VPC}" in text and f"--route-table-ids {bbp.RT_C2}" in text
    assert f"--service-name com.amazonaws.{bbp.REGION}.s3" in text and region in text
    text = sh("vpc/create-interface-endpoint", "BBP-VPCE-LOGS", bbp.CLUSTER_VPC)
    assert f"--subnet-ids {bbp.C1} {bbp.C2}" in text and "--private-dns-enabled" in text
    assert f"com.amazonaws.{bbp.REGION}.logs" in text
    text = sh("vpc/create-interface-endpoint", "BBP-VPCE-ELASTICFILESYSTEM", bbp.CLUSTER_VPC)
    assert f"com.amazonaws.{bbp.REGION}.elasticfilesystem" in text
    text = sh("vpc/authorize-cluster-ingress", "BBP-VPCE-SG-443", bbp.interface_id("sts"))
    assert f"--group-id {bbp.SG_C1_ONLY}" in text and "--port 443" in text
    assert f"--subnet-ids {bbp.C2}" in text and f"--subnet-ids {bbp.C1}" not in text  # only the uncovered one
    text = sh("vpc/authorize-cluster-ingress", "BBP-RDS-CLUSTER-ACCESS", bbp.DB)
    assert f"--group-id {bbp.SG_DB}" in text and "--port 3306" in text
    text = sh("vpc/modify-endpoint-subnets", "BBP-VPCE-AZ-COVERAGE", bbp.interface_id("logs"))
    assert f"Name=availability-zone,Values={bbp.AZ_B}" in text and bbp.AZ_A not in text.split("\n", 1)[1]
    text = sh("vpc/revoke-world-ingress", "BBP-SG-NO-WORLD-INGRESS", bbp.SG_DEBUG)
    assert text.count("revoke-security-group-ingress") == 2 and f"--group-id {bbp.SG_DEBUG}" in text
    assert '"CidrIp":"0.0.0.0/0"' in text and '"CidrIpv6":"::/0"' in text
    text = sh("vpc/revoke-world-ingress", "BBP-RDS-NO-WORLD-INGRESS", bbp.DB)
    assert f"--group-id {bbp.SG_DB}" in text and '"FromPort":3306' in text and "0.0.0.0/0" not in text
    text = sh("vpc/create-peering-routes", "BBP-PEERING-ROUTES", bbp.PCX)
    assert f"Values={bbp.MAIN_VPC}" in text and f"--destination-cidr-block {bbp.CLUSTER_CIDR}" in text
    assert f"Values={bbp.CLUSTER_VPC}" not in text  # the cluster side already routes the main CIDR
    text = sh("rds/modify-db-instance-private", "BBP-RDS-PRIVATE", bbp.DB)
    assert f"--db-instance-identifier {bbp.DB} --no-publicly-accessible --apply-immediately" in text
    text = sh("efs/replace-encrypted-file-system", "BBP-EFS-ENCRYPTED", bbp.EFS_PLAIN)
    assert "cannot be enabled in place" in text and "--encrypted --kms-key-id alias/ccme/file_systems" in text
    assert f"--file-system-id {bbp.EFS_PLAIN}" in text
    text = sh("logs/set-retention-and-kms-key", "BBP-SLURM-LOGGROUP-RETENTION", bbp.LOG_GROUP)
    assert f"put-retention-policy {region} --log-group-name {bbp.LOG_GROUP}" in text
    assert "associate-kms-key" in text and "alias/ccme/cloudWatch" in text
    text = sh("apigateway/update-method-authorization", "BBP-APIGW-AUTH", bbp.API)
    assert 'path==`"/status"`' in text and "op=replace,path=/authorizationType,value=AWS_IAM" in text
    assert text.count("update-method ") == 1  # the IAM-authorized methods and OPTIONS are left alone


def test_ed25519_key_goes_to_secrets_manager_without_being_printed(tmp_path: Path) -> None:
    text = sh("ec2/create-key-pair-ed25519", "BBP-SSH-ED25519", bbp.KEY_RSA)
    assert "--key-type ed25519" in text and "--secret-string file:///dev/stdin" in text
    fake = tmp_path / "bin"
    fake.mkdir()
    # The fake create-key-pair answers a private key; the fake create-secret reads it from stdin into a file.
    (fake / "aws").write_text(
        '#!/bin/bash\nprintf "%s\\n" "$@" >> "$ARGS_FILE"\n'
        'case "$2" in create-key-pair) echo "-----BEGIN OPENSSH PRIVATE KEY----- secret-material";;\n'
        '  create-secret) cat > "$STORED"; echo arn:aws:secretsmanager:x;; esac\n')
    (fake / "aws").chmod(0o755)
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "ARGS_FILE": str(tmp_path / "args"), "HOME": str(tmp_path),
           "STORED": str(tmp_path / "stored")}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "secret-material" in (tmp_path / "stored").read_text()
    assert "secret-material" not in done.stdout + done.stderr + (tmp_path / "args").read_text()


def _hostile_findings() -> list[dict[str, Any]]:
    out = []
    for finding in samples.findings():
        if not finding["remediation"]:
            continue
        f = copy.deepcopy(finding)
        attrs = f["context"].get("attributes") or {}
        for key in ("key_name", "log_group_name", "db_instance_identifier", "name"):
            if key in attrs:
                attrs[key] = HOSTILE
        if "ingress" in attrs:
            attrs["ingress"] = [{**r, "protocol": HOSTILE} for r in attrs["ingress"]]
        for key in ("route_table_id", "vpc_id"):
            if key in attrs:
                attrs[key] = attrs[key] + HOSTILE
        f["resource_id"] = f["resource_id"] + HOSTILE
        out.append(f)
    return out


def test_hostile_values_stay_quoted_when_the_script_runs(tmp_path: Path) -> None:
    script = render_bundle(_hostile_findings(), RemediationKind.SH, HEADER)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "aws").write_text('#!/bin/bash\nprintf "%s\\n" "$@" >> "$ARGS_FILE"\n'
                              'case "$2" in describe-file-systems) echo available;;\n'
                              # create-secret reads the private key from the pipe, as the real CLI does (else SIGPIPE)
                              '  create-secret) cat > /dev/null; echo arn;; *) echo vpce-0123;; esac\n')
    (fake / "aws").chmod(0o755)
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "ARGS_FILE": str(tmp_path / "args"), "HOME": str(tmp_path),
           "BBP_ENDPOINT_SECURITY_GROUP_ID": "sg-0123", "BBP_API_STAGE": "prod"}
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list(tmp_path.glob("PWNED*"))
    assert any(HOSTILE in line for line in (tmp_path / "args").read_text().splitlines())


def test_terraform_bundle_parses_and_declares_each_address_once() -> None:
    text = render_bundle(list(samples.findings()), RemediationKind.TERRAFORM, HEADER)
    parsed = hcl2.loads(text)
    addresses = [(kind, name) for block in parsed["resource"] for kind, body in block.items() for name in body]
    assert len(addresses) == len(set(addresses))
    kinds = {kind.strip('"') for kind, _ in addresses}
    assert {"aws_vpc_endpoint", "aws_route", "aws_key_pair", "aws_cloudwatch_log_group",
            "aws_vpc_security_group_ingress_rule", "aws_api_gateway_method"} <= kinds
    assert "already declared differently" not in text


@pytest.mark.skipif(shutil.which("cfn-lint") is None, reason="cfn-lint is not installed (pip install '.[dev]')")
def test_cloudformation_bundle_passes_cfn_lint(tmp_path: Path) -> None:
    text = render_bundle(list(samples.findings()), RemediationKind.CLOUDFORMATION, HEADER)
    path = tmp_path / "fix.yaml"
    path.write_text(text)
    # E1151: the fixture ids have 16 hex digits where AWS ids have 8 or 17 (the templates copy them as they are).
    done = subprocess.run(["cfn-lint", "--ignore-checks", "E1151", "--", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    resources = yaml.safe_load(text)["Resources"]
    types = {r["Type"] for r in resources.values()}
    assert {"AWS::EC2::VPCEndpoint", "AWS::EC2::Route", "AWS::EC2::KeyPair", "AWS::Logs::LogGroup",
            "AWS::EFS::FileSystem", "AWS::EC2::SecurityGroupIngress"} <= types
