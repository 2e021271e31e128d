# ruff: noqa: E501 - configuration text reads better unwrapped
"""The parallelcluster pack on cluster configurations: every rule has a PASS and a FAIL proof."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.evaluate import Evaluation
from auditor.engine.rules import load_rules
from auditor.iac.parallelcluster import instance_facts
from tests.iac.variants import ROOT

EXAMPLES = ROOT / "examples" / "parallelcluster"


def run(*paths: Path) -> Evaluation:
    config = load_config(None, [("account", "111122223333")])
    result, problems = audit_paths(list(paths), config, load_rules(None, ["parallelcluster", "ccme"]),
                                   today=dt.date(2026, 11, 22))
    assert problems == []
    return result


def status(result: Evaluation, rule_id: str, name: str) -> str:
    found = [f.status.value for f in result.findings if f.rule_id == rule_id and f.resource_name == name]
    assert len(found) == 1, (rule_id, name, found)
    return found[0]


EXPECTED = {
    # rule: (cluster-good, cluster-bad)
    "CCME-PC-IMAGE-OS": ("PASS", "PASS"),
    "CCME-PC-ROCKY-CUSTOMAMI": ("PASS", "FAIL"),
    "CCME-PC-AARCH64-NO-GPU": ("PASS", "FAIL"),
    "CCME-PC-ROCKY9-DCV-GPU": ("PASS", "FAIL"),
    "CCME-PC-ROCKY9-DCV-GPU-QUEUES": ("PASS", "FAIL"),
    "PC-SCHED-SLURM": ("PASS", "FAIL"),
    "PC-DNS-NOINET": ("PASS", "ERROR"),
    "PC-SLURMDB": ("PASS", "FAIL"),
    "PC-EFS-ENCRYPTED": ("PASS", "FAIL"),
    "PC-FSX-KMS-PERSISTENT": ("PASS", "FAIL"),
    "PC-FSX-DRA": ("PASS", "FAIL"),
    "PC-LOGS": ("PASS", "FAIL"),
    "PC-HEADNODE-NO-EIP": ("PASS", "FAIL"),
    "PC-IMAGE-OS": ("PASS", "PASS"),
}


@pytest.fixture(scope="module")
def examples() -> Evaluation:
    return run(EXAMPLES)


@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_good_and_bad_cluster(examples: Evaluation, rule_id: str) -> None:
    good, bad = EXPECTED[rule_id]
    assert status(examples, rule_id, "cluster-good") == good
    assert status(examples, rule_id, "cluster-bad") == bad


def test_every_parallelcluster_rule_has_pass_and_fail_proofs(tmp_path: Path, examples: Evaluation) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text("Image: {Os: centos7}\nHeadNode: {InstanceType: c5.large}\nScheduling: {Scheduler: slurm}\n",
                   encoding="utf-8")
    result = run(odd)
    assert status(result, "PC-IMAGE-OS", "odd") == "FAIL"
    assert status(result, "CCME-PC-IMAGE-OS", "odd") == "FAIL"
    assert status(examples, "CCME-PC-IMAGE-OS", "cluster-ubuntu") == "FAIL"
    assert status(examples, "PC-IMAGE-OS", "cluster-ubuntu") == "PASS"
    # The pack's cluster-configuration rules (the deployment configuration's rule: tests/iac/test_ccme_deployment.py).
    pack = {r.id for r in load_rules(None, ["parallelcluster"]) if r.resource_type == "pcluster.cluster"}
    statuses: dict[str, set[str]] = {}
    for f in [*examples.findings, *result.findings]:
        statuses.setdefault(f.rule_id, set()).add(f.status.value)
    missing = {r for r in pack if not {"PASS", "FAIL"} <= statuses.get(r, set())} - {"PC-DNS-NOINET"}
    assert missing == set()


NETWORK = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.1.0.0/16, EnableDnsHostnames: true}
  Isolated:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.1.1.0/24, AvailabilityZone: eu-west-1a}
  Public:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.1.2.0/24, AvailabilityZone: eu-west-1b}
  Igw: {Type: AWS::EC2::InternetGateway}
  Attach:
    Type: AWS::EC2::VPCGatewayAttachment
    Properties: {VpcId: !Ref Vpc, InternetGatewayId: !Ref Igw}
  PublicRt:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  Default:
    Type: AWS::EC2::Route
    Properties: {RouteTableId: !Ref PublicRt, DestinationCidrBlock: 0.0.0.0/0, GatewayId: !Ref Igw}
  Assoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref Public, RouteTableId: !Ref PublicRt}
"""


@pytest.mark.parametrize(("subnet", "dns", "expected"), [
    ("Isolated", False, "FAIL"), ("Isolated", True, "PASS"), ("Public", False, "PASS")])
def test_dns_settings_follow_the_network_template(tmp_path: Path, subnet: str, dns: bool, expected: str) -> None:
    network = tmp_path / "network.yaml"
    network.write_text(NETWORK, encoding="utf-8")
    subnet_id = f"subnet-{network}#{subnet}"
    settings = "    Dns: {DisableManagedDns: true, UseEc2Hostnames: true}\n" if dns else ""
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(f"Image: {{Os: alinux2}}\nHeadNode:\n  InstanceType: c5.large\n  Networking: {{SubnetId: '{subnet_id}'}}\n"
                       f"Scheduling:\n  Scheduler: slurm\n  SlurmSettings:\n{settings or '    {}'}\n", encoding="utf-8")
    if not dns:
        cluster.write_text(cluster.read_text(encoding="utf-8").replace("  SlurmSettings:\n    {}\n", ""), encoding="utf-8")
    assert status(run(network, cluster), "PC-DNS-NOINET", "cluster") == expected


@pytest.mark.parametrize(("instance_type", "arm64", "gpu", "nvidia"), [
    ("g5g.xlarge", True, True, True), ("g4dn.xlarge", False, True, True), ("g6e.xlarge", False, True, True),
    ("c7gn.16xlarge", True, False, False), ("a1.large", True, False, False), ("hpc7g.16xlarge", True, False, False),
    ("p4d.24xlarge", False, True, True), ("m6i.large", False, False, False), ("is4gen.xlarge", True, False, False),
])
def test_instance_family_table(instance_type: str, arm64: bool, gpu: bool, nvidia: bool) -> None:
    facts = instance_facts(instance_type, "x")
    assert (facts["arm64"], facts["gpu"], facts["nvidia_gpu"]) == (arm64, gpu, nvidia)


def test_unrecognised_instance_type_is_unknown() -> None:
    facts = instance_facts("not-an-instance", "x")
    assert "$unknown" in facts["arm64"] and "not in the instance type table" in facts["arm64"]["$unknown"]


LOGIN_AND_BATCH = {
    "login.yaml": """\
Image: {Os: alinux2}
HeadNode: {InstanceType: c6i.large, Networking: {SubnetId: subnet-1}}
LoginNodes:
  Pools:
    - {Name: login, Count: 1, InstanceType: g5g.xlarge, Networking: {SubnetIds: [subnet-1]}}
Scheduling:
  Scheduler: slurm
  SlurmQueues:
    - {Name: q, ComputeResources: [{Name: c, InstanceType: c6i.large}], Networking: {SubnetIds: [subnet-1]}}
""",
    "batch.yaml": """\
Image: {Os: alinux2}
HeadNode: {InstanceType: c6i.large, Networking: {SubnetId: subnet-1}}
Scheduling:
  Scheduler: awsbatch
  AwsBatchQueues:
    - Name: q
      Networking: {SubnetIds: [subnet-1]}
      ComputeResources: [{Name: c, InstanceTypes: [optimal, c7g, g5g.2xlarge], MaxvCpus: 64}]
""",
    "batch-ok.yaml": """\
Image: {Os: alinux2}
HeadNode: {InstanceType: c6i.large, Networking: {SubnetId: subnet-1}}
Scheduling:
  Scheduler: awsbatch
  AwsBatchQueues:
    - {Name: q, Networking: {SubnetIds: [subnet-1]}, ComputeResources: [{Name: c, InstanceTypes: [optimal, c5]}]}
""",
}


def test_login_pools_and_batch_instance_types_are_checked(tmp_path: Path) -> None:
    for name, text in LOGIN_AND_BATCH.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = run(*(tmp_path / name for name in LOGIN_AND_BATCH))
    # A Graviton GPU in a login pool or in a Batch compute environment is one too; "optimal" and a bare
    # family name are read without an ERROR.
    assert status(result, "CCME-PC-AARCH64-NO-GPU", "login") == "FAIL"
    assert status(result, "CCME-PC-AARCH64-NO-GPU", "batch") == "FAIL"
    assert status(result, "CCME-PC-AARCH64-NO-GPU", "batch-ok") == "PASS"
