# One customer managed key with its alias: the shape of a small KMS module
# (terraform-aws-modules/terraform-aws-kms style: key, aliases, a policy built from a
# root statement plus extra statements given by the caller).

variable "alias" {
  type = string
}

variable "description" {
  type    = string
  default = null
}

variable "multi_region" {
  type    = bool
  default = false
}

variable "enable_key_rotation" {
  type    = bool
  default = true
}

variable "extra_statements" {
  type    = any
  default = []
}

data "aws_caller_identity" "current" {}

locals {
  root = {
    Sid       = "RootAccount"
    Effect    = "Allow"
    Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }
}

resource "aws_kms_key" "this" {
  description         = coalesce(var.description, "key for ${var.alias}")
  multi_region        = var.multi_region
  enable_key_rotation = var.enable_key_rotation
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.root], var.extra_statements)
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}

output "key_arn" {
  value = aws_kms_key.this.arn
}
