# The CCME prerequisite buckets built with the module at the repository root, the way the
# terraform-aws-modules examples call their module (source = "../../").

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

locals {
  names = {
    logging   = "ucit-ccme-logging-${var.region}"
    internals = "ucit-ccme-internals-${var.region}"
    userdata  = "ucit-ccme-userdata-${var.region}"
  }
  aes256 = {
    rule = {
      apply_server_side_encryption_by_default = { sse_algorithm = "AES256" }
    }
  }
}

module "logging_bucket" {
  source = "../../"

  bucket                               = local.names.logging
  versioning                           = { enabled = true }
  server_side_encryption_configuration = local.aes256
  deny_insecure_transport              = true
  require_latest_tls                   = true
  allow_log_delivery                   = true
  tags                                 = { Role = "logging" }
}

module "data_buckets" {
  source   = "../../"
  for_each = toset(["internals", "userdata"])

  bucket                               = local.names[each.key]
  versioning                           = { status = "Enabled" }
  server_side_encryption_configuration = local.aes256
  deny_insecure_transport              = true
  require_latest_tls                   = true
  logging = {
    target_bucket = module.logging_bucket.s3_bucket_id
    target_prefix = "${local.names[each.key]}/"
  }
  tags = { Role = each.key }
}

output "bucket_ids" {
  value = [for m in module.data_buckets : m.s3_bucket_id]
}
