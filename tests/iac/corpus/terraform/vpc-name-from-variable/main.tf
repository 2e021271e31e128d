variable "environment" {
  type        = string
  description = "set per workspace"
}

locals {
  name = "VPC-${var.environment}"
  tags = {
    Example = "ex-${basename(path.cwd)}"
  }
}

module "vpc" {
  source = "./modules/vpc"
  name   = local.name
  cidr   = "10.0.0.0/16"
  tags   = local.tags
}

module "sandbox" {
  source = "./modules/vpc"
  name   = "ex-${basename(path.cwd)}"
  cidr   = "10.1.0.0/16"
}
