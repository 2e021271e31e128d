"""Instance facts come from EC2's DescribeInstanceTypes data (auditor/iac/instance_types.json, generated from
the instance-type data moto ships): CCME-PC-AARCH64-NO-GPU sees every arm64 GPU type the table holds (g5g:
Graviton2 with NVIDIA T4G), AWS Batch families and `optimal` give no wrong ERROR, and a type the table does
not hold (the Grace-based p6e-gb200 in moto 5.2's data) is ERROR naming the type and the refresh command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.rules import load_rules
from auditor.iac import instance_types
from auditor.iac.parallelcluster import instance_facts


@pytest.mark.parametrize(("instance_type", "arm64", "nvidia"), [
    ("g5g.xlarge", True, True), ("c7g.large", True, False), ("g5.xlarge", False, True), ("c6i.large", False, False),
    ("c5", False, False), ("g5g", True, True), ("g4dn", False, True),
])
def test_facts(instance_type: str, arm64: bool, nvidia: bool) -> None:
    facts = instance_facts(instance_type, "x")
    assert (facts["arm64"], facts["nvidia_gpu"]) == (arm64, nvidia)


def test_a_type_missing_from_the_table_names_it_and_the_refresh_command() -> None:
    facts = instance_facts("zz9.metal", "x")
    reason = facts["arm64"]["$unknown"]
    assert "'zz9.metal'" in reason and instance_types.REFRESH_COMMAND in reason


def _cluster(tmp_path: Path, compute: str, batch: bool = False) -> Path:
    path = tmp_path / "grace.yaml"
    if batch:
        path.write_text(
            "Image: {Os: alinux2}\nHeadNode: {InstanceType: c5.large}\n"
            "Scheduling:\n  Scheduler: awsbatch\n  AwsBatchQueues:\n    - Name: q\n      ComputeResources:\n"
            f"        - {{Name: r, InstanceTypes: {compute}}}\n", encoding="utf-8")
    else:
        path.write_text(
            "Image: {Os: alinux2}\nHeadNode: {InstanceType: c5.large}\n"
            "Scheduling:\n  Scheduler: slurm\n  SlurmQueues:\n    - Name: q\n      ComputeResources:\n"
            f"        - {{Name: r, InstanceType: {compute}}}\n", encoding="utf-8")
    return path


def _status(path: Path) -> list[str]:
    rules = [r for r in load_rules(None, ["parallelcluster"]) if r.id == "CCME-PC-AARCH64-NO-GPU"]
    result, problems = audit_paths([path], load_config(None, [("account", "111122223333")]), rules,
                                   today=dt.date(2026, 11, 22))
    assert problems == []
    return [f.status.value for f in result.findings]


@pytest.mark.parametrize(("queue_type", "status"), [
    ("g5g.16xlarge", "FAIL"), ("c7g.16xlarge", "PASS"), ("p6e-gb200.36xlarge", "ERROR"),
])
def test_rule_on_a_cluster(tmp_path: Path, queue_type: str, status: str) -> None:
    assert _status(_cluster(tmp_path, queue_type)) == [status]


@pytest.mark.parametrize(("types", "status"), [
    ("[optimal]", "PASS"), ("[c5, m5]", "PASS"), ("[optimal, g5g]", "FAIL"), ("[c5, zz9]", "ERROR"),
])
def test_aws_batch_families_and_optimal(tmp_path: Path, types: str, status: str) -> None:
    assert _status(_cluster(tmp_path, types, batch=True)) == [status]


def test_checked_in_table_is_what_the_refresh_writes() -> None:
    data_file = instance_types.moto_data_file()
    if data_file is None:
        pytest.skip("moto's ec2/resources/instance_types.json.gz is not installed: the table cannot be regenerated")
    expected = instance_types.render(instance_types.generate(data_file))
    assert instance_types.TABLE.read_text(encoding="utf-8") == expected, (
        f"run {instance_types.REFRESH_COMMAND}")
    header = json.loads(expected)
    assert header["moto_version"] in header["source"] and header["generated_by"] == instance_types.REFRESH_COMMAND


class _Refusing:
    """An EC2 client whose every DescribeInstanceTypes is refused (fail closed: ERROR, never the table)."""

    def describe_instance_types(self, **_: object) -> dict[str, object]:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeInstanceTypes")


@pytest.mark.parametrize(("queue_type", "status"), [("g5g.16xlarge", "FAIL"), ("c7g.16xlarge", "PASS"),
                                                    ("zz9.large", "ERROR")])
def test_live_facts_from_ec2_on_moto(tmp_path: Path, queue_type: str, status: str) -> None:
    """parallelcluster.instance_facts: ec2 asks EC2 (moto) with DescribeInstanceTypes instead of the table."""
    import boto3
    from moto import mock_aws

    rules = [r for r in load_rules(None, ["parallelcluster"]) if r.id == "CCME-PC-AARCH64-NO-GPU"]
    config = load_config(None, [("account", "111122223333"), ("parallelcluster.instance_facts", "ec2")])
    with mock_aws():
        client = boto3.client("ec2", region_name="eu-west-1")
        result, problems = audit_paths([_cluster(tmp_path, queue_type)], config, rules,
                                       today=dt.date(2026, 11, 22), ec2_client=client)
    assert problems == [] and [f.status.value for f in result.findings] == [status]


def test_live_facts_refused_is_error(tmp_path: Path) -> None:
    rules = [r for r in load_rules(None, ["parallelcluster"]) if r.id == "CCME-PC-AARCH64-NO-GPU"]
    config = load_config(None, [("account", "111122223333"), ("parallelcluster.instance_facts", "ec2")])
    result, _ = audit_paths([_cluster(tmp_path, "c7g.large")], config, rules, today=dt.date(2026, 11, 22),
                            ec2_client=_Refusing())
    assert [f.status.value for f in result.findings] == ["ERROR"]
    assert "UnauthorizedOperation" in result.findings[0].message or "UnauthorizedOperation" in str(
        result.findings[0].evidence)


def test_live_facts_for_a_batch_family_on_moto(tmp_path: Path) -> None:
    import boto3
    from moto import mock_aws

    rules = [r for r in load_rules(None, ["parallelcluster"]) if r.id == "CCME-PC-AARCH64-NO-GPU"]
    config = load_config(None, [("account", "111122223333"), ("parallelcluster.instance_facts", "ec2")])
    with mock_aws():
        client = boto3.client("ec2", region_name="eu-west-1")
        result, _ = audit_paths([_cluster(tmp_path, "[optimal, g5g]", batch=True)], config, rules,
                                today=dt.date(2026, 11, 22), ec2_client=client)
    assert [f.status.value for f in result.findings] == ["FAIL"]


class _Counting(_Refusing):
    """Refuses like _Refusing and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def describe_instance_types(self, **params: object) -> dict[str, object]:
        self.calls += 1
        return super().describe_instance_types(**params)


def test_a_refusal_is_one_call_and_not_read_as_an_unknown_type() -> None:
    """Credentials or permissions refused: every name gets that reason, after one call (not one call per name),
    and none is said to be a type EC2 does not describe."""
    from auditor.collect.instance_types import describe

    client = _Counting()
    out = describe(client, ["c7g.large", "g5g.xlarge", "c5.large"])
    assert client.calls == 1
    assert all("UnauthorizedOperation" in out[n] and "does not describe" not in out[n] for n in out), out


class _GPUFamilyEndless:
    """A family listing whose first page holds one non-GPU type and whose token comes back forever."""

    def describe_instance_types(self, **params: object) -> dict[str, object]:
        return {"InstanceTypes": [{"InstanceType": "g5g.xlarge", "ProcessorInfo": {"SupportedArchitectures": ["arm64"]},
                                   "GpuInfo": {}}], "NextToken": "again"}


def test_a_family_listing_that_never_ends_is_unknown_not_judged_on_its_first_page() -> None:
    """Judging g5g on the page that came (no GPU shown) would PASS an arm64 GPU family."""
    from auditor.collect.instance_types import describe

    out = describe(_GPUFamilyEndless(), ["g5g"])
    assert isinstance(out["g5g"], str) and "second time" in out["g5g"], out
