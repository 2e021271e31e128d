"""Which template resources the CCME rules judge, and when a missing CCME resource is a FAIL.

- A name generated at deployment (no BucketName, no Terraform `bucket`, a `bucket_prefix`) is never a
  configured CCME name: such resources are out of scope. A name from an unset parameter stays unknown.
- "Must exist" rules judge templates only when the run is declared complete (`--complete`, or
  `iac.complete: true`): otherwise SKIPPED, with how to turn the check on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from tests.iac.variants import CFN_GOOD

ACCOUNT = ["--set", "account=111122223333", "--set", "secret_name=ccme-directory-reader"]
EXISTENCE = ("CCME-S3-EXISTS-", "CCME-KMS-ALIAS-C", "CCME-KMS-ALIAS-D", "CCME-KMS-ALIAS-F", "CCME-KMS-ALIAS-L",
             "CCME-KMS-ALIAS-S", "CCME-VPC-EXISTS", "CCME-SM-DIRECTORY-SECRET", "CCME-ACM-CERT")

CFN = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  DataBucketName:
    Type: String
Resources:
  Generated:
    Type: AWS::S3::Bucket
  Unrelated:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: team-artifacts-eu-west-1
  FromParameter:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref DataBucketName
  Network:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
"""

TF = """\
variable "prefix" {
  type = string
}

resource "aws_s3_bucket" "generated" {}

resource "aws_s3_bucket" "prefixed" {
  bucket_prefix = "logs-"
}

resource "aws_s3_bucket" "unknown_prefix" {
  bucket_prefix = var.prefix
}

resource "aws_secretsmanager_secret" "generated" {}
"""


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> tuple[int, list[Any]]:
    out = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    code = main(["iac", str(path), "--pack", "ccme", "-f", "json", "-o", str(out), *ACCOUNT, *args])
    capsys.readouterr()
    return code, json.loads(out.read_text(encoding="utf-8"))["findings"]


def bad(findings: list[Any]) -> set[tuple[str, str | None, str]]:
    return {(f["rule_id"], (f.get("location") or {}).get("logical_id"), f["status"])
            for f in findings if f["status"] in ("FAIL", "ERROR")}


@pytest.fixture
def cfn(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "stack.yaml"
    path.parent.mkdir()
    path.write_text(CFN, encoding="utf-8")
    return path


def test_generated_and_unrelated_names_are_out_of_scope_unknown_names_are_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], cfn: Path) -> None:
    code, findings = run(tmp_path, capsys, cfn)
    errors = bad(findings)
    # Only the bucket named by a parameter without a value: it could be any CCME bucket.
    assert code == 1 and errors and {logical for _, logical, _ in errors} == {"FromParameter"}
    assert {status for *_, status in errors} == {"ERROR"}
    code, findings = run(tmp_path, capsys, cfn, "--param", "DataBucketName=team-data")
    assert code == 0 and bad(findings) == set()


def test_existence_is_skipped_with_the_way_to_ask_for_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], cfn: Path) -> None:
    # network.require_vpc: the CCME VPC is optional in seed 000, so without it a missing VPC is "not required".
    _, findings = run(tmp_path, capsys, cfn, "--param", "DataBucketName=team-data", "--set", "network.require_vpc=true")
    existence = [f for f in findings if f["rule_id"].startswith(EXISTENCE)]
    # S3 and VPC rules: their types are in the template; KMS aliases, secret, certificate: absent types.
    assert {f["rule_id"] for f in existence} >= {"CCME-S3-EXISTS-LOGGING", "CCME-VPC-EXISTS",
                                                 "CCME-KMS-ALIAS-CLOUDWATCH", "CCME-SM-DIRECTORY-SECRET"}
    for finding in existence:
        assert finding["status"] == "SKIPPED", finding
        assert "--complete" in finding["message"] and "whole CCME prerequisite set" in finding["message"]


@pytest.mark.parametrize("how", ["flag", "config", "set"])
def test_a_complete_run_fails_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str], cfn: Path,
                                              how: str) -> None:
    config = tmp_path / "ccme-audit.yaml"
    config.write_text("iac:\n  complete: true\n", encoding="utf-8")
    extra = {"flag": ["--complete"], "config": ["--config", str(config)], "set": ["--set", "iac.complete=true"]}
    code, findings = run(tmp_path, capsys, cfn, "--param", "DataBucketName=team-data", *extra[how],
                         "--set", "network.require_vpc=true")
    failed = {f["rule_id"]: f for f in findings if f["status"] == "FAIL"}
    assert code == 1
    # Missing whether or not the run has a resource of the type (buckets and a VPC are there, aliases not).
    for rule in ("CCME-S3-EXISTS-LOGGING", "CCME-S3-EXISTS-USERDATA", "CCME-VPC-EXISTS",
                 "CCME-KMS-ALIAS-CLOUDWATCH", "CCME-SM-DIRECTORY-SECRET"):
        assert failed[rule]["message"].startswith("not found"), rule
    # Still nothing on the resources that are there and cannot be CCME's.
    assert not [f for f in findings if f["status"] in ("FAIL", "ERROR") and f.get("location")]


def test_an_optional_vpc_is_not_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str], cfn: Path) -> None:
    # Seed 000: "it is possible to create in advance" a VPC: without network.require_vpc (or network.vpc_id)
    # a complete run that has no CCME VPC does not fail for it.
    _, findings = run(tmp_path, capsys, cfn, "--param", "DataBucketName=team-data", "--complete")
    vpc = [f for f in findings if f["rule_id"] == "CCME-VPC-EXISTS"]
    assert [f["status"] for f in vpc] == ["SKIPPED"] and "network.require_vpc" in vpc[0]["message"]


def test_complete_compliant_example_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(tmp_path, capsys, CFN_GOOD, "--complete")
    # Advisory (info), expected: the seed's CloudWatch key policy has no confused-deputy condition.
    assert code == 0 and bad(findings) == {("CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH", "CloudWatchKey", "FAIL")}
    passed = {f["rule_id"] for f in findings if f["status"] == "PASS"}
    assert {"CCME-S3-EXISTS-LOGGING", "CCME-VPC-EXISTS", "CCME-KMS-ALIAS-CLOUDWATCH"} <= passed


def test_a_bad_complete_value_in_the_config_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         cfn: Path) -> None:
    config = tmp_path / "ccme-audit.yaml"
    config.write_text("iac:\n  complete: yes-please\n", encoding="utf-8")
    code = main(["iac", str(cfn), "--config", str(config)])
    _, err = capsys.readouterr()
    assert code == 2 and "ccme-audit.yaml" in err and "iac" in err and "Traceback" not in err


def test_terraform_generated_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("hcl2")
    directory = tmp_path / "tf"
    directory.mkdir()
    (directory / "main.tf").write_text(TF, encoding="utf-8")
    _, findings = run(tmp_path, capsys, directory)
    # terraform-<id> and logs-<id> can never be a CCME name; a prefix from an unset variable can be anything.
    assert {logical for _, logical, _ in bad(findings)} == {"aws_s3_bucket.unknown_prefix"}
    # A configured name of the generated shape cannot be told apart: ERROR, not out of scope.
    _, findings = run(tmp_path, capsys, directory, "--param", "prefix=team-",
                      "--set", "buckets.logging=logs-20261122093015123400000001")
    assert {(rule, logical) for rule, logical, _ in bad(findings) if rule == "CCME-S3-EXISTS-LOGGING"} == {
        ("CCME-S3-EXISTS-LOGGING", "aws_s3_bucket.prefixed")}


def _plan(bucket_expression: dict[str, Any] | None) -> dict[str, Any]:
    expressions = {"force_destroy": {"constant_value": True}}
    if bucket_expression is not None:
        expressions["bucket"] = bucket_expression
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [
            {"address": "aws_s3_bucket.b", "mode": "managed", "type": "aws_s3_bucket", "name": "b",
             "values": {"force_destroy": True, "bucket_prefix": None}}]}},
        "resource_changes": [{"address": "aws_s3_bucket.b", "type": "aws_s3_bucket",
                              "change": {"after_unknown": {"bucket": True, "arn": True, "id": True}}}],
        "configuration": {"root_module": {"resources": [
            {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket", "expressions": expressions}]}},
    }


@pytest.mark.parametrize("expression, generated", [
    (None, True),  # no bucket argument: terraform-<id> at apply
    ({"references": ["var.name"]}, False),  # set from an expression the plan could not compute
])
def test_plan_json_tells_a_generated_name_from_an_unknown_one(expression: dict[str, Any] | None, generated: bool,
                                                               tmp_path: Path) -> None:
    from auditor.iac import load_paths
    from auditor.snapshot import is_generated, is_unknown

    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_plan(expression)), encoding="utf-8")
    loaded = load_paths([path], region="eu-west-1", account="111122223333")
    (bucket,) = [r for r in loaded.snapshot.resources if r.type == "s3.bucket"]
    name = bucket.attributes["name"]
    assert is_generated(name) if generated else is_unknown(name)


SHAPED = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
Resources:
  StackNamed:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-artifacts-${AWS::AccountId}"
  Joined:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Join ["-", [!Ref Env, reports, !Ref "AWS::Region"]]
  CouldBeLogging:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${Env}-logging-${AWS::Region}"
  WhollyUnknown:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}"
"""


def test_a_name_with_fixed_text_around_deployment_values_keeps_its_shape(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "src" / "shaped.yaml"
    path.parent.mkdir()
    path.write_text(SHAPED, encoding="utf-8")
    main(["iac", str(path), "--pack", "ccme", "-f", "json", "-o", str(tmp_path / "r.json")])  # no account set
    capsys.readouterr()
    findings = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["findings"]
    errors = {logical for _, logical, _ in bad(findings)}
    # <stack>-artifacts-<account> and <env>-reports-eu-west-1 can never be ucit-ccme-*-eu-west-1;
    # <env>-logging-eu-west-1 can be ucit-ccme-logging-eu-west-1, and <stack> can be anything.
    assert errors == {"CouldBeLogging", "WhollyUnknown"}
    could = [f for f in findings if (f.get("location") or {}).get("logical_id") == "CouldBeLogging"]
    assert {f["rule_id"] for f in could if f["status"] == "ERROR"} >= {"CCME-S3-EXISTS-LOGGING"}
    assert "CCME-S3-EXISTS-USERDATA" not in {f["rule_id"] for f in could}
    assert any("has the shape of such a name" in f["message"] for f in could)


TF_SHAPED = """\
variable "prefix" {
  type = string
}

resource "random_pet" "this" {
  length = 2
}

resource "aws_s3_bucket" "pet" {
  bucket = "s3-bucket-${random_pet.this.id}"
}

resource "aws_s3_bucket" "could_be_logging" {
  bucket = "${var.prefix}-logging-eu-west-1"
}

resource "aws_kms_alias" "could_be_ccme" {
  name          = "alias/${var.prefix}/cmh_ebs"
  target_key_id = "0f1e2d3c-aaaa-bbbb-cccc-000000000000"
}

resource "aws_kms_alias" "app" {
  name          = "alias/${var.prefix}-app"
  target_key_id = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
}
"""


def test_terraform_names_with_fixed_text_keep_their_shape(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("hcl2")
    directory = tmp_path / "tf"
    directory.mkdir()
    (directory / "main.tf").write_text(TF_SHAPED, encoding="utf-8")
    _, findings = run(tmp_path, capsys, directory)
    errors = {(rule, logical) for rule, logical, _ in bad(findings)}
    # s3-bucket-<pet> (the terraform-aws-modules examples' naming) and alias/<prefix>-app cannot be CCME's.
    assert {logical for _, logical in errors} == {"aws_s3_bucket.could_be_logging", "aws_kms_alias.could_be_ccme"}
    assert ("CCME-S3-EXISTS-LOGGING", "aws_s3_bucket.could_be_logging") in errors
    assert ("CCME-S3-EXISTS-USERDATA", "aws_s3_bucket.could_be_logging") not in errors
    assert ("CCME-KMS-ALIAS-CMH-EBS", "aws_kms_alias.could_be_ccme") in errors
    # CCME-KMS-ALIAS-NAMING picks aliases by a regular expression of a few alternatives: alias/<prefix>-app
    # matches none of them, alias/<prefix>/cmh_ebs may.
    assert ("CCME-KMS-ALIAS-NAMING", "aws_kms_alias.could_be_ccme") in errors
