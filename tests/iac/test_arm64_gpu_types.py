"""CCME-PC-AARCH64-NO-GPU sees every arm64 GPU type: Graviton with NVIDIA T4G (g5g) and Grace with
Blackwell (p6e-gb200), not only the 'g'-suffixed naming pattern."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.rules import load_rules
from auditor.iac.parallelcluster import instance_facts


@pytest.mark.parametrize(("instance_type", "arm64", "nvidia"), [
    ("g5g.xlarge", True, True), ("p6e-gb200.36xlarge", True, True), ("c7g.large", True, False),
    ("g5.xlarge", False, True), ("c6i.large", False, False),
])
def test_facts(instance_type: str, arm64: bool, nvidia: bool) -> None:
    facts = instance_facts(instance_type, "x")
    assert (facts["arm64"], facts["nvidia_gpu"]) == (arm64, nvidia)


@pytest.mark.parametrize(("queue_type", "status"), [("p6e-gb200.36xlarge", "FAIL"), ("c7g.16xlarge", "PASS")])
def test_rule_on_a_cluster(tmp_path: Path, queue_type: str, status: str) -> None:
    path = tmp_path / "grace.yaml"
    path.write_text(
        "Image: {Os: alinux2}\nHeadNode: {InstanceType: c5.large}\n"
        "Scheduling:\n  Scheduler: slurm\n  SlurmQueues:\n    - Name: q\n      ComputeResources:\n"
        f"        - {{Name: r, InstanceType: {queue_type}}}\n", encoding="utf-8")
    rules = [r for r in load_rules(None, ["parallelcluster"]) if r.id == "CCME-PC-AARCH64-NO-GPU"]
    result, problems = audit_paths([path], load_config(None, [("account", "111122223333")]), rules,
                                   today=dt.date(2026, 11, 22))
    assert problems == [] and [f.status.value for f in result.findings] == [status]
