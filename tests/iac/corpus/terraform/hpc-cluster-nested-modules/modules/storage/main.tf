variable "project" {
  type = string
}

variable "tiers" {
  type    = number
  default = 1
}

variable "retention" {
  type = number
}

variable "tags" {
  type    = map(string)
  default = {}
}

module "scratch" {
  source = "../scratch-bucket"
  count  = var.tiers

  name      = "${var.project}-scratch-tier${count.index}"
  retention = var.retention
  tags      = merge(var.tags, { Project = var.project })
}

module "access" {
  source = "../access"

  project     = var.project
  bucket_arns = [for m in module.scratch : m.arn]
}

resource "aws_cloudwatch_log_group" "project" {
  name              = "/hpc/${var.project}"
  retention_in_days = var.retention
}

output "bucket_names" {
  value = module.scratch[*].name
}
