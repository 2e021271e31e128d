"""CCME-PC-NODE-AARCH64-NO-GPU on moto: the running nodes of deployed ParallelCluster clusters (tag
parallelcluster:cluster-name), their instance type's facts from ec2:DescribeInstanceTypes: a g5g (Graviton2 with
NVIDIA T4G) node fails, a c7g and a g5 node pass, an instance of no cluster is not looked at; a refused
DescribeInstanceTypes is ERROR."""

from __future__ import annotations

from typing import Any

from auditor.app.pipeline import evaluate
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, Injector, config, moto_account, run_scan

RULE = "CCME-PC-NODE-AARCH64-NO-GPU"


def _node(session: Any, instance_type: str, cluster: str | None) -> str:
    ec2 = session.client("ec2", region_name=REGION)
    tags = [{"Key": "Name", "Value": f"node-{instance_type}"}]
    if cluster:
        tags += [{"Key": "parallelcluster:cluster-name", "Value": cluster},
                 {"Key": "parallelcluster:node-type", "Value": "Compute"}]
    answer = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType=instance_type,
                               TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    return str(answer["Instances"][0]["InstanceId"])


def _rules() -> list:
    return [r for r in load_rules(None, ["ccme"]) if r.id == RULE]


def test_arm64_gpu_nodes_fail() -> None:
    with moto_account() as session:
        bad = _node(session, "g5g.xlarge", "hpc1")
        arm = _node(session, "c7g.large", "hpc1")
        gpu = _node(session, "g5.xlarge", "hpc2")
        _node(session, "g5g.xlarge", None)  # no cluster's
        cfg = config()
        result = run_scan(session, cfg, _rules())
    found = {f.resource_id: f.status.value for f in evaluate(result.snapshot, _rules(), cfg).findings}
    assert found == {bad: "FAIL", arm: "PASS", gpu: "PASS"}, found


def test_refused_describe_instance_types_is_error() -> None:
    with moto_account() as session:
        node = _node(session, "c7g.large", "hpc1")
        cfg = config()
        result = run_scan(session, cfg, _rules(), client_hooks=[Injector("ec2", "DescribeInstanceTypes", "deny")])
    found = {f.resource_id: f.status.value for f in evaluate(result.snapshot, _rules(), cfg).findings}
    assert found == {node: "ERROR"}, found
