"""IaC gate speed: `ccme-audit iac` against checkov on the same generated corpus.

    python bench/iac.py [--templates 200] [--tf-dirs 50] [--install-checkov] [--keep DIR] [--repeat 1] [--json FILE]

The corpus (in a temp dir unless --keep): N CloudFormation templates and M Terraform directories
of about 25 resources each (KMS keys and aliases, buckets with their policies and settings, a VPC
with subnets, routes and an S3 endpoint); each Terraform directory takes its three buckets from a
shared local module (terraform/modules/bucket, for_each and a dynamic block), so module following
is part of the timing for both tools. Times, as subprocesses with the same interpreter start:
- ccme-audit iac <corpus> (every IaC rule of the ccme pack, JSON report to a file);
- checkov -d <corpus> limited to its S3/KMS checks equivalent to the CCME ones (--check);
- checkov -d <corpus> with every check.
checkov is found on PATH, or in bench/out/checkov-venv (created with --install-checkov).
Prints the wall times and the ratios; --json FILE also writes them as JSON (for bench/run_all.py).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_json  # noqa: E402

# checkov checks that look at what the CCME S3/KMS rules look at (versioning, logging, encryption,
# public access block, key rotation, key policy, secure transport is not a checkov CFN check).
CHECKOV_EQUIVALENT = [
    "CKV_AWS_21", "CKV_AWS_18", "CKV_AWS_19", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56",
    "CKV_AWS_7", "CKV_AWS_33", "CKV2_AWS_6", "CKV2_AWS_64", "CKV_AWS_145",
]


def cfn_template(i: int) -> str:
    out = ['AWSTemplateFormatVersion: "2010-09-09"', "Parameters:", "  Prefix: {Type: String, Default: ccme}",
           "Resources:"]
    for k in range(4):
        out += [f"  Key{k}:", "    Type: AWS::KMS::Key", "    Properties:", f"      Description: key {i}-{k}",
                "      EnableKeyRotation: true", f"      MultiRegion: {'true' if k == 0 else 'false'}",
                "      KeyPolicy:", '        Version: "2012-10-17"', "        Statement:",
                "          - Effect: Allow",
                '            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}',
                '            Action: "kms:*"', '            Resource: "*"',
                f"  Alias{k}:", "    Type: AWS::KMS::Alias", "    Properties:",
                f'      AliasName: !Sub "alias/${{Prefix}}/k{i}_{k}"', f"      TargetKeyId: !Ref Key{k}"]
    for b in range(3):
        out += [f"  Bucket{b}:", "    Type: AWS::S3::Bucket", "    Properties:",
                f'      BucketName: !Sub "ucit-${{Prefix}}-b{i}-{b}-${{AWS::Region}}"',
                "      VersioningConfiguration: {Status: Enabled}",
                "      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, "
                "IgnorePublicAcls: true, RestrictPublicBuckets: true}",
                "      BucketEncryption:", "        ServerSideEncryptionConfiguration:",
                "          - ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}",
                "      LoggingConfiguration: {DestinationBucketName: !Ref Bucket0, LogFilePrefix: logs/}",
                f"  Bucket{b}Policy:", "    Type: AWS::S3::BucketPolicy", "    Properties:",
                f"      Bucket: !Ref Bucket{b}", "      PolicyDocument:", '        Version: "2012-10-17"',
                "        Statement:", "          - Effect: Deny", '            Principal: {AWS: "*"}',
                '            Action: "*"',
                f'            Resource: [!Sub "${{Bucket{b}.Arn}}/*", !GetAtt Bucket{b}.Arn]',
                '            Condition: {Bool: {"aws:SecureTransport": "false"}}']
    out += ["  Vpc:", "    Type: AWS::EC2::VPC", "    Properties: {CidrBlock: 10.0.0.0/16, EnableDnsHostnames: true, "
            "Tags: [{Key: Name, Value: VPC-CCME}]}"]
    for s in range(4):
        out += [f"  Subnet{s}:", "    Type: AWS::EC2::Subnet",
                f"    Properties: {{VpcId: !Ref Vpc, CidrBlock: 10.0.{s}.0/24, "
                f"AvailabilityZone: eu-west-1{'ab'[s % 2]}}}",
                f"  Subnet{s}Assoc:", "    Type: AWS::EC2::SubnetRouteTableAssociation",
                f"    Properties: {{SubnetId: !Ref Subnet{s}, RouteTableId: !Ref Rt}}"]
    out += ["  Rt:", "    Type: AWS::EC2::RouteTable", "    Properties: {VpcId: !Ref Vpc}",
            "  S3Endpoint:", "    Type: AWS::EC2::VPCEndpoint",
            '    Properties: {VpcId: !Ref Vpc, ServiceName: !Sub "com.amazonaws.${AWS::Region}.s3", '
            "RouteTableIds: [!Ref Rt]}"]
    return "\n".join(out) + "\n"


def tf_directory(i: int) -> str:
    out = ['variable "prefix" {\n  default = "ccme"\n}\n', 'data "aws_caller_identity" "me" {}\n']
    for k in range(4):
        out.append(f'resource "aws_kms_key" "k{k}" {{\n  description = "key {i}-{k}"\n  enable_key_rotation = true\n'
                   f'  multi_region = {"true" if k == 0 else "false"}\n'
                   '  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", '
                   'Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.me.account_id}:root" }, '
                   'Action = "kms:*", Resource = "*" }] })\n}\n')
        out.append(f'resource "aws_kms_alias" "a{k}" {{\n  name = "alias/${{var.prefix}}/k{i}_{k}"\n'
                   f"  target_key_id = aws_kms_key.k{k}.key_id\n}}\n")
    # The buckets come from a shared local module (modules/bucket), called with for_each, as
    # terraform-aws-modules users do: both tools have to follow the call to see them.
    out.append('module "buckets" {\n  source   = "../modules/bucket"\n  for_each = toset(["0", "1", "2"])\n'
               f'  name     = "ucit-${{var.prefix}}-t{i}-${{each.key}}-eu-west-1"\n}}\n')
    out.append('resource "aws_vpc" "v" {\n  cidr_block = "10.0.0.0/16"\n  enable_dns_hostnames = true\n}\n')
    for s in range(3):
        out.append(f'resource "aws_subnet" "s{s}" {{\n  vpc_id = aws_vpc.v.id\n  cidr_block = "10.0.{s}.0/24"\n'
                   f'  availability_zone = "eu-west-1{"ab"[s % 2]}"\n}}\n')
    out.append('resource "aws_route_table" "rt" {\n  vpc_id = aws_vpc.v.id\n}\n')
    return "\n".join(out)


TF_BUCKET_MODULE = """variable "name" {
  type = string
}

variable "sse" {
  default = [{ algorithm = "AES256" }]
}

resource "aws_s3_bucket" "this" {
  bucket = var.name
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  dynamic "rule" {
    for_each = var.sse
    content {
      apply_server_side_encryption_by_default {
        sse_algorithm = rule.value.algorithm
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Principal = "*", Action = "s3:*",
    Resource = ["${aws_s3_bucket.this.arn}/*"], Condition = { Bool = { "aws:SecureTransport" = "false" } } }] })
}

output "id" {
  value = aws_s3_bucket.this.id
}
"""


def build(root: Path, templates: int, tf_dirs: int) -> int:
    (root / "cloudformation").mkdir(parents=True, exist_ok=True)
    for i in range(templates):
        (root / "cloudformation" / f"stack{i:04d}.yaml").write_text(cfn_template(i), encoding="utf-8")
    if tf_dirs:
        shared = root / "terraform" / "modules" / "bucket"
        shared.mkdir(parents=True, exist_ok=True)
        (shared / "main.tf").write_text(TF_BUCKET_MODULE, encoding="utf-8")
    for i in range(tf_dirs):
        d = root / "terraform" / f"module{i:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "main.tf").write_text(tf_directory(i), encoding="utf-8")
    return templates + tf_dirs


def find_checkov(install: bool) -> str | None:
    on_path = shutil.which("checkov")
    if on_path:
        return on_path
    venv = HERE / "out" / "checkov-venv"
    exe = venv / "bin" / "checkov"
    if exe.exists():
        return str(exe)
    if not install:
        return None
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "checkov"], check=True)
    return str(exe)


CPU: dict[str, float] = {}


def timed(command: list[str], repeat: int = 1, label: str = "") -> tuple[float, int]:
    """Best wall time of `repeat` runs (a shared machine's load only ever adds time) and the last exit code.

    Also keeps, under `label` in CPU, the least CPU time (user + system, the command and its worker
    processes) of the runs: on a loaded machine wall times swing, CPU time much less."""
    best, code, cpu = float("inf"), 0, float("inf")
    for _ in range(max(1, repeat)):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        best, code = min(best, time.perf_counter() - start), done.returncode
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    CPU[label] = cpu
    return best, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=200)
    parser.add_argument("--tf-dirs", type=int, default=50)
    parser.add_argument("--install-checkov", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="build the corpus here and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    parser.add_argument("--repeat", type=int, default=1, help="time each tool this many times, keep the best")
    args = parser.parse_args()
    figures: dict = {"templates": args.templates, "tf_dirs": args.tf_dirs, "repeat": args.repeat}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "corpus"
        count = build(root, args.templates, args.tf_dirs)
        report = Path(tmp) / "report.json"
        print(f"corpus: {args.templates} CloudFormation templates + {args.tf_dirs} Terraform directories "
              f"(~25 resources each) = {count} units in {root}")
        ours, code = timed([sys.executable, "-m", "auditor", "iac", str(root), "--pack", "ccme",
                            "--set", "account=111122223333", "-f", "json", "-o", str(report)], args.repeat, "ours")
        print(f"ccme-audit iac:               {ours:8.2f} s (exit {code}; CPU {CPU['ours']:.2f} s)")
        figures.update(units=count, ccme_audit_s=ours, ccme_audit_exit=code, ccme_audit_cpu_s=CPU["ours"])
        checkov = find_checkov(args.install_checkov)
        if checkov is None:
            print("checkov: not found (put it on PATH, or run with --install-checkov)")
            figures["checkov"] = None
            write_json(args.json, figures)
            return
        base = [checkov, "-d", str(root), "--skip-download", "-o", "json", "--quiet"]
        limited, limited_code = timed([*base, "--check", ",".join(CHECKOV_EQUIVALENT)], args.repeat, "limited")
        print(f"checkov -d (S3/KMS checks):   {limited:8.2f} s   ratio ccme-audit/checkov {ours / limited:.3f}"
              f"   (CPU {CPU['limited']:.2f} s, ratio {CPU['ours'] / CPU['limited']:.3f})")
        full, full_code = timed(base, args.repeat, "full")
        print(f"checkov -d (every check):     {full:8.2f} s   ratio ccme-audit/checkov {ours / full:.3f}"
              f"   (CPU {CPU['full']:.2f} s, ratio {CPU['ours'] / CPU['full']:.3f})")
        version = subprocess.run([checkov, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        figures["checkov"] = {"version": version, "equivalent_checks": CHECKOV_EQUIVALENT,
                              "limited_s": limited, "limited_exit": limited_code,
                              "full_s": full, "full_exit": full_code,
                              "limited_cpu_s": CPU["limited"], "full_cpu_s": CPU["full"]}
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
