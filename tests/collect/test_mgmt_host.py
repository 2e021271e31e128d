"""CCME-MGMT-HOST-OS on moto: the Management Host found by its Name tag or instance id, the OS read from its
AMI's name (al2023 on arm64 passes; RHEL 9 on arm64 fails: x86_64 only); an unreadable AMI name is ERROR."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.app.pipeline import evaluate
from auditor.collect.mgmt_host import os_of
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan


@pytest.mark.parametrize(("name", "expected"), [
    ("al2023-ami-2023.6.20241121.0-kernel-6.1-arm64", "al2023"),
    ("RHEL-9.4.0_HVM-20240605-x86_64-82-Hourly2-GP3", "rhel9"),
    ("RHEL-8.10.0_HVM-20240605-x86_64-0-Hourly2-GP3", "rhel8"),
    ("amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2", "other"),
    ("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240927", "other"),
    ("ccme-golden-image", None),
])
def test_os_of(name: str, expected: str | None) -> None:
    assert os_of(name, None) == expected


def _host(session: Any, image_name: str, arch: str, tag: str) -> str:
    ec2 = session.client("ec2", region_name=REGION)
    base = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    builder = ec2.run_instances(ImageId=base, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=builder, Name=image_name)["ImageId"]
    ec2.terminate_instances(InstanceIds=[builder])
    host = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t4g.medium" if arch == "arm64"
                             else "t3.medium",
                             TagSpecifications=[{"ResourceType": "instance",
                                                 "Tags": [{"Key": "Name", "Value": tag}]}])["Instances"][0]
    return str(host["InstanceId"])


@pytest.mark.parametrize(("image_name", "by_id", "status"), [
    ("al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64", False, "PASS"),
    ("amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2", True, "FAIL"),
    ("ccme-golden-image", False, "ERROR"),
])
def test_management_host_on_moto(image_name: str, by_id: bool, status: str) -> None:
    rules = [r for r in load_rules(None, ["ccme"]) if r.id == "CCME-MGMT-HOST-OS"]
    with moto_account() as session:
        iid = _host(session, image_name, "x86_64", "ccme-management-host")
        cfg = config({"management_host": iid if by_id else "ccme-management-host"})
        result = run_scan(session, cfg, rules)
    findings = evaluate(result.snapshot, rules, cfg).findings
    assert [(f.resource_id, f.status.value) for f in findings] == [(iid, status)], [f.message for f in findings]


def test_a_named_host_that_is_not_there_fails() -> None:
    rules = [r for r in load_rules(None, ["ccme"]) if r.id == "CCME-MGMT-HOST-OS"]
    with moto_account() as session:
        cfg = config({"management_host": "no-such-host"})
        result = run_scan(session, cfg, rules)
    findings = evaluate(result.snapshot, rules, cfg).findings
    assert [(f.resource_id, f.status.value) for f in findings] == [("management-host", "FAIL")]


@pytest.mark.parametrize(("deployed", "status"), [("al2023", "PASS"), ("rhel9", "FAIL"), (None, None)])
def test_the_host_runs_the_os_its_deployment_configuration_names(deployed: str | None, status: str | None) -> None:
    """CCME-MGMT-HOST-OS-AS-DEPLOYED: management_host_os (the deployment configuration's value) against the AMI."""
    rules = [r for r in load_rules(None, ["ccme"]) if r.id == "CCME-MGMT-HOST-OS-AS-DEPLOYED"]
    with moto_account() as session:
        iid = _host(session, "al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64", "x86_64", "ccme-management-host")
        cfg = config({"management_host": "ccme-management-host", "management_host_os": deployed})
        result = run_scan(session, cfg, rules)
    findings = evaluate(result.snapshot, rules, cfg).findings
    assert [(f.resource_id, f.status.value) for f in findings] == ([(iid, status)] if status else [])
