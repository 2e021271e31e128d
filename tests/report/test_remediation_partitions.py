"""Remediations in GovCloud and China: no `arn:aws:` is hard-coded; the region's partition is used."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.report.remediation import RemediationError, RemediationKind, render_fix
from tests.report.shell_stub import run_shell
from tests.report.test_remediation import finding, samples, used_refs

REGIONS = {"us-gov-west-1": "aws-us-gov", "cn-north-1": "aws-cn"}


def moved(value: Any, region: str, partition: str) -> Any:
    """A sample finding moved from eu-west-1 and the aws partition to `region` and `partition`."""
    if isinstance(value, str):
        return value.replace("eu-west-1", region).replace("arn:aws:", f"arn:{partition}:")
    if isinstance(value, list):
        return [moved(v, region, partition) for v in value]
    if isinstance(value, dict):
        return {k: moved(v, region, partition) for k, v in value.items()}
    return value


@pytest.mark.parametrize("region", sorted(REGIONS))
@pytest.mark.parametrize("kind", list(RemediationKind))
def test_no_template_writes_an_aws_partition_arn_in_another_partition(region: str, kind: RemediationKind) -> None:
    partition = REGIONS[region]
    rendered = 0
    for ref in sorted(used_refs()):
        for sample in samples(ref):
            try:
                text = render_fix(ref, kind, moved(sample, region, partition))
            except RemediationError:
                continue  # a sample another ref's context is made for
            rendered += 1
            assert "arn:aws:" not in text, (ref, kind, text)
    assert rendered > 50


def _policy(text: str) -> dict[str, Any]:
    return json.loads(re.search(r"--policy '(.*?)'", text, re.S).group(1))


@pytest.mark.parametrize(("region", "partition"), sorted(REGIONS.items()))
def test_a_key_policy_fix_names_the_partitions_principals(region: str, partition: str) -> None:
    text = render_fix("kms/create-key", RemediationKind.SH,
                      finding("CCME-KMS-ALIAS-DCV-PROXY-EBS", "kms.alias", "alias/ccme/dcv_proxy_ebs", [],
                              region=region))
    policy = _policy(text)
    assert policy["Statement"][0]["Principal"]["AWS"] == f"arn:{partition}:iam::111122223333:root"
    assert policy["Statement"][1]["Principal"]["AWS"].startswith(f"arn:{partition}:iam::111122223333:role/")


@pytest.mark.parametrize(("region", "partition"), sorted(REGIONS.items()))
def test_a_bucket_policy_fix_names_the_partitions_bucket(region: str, partition: str, tmp_path: Path) -> None:
    bucket = f"ucit-ccme-logging-{region}"
    sample = finding("R-BUCKET", "s3.bucket", bucket, ["s3/put-bucket-policy"],
                     {"name": bucket, "region": region, "policy": None}, region=region,
                     **{"buckets.logging": bucket})
    text = render_fix("s3/put-bucket-policy", RemediationKind.SH, sample)
    policy = run_shell(text, tmp_path, {bucket: None}).put_policy()
    assert policy is not None
    resources = {r for s in policy["Statement"] for r in
                 (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])}
    assert resources == {f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"}
