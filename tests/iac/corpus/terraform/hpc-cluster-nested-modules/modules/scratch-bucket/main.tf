variable "name" {
  type = string
}

variable "retention" {
  type = number
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "encryption" {
  type    = list(object({ algorithm = string, key = optional(string) }))
  default = [{ algorithm = "aws:kms", key = null }]
}

resource "aws_s3_bucket" "this" {
  bucket = var.name
  tags   = var.tags
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  dynamic "rule" {
    for_each = var.encryption
    content {
      apply_server_side_encryption_by_default {
        sse_algorithm     = rule.value.algorithm
        kms_master_key_id = rule.value.key
      }
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    id     = "expire"
    status = "Enabled"
    expiration {
      days = var.retention
    }
  }
}

output "arn" {
  value = aws_s3_bucket.this.arn
}

output "name" {
  value = aws_s3_bucket.this.id
}
