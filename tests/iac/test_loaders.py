"""Loader details: intrinsics, Terraform expressions, plan JSON, malformed input, suppressions."""

# ruff: noqa: E501 - template text and data tables read better unwrapped
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.findings import Status
from auditor.engine.rules import load_rules
from auditor.iac import load_paths
from auditor.snapshot import Resource, is_unknown

TODAY = dt.date(2026, 11, 22)


def load(tmp: Path, name: str, text: str, **kw: object) -> tuple[list[Resource], list[str]]:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    target = path.parent if name.endswith(".tf") else path
    loaded = load_paths(
        [target],
        region="eu-west-1",
        account=kw.get("account", "111122223333"),  # type: ignore[arg-type]
        params=kw.get("params") or {},  # type: ignore[arg-type]
    )
    return list(loaded.snapshot.resources), [p.text() for p in loaded.problems]


def one(resources: list[Resource], rtype: str) -> Resource:
    found = [r for r in resources if r.type == rtype]
    assert len(found) == 1, found
    return found[0]


CFN_INTRINSICS = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, Default: prod}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
  NoDefault: {Type: String}
Mappings:
  Spec: {prod: {spec: SYMMETRIC_DEFAULT}, dev: {spec: RSA_2048}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  Unknowable: !Equals [!Ref NoDefault, x]
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeySpec: !FindInMap [Spec, !Ref Env, spec]
      MultiRegion: !If [IsProd, true, false]
      Description: !Join ["-", [!Select [1, !Ref Names], !Ref "AWS::Region", !Sub "${Env}x"]]
      KeyPolicy: {Version: 2012-10-17, Statement: [{Effect: Allow, Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}, Action: "kms:*", Resource: "*"}]}
  DevOnly:
    Type: AWS::S3::Bucket
    Condition: NotProd
    Properties: {BucketName: dev-only}
  Maybe:
    Type: AWS::S3::Bucket
    Condition: Unknowable
    Properties: {BucketName: maybe}
  Alias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/ccme/s3, TargetKeyId: !GetAtt Key.Arn}
  Sub:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: vpc-123
      AvailabilityZone: !Select [0, !GetAZs ""]
"""


def test_cloudformation_intrinsics(tmp_path: Path) -> None:
    resources, problems = load(tmp_path, "t.yaml", CFN_INTRINSICS)
    assert problems == []
    key = one(resources, "kms.key")
    assert key.attributes["key_spec"] == "SYMMETRIC_DEFAULT"
    assert key.attributes["multi_region"] is True
    assert key.attributes["description"] == "b-eu-west-1-prodx"
    assert key.attributes["policy"]["Version"] == "2012-10-17"
    assert key.attributes["policy"]["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::111122223333:root"
    assert key.attributes["aliases"] == ["alias/ccme/s3"] and key.name == "alias/ccme/s3"
    assert one(resources, "kms.alias").attributes["target_key_id"] == key.id
    buckets = [r for r in resources if r.type == "s3.bucket"]
    assert [b.name for b in buckets] == ["maybe"]  # DevOnly dropped (condition false), Maybe kept ...
    assert is_unknown(one(resources, "ec2.subnet").attributes["availability_zone"])


def test_cloudformation_unknown_condition_is_a_whole_resource_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(CFN_INTRINSICS, encoding="utf-8")
    loaded = load_paths([path], region="eu-west-1", account=None)
    errors = [e for e in loaded.snapshot.errors if e.resource_id == "maybe"]
    assert errors and "NoDefault" in errors[0].message
    key = one(list(loaded.snapshot.resources), "kms.key")
    assert is_unknown(key.attributes["policy"])  # the account is unknown: the whole policy is
    assert "AWS::AccountId" in key.attributes["policy"]["$unknown"]


def test_cloudformation_param_override_and_json(tmp_path: Path) -> None:
    doc = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Spec": {"Type": "String"}},
        "Resources": {"K": {"Type": "AWS::KMS::Key", "Properties": {"KeySpec": {"Ref": "Spec"}}}},
    }
    resources, problems = load(tmp_path, "t.json", json.dumps(doc, indent=1), params={"Spec": "HMAC_256"})
    assert problems == [] and one(resources, "kms.key").attributes["key_spec"] == "HMAC_256"
    resources, _ = load(tmp_path, "u.json", json.dumps(doc))
    assert "Spec" in one(resources, "kms.key").attributes["key_spec"]["$unknown"]


TF = """
variable "prefix" { default = "ccme" }
variable "n" { default = 2 }
locals {
  name = "ucit-${var.prefix}-logs"
  tags = merge({ Team = "hpc" }, { Name = upper(var.prefix) })
}
resource "aws_s3_bucket" "logs" {
  bucket = local.name
  tags   = local.tags
}
resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = <<EOF
{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
 "Resource": "${aws_s3_bucket.logs.arn}/*"}]}
EOF
}
resource "aws_kms_key" "k" {
  count        = var.n
  multi_region = count.index == 0 ? true : false
  is_enabled   = !false
  policy       = jsonencode({ Version = "2012-10-17", Statement = [{ Resource = aws_kms_key.other.arn }] })
}
resource "aws_kms_alias" "a" {
  name          = format("alias/%s/%s", var.prefix, "x")
  target_key_id = aws_kms_key.k[1].key_id
}
resource "aws_vpc" "v" {
  cidr_block = "10.0.0.0/16"
  tags = { for k in ["a"] : k => k }
}
"""


def test_terraform_expressions(tmp_path: Path) -> None:
    resources, problems = load(tmp_path, "d/main.tf", TF)
    assert problems == []
    bucket = one(resources, "s3.bucket")
    assert bucket.name == "ucit-ccme-logs" and bucket.attributes["tags"] == {"Team": "hpc", "Name": "CCME"}
    assert bucket.attributes["policy"]["Version"] == "2012-10-17"
    assert bucket.attributes["policy"]["Statement"][0]["Resource"] == "arn:aws:s3:::ucit-ccme-logs/*"
    keys = sorted((r for r in resources if r.type == "kms.key"), key=lambda r: r.id)
    assert [k.attributes["multi_region"] for k in keys] == [True, False]
    assert all(k.attributes["key_state"] == "Enabled" for k in keys)
    assert all(is_unknown(k.attributes["policy"]) for k in keys)  # refers to a key not in the directory
    assert keys[1].attributes["aliases"] == ["alias/ccme/x"] and keys[0].attributes["aliases"] == []
    assert one(resources, "ec2.vpc").attributes["tags"] == {"a": "a"}  # a for expression over known values


def test_terraform_variable_without_default_and_tfvars(tmp_path: Path) -> None:
    text = 'variable "spec" {}\nresource "aws_kms_key" "k" { customer_master_key_spec = var.spec }\n'
    resources, _ = load(tmp_path, "a/main.tf", text)
    assert "spec" in one(resources, "kms.key").attributes["key_spec"]["$unknown"]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "terraform.tfvars").write_text('spec = "RSA_4096"\n', encoding="utf-8")
    resources, _ = load(tmp_path, "b/main.tf", text)
    assert one(resources, "kms.key").attributes["key_spec"] == "RSA_4096"
    resources, _ = load(tmp_path, "c/main.tf", text, params={"spec": "HMAC_256"})
    assert one(resources, "kms.key").attributes["key_spec"] == "HMAC_256"


def test_terraform_plan_json(tmp_path: Path) -> None:
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_kms_key.k",
                        "mode": "managed",
                        "type": "aws_kms_key",
                        "name": "k",
                        "values": {
                            "multi_region": True,
                            "enable_key_rotation": True,
                            "policy": json.dumps({"Version": "2012-10-17", "Statement": []}),
                        },
                    },
                    {
                        "address": "aws_kms_alias.a",
                        "mode": "managed",
                        "type": "aws_kms_alias",
                        "name": "a",
                        "values": {"name": "alias/ccme/clusters_ebs"},
                    },
                    {
                        "address": "aws_s3_bucket.b",
                        "mode": "managed",
                        "type": "aws_s3_bucket",
                        "name": "b",
                        "values": {"bucket": "ucit-ccme-userdata-eu-west-1"},
                    },
                    {
                        "address": "aws_s3_bucket_versioning.b",
                        "mode": "managed",
                        "type": "aws_s3_bucket_versioning",
                        "name": "b",
                        "values": {
                            "bucket": "ucit-ccme-userdata-eu-west-1",
                            "versioning_configuration": [{"status": "Enabled"}],
                        },
                    },
                ]
            }
        },
        "resource_changes": [
            {"address": "aws_kms_alias.a", "change": {"after_unknown": {"target_key_id": True}}}
        ],
        "configuration": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_kms_alias.a",
                        "expressions": {
                            "target_key_id": {"references": ["aws_kms_key.k.key_id", "aws_kms_key.k"]}
                        },
                    }
                ]
            }
        },
    }
    resources, problems = load(tmp_path, "plan.json", json.dumps(plan))
    assert problems == []
    key = one(resources, "kms.key")
    assert key.attributes["aliases"] == ["alias/ccme/clusters_ebs"] and key.attributes["multi_region"] is True
    assert key.location is not None and key.location.logical_id == "aws_kms_key.k"
    assert one(resources, "s3.bucket").attributes["versioning"] == "Enabled"


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.yaml", "Resources:\n  A: [\n", "invalid template"),
        (
            "tag.yaml",
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  K:\n    Type: AWS::KMS::Key\n"
            "    Properties: {Description: !Frobnicate x}\n",
            "unknown intrinsic function Fn::Frobnicate",
        ),
        ("other.yaml", "just: a mapping\n", "not a CloudFormation template"),
        ("deep.json", "[" * 200 + "]" * 200, "nested deeper"),
        ("bad.json", '{"AWSTemplateFormatVersion": ', "invalid JSON"),
        ("d/main.tf", 'resource "aws_s3_bucket" "x" {\n  bucket = \n', "invalid HCL"),
    ],
)
def test_malformed_file_is_one_error_and_the_run_goes_on(
    tmp_path: Path, name: str, text: str, needle: str
) -> None:
    bad = tmp_path / name
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text(text, encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  B:\n    Type: AWS::S3::Bucket\n"
        "    Properties: {BucketName: ucit-ccme-logging-eu-west-1}\n",
        encoding="utf-8",
    )
    config = load_config(None, [("account", "111122223333")])
    target = bad.parent if name.endswith(".tf") else bad
    result, problems = audit_paths([target, good], config, load_rules(None, ["ccme"]), today=TODAY)
    assert len(problems) == 1 and needle in problems[0].message, problems
    parse = [f for f in result.findings if f.rule_id == "IAC-PARSE"]
    assert len(parse) == 1 and parse[0].status is Status.ERROR and parse[0].location
    assert any(f.rule_id == "CCME-S3-VERSIONING-LOGGING" and f.status is Status.FAIL for f in result.findings)


def test_oversized_template_is_an_error(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n# " + "x" * (21 * 1024 * 1024) + "\n", encoding="utf-8"
    )
    loaded = load_paths([big], region="eu-west-1", account=None)
    assert len(loaded.problems) == 1 and "limit" in loaded.problems[0].message


SUPPRESSED = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  # ccme-audit:ignore CCME-S3-VERSIONING-LOGGING reason: logs are immutable by lifecycle
  LogBucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: ucit-ccme-logging-eu-west-1}
  Internals: # ccme-audit:ignore CCME-S3-VERSIONING-INTERNALS
    Type: AWS::S3::Bucket
    Properties: {BucketName: ucit-ccme-internals-eu-west-1}
  Userdata:
    Type: AWS::S3::Bucket
    Metadata:
      ccme-audit:
        ignore: [{rule: CCME-S3-VERSIONING-USERDATA, reason: tested elsewhere}]
    Properties: {BucketName: ucit-ccme-userdata-eu-west-1}
"""


def test_inline_and_metadata_suppressions_and_baseline(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SUPPRESSED, encoding="utf-8")
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(
        "suppressions:\n"
        "  - {rule: CCME-S3-ACCESS-LOGGING-INTERNALS, resource: ucit-ccme-internals-eu-west-1, "
        "reason: migrating, expires: '2027-01-01'}\n"
        "  - {rule: CCME-S3-ACCESS-LOGGING-USERDATA, resource: 'ucit-ccme-userdata-*', "
        "reason: old waiver, expires: '2026-01-01'}\n",
        encoding="utf-8",
    )
    config = load_config(None, [("account", "111122223333")])
    result, _ = audit_paths([path], config, load_rules(None, ["ccme"]), baseline=baseline, today=TODAY)
    status = {
        f.rule_id: f for f in result.findings if "VERSIONING" in f.rule_id or "ACCESS-LOGGING" in f.rule_id
    }
    assert status["CCME-S3-VERSIONING-LOGGING"].status is Status.WAIVED
    assert status["CCME-S3-VERSIONING-LOGGING"].waiver["reason"] == "logs are immutable by lifecycle"  # type: ignore[index]
    assert status["CCME-S3-VERSIONING-INTERNALS"].status is Status.FAIL  # no reason: not honoured
    assert status["CCME-S3-VERSIONING-USERDATA"].status is Status.WAIVED
    assert status["CCME-S3-ACCESS-LOGGING-INTERNALS"].status is Status.WAIVED
    expired = status["CCME-S3-ACCESS-LOGGING-USERDATA"]
    assert expired.status is Status.FAIL and "expired on 2026-01-01" in expired.message
