"""The shipped IAM policy and deploy templates work in every partition: no ARN names `arn:aws:`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.cli import main

DEPLOY = Path(__file__).parents[2] / "deploy"
HARD_CODED = re.compile(r"arn:aws:")


def test_deploy_files_build_arns_with_the_partition() -> None:
    for path in (DEPLOY / "template.yaml", DEPLOY / "member-role.yaml", DEPLOY / "iam-policy.json"):
        text = path.read_text(encoding="utf-8")
        assert not HARD_CODED.search(text), f"{path.name} hard-codes the aws partition"
    template = (DEPLOY / "template.yaml").read_text(encoding="utf-8")
    # The state machine's service integrations take the stack's partition through a substitution.
    assert "Partition: !Ref AWS::Partition" in template
    assert template.count("arn:${Partition}:states:::") == 3


def test_iam_policy_names_no_partition(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy", "--config", "/dev/null"]) == 0
    output = capsys.readouterr().out
    policy = json.loads(output)
    assert all(s["Resource"] == "*" for s in policy["Statement"])  # valid in aws, aws-us-gov and aws-cn alike
    assert "ec2:DescribeRegions" in policy["Statement"][0]["Action"]
    assert "arn:" not in output
