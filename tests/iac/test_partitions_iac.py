"""IaC in GovCloud and China: AWS::Partition, AWS::URLSuffix, data.aws_partition and the ARNs built
from them follow the configured region; a policy hard-coding another partition's ARNs fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.config import load_config
from auditor.engine.rules import load_rules
from auditor.iac import load_paths
from auditor.partitions import partition_of

REGIONS = ["eu-west-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1"]
RULE = "CCME-S3-POLICY-SECURETRANSPORT-LOGGING"

CFN = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Logging:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "ucit-ccme-logging-${AWS::Region}"
      Tags: [{Key: suffix, Value: !Ref "AWS::URLSuffix"}]
  LoggingPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Logging
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: enforce-tls-requests-only
            Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource: [RESOURCES]
            Condition: {Bool: {"aws:SecureTransport": "false"}}
"""
CFN_PARTITION = '!GetAtt Logging.Arn, !Sub "arn:${AWS::Partition}:s3:::${Logging}/*"'

TF = """
data "aws_partition" "current" {}
data "aws_region" "current" {}

resource "aws_s3_bucket" "logging" {
  bucket = "ucit-ccme-logging-${data.aws_region.current.name}"
  tags   = { suffix = data.aws_partition.current.dns_suffix }
}

resource "aws_s3_bucket_policy" "logging" {
  bucket = aws_s3_bucket.logging.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "enforce-tls-requests-only"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [RESOURCES]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
"""
TF_PARTITION = ('aws_s3_bucket.logging.arn, '
                '"arn:${data.aws_partition.current.partition}:s3:::${aws_s3_bucket.logging.id}/*"')


def _write(tmp: Path, kind: str, resources: str) -> Path:
    if kind == "cfn":
        path = tmp / "stack.yaml"
        path.write_text(CFN.replace("RESOURCES", resources), encoding="utf-8")
        return path
    pytest.importorskip("hcl2")
    folder = tmp / "tf"
    folder.mkdir()
    (folder / "main.tf").write_text(TF.replace("RESOURCES", resources), encoding="utf-8")
    return folder


def _status(target: Path, region: str) -> str:
    cfg = load_config(Path(os.devnull), [("regions", [region]), ("account", "111122223333")])
    rules = [r for r in load_rules(None, cfg.packs) if r.id == RULE]
    evaluation, problems = audit_paths([target], cfg, rules)
    assert not problems
    (finding,) = [f for f in evaluation.findings if f.rule_id == RULE]
    return finding.status.value


@pytest.mark.parametrize("kind", ["cfn", "tf"])
@pytest.mark.parametrize("region", REGIONS)
def test_partition_and_url_suffix_follow_the_region(tmp_path: Path, kind: str, region: str) -> None:
    target = _write(tmp_path, kind, CFN_PARTITION if kind == "cfn" else TF_PARTITION)
    partition = partition_of(region)
    loaded = load_paths([target], region=region, account="111122223333")
    (bucket,) = [r for r in loaded.snapshot.resources if r.type == "s3.bucket"]
    assert bucket.name == f"ucit-ccme-logging-{region}"
    assert bucket.attributes["tags"]["suffix"] == partition.dns_suffix
    policy = bucket.attributes["policy"]
    document = json.loads(policy) if isinstance(policy, str) else policy
    assert document["Statement"][0]["Resource"] == [
        f"arn:{partition.name}:s3:::ucit-ccme-logging-{region}",
        f"arn:{partition.name}:s3:::ucit-ccme-logging-{region}/*",
    ]
    assert _status(target, region) == "PASS"


@pytest.mark.parametrize("kind", ["cfn", "tf"])
@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1"])
def test_a_policy_hard_coding_the_aws_partition_fails_outside_it(tmp_path: Path, kind: str, region: str) -> None:
    hard = (f'"arn:aws:s3:::ucit-ccme-logging-{region}", "arn:aws:s3:::ucit-ccme-logging-{region}/*"')
    target = _write(tmp_path, kind, hard)
    assert _status(target, region) == "FAIL"
