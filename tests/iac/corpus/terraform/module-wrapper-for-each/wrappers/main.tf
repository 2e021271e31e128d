variable "defaults" {
  type    = any
  default = {}
}

variable "items" {
  type    = any
  default = {}
}

module "wrapper" {
  source   = "../"
  for_each = var.items

  name              = try(each.value.name, each.key)
  retention_in_days = try(each.value.retention_in_days, var.defaults.retention_in_days, 14)
  kms_key_id        = try(each.value.kms_key_id, var.defaults.kms_key_id, null)
  create_queue      = try(each.value.create_queue, var.defaults.create_queue, false)
  tags              = merge(try(var.defaults.tags, {}), try(each.value.tags, {}))
}

output "wrapper" {
  value = module.wrapper
}
