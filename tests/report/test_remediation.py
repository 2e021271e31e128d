"""Remediation templates: coverage of every ref, real values, shell quoting, policy merging, valid bundles."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.rules import load_rules
from auditor.report.remediation import (
    RemediationKind,
    available_refs,
    canonical_alias,
    merge_policy,
    plan_fixes,
    render_bundle,
    render_fix,
    to_yaml,
)
from tests.report.shell_stub import DENIED, run_shell

ACCOUNT, REGION = "111122223333", "eu-west-1"
PARAMS = {
    "account": ACCOUNT,
    "region": REGION,
    "kms_prefix": "ccme",
    "buckets.logging": "ucit-ccme-logging-eu-west-1",
    "buckets.internals": "ucit-ccme-internals-eu-west-1",
    "buckets.userdata": "ucit-ccme-userdata-eu-west-1",
}
HEADER = {"account": ACCOUNT, "regions": [REGION], "tool_version": "test", "source": "test.json"}


def used_refs() -> set[str]:
    return {ref for rule in load_rules(None) for ref in rule.remediation}


def finding(
    rule_id: str,
    resource_type: str,
    resource_id: str,
    refs: list[str],
    attributes: dict[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {"params": {**PARAMS, **params}}
    if attributes is not None:
        context["attributes"] = attributes
    return {
        "rule_id": rule_id,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "status": "FAIL",
        "message": "it fails",
        "region": REGION,
        "account": ACCOUNT,
        "remediation": refs,
        "context": context,
    }


def samples(ref: str) -> list[dict[str, Any]]:
    """A missing and an existing resource for each ref family (the sample contexts of the meta-test)."""
    if ref.startswith("kms/"):
        key = {
            "policy": {"Version": "2012-10-17", "Statement": []},
            "key_id": "1234abcd-12ab-34cd-56ef-1234567890ab",
            "aliases": ["alias/ccme/secrets"],
            "multi_region": False,
            "description": "CCME secrets",
        }
        alias = {"name": "alias/alias/ccme/lambda", "target_key_id": "1234abcd-12ab-34cd-56ef-1234567890ab"}
        return [
            finding("R-MISSING", "kms.alias", "alias/ccme/cmh_ebs", [ref]),
            finding("R-KEY", "kms.key", "arn:aws:kms:eu-west-1:111122223333:key/1234", [ref], key),
            finding("R-ALIAS", "kms.alias", alias["name"], [ref], alias),
        ]
    vpc = {"vpc_id": "vpc-0123", "name": "VPC-CCME", "cidr_block": "10.0.0.0/16", "ipv6_cidr_blocks": ["2600::/56"]}
    subnet = {
        "subnet_id": "subnet-1",
        "vpc_id": "vpc-0123",
        "route_table_id": "rtb-1",
        "roles": ["backend"],
        "classification": "broken",
        "default_route_target": "blackhole",
    }
    topology = {"vpc_id": "vpc-0123", "role": "ccme", "topology": None, "frontend_azs": ["eu-west-1a"]}
    family = ref.split("/")[0]
    from tests.egress_static import samples as egress_samples

    if ref in egress_samples.REFS:  # the derived egress.vpc_allowlist of the blocked egress fixture
        return egress_samples.failing(ref)
    from tests.bbp import samples as bbp_samples

    if ref in bbp_samples.REFS:  # FAIL findings of the bbp broken and reachability fixtures
        return bbp_samples.failing(ref)
    if ref == "vpc/create-vpc":
        return [finding("CCME-VPC-EXISTS", "ec2.vpc", "ccme-vpc", [ref])]
    if ref in ("vpc/create-route", "vpc/modify-vpc-endpoint-route-tables"):
        return [
            finding("R-SUBNET", "ec2.subnet", "subnet-1", [ref], subnet),
            finding("R-SUBNET-PUBLIC", "ec2.subnet", "subnet-2", [ref], {**subnet, "roles": ["frontend"]}),
        ]
    if ref in ("vpc/create-subnet", "vpc/create-nat-gateway"):
        return [
            finding("CCME-SUBNET-FRONTEND-2AZ", "ec2.topology", "vpc-0123", [ref], topology),
            finding("CCME-SUBNET-BACKEND-2AZ", "ec2.topology", "vpc-0123", [ref], topology),
        ]
    if family == "vpc":
        return [finding("R-VPC", "ec2.vpc", "vpc-0123", [ref], vpc)]
    secret = {
        "name": "ccme/directory",
        "arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ccme/directory-AbC",
        "deleted_date": None,
        "kms_key_id": None,
    }
    if ref == "secretsmanager/restore-secret":
        return [
            finding(
                "R-SECRET",
                "secretsmanager.secret",
                "ccme/directory",
                [ref],
                {**secret, "deleted_date": "2026-11-20T00:00:00Z"},
            )
        ]
    if ref == "secretsmanager/create-secret":
        return [finding("R-SECRET", "secretsmanager.secret", "ccme/directory", [ref], secret_name="ccme/directory")]
    if family == "secretsmanager":
        return [finding("R-SECRET", "secretsmanager.secret", "ccme/directory", [ref], secret)]
    if family == "acm":
        return [
            finding(
                "CCME-ACM-CERT", "acm.certificate", "certificate/eu-west-1", [ref], certificate_domain="hpc.example.com"
            )
        ]
    if family == "elbv2":
        arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/ccme/1/2"
        return [finding("R-LISTENER", "elbv2.listener", arn, [ref], {"arn": arn, "protocol": "HTTPS", "port": 443})]
    if family == "service":
        return [
            finding(
                "R-SERVICE",
                "service.probe",
                "ce",
                [ref],
                {"service": "ce", "usability": "blocked", "detail": "explicit deny in a service control policy"},
            )
        ]
    bucket = {"name": "ucit-ccme-internals-eu-west-1", "region": REGION, "policy": None}
    if ref == "s3/put-account-public-access-block":
        return [
            finding(
                "R-ACCOUNT",
                "s3.account_public_access_block",
                f"account/{ACCOUNT}",
                [ref],
                {"account": ACCOUNT},
            )
        ]
    if ref == "s3/create-bucket":
        return [finding("R-MISSING", "s3.bucket", "ucit-ccme-internals-eu-west-1", [ref])]
    return [finding("R-BUCKET", "s3.bucket", bucket["name"], [ref], bucket)]


def test_every_ref_used_by_a_rule_has_its_three_templates() -> None:
    missing = used_refs() - available_refs()
    assert not missing, f"remediation refs without sh/cfn.yaml/tf templates: {sorted(missing)}"


@pytest.mark.parametrize("kind", list(RemediationKind))
@pytest.mark.parametrize("ref", sorted(used_refs()))
def test_each_template_renders_on_sample_contexts(ref: str, kind: RemediationKind) -> None:
    wanted = {
        "kms/rename-alias": {"R-ALIAS"},
        "kms/enable-key-rotation": {"R-KEY"},
        "kms/create-key": {"R-MISSING", "R-KEY"},
        "kms/put-key-policy": {"R-KEY"},
    }
    rendered = [render_fix(ref, kind, f) for f in samples(ref) if f["rule_id"] in wanted.get(ref, {f["rule_id"]})]
    assert rendered and all(text.strip() for text in rendered)
    for text in rendered:
        assert "{{" not in text and "{%" not in text and "None" not in text
        if kind is RemediationKind.TERRAFORM:
            hcl2.loads(text)
        elif kind is RemediationKind.CLOUDFORMATION:
            assert isinstance(yaml.safe_load(text), dict)
        else:
            assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0


def test_missing_key_gets_the_seed_settings_and_policy() -> None:
    text = render_fix(
        "kms/create-key",
        RemediationKind.SH,
        finding("CCME-KMS-ALIAS-DCV-PROXY-EBS", "kms.alias", "alias/ccme/dcv_proxy_ebs", []),
    )
    assert "--key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT --origin AWS_KMS" in text
    assert "--no-multi-region" in text and " --multi-region" not in text
    assert "aws kms create-alias --region eu-west-1 --alias-name alias/ccme/dcv_proxy_ebs" in text
    policy = json.loads(re.search(r"--policy '(.*?)' \\", text, re.S).group(1))
    assert policy["Statement"][1]["Principal"]["AWS"] == (
        "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    assert policy["Statement"][2]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    clusters = render_fix(
        "kms/create-key",
        RemediationKind.SH,
        finding("CCME-KMS-ALIAS-CLUSTERS-EBS", "kms.alias", "alias/ccme/clusters_ebs", []),
    )
    assert "--multi-region" in clusters
    cloudwatch = render_fix(
        "kms/create-key",
        RemediationKind.SH,
        finding("X", "kms.alias", "alias/ccme/cloudWatch", [], region="eu-west-3"),
    )
    assert '"Service": "logs.eu-west-3.amazonaws.com"' in cloudwatch


def test_a_wrong_key_moves_its_alias_to_the_new_key() -> None:
    key = {"key_id": "old-key", "aliases": ["alias/ccme/sns"], "multi_region": True}
    text = render_fix(
        "kms/create-key",
        RemediationKind.SH,
        finding("CCME-KMS-REGIONALITY-SNS", "kms.key", "arn:aws:kms:eu-west-1:1:key/old-key", [], key),
    )
    assert "aws kms update-alias --region eu-west-1 --alias-name alias/ccme/sns" in text
    assert "create-alias" not in text and "old-key" in text


def test_near_miss_aliases_map_to_the_seed_spelling() -> None:
    assert canonical_alias("alias/alias/ccme/lambda", "ccme") == "alias/ccme/lambda"
    assert canonical_alias("alias/ccme/cloudwatch", "ccme") == "alias/ccme/cloudWatch"
    assert canonical_alias("alias/other/lambda", "ccme") is None


def test_account_id_is_required_for_policies() -> None:
    fix = plan_fixes(
        [finding("X", "kms.alias", "alias/ccme/s3", ["kms/create-key"], account=None) | {"account": None}],
        RemediationKind.SH,
    )
    assert fix[0].text is None and "account id is unknown" in fix[0].problem


HOSTILE_BUCKET = "b'; touch PWNED; echo '$(touch PWNED2)`touch PWNED3`"


def test_hostile_values_stay_quoted_when_the_script_runs(tmp_path: Path) -> None:
    """Run the bundle with a fake `aws` that records its arguments: no injected command may run."""
    findings = [
        finding(
            "R",
            "s3.bucket",
            HOSTILE_BUCKET,
            ["s3/put-bucket-versioning", "s3/put-bucket-policy", "s3/put-bucket-logging"],
            {"name": HOSTILE_BUCKET, "policy": None},
            **{"buckets.logging": "logs\n$(touch PWNED4)"},
        ),
        finding("R2", "kms.alias", "alias/ccme/s3", ["kms/create-key"], kms_prefix="ccme"),
    ]
    script = render_bundle(findings, RemediationKind.SH, {**HEADER, "source": "x\n$(touch PWNED5)"})
    done = run_shell(script, tmp_path, {HOSTILE_BUCKET: None})
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob("PWNED*"))
    assert any(HOSTILE_BUCKET in call for call in done.calls)


def test_script_starts_with_strict_mode_and_a_warning(broken) -> None:
    text = render_bundle(broken.findings, RemediationKind.SH, HEADER)
    assert text.startswith("#!/usr/bin/env bash\nset -euo pipefail\n")
    assert "CHANGES the AWS account" in text and "never runs it" in text


@pytest.mark.skipif(shutil.which("cfn-lint") is None, reason="cfn-lint is not installed (pip install '.[dev]')")
def test_cloudformation_bundle_passes_cfn_lint(broken, tmp_path: Path) -> None:
    extra = [
        finding("R-NEW", "s3.bucket", "ucit-ccme-logging-eu-west-1", ["s3/create-bucket"]),
        finding(
            "R-POL",
            "s3.bucket",
            "ucit-ccme-extra",
            ["s3/put-bucket-policy"],
            {
                "name": "ucit-ccme-extra",
                "policy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "Keep",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::ucit-ccme-extra/*",
                        }
                    ],
                },
            },
        ),
    ]
    text = render_bundle([*[f.to_json() for f in broken.findings], *extra], RemediationKind.CLOUDFORMATION, HEADER)
    path = tmp_path / "fix.yaml"
    path.write_text(text)
    done = subprocess.run(["cfn-lint", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = yaml.safe_load(text)
    policy = doc["Resources"]["UcitCcmeExtraBucketPolicy"]["Properties"]["PolicyDocument"]
    assert policy["Version"] == "2012-10-17" and isinstance(policy["Version"], str)
    assert policy["Statement"][0]["Sid"] == "Keep"
    assert 'Version: "2012-10-17"' in text
    bucket = doc["Resources"]["UcitCcmeLoggingEuWest1Bucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"} and "PublicAccessBlockConfiguration" in bucket


def test_terraform_bundle_parses_and_declares_each_address_once(broken) -> None:
    text = render_bundle(broken.findings, RemediationKind.TERRAFORM, HEADER)
    parsed = hcl2.loads(text)
    addresses = [
        (kind.strip('"'), name.strip('"'))
        for block in parsed["resource"]
        for kind, body in block.items()
        for name in body
    ]
    assert len(addresses) == len(set(addresses))
    assert any(kind == "aws_s3_account_public_access_block" for kind, _ in addresses)


def test_yaml_quotes_strings_that_would_change_type() -> None:
    text = to_yaml({"Version": "2012-10-17", "flag": "true", "n": "1.2", "s": "plain"})
    assert 'Version: "2012-10-17"' in text and 'flag: "true"' in text and 'n: "1.2"' in text
    assert yaml.safe_load(text) == {"Version": "2012-10-17", "flag": "true", "n": "1.2", "s": "plain"}


def test_bucket_policy_merge_keeps_existing_statements(tmp_path: Path) -> None:
    """The shell fix reads the policy when it runs: every statement there stays, the seed's are added."""
    existing = {
        "Version": "2012-10-17",
        "Id": "Mine",
        "Statement": [
            {"Sid": "Keep", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
             "Resource": "arn:aws:s3:::b"},
        ],
    }
    # The report says the bucket has no policy: the script must not trust it.
    text = render_fix("s3/put-bucket-policy", RemediationKind.SH,
                      finding("R", "s3.bucket", "b", [], {"name": "b", "policy": None}))
    done = run_shell(text, tmp_path, {"b": existing})
    assert done.returncode == 0, done.stderr
    policy = done.put_policy()
    assert policy is not None and policy["Id"] == "Mine" and policy["Statement"][:2] == existing["Statement"]
    sids = [s.get("Sid") for s in policy["Statement"]]
    assert sids == ["Keep", "NoDelete", "enforce-tls-12-requests-only", "enforce-tls-requests-only"]
    again = run_shell(text, tmp_path, {"b": policy})
    assert again.put_policy() == policy  # idempotent


def test_a_policy_fix_copied_alone_from_a_report_changes_nothing(tmp_path: Path) -> None:
    text = render_fix("s3/put-bucket-policy", RemediationKind.SH,
                      finding("R", "s3.bucket", "b", [], {"name": "b", "policy": None}))
    done = run_shell(text, tmp_path, {"b": None}, merge_function=False)
    assert done.returncode != 0 and done.put_policy() is None


def test_a_customer_statement_under_a_ccme_sid_makes_the_fix_refuse(tmp_path: Path) -> None:
    existing = {"Version": "2012-10-17", "Statement": [
        {"Sid": "enforce-tls-requests-only", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::b/*"}]}
    text = render_fix("s3/put-bucket-policy", RemediationKind.SH,
                      finding("R", "s3.bucket", "b", [], {"name": "b", "policy": existing}))
    done = run_shell(text, tmp_path, {"b": existing})
    assert done.returncode != 0 and done.put_policy() is None
    assert "enforce-tls-requests-only" in done.stderr and "other content" in done.stderr


def test_an_unreadable_policy_when_the_fix_runs_makes_it_refuse(tmp_path: Path) -> None:
    for ref, rtype, rid, attributes in (
        ("s3/put-bucket-policy", "s3.bucket", "b", {"name": "b", "policy": None}),
        ("kms/put-key-policy", "kms.key", "arn:aws:kms:eu-west-1:111122223333:key/k-1",
         {"key_id": "k-1", "aliases": ["alias/ccme/cloudWatch"], "policy": None}),
    ):
        text = render_fix(ref, RemediationKind.SH, finding("CCME-KMS-POLICY-CLOUDWATCH", rtype, rid, [], attributes))
        for current in (DENIED, "not json {"):
            done = run_shell(text, tmp_path, {"b": current, "k-1": current})
            assert done.returncode != 0 and done.put_policy() is None, (ref, current, done.stderr)
            assert "nothing changed" in done.stderr or "refusing" in done.stderr


def test_a_policy_fix_without_python3_changes_nothing(tmp_path: Path) -> None:
    findings = [finding("R", "s3.bucket", "b", ["s3/put-bucket-versioning", "s3/put-bucket-policy"],
                        {"name": "b", "policy": None})]
    script = render_bundle(findings, RemediationKind.SH, HEADER)
    done = run_shell(script, tmp_path, {"b": None}, python3=False)
    assert done.returncode != 0 and "python3 is needed" in done.stderr
    assert done.calls == []  # checked before the first command


def test_unreadable_existing_policy_is_a_manual_step() -> None:
    """CloudFormation and Terraform carry the merged document: without the current one they cannot."""
    fixes = plan_fixes(
        [
            finding(
                "R",
                "s3.bucket",
                "b",
                ["s3/put-bucket-policy"],
                {"name": "b", "policy": {"$unknown": "AccessDenied"}},
            )
        ],
        RemediationKind.CLOUDFORMATION,
    )
    assert fixes[0].text is None and "could not be read" in fixes[0].problem


_ACTIONS = st.sampled_from(["s3:GetObject", "s3:PutObject", "*", "s3:*"])
_STATEMENT = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Principal": st.one_of(
            st.just("*"), st.fixed_dictionaries({"AWS": st.sampled_from(["*", "arn:aws:iam::1:root"])})
        ),
        "Action": st.one_of(_ACTIONS, st.lists(_ACTIONS, min_size=1, max_size=3)),
        "Resource": st.sampled_from(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),
    },
    optional={"Sid": st.sampled_from(["a", "b", "enforce-tls-requests-only"])},
)


@settings(max_examples=150, deadline=None)
@given(existing=st.lists(_STATEMENT, max_size=5), required=st.lists(_STATEMENT, max_size=4))
def test_merge_never_drops_and_is_idempotent(existing: list[dict[str, Any]], required: list[dict[str, Any]]) -> None:
    merged = merge_policy({"Version": "2012-10-17", "Statement": existing}, required)
    assert merged["Statement"][: len(existing)] == existing
    again = merge_policy(merged, required)
    assert again == merged
    assert len(merged["Statement"]) <= len(existing) + len(required)


def test_over_strict_tls_denies_are_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    existing = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Mine",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::1:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            },
            {
                "Sid": "too-strict",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.4"}},
            },
        ],
    }
    text = render_fix(
        "s3/put-bucket-policy",
        RemediationKind.SH,
        finding("CCME-S3-POLICY-TLS-OVERSTRICT-INTERNALS", "s3.bucket", "b", [], {"name": "b", "policy": existing}),
    )
    policy = run_shell(text, tmp_path, {"b": existing}).put_policy()
    assert policy is not None
    sids = [s.get("Sid") for s in policy["Statement"]]
    assert sids == ["Mine", "enforce-tls-12-requests-only", "enforce-tls-requests-only"]


def test_key_policy_fix_merges_the_seed_statements(tmp_path: Path) -> None:
    existing = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Admins",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    key = {"key_id": "k-1", "aliases": ["alias/ccme/cloudWatch"], "policy": existing}
    text = render_fix(
        "kms/put-key-policy",
        RemediationKind.SH,
        finding("CCME-KMS-POLICY-CLOUDWATCH", "kms.key", "arn:aws:kms:eu-west-1:111122223333:key/k-1", [], key),
    )
    assert "aws kms put-key-policy --region eu-west-1 --key-id k-1 --policy-name default" in text
    policy = run_shell(text, tmp_path, {"k-1": existing}).put_policy()
    assert policy is not None
    assert policy["Statement"][0]["Sid"] == "Admins"
    assert {"Service": "logs.eu-west-1.amazonaws.com"} in [s["Principal"] for s in policy["Statement"]]


def test_a_generated_name_is_no_value_a_fix_can_use() -> None:
    from auditor.report.remediation import fix_context
    from auditor.snapshot import generated

    name = generated("the bucket name is generated by CloudFormation at deployment", ".+-.+-[a-z0-9]{8,}")
    ctx = fix_context(finding("R-BUCKET", "s3.bucket", "t.yaml#Bucket", ["s3/put-bucket-versioning"], {"name": name}))
    assert ctx.attr("name") is None and ctx.attr("name", "fallback") == "fallback"
