"""Broken variants of the example templates: the same breakage written in CloudFormation and Terraform.

`python -m tests.iac.variants` rewrites examples/*/...-broken from the compliant examples.
"""

# ruff: noqa: E501 - template text and data tables read better unwrapped
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CFN_GOOD = ROOT / "examples" / "cloudformation" / "ccme-prerequisites.yaml"
TF_GOOD = ROOT / "examples" / "terraform" / "ccme-prerequisites" / "main.tf"
CFN_BROKEN = ROOT / "examples" / "cloudformation" / "ccme-prerequisites-broken.yaml"
TF_BROKEN = ROOT / "examples" / "terraform" / "ccme-prerequisites-broken" / "main.tf"

# (what breaks, CloudFormation (old, new), Terraform (old, new))
BREAKAGE: list[tuple[str, tuple[str, str], tuple[str, str]]] = [
    (
        "cmh_ebs alias misspelt (missing)",
        ('AliasName: !Sub "alias/${KmsPrefix}/cmh_ebs"', 'AliasName: !Sub "alias/${KmsPrefix}/cmh-ebs"'),
        (
            'name          = "alias/${var.kms_prefix}/cmh_ebs"',
            'name          = "alias/${var.kms_prefix}/cmh-ebs"',
        ),
    ),
    (
        "dcv_proxy_ebs key disabled",
        (
            "      Description: CCME dcv_proxy_ebs\n",
            "      Description: CCME dcv_proxy_ebs\n      Enabled: false\n",
        ),
        (
            '  description              = "CCME dcv_proxy_ebs"\n',
            '  description              = "CCME dcv_proxy_ebs"\n  is_enabled               = false\n',
        ),
    ),
    (
        "clusters_ebs single-Region",
        (
            "      Description: CCME clusters_ebs\n      KeySpec: SYMMETRIC_DEFAULT\n      KeyUsage: ENCRYPT_DECRYPT\n"
            "      MultiRegion: true",
            "      Description: CCME clusters_ebs\n      KeySpec: SYMMETRIC_DEFAULT\n"
            "      KeyUsage: ENCRYPT_DECRYPT\n      MultiRegion: false",
        ),
        ("  multi_region             = true", "  multi_region             = false"),
    ),
    (
        "file_systems asymmetric",
        (
            "      Description: CCME file_systems\n      KeySpec: SYMMETRIC_DEFAULT",
            "      Description: CCME file_systems\n      KeySpec: RSA_2048",
        ),
        (
            '  description              = "CCME file_systems"\n  customer_master_key_spec = "SYMMETRIC_DEFAULT"',
            '  description              = "CCME file_systems"\n  customer_master_key_spec = "RSA_2048"',
        ),
    ),
    (
        "sns rotation off",
        (
            "      Description: CCME sns\n      KeySpec: SYMMETRIC_DEFAULT\n      KeyUsage: ENCRYPT_DECRYPT\n"
            "      MultiRegion: false\n      EnableKeyRotation: true",
            "      Description: CCME sns\n      KeySpec: SYMMETRIC_DEFAULT\n      KeyUsage: ENCRYPT_DECRYPT\n"
            "      MultiRegion: false\n      EnableKeyRotation: false",
        ),
        (
            '  description              = "CCME sns"\n  customer_master_key_spec = "SYMMETRIC_DEFAULT"\n'
            '  key_usage                = "ENCRYPT_DECRYPT"\n  multi_region             = false\n'
            "  enable_key_rotation      = true",
            '  description              = "CCME sns"\n  customer_master_key_spec = "SYMMETRIC_DEFAULT"\n'
            '  key_usage                = "ENCRYPT_DECRYPT"\n  multi_region             = false\n'
            "  enable_key_rotation      = false",
        ),
    ),
    (
        "cloudWatch alias in lower case",
        (
            'AliasName: !Sub "alias/${KmsPrefix}/cloudWatch"',
            'AliasName: !Sub "alias/${KmsPrefix}/cloudwatch"',
        ),
        (
            'name          = "alias/${var.kms_prefix}/cloudWatch"',
            'name          = "alias/${var.kms_prefix}/cloudwatch"',
        ),
    ),
    (
        "lambda key spec from a parameter without a value (unresolvable)",
        (
            "      Description: CCME lambda\n      KeySpec: SYMMETRIC_DEFAULT",
            "      Description: CCME lambda\n      KeySpec: !Ref LambdaKeySpec",
        ),
        (
            '  description              = "CCME lambda"\n  customer_master_key_spec = "SYMMETRIC_DEFAULT"',
            '  description              = "CCME lambda"\n  customer_master_key_spec = var.lambda_key_spec',
        ),
    ),
    (
        "the parameter itself",
        ("Parameters:\n", "Parameters:\n  LambdaKeySpec: {Type: String}\n"),
        (
            'variable "kms_prefix" {',
            'variable "lambda_key_spec" {\n  type = string\n}\n\nvariable "kms_prefix" {',
        ),
    ),
    (
        "internals versioning suspended",
        (
            '      BucketName: !Sub "ucit-${KmsPrefix}-internals-${AWS::Region}"\n'
            "      PublicAccessBlockConfiguration:\n        BlockPublicAcls: true\n        BlockPublicPolicy: true\n"
            "        IgnorePublicAcls: true\n        RestrictPublicBuckets: true\n"
            "      VersioningConfiguration: {Status: Enabled}",
            '      BucketName: !Sub "ucit-${KmsPrefix}-internals-${AWS::Region}"\n'
            "      PublicAccessBlockConfiguration:\n        BlockPublicAcls: true\n        BlockPublicPolicy: true\n"
            "        IgnorePublicAcls: true\n        RestrictPublicBuckets: false\n"
            "      VersioningConfiguration: {Status: Suspended}",
        ),
        (
            'resource "aws_s3_bucket_versioning" "internals" {\n  bucket = aws_s3_bucket.internals.id\n'
            '  versioning_configuration {\n    status = "Enabled"',
            'resource "aws_s3_bucket_versioning" "internals" {\n  bucket = aws_s3_bucket.internals.id\n'
            '  versioning_configuration {\n    status = "Suspended"',
        ),
    ),
    (
        "internals public access not fully blocked (Terraform side)",
        ("", ""),
        (
            'resource "aws_s3_bucket_public_access_block" "internals" {\n  bucket                  = '
            "aws_s3_bucket.internals.id\n  block_public_acls       = true\n  block_public_policy     = true\n"
            "  ignore_public_acls      = true\n  restrict_public_buckets = true",
            'resource "aws_s3_bucket_public_access_block" "internals" {\n  bucket                  = '
            "aws_s3_bucket.internals.id\n  block_public_acls       = true\n  block_public_policy     = true\n"
            "  ignore_public_acls      = true\n  restrict_public_buckets = false",
        ),
    ),
    (
        "internals logs under the wrong prefix",
        ('LogFilePrefix: !Sub "ucit-${KmsPrefix}-internals-${AWS::Region}/"', "LogFilePrefix: logs/"),
        ('target_prefix = "${aws_s3_bucket.internals.id}/"', 'target_prefix = "logs/"'),
    ),
    (
        "userdata encrypted with KMS instead of AES256",
        (
            '      BucketName: !Sub "ucit-${KmsPrefix}-userdata-${AWS::Region}"\n'
            "      PublicAccessBlockConfiguration:\n        BlockPublicAcls: true\n        BlockPublicPolicy: true\n"
            "        IgnorePublicAcls: true\n        RestrictPublicBuckets: true\n"
            "      VersioningConfiguration: {Status: Enabled}\n      BucketEncryption:\n"
            "        ServerSideEncryptionConfiguration:\n          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}",
            '      BucketName: !Sub "ucit-${KmsPrefix}-userdata-${AWS::Region}"\n'
            "      PublicAccessBlockConfiguration:\n        BlockPublicAcls: true\n        BlockPublicPolicy: true\n"
            "        IgnorePublicAcls: true\n        RestrictPublicBuckets: true\n"
            "      BucketEncryption:\n"
            "        ServerSideEncryptionConfiguration:\n          - ServerSideEncryptionByDefault: "
            '{SSEAlgorithm: "aws:kms", KMSMasterKeyID: !Ref S3Alias}',
        ),
        (
            'resource "aws_s3_bucket_server_side_encryption_configuration" "userdata" {\n'
            "  bucket = aws_s3_bucket.userdata.id\n  rule {\n    apply_server_side_encryption_by_default {\n"
            '      sse_algorithm = "AES256"',
            'resource "aws_s3_bucket_server_side_encryption_configuration" "userdata" {\n'
            "  bucket = aws_s3_bucket.userdata.id\n  rule {\n    apply_server_side_encryption_by_default {\n"
            '      sse_algorithm     = "aws:kms"\n      kms_master_key_id = aws_kms_alias.s3.name',
        ),
    ),
    (
        "userdata versioning never enabled (Terraform side)",
        ("", ""),
        (
            'resource "aws_s3_bucket_versioning" "userdata" {\n  bucket = aws_s3_bucket.userdata.id\n'
            '  versioning_configuration {\n    status = "Enabled"',
            'resource "aws_s3_bucket_versioning" "userdata" {\n  bucket = aws_s3_bucket.userdata.id\n'
            '  versioning_configuration {\n    status = "Disabled"',
        ),
    ),
    (
        "VPC without DNS hostnames",
        ("      EnableDnsHostnames: true", "      EnableDnsHostnames: false"),
        ("  enable_dns_hostnames = true", "  enable_dns_hostnames = false"),
    ),
]


def _apply(text: str, pairs: list[tuple[str, str]], what: str) -> str:
    for old, new in pairs:
        if not old:
            continue
        if text.count(old) != 1:
            raise ValueError(f"{what}: expected exactly one {old[:60]!r}")
        text = text.replace(old, new)
    return text


def broken_cloudformation() -> str:
    return _apply(CFN_GOOD.read_text(encoding="utf-8"), [b[1] for b in BREAKAGE], "cloudformation")


def broken_terraform() -> str:
    return _apply(TF_GOOD.read_text(encoding="utf-8"), [b[2] for b in BREAKAGE], "terraform")


def main() -> None:
    CFN_BROKEN.write_text(
        "# Generated by python -m tests.iac.variants: every breakage listed in tests/iac/variants.py\n"
        + broken_cloudformation(),
        encoding="utf-8",
    )
    TF_BROKEN.parent.mkdir(parents=True, exist_ok=True)
    TF_BROKEN.write_text(
        "# Generated by python -m tests.iac.variants: every breakage listed in tests/iac/variants.py\n"
        + broken_terraform(),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
