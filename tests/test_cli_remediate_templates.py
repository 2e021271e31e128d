"""Remediation of a templates' report (through the real entry point): the fix goes to the templates as a
unified diff that `git apply --check` accepts, and a rescan of the patched templates passes the rules it fixes
(and fails nothing new); no live-account command is built from a template's resource; options that cannot
change a report are refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.engine.findings import Finding

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ["examples/cloudformation/ccme-prerequisites-broken.yaml", "examples/terraform/ccme-prerequisites-broken"]
CONFIG = ["-c", "examples/config/ccme-prerequisites.yaml"]


# The info advisory the seed's own CloudWatch key policy draws (the examples keep the seed's policy as written): no
# template fix changes it, so it is left out of the before/after comparisons.
ADVISORY = "CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH"


def fails(report: Path) -> set[tuple[str, str]]:
    data = json.loads(report.read_text())
    return {(f["rule_id"], f["resource_id"]) for f in data["findings"]
            if f["status"] == "FAIL" and f["rule_id"] != ADVISORY}


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_template_report_is_fixed_by_a_patch_that_applies_and_passes(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "before.json"]) == 1
    before = fails(repo / "before.json")
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    err = capsys.readouterr().err
    patch = (repo / "fix.patch").read_text()
    assert patch.startswith("--- a/examples/")
    assert "+      EnableKeyRotation: true" in patch and "+  enable_key_rotation      = true" in patch
    assert "remediate: not patched: CCME-KMS-REGIONALITY-CLUSTERS-EBS" in err  # a new key: a person's call
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "after.json"]) == 1
    after = fails(repo / "after.json")
    fixed = before - after
    assert after <= before  # nothing new fails
    both = {"CCME-KMS-ROTATION-SNS", "CCME-KMS-KEY-DCV-PROXY-EBS", "CCME-VPC-DNS-HOSTNAMES", "CCME-S3-PAB-INTERNALS",
            "CCME-S3-SSE-AES256-USERDATA", "CCME-S3-VERSIONING-INTERNALS", "CCME-S3-VERSIONING-USERDATA"}
    # Terraform sets a bucket's access logging in a resource of its own, changed where the finding is;
    # CloudFormation's LoggingConfiguration names a bucket: a person's call.
    terraform_only = {"CCME-S3-ACCESS-LOGGING-INTERNALS"}
    assert {rule for rule, _ in fixed} == both | terraform_only
    assert len(fixed) == 2 * len(both) + len(terraform_only)
    assert '-    status = "Suspended"\n+    status = "Enabled"' in patch  # in aws_s3_bucket_versioning.internals
    assert "-      kms_master_key_id = aws_kms_alias.s3.name" in patch  # AES256 takes no key
    assert "+      VersioningConfiguration: {Status: Enabled}" in patch
    assert "-        RestrictPublicBuckets: false" in patch  # the nested block is replaced as a whole


def test_no_live_command_is_built_from_a_template(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "r.json"]) == 1
    capsys.readouterr()
    for kind in ("sh", "cloudformation", "terraform"):
        assert main(["remediate", "r.json", "--format", kind]) == 0
        out, err = capsys.readouterr()
        assert "#" not in "".join(line for line in out.splitlines() if not line.lstrip().startswith("#"))
        assert "--key-id" not in out and "vpc-examples" not in out
        assert "`--format patch` writes their fix to the templates" in err


def test_options_that_cannot_change_a_report_are_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iac", *BROKEN[:1], *CONFIG, "-f", "json", "-o", "r.json"]) == 1
    capsys.readouterr()
    assert main(["remediate", "r.json", "--set", "account=111122223333"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("ccme-audit: error: r.json: --set: --set cannot change a report")


def _drop_resource(text: str, rtype: str, name: str) -> str:
    head = f'resource "{rtype}" "{name}" {{\n'
    start = text.index(head)
    return text[:start] + text[text.index("\n}\n", start) + 3:]


def test_terraform_bucket_settings_missing_resources_are_added_after_the_bucket(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_tf = repo / "examples/terraform/ccme-prerequisites/main.tf"
    text = main_tf.read_text()
    for rtype in ("aws_s3_bucket_versioning", "aws_s3_bucket_logging"):
        text = _drop_resource(text, rtype, "userdata")
    main_tf.write_text(text)
    target = ["examples/terraform/ccme-prerequisites"]
    assert main(["iac", *target, *CONFIG, "-f", "json", "-o", "before.json"]) == 1
    before = {rule for rule, _ in fails(repo / "before.json")}
    assert before == {"CCME-S3-VERSIONING-USERDATA", "CCME-S3-ACCESS-LOGGING-USERDATA"}
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    patch = (repo / "fix.patch").read_text()
    for rtype in ("aws_s3_bucket_versioning", "aws_s3_bucket_logging"):
        assert f'+resource "{rtype}" "userdata" {{\n+  bucket = aws_s3_bucket.userdata.id\n' in patch
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert main(["iac", *target, *CONFIG, "-f", "json", "-o", "after.json"]) == 0
    assert fails(repo / "after.json") == set()


def test_a_bucket_setting_written_inline_is_left_for_a_person(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.report.templatefix import SPLIT_FIXES, SplitEdit, patch_files

    (repo / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n  versioning {\n'
                                  '    enabled = false\n  }\n}\n')
    edit = SplitEdit("main.tf", "aws_s3_bucket.b", SPLIT_FIXES["versioning"], "R")
    patch, missed = patch_files([edit], root=repo)
    assert patch == "" and len(missed) == 1 and "sets `versioning` inline" in missed[0][1]


# Policy breakage planted in the copies of the examples: a statement removed from a declared policy, a bucket
# policy removed altogether; the fix merges the CCME statements into what is declared and keeps the rest.
CFN_ALLOW_USE = """          - Sid: Allow use of the key
            Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"}
            Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
            Resource: "*"
"""  # noqa: E501
CFN_HTTP_DENY = """          - Sid: enforce-tls-requests-only
            Effect: Deny
            Principal: {AWS: "*"}
            Action: "*"
            Resource: [!Sub "${InternalsBucket.Arn}/*", !GetAtt InternalsBucket.Arn]
            Condition:
              Bool: {"aws:SecureTransport": "false"}
"""
TF_ALLOW_USE = """      {
        Sid       = "Allow use of the key"
        Effect    = "Allow"
        Principal = { AWS = local.asg_role }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
      },
"""
TF_HTTP_DENY = """      {
        Sid       = "enforce-tls-requests-only"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = ["${aws_s3_bucket.internals.arn}/*", aws_s3_bucket.internals.arn]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
"""
POLICY_RULES = {"CCME-KMS-POLICY-DCV-PROXY", "CCME-S3-POLICY-SECURETRANSPORT-INTERNALS",
                "CCME-S3-POLICY-SECURETRANSPORT-USERDATA", "CCME-S3-POLICY-TLS12-USERDATA"}


def _plant_policy_faults(repo: Path) -> None:
    cfn = repo / BROKEN[0]
    text = cfn.read_text()
    assert CFN_ALLOW_USE in text and CFN_HTTP_DENY in text
    text = text.replace(CFN_ALLOW_USE, "", 1).replace(CFN_HTTP_DENY, "", 1)
    start = text.index("  UserdataBucketPolicy:\n")
    end = text.index("\n  ", text.index('              Bool: {"aws:SecureTransport": "false"}\n', start) + 10)
    cfn.write_text(text[:start] + text[end + 1:])
    tf = repo / BROKEN[1] / "main.tf"
    text = tf.read_text()
    assert TF_ALLOW_USE in text and TF_HTTP_DENY in text
    text = text.replace(TF_ALLOW_USE, "", 1).replace(TF_HTTP_DENY, "", 1)
    tf.write_text(_drop_resource(text, "aws_s3_bucket_policy", "userdata"))


def test_policy_fixes_merge_into_the_declared_policies_and_the_rescan_passes(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _plant_policy_faults(repo)
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "before.json"]) == 1
    before = fails(repo / "before.json")
    assert {rule for rule, _ in before} >= POLICY_RULES
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    err = capsys.readouterr().err
    assert "the policy is not merged" not in err, err
    patch = (repo / "fix.patch").read_text()
    # Merged: only lines added to the declared policies, every declared statement kept.
    assert "+          - Sid: Allow use of the key" in patch and "-          - Sid:" not in patch
    assert "+  InternalsBucketPolicy" not in patch and "+  UserdataBucketPolicy:\n" in patch
    assert "+          - !Sub \"${UserdataBucket.Arn}/*\"" in patch  # the template's own names
    assert '+        Sid = "enforce-tls-requests-only"' in patch and '-        Sid' not in patch
    assert '+resource "aws_s3_bucket_policy" "userdata" {' in patch
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert main(["iac", *BROKEN, *CONFIG, "-f", "json", "-o", "after.json"]) == 1
    after = fails(repo / "after.json")
    assert after <= before
    assert not {rule for rule, _ in after} & POLICY_RULES
    assert {rule for rule, _ in before - after} >= POLICY_RULES


def test_the_bbp_terraform_keys_get_the_seed_policy_and_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = ["examples/terraform/bbp-provisioner-broken",
              "-c", "examples/config/bbp-provisioner-broken-terraform.yaml"]
    assert main(["iac", *target, "-f", "json", "-o", "before.json"]) == 1
    before = {rule for rule, _ in fails(repo / "before.json")}
    policy_rules = {rule for rule in before if rule.startswith("CCME-KMS-POLICY-")}
    assert {"CCME-KMS-POLICY-ROOT-SECRETS", "CCME-KMS-POLICY-OUTSIDE-SECRETS",
            "CCME-KMS-POLICY-CLOUDWATCH"} <= policy_rules
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert main(["iac", *target, "-f", "json", "-o", "after.json"]) == 1
    after = {rule for rule, _ in fails(repo / "after.json")}
    assert not after & policy_rules and after < before


def test_a_declared_statement_reusing_a_ccme_sid_with_other_content_refuses_the_fix(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfn = repo / BROKEN[0]
    text = cfn.read_text()
    clash = CFN_HTTP_DENY.replace('[!Sub "${InternalsBucket.Arn}/*", !GetAtt InternalsBucket.Arn]',
                                  '[!Sub "${InternalsBucket.Arn}/*"]')
    cfn.write_text(text.replace(CFN_HTTP_DENY, clash, 1))
    assert main(["iac", BROKEN[0], *CONFIG, "-f", "json", "-o", "r.json"]) == 1
    assert ("CCME-S3-POLICY-SECURETRANSPORT-INTERNALS", "ucit-ccme-internals-eu-west-1") in fails(repo / "r.json")
    capsys.readouterr()
    assert main(["remediate", "r.json", "--format", "patch", "-o", "fix.patch"]) == 0
    err = capsys.readouterr().err
    assert ("remediate: not patched: CCME-S3-POLICY-SECURETRANSPORT-INTERNALS "
            f"{BROKEN[0]}:259: the policy is not merged: its statement \"enforce-tls-requests-only\" has other "
            "content than the CCME statement of that Sid: rename or remove it, then fix again") in err
    assert "InternalsBucketPolicy" not in (repo / "fix.patch").read_text()


def _policy_finding(repo: Path, capsys: pytest.CaptureFixture[str]) -> Finding:
    _plant_policy_faults(repo)
    assert main(["iac", BROKEN[1], *CONFIG, "-f", "json", "-o", "r.json"]) == 1
    capsys.readouterr()
    from auditor.report.common import evaluation_from_report

    findings = evaluation_from_report(json.loads((repo / "r.json").read_text()), file="r.json").findings
    return next(f for f in findings if f.rule_id == "CCME-S3-POLICY-SECURETRANSPORT-INTERNALS")


def test_a_policy_not_written_in_the_template_is_left_for_a_person(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.report.templatefix import patch_files, plan

    finding = _policy_finding(repo, capsys)
    main_tf = repo / BROKEN[1] / "main.tf"
    text = main_tf.read_text()
    start = text.index('resource "aws_s3_bucket_policy" "internals" {\n')
    end = text.index("\n}\n", start)
    main_tf.write_text(text[:start] + 'resource "aws_s3_bucket_policy" "internals" {\n'
                       '  bucket = aws_s3_bucket.internals.id\n  policy = file("internals-policy.json")' + text[end:])
    steps = plan([finding])
    assert not steps.manual and len(steps.edits) == 1
    patch, missed = patch_files(steps.edits)
    assert patch == "" and len(missed) == 1
    assert missed[0][1] == ('the policy is not merged: the policy is not written in the template '
                            '(file("internals-policy.json")): add the CCME statements by hand')


def test_a_policy_with_an_unresolved_reference_is_left_for_a_person(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from auditor.report.templatefix import plan
    from auditor.snapshot import UNKNOWN_KEY

    finding = _policy_finding(repo, capsys)
    attributes = dict(finding.context["attributes"])
    policy = dict(attributes["policy"])
    policy["Statement"] = [*policy["Statement"], {"Effect": "Allow", "Principal": {UNKNOWN_KEY: "var.reader"},
                                                   "Action": "s3:GetObject", "Resource": "*"}]
    attributes["policy"] = policy
    finding = dataclasses.replace(finding, context={**finding.context, "attributes": attributes})
    steps = plan([finding])
    assert not steps.edits
    assert steps.manual[0][1] == ("the policy is not merged: the declared policy is not literal (var.reader): add "
                                  "the CCME statements by hand")


HEREDOC_POLICY = '''resource "aws_s3_bucket_policy" "internals" {
  bucket = aws_s3_bucket.internals.id
  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "enforce-tls-12-requests-only",
          "Effect": "Deny",
          "Principal": {"AWS": "*"},
          "Action": "*",
          "Resource": ["${aws_s3_bucket.internals.arn}/*", "${aws_s3_bucket.internals.arn}"],
          "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
        }
      ]
    }
  EOT
}'''
DOCUMENT_POLICY = '''data "aws_iam_policy_document" "userdata" {
  statement {
    sid       = "enforce-tls-12-requests-only"
    effect    = "Deny"
    actions   = ["*"]
    resources = ["${aws_s3_bucket.userdata.arn}/*", aws_s3_bucket.userdata.arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "userdata" {
  bucket = aws_s3_bucket.userdata.id
  policy = data.aws_iam_policy_document.userdata.json
}'''


def test_heredoc_and_policy_document_forms_are_merged_and_pass(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_tf = repo / BROKEN[1] / "main.tf"
    text = main_tf.read_text()
    for name, form in (("internals", HEREDOC_POLICY), ("userdata", DOCUMENT_POLICY)):
        start = text.index(f'resource "aws_s3_bucket_policy" "{name}" {{\n')
        text = text[:start] + form + text[text.index("\n}\n", start) + 2:]
    main_tf.write_text(text)
    assert main(["iac", BROKEN[1], *CONFIG, "-f", "json", "-o", "before.json"]) == 1
    wanted = {"CCME-S3-POLICY-SECURETRANSPORT-INTERNALS", "CCME-S3-POLICY-SECURETRANSPORT-USERDATA"}
    assert wanted <= {rule for rule, _ in fails(repo / "before.json")}
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    assert "the policy is not merged" not in capsys.readouterr().err
    patch = (repo / "fix.patch").read_text()
    assert '+          "Sid": "enforce-tls-requests-only",' in patch
    assert not [line for line in patch.splitlines() if line.startswith("-") and not line.startswith("---")
                and ("Sid" in line or "Principal" in line or "Resource" in line or "statement" in line)]
    assert '+    sid = "enforce-tls-requests-only"' in patch
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert main(["iac", BROKEN[1], *CONFIG, "-f", "json", "-o", "after.json"]) == 1
    assert not {rule for rule, _ in fails(repo / "after.json")} & wanted


def test_a_cloudformation_json_template_gets_the_statements_merged_and_passes(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.iac.cloudformation.template import decode

    _plant_policy_faults(repo)
    document, problem = decode(repo / BROKEN[0])
    assert problem is None
    template = repo / "examples/cloudformation/ccme-prerequisites-broken.json"
    template.write_text(json.dumps(document, indent=2, default=str) + "\n")
    (repo / BROKEN[0]).unlink()
    target = [str(template.relative_to(repo)), *CONFIG]
    assert main(["iac", *target, "-f", "json", "-o", "before.json"]) == 1
    before = fails(repo / "before.json")
    assert {rule for rule, _ in before} >= POLICY_RULES
    capsys.readouterr()
    assert main(["remediate", "before.json", "--format", "patch", "-o", "fix.patch"]) == 0
    assert "the policy is not merged" not in capsys.readouterr().err
    patch = (repo / "fix.patch").read_text()
    assert '+              "Sid": "Allow use of the key",' in patch
    assert '+    "UserdataBucketPolicy": {' in patch and '"Fn::GetAtt": [' in patch
    assert not [line for line in patch.splitlines() if line.startswith("-") and not line.startswith("---")]
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    json.loads(template.read_text())
    assert main(["iac", *target, "-f", "json", "-o", "after.json"]) == 1
    after = fails(repo / "after.json")
    assert after <= before and not {rule for rule, _ in after} & POLICY_RULES
