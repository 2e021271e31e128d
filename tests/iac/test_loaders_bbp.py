"""Loader details of the provisioner (bbp) types: security group rules from every resource shape, key types
from public key material, RDS defaults, peering acceptance, SSM parameters without values, plan JSON."""

# ruff: noqa: E501 - template text reads better unwrapped
from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.iac import canonical as C
from auditor.iac import load_paths
from auditor.snapshot import Resource, is_generated, is_unknown


def load(tmp: Path, name: str, text: str) -> list[Resource]:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    loaded = load_paths([path.parent if name.endswith(".tf") else path], region="eu-west-1", account="111122223333")
    assert not loaded.problems, [p.text() for p in loaded.problems]
    return list(loaded.snapshot.resources)


def of(resources: list[Resource], rtype: str) -> list[Resource]:
    return [r for r in resources if r.type == rtype]


def sources(group: Resource, direction: str = "ingress") -> set[tuple[object, ...]]:
    return {(r["protocol"], r["from_port"], r["to_port"], r["cidr_ipv4"], r["cidr_ipv6"], r["referenced_group_id"],
             r["prefix_list_id"]) for r in group.attributes[direction]}


CFN_SG = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.1.0.0/16}}
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: nodes
      VpcId: !Ref Vpc
      SecurityGroupIngress:
        - {IpProtocol: "6", FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/16}
        - {IpProtocol: -1, CidrIpv6: "::/0"}
  SelfIngress:
    Type: AWS::EC2::SecurityGroupIngress
    Properties: {GroupId: !GetAtt Sg.GroupId, IpProtocol: tcp, FromPort: 3306, ToPort: 3306, SourceSecurityGroupId: !GetAtt Sg.GroupId}
  Egress:
    Type: AWS::EC2::SecurityGroupEgress
    Properties: {GroupId: !Ref Sg, IpProtocol: tcp, FromPort: 443, ToPort: 443, DestinationPrefixListId: pl-12345678}
"""

TF_SG = """
resource "aws_vpc" "v" {
  cidr_block = "10.1.0.0/16"
}
resource "aws_security_group" "sg" {
  vpc_id = aws_vpc.v.id
  ingress {
    protocol         = "all"
    from_port        = 0
    to_port          = 0
    self             = true
    cidr_blocks      = ["10.0.0.0/16", "10.2.0.0/16"]
    ipv6_cidr_blocks = ["::/0"]
  }
}
resource "aws_security_group_rule" "db" {
  type                     = "ingress"
  security_group_id        = aws_security_group.sg.id
  protocol                 = "tcp"
  from_port                = 3306
  to_port                  = 3306
  source_security_group_id = aws_security_group.sg.id
}
resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.sg.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}
"""


def test_cloudformation_security_group_rules(tmp_path: Path) -> None:
    (group,) = of(load(tmp_path, "sg.yaml", CFN_SG), "ec2.security_group")
    gid = group.id
    assert gid.startswith("sg-") and group.attributes["group_id"] == gid
    assert group.attributes["vpc_id"].endswith("#Vpc")
    assert sources(group) == {("tcp", 22, 22, "10.0.0.0/16", None, None, None), ("-1", None, None, None, "::/0", None, None),
                              ("tcp", 3306, 3306, None, None, gid, None)}
    # No SecurityGroupEgress property: EC2's default allow-all egress stays; a standalone egress rule adds to it.
    assert sources(group, "egress") == {("-1", None, None, "0.0.0.0/0", None, None, None),
                                        ("tcp", 443, 443, None, None, None, "pl-12345678")}


def test_terraform_security_group_rules(tmp_path: Path) -> None:
    (group,) = of(load(tmp_path, "tf/main.tf", TF_SG), "ec2.security_group")
    gid = group.id
    assert sources(group) == {("-1", None, None, None, None, gid, None), ("-1", None, None, "10.0.0.0/16", None, None, None),
                              ("-1", None, None, "10.2.0.0/16", None, None, None), ("-1", None, None, None, "::/0", None, None),
                              ("tcp", 3306, 3306, None, None, gid, None)}
    # Terraform removes the default egress rule of a group it creates.
    assert sources(group, "egress") == {("tcp", 443, 443, "0.0.0.0/0", None, None, None)}


@pytest.mark.parametrize(("explicit", "material", "expected"), [
    (None, None, "rsa"), ("ed25519", None, "ed25519"), (None, "ssh-ed25519 AAAAC3Nz x", "ed25519"),
    (None, "ssh-rsa AAAAB3Nz x", "rsa"), (None, "ecdsa-sha2-nistp256 AAAA x", None), (None, "garbage", None),
])
def test_key_type(explicit: str | None, material: str | None, expected: str | None) -> None:
    value = C.key_type_of(explicit, material)
    assert value == expected if expected else is_unknown(value)


RDS_CFN = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Public: {Type: String}
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.1.0.0/16}}
  Igw: {Type: AWS::EC2::InternetGateway}
  Attach: {Type: AWS::EC2::VPCGatewayAttachment, Properties: {VpcId: !Ref Vpc, InternetGatewayId: !Ref Igw}}
  A: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.1.1.0/24, AvailabilityZone: eu-west-1a}}
  B: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.1.2.0/24, AvailabilityZone: eu-west-1b}}
  Group: {Type: AWS::RDS::DBSubnetGroup, Properties: {DBSubnetGroupDescription: x, SubnetIds: [!Ref A, !Ref B]}}
  InVpc:
    Type: AWS::RDS::DBInstance
    Properties: {DBInstanceIdentifier: in-vpc, Engine: mysql, DBSubnetGroupName: !Ref Group, ManageMasterUserPassword: true}
  Elsewhere:
    Type: AWS::RDS::DBInstance
    Properties: {DBInstanceIdentifier: elsewhere, Engine: postgres, DBSubnetGroupName: other-group, StorageEncrypted: true}
  Generated:
    Type: AWS::RDS::DBInstance
    Properties: {Engine: mariadb, PubliclyAccessible: !Ref Public}
"""


def test_rds_defaults_and_subnet_group(tmp_path: Path) -> None:
    dbs = {r.name or "?": r.attributes for r in of(load(tmp_path, "rds.yaml", RDS_CFN), "rds.db_instance")}
    in_vpc = dbs["in-vpc"]
    # PubliclyAccessible left out, subnet group in a VPC with an internet gateway: public (RDS default).
    assert in_vpc["publicly_accessible"] is True and in_vpc["endpoint_port"] == 3306
    assert in_vpc["availability_zones"] == ["eu-west-1a", "eu-west-1b"] and in_vpc["vpc_id"].endswith("#Vpc")
    assert in_vpc["storage_encrypted"] is False and in_vpc["kms_key_id"] is None
    assert is_unknown(in_vpc["master_user_secret_arn"]) and is_unknown(in_vpc["vpc_security_group_ids"])
    elsewhere = dbs["elsewhere"]
    assert is_unknown(elsewhere["publicly_accessible"]) and is_unknown(elsewhere["vpc_id"])
    assert elsewhere["endpoint_port"] == 5432 and elsewhere["kms_key_id"] == "alias/aws/rds"
    (generated,) = [r for r in of(load(tmp_path, "rds.yaml", RDS_CFN), "rds.db_instance") if r.name is None]
    # No DBInstanceIdentifier: CloudFormation generates one, which no configured name can be.
    assert is_generated(generated.attributes["db_instance_identifier"])
    assert is_unknown(generated.attributes["publicly_accessible"])


PEERING_TF = """
resource "aws_vpc" "a" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_vpc" "b" {
  cidr_block = "10.1.0.0/16"
}
resource "aws_vpc_peering_connection" "pending" {
  vpc_id      = aws_vpc.a.id
  peer_vpc_id = aws_vpc.b.id
}
resource "aws_vpc_peering_connection" "accepted" {
  vpc_id      = aws_vpc.a.id
  peer_vpc_id = aws_vpc.b.id
}
resource "aws_vpc_peering_connection_accepter" "accept" {
  vpc_peering_connection_id = aws_vpc_peering_connection.accepted.id
  auto_accept               = true
}
resource "aws_ssm_parameter" "key" {
  name  = "pcluster-vlab1-proj1"
  type  = "SecureString"
  value = "-----BEGIN OPENSSH PRIVATE KEY----- canary-7f3a"
}
resource "aws_cloudwatch_log_group" "never" {
  name              = "/never"
  retention_in_days = 0
}
"""


def test_terraform_peering_acceptance_parameters_and_log_retention(tmp_path: Path) -> None:
    resources = load(tmp_path, "tf/main.tf", PEERING_TF)
    status = {r.id.rsplit(".", 1)[1]: r.attributes["status"] for r in of(resources, "ec2.vpc_peering_connection")}
    assert status == {"pending": "pending-acceptance", "accepted": "active"}
    pcx = of(resources, "ec2.vpc_peering_connection")[0].attributes
    assert pcx["requester_cidr_blocks"] == ["10.0.0.0/16"] and pcx["accepter_cidr_blocks"] == ["10.1.0.0/16"]
    assert pcx["requester_owner_id"] == "111122223333"
    (param,) = of(resources, "ssm.parameter")
    assert param.id == "pcluster-vlab1-proj1" and param.attributes["type"] == "SecureString"
    assert "canary-7f3a" not in json.dumps([r.attributes for r in resources])
    (group,) = of(resources, "logs.log_group")
    assert group.attributes["retention_in_days"] is None  # 0: never expire


def test_terraform_plan_json(tmp_path: Path) -> None:
    plan = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [
            {"address": "aws_security_group.sg", "mode": "managed", "type": "aws_security_group", "name": "sg",
             "values": {"name": "db", "vpc_id": "vpc-0abc", "ingress": [
                 {"protocol": "tcp", "from_port": 3306, "to_port": 3306, "cidr_blocks": ["0.0.0.0/0"],
                  "ipv6_cidr_blocks": [], "security_groups": [], "self": False, "prefix_list_ids": []}], "egress": []}},
            {"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance", "name": "db",
             "values": {"identifier": "slurm-accounting", "engine": "mariadb", "publicly_accessible": False,
                        "storage_encrypted": True, "db_subnet_group_name": "bbp-slurmdb"}},
            {"address": "aws_efs_file_system.home", "mode": "managed", "type": "aws_efs_file_system", "name": "home",
             "values": {"encrypted": True, "kms_key_id": None, "tags": {"Name": "home"}}},
        ]}},
        "resource_changes": [
            {"address": "aws_efs_file_system.home", "change": {"after_unknown": {"kms_key_id": True}}},
            {"address": "aws_db_instance.db", "change": {"after_unknown": {"vpc_security_group_ids": True}}},
        ],
        "configuration": {"root_module": {"resources": [
            {"address": "aws_db_instance.db", "expressions": {
                "vpc_security_group_ids": {"references": ["aws_security_group.sg.id", "aws_security_group.sg"]}}},
        ]}},
    }
    resources = load(tmp_path, "plan.json", json.dumps(plan))
    (group,) = of(resources, "ec2.security_group")
    assert sources(group) == {("tcp", 3306, 3306, "0.0.0.0/0", None, None, None)} and group.attributes["egress"] == []
    (db,) = of(resources, "rds.db_instance")
    assert db.id == "slurm-accounting" and db.attributes["vpc_security_group_ids"] == [group.id]
    assert is_unknown(db.attributes["vpc_id"])  # the subnet group is not in the plan
    (efs,) = of(resources, "efs.file_system")
    assert efs.attributes["encrypted"] is True and is_unknown(efs.attributes["kms_key_id"])
