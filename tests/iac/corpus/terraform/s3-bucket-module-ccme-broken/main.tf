# A reusable S3 bucket module kept at the repository root, in the shape of terraform-aws-modules'
# s3-bucket module: one optional bucket (count), every setting a separate resource fed by
# map-typed variables, dynamic blocks for the encryption rules and a composed bucket policy.

locals {
  create_bucket = var.create_bucket
  policy_wanted = var.deny_insecure_transport || var.require_latest_tls || var.allow_log_delivery
  bucket_arn    = try(aws_s3_bucket.this[0].arn, "")

  insecure_transport = var.deny_insecure_transport ? [{
    Sid       = "denyInsecureTransport"
    Effect    = "Deny"
    Principal = "*"
    Action    = "s3:*"
    Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }] : []

  old_tls = var.require_latest_tls ? [{
    Sid       = "denyOutdatedTLS"
    Effect    = "Deny"
    Principal = "*"
    Action    = "s3:*"
    Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
    Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
  }] : []

  log_delivery = var.allow_log_delivery ? [{
    Sid       = "s3ServerAccessLogs"
    Effect    = "Allow"
    Principal = { Service = "logging.s3.amazonaws.com" }
    Action    = "s3:PutObject"
    Resource  = "${local.bucket_arn}/*"
  }] : []

  versioning_status = try(
    tobool(var.versioning["enabled"]) ? "Enabled" : "Suspended",
    lower(var.versioning["status"]) == "enabled" ? "Enabled" : "Suspended",
    "Suspended",
  )
}

resource "aws_s3_bucket" "this" {
  count = local.create_bucket ? 1 : 0

  bucket        = var.bucket
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_versioning" "this" {
  count = local.create_bucket && length(keys(var.versioning)) > 0 ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  versioning_configuration {
    status = local.versioning_status
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = local.create_bucket && length(keys(var.logging)) > 0 ? 1 : 0

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = var.logging["target_bucket"]
  target_prefix = try(var.logging["target_prefix"], null)
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = local.create_bucket && length(keys(var.server_side_encryption_configuration)) > 0 ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  dynamic "rule" {
    for_each = try(flatten([var.server_side_encryption_configuration["rule"]]), [])

    content {
      bucket_key_enabled = try(rule.value.bucket_key_enabled, null)

      dynamic "apply_server_side_encryption_by_default" {
        for_each = try([rule.value.apply_server_side_encryption_by_default], [])

        content {
          sse_algorithm     = apply_server_side_encryption_by_default.value.sse_algorithm
          kms_master_key_id = try(apply_server_side_encryption_by_default.value.kms_master_key_id, null)
        }
      }
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = local.create_bucket && var.attach_public_policy_block ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = var.block_public_acls
  block_public_policy     = var.block_public_policy
  ignore_public_acls      = var.ignore_public_acls
  restrict_public_buckets = var.restrict_public_buckets
}

resource "aws_s3_bucket_policy" "this" {
  count = local.create_bucket && local.policy_wanted ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.insecure_transport, local.old_tls, local.log_delivery)
  })
}
