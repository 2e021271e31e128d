# The CCME VPC made with the VPC module at the repository root, broken: DNS hostnames are turned
# off in the call (the module's default is on), and the VPC gets no DHCP options of its own.

module "vpc" {
  source = "../../"

  name                 = "VPC-CCME"
  cidr                 = "10.50.0.0/16"
  azs                  = ["eu-west-1a", "eu-west-1b"]
  public_subnets       = ["10.50.0.0/24", "10.50.1.0/24"]
  private_subnets      = ["10.50.10.0/24", "10.50.11.0/24"]
  enable_nat_gateway   = true
  single_nat_gateway   = true
  enable_dns_hostnames = false
  enable_s3_endpoint   = true

  public_subnet_suffix  = "FrontEnd"
  private_subnet_suffix = "BackEnd"
}
