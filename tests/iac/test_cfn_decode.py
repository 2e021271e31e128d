"""The CloudFormation decoder: short-form intrinsics, lines, duplicate keys, JSON (auditor.iac.cfn_decode)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.iac import cfn_decode
from auditor.iac.cloudformation import decode

YAML = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy: {Version: 2012-10-17}
      Description: !Sub "key ${AWS::Region}"
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      TargetKeyId: !GetAtt Key.Arn.Part
      AliasName: !Join ["/", [alias, !Ref Prefix]]
      Other: !If [IsProd, !Base64 x, !Ref "AWS::NoValue"]
      Cond: !Condition IsProd
      Odd: !Frobnicate x
"""


def test_short_forms_become_long_forms_and_lines_are_kept() -> None:
    doc = cfn_decode.decode_yaml(YAML)
    resources = doc["Resources"]
    assert resources.key_lines == {"Key": 3, "Alias": 8}
    props = resources["Alias"]["Properties"]
    assert props["TargetKeyId"] == {"Fn::GetAtt": ["Key", "Arn.Part"]}
    assert props["AliasName"] == {"Fn::Join": ["/", ["alias", {"Ref": "Prefix"}]]}
    assert props["Other"] == {"Fn::If": ["IsProd", {"Fn::Base64": "x"}, {"Ref": "AWS::NoValue"}]}
    assert props["Cond"] == {"Condition": "IsProd"}
    assert props["Odd"] == {"Fn::Frobnicate": "x"} and props["Odd"].line == 15
    assert resources["Key"]["Properties"]["KeyPolicy"]["Version"] == dt.date(2012, 10, 17)  # YAML's reading


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Resources:\n  A:\n    Type: X\n  A:\n    Type: Y\n", 4),
        ('{"Resources": {\n "A": {"Type": "X"},\n "A": {"Type": "Y"}}}', 3),
    ],
)
def test_duplicate_keys_are_refused_at_their_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / ("t.json" if text.startswith("{") else "t.yaml")
    path.write_text(text, encoding="utf-8")
    template, problem = decode(path)
    assert template is None and problem is not None
    assert "duplicate key 'A'" in problem.message and problem.line == line


def test_json_lines_come_from_the_composer_or_the_text() -> None:
    text = '{\n  "Resources": {\n    "Bucket": {\n      "Type": "AWS::S3::Bucket"\n    }\n  }\n}\n'
    assert cfn_decode.decode_json(text)["Resources"].key_lines == {"Bucket": 3}
    tabbed = text.replace("    ", "\t\t")  # JSON YAML does not read: first occurrences in the text
    doc = cfn_decode.decode_json(tabbed)
    assert doc["Resources"].key_lines == {"Bucket": 3} and doc == cfn_decode.decode_json(text)
    assert cfn_decode.decode_json('{"N": 1e3}')["N"] == 1000.0  # JSON's number, not YAML 1.1's string


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Resources:\n  ? [a, b]\n  : x\n", "not a scalar"),
        ("a: &a [*a]\n", "recursive"),
        ("Resources:\n  A: [\n", "invalid template"),
        ("a: " + "[" * 2000 + "]" * 2000, "nested deeper"),
        ("a:\n  " + "- " * 20_000 + "x\n", "nested deeper"),
    ],
)
def test_malformed_yaml_is_a_problem_not_a_crash(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    template, problem = decode(path)
    # the problem's kind (a refusal of this file, in our words) and its place, whatever the YAML library says
    assert template is None and problem is not None and not problem.warning, problem
    assert problem.file == str(path) and needle in problem.message, problem
