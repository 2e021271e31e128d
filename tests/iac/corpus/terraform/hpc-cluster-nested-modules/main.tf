# A generic HPC stack: security groups with dynamic ingress blocks built from a map, a storage
# module called once per project with for_each, which itself calls a scratch-bucket module per
# tier (count) and an access module. Bucket names are project names: none is a CCME bucket.

variable "vpc_id" {
  type    = string
  default = "vpc-0a1b2c3d4e5f60718"
}

variable "projects" {
  type = map(object({ tiers = number, retention = number }))
  default = {
    genomics = { tiers = 2, retention = 30 }
    climate  = { tiers = 1, retention = 7 }
  }
}

locals {
  cluster_ports = {
    ssh   = { port = 22, cidrs = ["10.0.0.0/16"] }
    slurm = { port = 6817, cidrs = ["10.0.0.0/16"] }
    dcv   = { port = 8443, cidrs = ["10.0.0.0/16", "10.8.0.0/16"] }
  }
  common_tags = { Owner = "hpc-team", CostCenter = "research" }
}

resource "aws_security_group" "head_node" {
  name        = "head-node"
  description = "Head node access"
  vpc_id      = var.vpc_id

  dynamic "ingress" {
    for_each = local.cluster_ports
    iterator = svc
    content {
      description = svc.key
      from_port   = svc.value.port
      to_port     = svc.value.port
      protocol    = "tcp"
      cidr_blocks = svc.value.cidrs
    }
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(local.common_tags, { Name = "head-node" })
}

resource "aws_placement_group" "compute" {
  for_each = toset(["compute-a", "compute-b"])
  name     = each.key
  strategy = "cluster"
}

module "storage" {
  source   = "./modules/storage"
  for_each = var.projects

  project   = each.key
  tiers     = each.value.tiers
  retention = each.value.retention
  tags      = local.common_tags
}

output "scratch_buckets" {
  value = { for name, project in module.storage : name => project.bucket_names }
}
