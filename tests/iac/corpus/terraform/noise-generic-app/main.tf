terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "environments" {
  type    = set(string)
  default = ["dev", "staging"]
}

locals {
  common_tags = {
    Project   = "web-shop"
    ManagedBy = "terraform"
  }
}

# No bucket argument: Terraform names it terraform-<timestamp><counter>.
resource "aws_s3_bucket" "scratch" {
  force_destroy = true
  tags          = local.common_tags
}

# bucket_prefix: <prefix><timestamp><counter>, one per environment.
resource "aws_s3_bucket" "uploads" {
  for_each      = var.environments
  bucket_prefix = "web-shop-uploads-${each.key}-"
  tags          = merge(local.common_tags, { Environment = each.key })
}

resource "aws_s3_bucket_versioning" "uploads" {
  for_each = aws_s3_bucket.uploads
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

# Named with a random suffix, as the terraform-aws-modules examples do: s3-bucket-<pet>.
resource "random_pet" "this" {
  length = 2
}

resource "aws_s3_bucket" "logs" {
  bucket        = "web-shop-logs-${random_pet.this.id}"
  force_destroy = true
}

# A named bucket that is not one of the CCME buckets.
resource "aws_s3_bucket" "static_site" {
  bucket = "web-shop-static-assets-eu-west-1"
  tags   = local.common_tags
}

resource "aws_s3_bucket_public_access_block" "static_site" {
  bucket                  = aws_s3_bucket.static_site.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# An untagged VPC: not the CCME VPC (VPC-CCME by name, or network.vpc_id).
resource "aws_vpc" "app" {
  cidr_block           = "10.60.0.0/16"
  enable_dns_hostnames = true
}

resource "aws_subnet" "app" {
  count             = 2
  vpc_id            = aws_vpc.app.id
  cidr_block        = cidrsubnet(aws_vpc.app.cidr_block, 8, count.index)
  availability_zone = "${var.region}${count.index == 0 ? "a" : "b"}"
}

resource "aws_security_group" "web" {
  name_prefix = "web-"
  vpc_id      = aws_vpc.app.id

  dynamic "ingress" {
    for_each = [80, 443]
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }
}

# name_prefix: a generated secret name.
resource "aws_secretsmanager_secret" "db" {
  name_prefix = "web-shop/db-"
}

resource "aws_kms_key" "app" {
  description         = "web-shop application data"
  enable_key_rotation = true
}

resource "aws_kms_alias" "app" {
  name          = "alias/web-shop/app"
  target_key_id = aws_kms_key.app.key_id
}

output "scratch_bucket" {
  value = aws_s3_bucket.scratch.id
}
