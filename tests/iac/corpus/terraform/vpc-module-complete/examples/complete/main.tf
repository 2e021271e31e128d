# The "complete" example: three AZs, subnet CIDRs computed with for expressions and cidrsubnet,
# one NAT gateway per AZ and an S3 gateway endpoint. Nothing here is named as a CCME resource.

locals {
  name     = "ex-complete"
  vpc_cidr = "10.0.0.0/16"
  azs      = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  tags = {
    Example    = local.name
    Repository = "local"
  }
}

module "vpc" {
  source = "../../"

  name = local.name
  cidr = local.vpc_cidr
  azs  = local.azs

  private_subnets = [for k, v in local.azs : cidrsubnet(local.vpc_cidr, 4, k)]
  public_subnets  = [for k, v in local.azs : cidrsubnet(local.vpc_cidr, 8, k + 48)]

  enable_nat_gateway = true
  enable_s3_endpoint = true
  tags               = local.tags
}

output "vpc_id" {
  value = module.vpc.vpc_id
}
