"""A resource's identity includes its Terraform root module directory (issue 23)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.iac import load_paths

pytest.importorskip("hcl2")

MODULE = """
variable "bucket" { type = string }
resource "aws_s3_bucket" "this" {
  bucket = var.bucket
}
resource "aws_vpc" "this" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_subnet" "a" {
  vpc_id     = aws_vpc.this.id
  cidr_block = "10.0.1.0/24"
}
"""
EXAMPLE = """
resource "random_pet" "this" {}
module "s3_bucket" {
  source = "../../"
  bucket = "logs-${random_pet.this.id}"
}
"""


def test_examples_calling_one_module_by_the_same_name_keep_distinct_ids(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MODULE, encoding="utf-8")
    for name in ("complete", "simple", "replication"):
        (tmp_path / "examples" / name).mkdir(parents=True)
        (tmp_path / "examples" / name / "main.tf").write_text(EXAMPLE, encoding="utf-8")
    loaded = load_paths([tmp_path], region="eu-west-1", account="111122223333")
    for rtype in ("s3.bucket", "ec2.vpc", "ec2.subnet"):
        ids = [r.id for r in loaded.snapshot.resources if r.type == rtype]
        assert len(ids) == 3 and len(set(ids)) == 3, ids
        for name in ("complete", "simple", "replication"):
            assert sum(f"examples/{name}::" in i for i in ids) == 1, ids
    # Each subnet belongs to the VPC of its own root, not to another example's.
    vpcs = {r.id for r in loaded.snapshot.resources if r.type == "ec2.vpc"}
    for subnet in (r for r in loaded.snapshot.resources if r.type == "ec2.subnet"):
        vpc = subnet.attributes["vpc_id"]
        root = subnet.id.split("::")[0].removeprefix("subnet-")
        assert vpc in vpcs and vpc.split("::")[0] == f"vpc-{root}"


def test_a_single_root_keeps_its_ids(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MODULE.replace("var.bucket", '"team-logs"'), encoding="utf-8")
    loaded = load_paths([tmp_path], region="eu-west-1", account="111122223333")
    (bucket,) = [r for r in loaded.snapshot.resources if r.type == "s3.bucket"]
    assert bucket.id == "team-logs"
