"""One rule set, three sources for the provisioner pack (bbp): the bbp demo account (auditor/demo/bbp.py)
collected live on in-process moto, and its CloudFormation and Terraform descriptions
(examples/*/bbp-provisioner*), give the same verdict for every bbp rule a template can decide, clean and
with the demo's planted faults (auditor.demo.bbp.FAULTS) written into each template flavour."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import AuditConfig, load_config
from auditor.demo.bbp import FAULTS, IMPLIED
from auditor.engine.evaluate import Evaluation
from auditor.engine.rules import load_rules
from tests.iac.variants import ROOT

TODAY = dt.date(2026, 11, 22)
CFN = ROOT / "examples" / "cloudformation" / "bbp-provisioner.yaml"
TF = ROOT / "examples" / "terraform" / "bbp-provisioner"
# Template keys of (cluster VPC, main VPC, cluster subnets) per flavour.
KEYS = {
    "cloudformation": ("ClusterVpc", "MainVpc", ("ComputeSubnetA", "ComputeSubnetB")),
    "terraform": ("aws_vpc.cluster", "aws_vpc.main", ("aws_subnet.compute_a", "aws_subnet.compute_b")),
}
# Rules a template cannot decide, and why (they are ERROR there by design; the live account decides them).
UNDECIDABLE = {
    "BBP-LAMBDA-APIGW-ONLY": "the invoke permission's SourceArn embeds the REST API id, assigned at deployment",
}


def by_rule(result: Evaluation) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for finding in result.findings:
        out[finding.rule_id].add(finding.status.value)
    return out


def scan_demo(faults: bool) -> tuple[Evaluation, str]:
    from auditor.app.pipeline import evaluate
    from auditor.demo.bbp import seed_bbp_account, stub_associations
    from tests.collect.helpers import REGION, config, moto_account, run_scan

    rules = load_rules(None, ["bbp"])
    with moto_account() as session:
        seeded = seed_bbp_account(session, REGION, faults=faults)
        cfg = config(dict(seeded.config_overrides()))
        result = run_scan(session, cfg, rules, client_hooks=[stub_associations(seeded.associations)])
    return evaluate(result.snapshot, rules, cfg, today=TODAY), seeded.account


@pytest.fixture(scope="module")
def live() -> tuple[Evaluation, str]:
    return scan_demo(faults=False)


@pytest.fixture(scope="module")
def live_faulted() -> tuple[Evaluation, str]:
    return scan_demo(faults=True)


def iac_config(source: str, path: Path, account: str) -> AuditConfig:
    file = path if source == "cloudformation" else path / "main.tf"
    cluster, main, subnets = KEYS[source]
    return load_config(None, [
        ("account", account), ("kms_prefix", "ccme"), ("packs", ["bbp"]),
        ("network.cluster_vpc_id", f"vpc-{file}#{cluster}"),
        ("network.cluster_subnets", [f"subnet-{file}#{s}" for s in subnets]),
        ("bbp.main_vpc_id", f"vpc-{file}#{main}"),
        ("bbp.slurm_log_group", "/bbp/slurm/jobs"), ("bbp.slurm_db_instance", "slurm-accounting"),
        ("bbp.slurm_db_secret", "hpc/slurmdb-credentials"),
        ("iac.complete", True),  # the whole provisioner, as the live scan sees it
    ])


def iac(source: str, path: Path, account: str) -> Evaluation:
    config = iac_config(source, path, account)
    result, problems = audit_paths([path], config, load_rules(None, ["bbp"]), today=TODAY)
    assert not problems
    return result


def compare(live: Evaluation, template: Evaluation, source: str) -> dict[str, tuple[list[str], list[str]]]:
    live_rules, iac_rules = by_rule(live), by_rule(template)
    both = {r.id for r in load_rules(None, ["bbp"]) if r.live and r.iac}
    assert both <= set(live_rules) and both <= set(iac_rules)
    undecidable = {rule for rule in both if iac_rules[rule] & {"ERROR", "SKIPPED"}}
    assert undecidable == set(UNDECIDABLE), sorted(undecidable)
    compared = both - undecidable
    print(f"{source}: {len(compared)} bbp rules compared; undecidable: {sorted(undecidable)}")
    assert len(compared) >= 35, sorted(compared)
    return {rule: (sorted(live_rules[rule]), sorted(iac_rules[rule])) for rule in compared
            if live_rules[rule] != iac_rules[rule]}


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# The demo's planted faults, in each flavour (rule id -> (CloudFormation edit, Terraform edit)).
DEBUG_SG_CFN = """  DebugSsh:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupName: bbp-debug-ssh
      GroupDescription: temporary
      VpcId: !Ref ClusterVpc
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}]
  S3Endpoint:
"""
DEBUG_SG_TF = """resource "aws_security_group" "debug" {
  name        = "bbp-debug-ssh"
  description = "temporary"
  vpc_id      = aws_vpc.cluster.id
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_vpc_endpoint" "s3" {
"""
FAULT_EDITS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "BBP-SG-NO-WORLD-INGRESS": (("  S3Endpoint:\n", DEBUG_SG_CFN),
                                ('resource "aws_vpc_endpoint" "s3" {\n', DEBUG_SG_TF)),
    "BBP-SLURM-LOGGROUP-RETENTION": (("      RetentionInDays: 365\n", ""), ("  retention_in_days = 365\n", "")),
    "BBP-APIGW-AUTH": (
        ("ResourceId: !Ref StatusResource, HttpMethod: GET, AuthorizationType: AWS_IAM",
         "ResourceId: !Ref StatusResource, HttpMethod: GET, AuthorizationType: NONE"),
        ('  resource_id   = aws_api_gateway_resource.status.id\n  http_method   = "GET"\n  authorization = "AWS_IAM"',
         '  resource_id   = aws_api_gateway_resource.status.id\n  http_method   = "GET"\n  authorization = "NONE"'),
    ),
    "BBP-LAMBDA-IMAGE-TAG": (("ImageTag: {Type: String, Default: v1.4.2}", "ImageTag: {Type: String, Default: latest}"),
                             ('default = "v1.4.2"', 'default = "latest"')),
    "BBP-PEERING-ROUTES": (
        ("DestinationCidrBlock: 10.1.0.0/16, VpcPeeringConnectionId",
         "DestinationCidrBlock: 10.1.1.0/24, VpcPeeringConnectionId"),
        ('    cidr_block                = "10.1.0.0/16"', '    cidr_block                = "10.1.1.0/24"'),
    ),
}


def faulted(source: str, tmp: Path) -> Path:
    assert set(FAULT_EDITS) == set(FAULTS), "a demo fault has no template edit"
    if source == "cloudformation":
        text = CFN.read_text(encoding="utf-8")
        for (old, new), _tf in FAULT_EDITS.values():
            text = replace_once(text, old, new)
        path = tmp / "bbp-faulted.yaml"
        path.write_text(text, encoding="utf-8")
        return path
    text = (TF / "main.tf").read_text(encoding="utf-8")
    for _cfn, (old, new) in FAULT_EDITS.values():
        text = replace_once(text, old, new)
    directory = tmp / "tf"
    directory.mkdir()
    (directory / "main.tf").write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize("source", ["cloudformation", "terraform"])
def test_templates_and_live_account_agree_rule_by_rule(live: tuple[Evaluation, str], source: str) -> None:
    result, account = live
    template = iac(source, CFN if source == "cloudformation" else TF, account)
    assert compare(result, template, source) == {}
    verdicts = by_rule(template)
    assert all(statuses == {"PASS"} for rule, statuses in verdicts.items()
               if statuses <= {"PASS", "FAIL"})


@pytest.mark.parametrize("source", ["cloudformation", "terraform"])
def test_the_same_faults_give_the_same_failures(live_faulted: tuple[Evaluation, str], source: str,
                                                tmp_path: Path) -> None:
    result, account = live_faulted
    template = iac(source, faulted(source, tmp_path), account)
    assert compare(result, template, source) == {}
    failing = {rule for rule, statuses in by_rule(template).items() if "FAIL" in statuses}
    assert failing == {rule for rule, statuses in by_rule(result).items() if "FAIL" in statuses}
    assert failing == set(FAULTS) | set(IMPLIED)  # the planted faults, and the rules they make fail too
