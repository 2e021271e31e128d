resource "random_pet" "this" {
  length = 2
}

locals {
  bucket_name = "s3-bucket-${random_pet.this.id}"
}

module "log_bucket" {
  source = "../../"

  bucket        = "logs-${random_pet.this.id}"
  force_destroy = true
}

module "s3_bucket" {
  source = "../../"

  bucket = local.bucket_name

  versioning = {
    enabled = true
  }

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

module "cloudfront_log_bucket" {
  source = "../../"

  bucket = "cloudfront-logs-${random_pet.this.id}"
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

module "simple_regional_bucket" {
  source = "../../"

  bucket = format("simple-%s-%s-an", data.aws_caller_identity.current.account_id, data.aws_region.current.name)
}

module "replica_bucket" {
  source = "../../"

  bucket = "${module.log_bucket.s3_bucket_id}-replica"
}

module "object_bucket" {
  source = "../../"

  bucket = random_pet.this.id
}
