"""BBP-PC-SUBNET-DEDICATED (seed 003, "a dedicated subnet"): cluster configurations scanned together name no
common subnet; a subnet that is not an id makes it ERROR."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.rules import load_rules

CLUSTER = ("Image: {{Os: alinux2}}\nHeadNode: {{InstanceType: c5.large, Networking: {{SubnetId: {head}}}}}\n"
           "Scheduling:\n  Scheduler: slurm\n  SlurmQueues:\n    - Name: q\n"
           "      Networking: {{SubnetIds: [{queue}]}}\n"
           "      ComputeResources: [{{Name: r, InstanceType: c5.large}}]\n")


def _verdicts(tmp_path: Path, clusters: dict[str, tuple[str, str]]) -> dict[str, str]:
    for name, (head, queue) in clusters.items():
        (tmp_path / f"{name}.yaml").write_text(CLUSTER.format(head=head, queue=queue), encoding="utf-8")
    rules = [r for r in load_rules(None, ["bbp"]) if r.id == "BBP-PC-SUBNET-DEDICATED"]
    result, _ = audit_paths([tmp_path], load_config(None, [("account", "111122223333")]), rules,
                            today=dt.date(2026, 11, 22))
    return {Path(f.resource_id.split("#")[0]).stem: f.status.value for f in result.findings}


def test_a_queue_subnet_shared_with_another_cluster_fails(tmp_path: Path) -> None:
    assert _verdicts(tmp_path, {"a": ("subnet-01", "subnet-02"), "b": ("subnet-03", "subnet-02"),
                                "c": ("subnet-04", "subnet-05")}) == {"a": "FAIL", "b": "FAIL", "c": "PASS"}


def test_head_and_queue_of_one_cluster_may_share(tmp_path: Path) -> None:
    assert _verdicts(tmp_path, {"a": ("subnet-01", "subnet-01")}) == {"a": "PASS"}


def test_a_subnet_that_is_not_an_id_is_error(tmp_path: Path) -> None:
    assert _verdicts(tmp_path, {"a": ("{Ref: Subnet}", "subnet-02")})["a"] == "ERROR"
