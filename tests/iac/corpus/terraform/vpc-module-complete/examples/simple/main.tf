# The "simple" example: private subnets only, no NAT, no internet gateway.

module "vpc" {
  source = "../.."

  name            = "simple-example"
  cidr            = "10.1.0.0/16"
  azs             = ["eu-west-1a", "eu-west-1b"]
  private_subnets = ["10.1.1.0/24", "10.1.2.0/24"]
}
