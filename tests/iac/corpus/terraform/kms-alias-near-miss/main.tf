variable "kms_prefix" {
  type    = string
  default = "ccme"
}

locals {
  # alias suffix => description; a hand-kept map, as key modules take `aliases = [...]`
  keys = {
    "cmh_ebss"      = "Management host EBS"
    "dcv-proxy-ebs" = "DCV proxy EBS"
    "backup"        = "Backup vault"
  }
}

resource "aws_kms_key" "this" {
  for_each                = local.keys
  description             = each.value
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_kms_alias" "this" {
  for_each      = local.keys
  name          = "alias/${var.kms_prefix}/${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
