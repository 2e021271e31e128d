"""CCME-DEPLOYED-KMS-EBS-* and -FSX on moto: the EBS volumes of CCME's instances (the Management Host, the DCV
proxy, ParallelCluster nodes) and CCME's FSx file systems each use their own CCME key. CCME's resources are found
by deployment.name_prefix (Name tag) or through the stacks in deployment.stacks; an instance of no known role and
a refused DescribeVolumes are ERROR, never PASS."""

from __future__ import annotations

import json
from typing import Any

from auditor.app.pipeline import evaluate
from auditor.demo.account import seed_ccme_account
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, Injector, config, moto_account, run_scan

KINDS = ("EBS-CMH", "EBS-DCV-PROXY", "EBS-CLUSTERS", "FSX")


def _rules() -> list:
    return [r for r in load_rules(None, ["ccme"]) if r.id.startswith("CCME-DEPLOYED-KMS-")]


def _key(session: Any, suffix: str) -> str:
    kms = session.client("kms", region_name=REGION)
    return str(kms.describe_key(KeyId=f"alias/ccme/{suffix}")["KeyMetadata"]["Arn"])


def _instance(session: Any, name: str, extra_tags: dict[str, str] | None = None) -> str:
    ec2 = session.client("ec2", region_name=REGION)
    tags = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in (extra_tags or {}).items()]
    answer = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.small",
                               TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    return str(answer["Instances"][0]["InstanceId"])


def _volume(session: Any, instance: str, key: str | None, device: str = "/dev/sdf") -> str:
    ec2 = session.client("ec2", region_name=REGION)
    params: dict[str, Any] = {"AvailabilityZone": f"{REGION}a", "Size": 8}
    if key:
        params.update(Encrypted=True, KmsKeyId=key)
    vid = str(ec2.create_volume(**params)["VolumeId"])
    ec2.attach_volume(VolumeId=vid, InstanceId=instance, Device=device)
    return vid


def _found(result: Any, cfg: Any) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for f in evaluate(result.snapshot, _rules(), cfg).findings:
        if any(f.rule_id.endswith(k) for k in KINDS):
            out[(f.rule_id.removeprefix("CCME-DEPLOYED-KMS-"), f.resource_id.rsplit("/", 1)[-1])] = f.status.value
    return out


def _root_volumes(session: Any, *instances: str) -> set[str]:
    ec2 = session.client("ec2", region_name=REGION)
    out = set()
    attached = [{"Name": "attachment.instance-id", "Values": list(instances)}]
    for volume in ec2.describe_volumes(Filters=attached)["Volumes"]:
        if volume["Attachments"][0]["Device"] != "/dev/sdf":
            out.add(volume["VolumeId"])
    return out


def test_volumes_and_file_systems_found_by_name_prefix_use_their_own_key() -> None:
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        cmh = _instance(session, "ccme-cmh")
        proxy = _instance(session, "ccme-dcv-proxy")
        node = _instance(session, "ccme-node", {"parallelcluster:cluster-name": "hpc1"})
        _instance(session, "other-workload")  # not CCME's: never looked at
        good_cmh = _volume(session, cmh, _key(session, "cmh_ebs"))
        bad_proxy = _volume(session, proxy, _key(session, "cmh_ebs"))  # another CCME key
        bad_node = _volume(session, node, None)  # not encrypted
        fsx = session.client("fsx", region_name=REGION)
        subnet = session.client("ec2", region_name=REGION).describe_subnets()["Subnets"][0]["SubnetId"]
        good_fs = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet],
                                         KmsKeyId=_key(session, "file_systems"),
                                         Tags=[{"Key": "Name", "Value": "ccme-scratch"}])["FileSystem"]["FileSystemId"]
        bad_fs = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[subnet],
                                        KmsKeyId=_key(session, "sns"),
                                        Tags=[{"Key": "Name", "Value": "ccme-projects"}])["FileSystem"]["FileSystemId"]
        roots = _root_volumes(session, cmh, proxy, node)
        cfg = config({"deployment.name_prefix": "ccme-", "management_host": "ccme-cmh",
                      "deployment.dcv_proxy": "ccme-dcv-proxy"})
        result = run_scan(session, cfg, _rules())
    found = {k: v for k, v in _found(result, cfg).items() if k[1] not in roots}  # moto's unencrypted roots: FAIL too
    assert found == {("EBS-CMH", good_cmh): "PASS", ("EBS-DCV-PROXY", bad_proxy): "FAIL",
                     ("EBS-CLUSTERS", bad_node): "FAIL", ("FSX", good_fs): "PASS", ("FSX", bad_fs): "FAIL"}, found
    assert {v for k, v in _found(result, cfg).items() if k[1] in roots} == {"FAIL"}


def test_instances_of_a_named_stack_and_its_cluster_nodes() -> None:
    template = {"Resources": {"Host": {"Type": "AWS::EC2::Instance", "Properties": {
        "ImageId": "ami-12c6146b", "InstanceType": "t3.small", "Tags": [{"Key": "Name", "Value": "mystery"}]}}}}
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        cfn = session.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="hpc1", TemplateBody=json.dumps(template))
        host = cfn.list_stack_resources(StackName="hpc1")["StackResourceSummaries"][0]["PhysicalResourceId"]
        _volume(session, host, _key(session, "clusters_ebs"))
        node = _instance(session, "compute-1", {"parallelcluster:cluster-name": "hpc1"})
        good_node = _volume(session, node, _key(session, "clusters_ebs"))
        cfg = config({"deployment.stacks": ["hpc1"]})
        result = run_scan(session, cfg, _rules())
    findings = [f for f in evaluate(result.snapshot, _rules(), cfg).findings
                if any(f.rule_id.endswith(k) for k in KINDS)]
    by_volume = {(f.rule_id, f.resource_id.rsplit("/", 1)[-1]): f for f in findings}
    assert by_volume[("CCME-DEPLOYED-KMS-EBS-CLUSTERS", good_node)].status.value == "PASS"
    # The stack's own instance is CCME's but of no known role: its volume is ERROR naming how to say which it is.
    mystery = [f for f in findings if "neither" in f.message]
    assert mystery and {f.status.value for f in mystery} == {"ERROR"}
    assert "deployment.dcv_proxy" in mystery[0].message


def test_refused_describe_volumes_is_error() -> None:
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        _instance(session, "ccme-cmh")
        cfg = config({"deployment.name_prefix": "ccme-", "management_host": "ccme-cmh"})
        result = run_scan(session, cfg, _rules(), client_hooks=[Injector("ec2", "DescribeVolumes", "deny")])
    findings = [f for f in evaluate(result.snapshot, _rules(), cfg).findings if f.rule_id.endswith("EBS-CMH")]
    assert findings and {f.status.value for f in findings} == {"ERROR"}, [(f.rule_id, f.message) for f in findings]


def test_efs_of_a_named_stack() -> None:
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        template = {"Resources": {
            "Home": {"Type": "AWS::EFS::FileSystem", "Properties": {"Encrypted": True,
                                                                   "KmsKeyId": _key(session, "file_systems")}},
            "Plain": {"Type": "AWS::EFS::FileSystem", "Properties": {}}}}
        session.client("cloudformation", region_name=REGION).create_stack(
            StackName="ccme-storage", TemplateBody=json.dumps(template))
        cfg = config({"deployment.stacks": ["ccme-storage"]})
        result = run_scan(session, cfg, _rules())
    found = {f.resource_id: f.status.value for f in evaluate(result.snapshot, _rules(), cfg).findings
             if f.rule_id == "CCME-DEPLOYED-KMS-EFS"}
    assert found == {"ccme-storage/Home": "PASS", "ccme-storage/Plain": "FAIL"}, found


class _DropVolume:
    """A client hook whose DescribeVolumes answer leaves out one volume (a page that lost an item)."""

    def __init__(self, volume: str):
        self.volume = volume

    def __call__(self, client: Any, service: str) -> None:
        if service == "ec2":
            client.meta.events.register("after-call.ec2.DescribeVolumes", self._drop)

    def _drop(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed["Volumes"] = [v for v in parsed.get("Volumes") or [] if v.get("VolumeId") != self.volume]


def test_a_volume_the_instance_lists_but_describe_volumes_leaves_out_is_error() -> None:
    """The instance's BlockDeviceMappings name the volume: an answer without it is missing evidence on that
    volume (ERROR), never one volume less to judge."""
    with moto_account() as session:
        seed_ccme_account(session, REGION, faults=False)
        cmh = _instance(session, "ccme-cmh")
        unencrypted = _volume(session, cmh, None)
        cfg = config({"deployment.name_prefix": "ccme-", "management_host": "ccme-cmh"})
        result = run_scan(session, cfg, _rules(), client_hooks=[_DropVolume(unencrypted)])
    assert _found(result, cfg).get(("EBS-CMH", unencrypted)) == "ERROR", _found(result, cfg)
