variable "kms_prefix" {
  type    = string
  default = "ccme"
}

# Key module call shape of terraform-aws-modules/terraform-aws-kms: one key per entry, its aliases beside it.
locals {
  keys = {
    "cmh_ebss"      = "Management host EBS"
    "Clusters_EBS"  = "Cluster nodes EBS"
    "file_sytems"   = "EFS and FSx"
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
