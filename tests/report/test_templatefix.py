"""Template patches: a property is changed in place (its nested lines too), added beside its neighbours when
absent, and never written into a resource of another type or one written in a form the patcher does not read."""

from __future__ import annotations

from pathlib import Path

import yaml

from auditor.report.templatefix import Edit, unified_diff

CFN = """Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: b
      Tags:
      - {Key: a, Value: b}
      VersioningConfiguration:
        Status: Suspended

  Key:
    Type: AWS::KMS::Key
    Properties: {Description: flow style}
  NotAKey:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: t
"""


def edit(logical: str | None, prop: str, value: str, rtype: str, line: int | None = None) -> Edit:
    return Edit("t.yaml", logical, prop, value, "cloudformation", "RULE", rtype, line)


def test_replace_nested_add_absent_and_refuse_the_rest(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(CFN)
    patch, missed = unified_diff([
        edit(None, "VersioningConfiguration", "{Status: Enabled}", "AWS::S3::Bucket", line=2),
        edit("Bucket", "PublicAccessBlockConfiguration", "{BlockPublicAcls: true}", "AWS::S3::Bucket"),
        edit("Key", "EnableKeyRotation", "true", "AWS::KMS::Key"),        # flow-style Properties: not read
        edit("NotAKey", "EnableKeyRotation", "true", "AWS::KMS::Key"),    # another type: never written
        edit("Missing", "EnableKeyRotation", "true", "AWS::KMS::Key"),
    ], root=tmp_path)
    assert [m.logical for m in missed] == ["Key", "NotAKey", "Missing"]
    assert "-        Status: Suspended" in patch and "+      VersioningConfiguration: {Status: Enabled}" in patch
    assert "+      PublicAccessBlockConfiguration: {BlockPublicAcls: true}" in patch
    # The edited template still parses, and only the two properties changed.
    from auditor.report.templatefix import _apply

    lines = CFN.splitlines(keepends=True)
    for e in (edit(None, "VersioningConfiguration", "{Status: Enabled}", "AWS::S3::Bucket", line=2),
              edit("Bucket", "PublicAccessBlockConfiguration", "{BlockPublicAcls: true}", "AWS::S3::Bucket")):
        assert _apply(lines, e)
    doc = yaml.safe_load("".join(lines))
    props = doc["Resources"]["Bucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True}
    assert props["Tags"] == [{"Key": "a", "Value": "b"}] and props["BucketName"] == "b"
    assert doc["Resources"]["NotAKey"]["Properties"] == {"TopicName": "t"}


def test_terraform_attribute_changed_or_added_before_the_closing_brace(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {\n  description = "x"\n}\n'
                                      'resource "aws_vpc" "v" {\n  enable_dns_hostnames = false\n}\n')
    edits = [Edit("main.tf", "aws_kms_key.k", "enable_key_rotation", "true", "terraform", "R", "aws_kms_key"),
             Edit("main.tf", "aws_vpc.v", "enable_dns_hostnames", "true", "terraform", "R", "aws_vpc"),
             Edit("main.tf", "aws_vpc.k", "enable_dns_hostnames", "true", "terraform", "R", "aws_kms_key")]
    patch, missed = unified_diff(edits, root=tmp_path)
    assert [m.logical for m in missed] == ["aws_vpc.k"]
    assert "+  enable_key_rotation = true" in patch
    assert "-  enable_dns_hostnames = false\n+  enable_dns_hostnames = true" in patch
