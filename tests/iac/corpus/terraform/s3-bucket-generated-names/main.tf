# Buckets whose names Terraform or the random provider makes at apply time, as in the
# terraform-aws-modules s3-bucket examples (random_pet suffixes, bucket_prefix, no name at all),
# plus a map of buckets made with for_each and lifecycle rules from a dynamic block.

resource "random_pet" "this" {
  length = 2
}

locals {
  bucket_name = "s3-bucket-${random_pet.this.id}"
  archives = {
    raw     = { days = 30, storage_class = "GLACIER" }
    results = { days = 365, storage_class = "DEEP_ARCHIVE" }
  }
}

resource "aws_s3_bucket" "named_at_apply" {
  bucket = local.bucket_name
}

resource "aws_s3_bucket" "prefixed" {
  bucket_prefix = "sim-output-"
}

resource "aws_s3_bucket" "anonymous" {
}

resource "aws_s3_bucket" "archive" {
  for_each = local.archives
  bucket   = "research-archive-${each.key}-${random_pet.this.id}"
}

resource "aws_s3_bucket_lifecycle_configuration" "archive" {
  for_each = local.archives
  bucket   = aws_s3_bucket.archive[each.key].id

  dynamic "rule" {
    for_each = [each.value]
    content {
      id     = "to-${lower(rule.value.storage_class)}"
      status = "Enabled"
      transition {
        days          = rule.value.days
        storage_class = rule.value.storage_class
      }
    }
  }
}

resource "aws_s3_bucket_versioning" "named_at_apply" {
  bucket = aws_s3_bucket.named_at_apply.id
  versioning_configuration {
    status = "Suspended"
  }
}
