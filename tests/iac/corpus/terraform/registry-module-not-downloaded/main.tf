# A stack that takes its network from a registry module but was never `terraform init`-ed: the
# module's resources cannot be read, and whatever reads its outputs is unknown.

module "network" {
  source  = "example-org/hpc-network/aws"
  version = "~> 3.2"

  cidr = "10.20.0.0/16"
  azs  = ["eu-west-1a", "eu-west-1b"]
}

resource "aws_security_group" "login" {
  name        = "login-nodes"
  description = "SSH to the login nodes from the campus range"
  vpc_id      = module.network.vpc_id

  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["192.0.2.0/24"]
  }
}

resource "aws_cloudwatch_log_group" "jobs" {
  name              = "/hpc/jobs"
  retention_in_days = 30
}
