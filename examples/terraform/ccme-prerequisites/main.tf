# CCME prerequisites (seed 000) in Terraform: the same account as
# examples/cloudformation/ccme-prerequisites.yaml, resource by resource.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "kms_prefix" {
  type    = string
  default = "ccme"
}

variable "certificate_domain" {
  type    = string
  default = "ccme.example.com"
}

data "aws_caller_identity" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  root_statement = {
    Sid       = "Enable IAM User Permissions"
    Effect    = "Allow"
    Principal = { AWS = "arn:aws:iam::${local.account}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }
  asg_role = "arn:aws:iam::${local.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
  buckets = {
    logging   = "ucit-${var.kms_prefix}-logging-${var.region}"
    internals = "ucit-${var.kms_prefix}-internals-${var.region}"
    userdata  = "ucit-${var.kms_prefix}-userdata-${var.region}"
  }
}

resource "aws_kms_key" "cmh_ebs" {
  description              = "CCME cmh_ebs"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.root_statement]
  })
}

resource "aws_kms_alias" "cmh_ebs" {
  name          = "alias/${var.kms_prefix}/cmh_ebs"
  target_key_id = aws_kms_key.cmh_ebs.key_id
}

resource "aws_kms_key" "dcv_proxy_ebs" {
  description              = "CCME dcv_proxy_ebs"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Id      = "KMS DCV Proxy Policy"
    Version = "2012-10-17"
    Statement = [
      local.root_statement,
      {
        Sid       = "Allow use of the key"
        Effect    = "Allow"
        Principal = { AWS = local.asg_role }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
      },
      {
        Sid       = "Allow attachment of persistent resources"
        Effect    = "Allow"
        Principal = { AWS = local.asg_role }
        Action    = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
        Resource  = "*"
        Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } }
      },
    ]
  })
}

resource "aws_kms_alias" "dcv_proxy_ebs" {
  name          = "alias/${var.kms_prefix}/dcv_proxy_ebs"
  target_key_id = aws_kms_key.dcv_proxy_ebs.key_id
}

resource "aws_kms_key" "clusters_ebs" {
  description              = "CCME clusters_ebs"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = true
  enable_key_rotation      = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.root_statement]
  })
}

resource "aws_kms_alias" "clusters_ebs" {
  name          = "alias/${var.kms_prefix}/clusters_ebs"
  target_key_id = aws_kms_key.clusters_ebs.key_id
}

resource "aws_kms_key" "file_systems" {
  description              = "CCME file_systems"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.root_statement]
  })
}

resource "aws_kms_alias" "file_systems" {
  name          = "alias/${var.kms_prefix}/file_systems"
  target_key_id = aws_kms_key.file_systems.key_id
}

resource "aws_kms_key" "s3" {
  description              = "CCME s3"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.root_statement]
  })
}

resource "aws_kms_alias" "s3" {
  name          = "alias/${var.kms_prefix}/s3"
  target_key_id = aws_kms_key.s3.key_id
}

resource "aws_kms_key" "sns" {
  description              = "CCME sns"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.root_statement]
  })
}

resource "aws_kms_alias" "sns" {
  name          = "alias/${var.kms_prefix}/sns"
  target_key_id = aws_kms_key.sns.key_id
}

resource "aws_kms_key" "secrets" {
  description              = "CCME secrets"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.root_statement]
  })
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.kms_prefix}/secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_kms_key" "cloudwatch" {
  description              = "CCME cloudWatch"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "KMS CloudWatch Policy"
    Statement = [
      local.root_statement,
      {
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "cloudwatch" {
  name          = "alias/${var.kms_prefix}/cloudWatch"
  target_key_id = aws_kms_key.cloudwatch.key_id
}

resource "aws_kms_key" "lambda" {
  description              = "CCME lambda"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  key_usage                = "ENCRYPT_DECRYPT"
  multi_region             = false
  enable_key_rotation      = true
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.root_statement]
  })
}

resource "aws_kms_alias" "lambda" {
  name          = "alias/${var.kms_prefix}/lambda"
  target_key_id = aws_kms_key.lambda.key_id
}

resource "aws_s3_bucket" "logging" {
  bucket = local.buckets.logging
}

resource "aws_s3_bucket_public_access_block" "logging" {
  bucket                  = aws_s3_bucket.logging.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logging" {
  bucket = aws_s3_bucket.logging.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logging" {
  bucket = aws_s3_bucket.logging.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_policy" "logging" {
  bucket = aws_s3_bucket.logging.id
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "CCMEBucketPolicy"
    Statement = [
      {
        Sid       = "enforce-tls-12-requests-only"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = ["${aws_s3_bucket.logging.arn}/*", aws_s3_bucket.logging.arn]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
      {
        Sid       = "enforce-tls-requests-only"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = ["${aws_s3_bucket.logging.arn}/*", aws_s3_bucket.logging.arn]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "S3ServerAccessLogsPolicy"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logging.arn}/*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
    ]
  })
}

resource "aws_s3_bucket" "internals" {
  bucket = local.buckets.internals
}

resource "aws_s3_bucket_public_access_block" "internals" {
  bucket                  = aws_s3_bucket.internals.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "internals" {
  bucket = aws_s3_bucket.internals.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "internals" {
  bucket = aws_s3_bucket.internals.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "internals" {
  bucket        = aws_s3_bucket.internals.id
  target_bucket = aws_s3_bucket.logging.id
  target_prefix = "${aws_s3_bucket.internals.id}/"
}

resource "aws_s3_bucket_policy" "internals" {
  bucket = aws_s3_bucket.internals.id
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "CCMEBucketPolicy"
    Statement = [
      {
        Sid       = "enforce-tls-12-requests-only"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = ["${aws_s3_bucket.internals.arn}/*", aws_s3_bucket.internals.arn]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
      {
        Sid       = "enforce-tls-requests-only"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = ["${aws_s3_bucket.internals.arn}/*", aws_s3_bucket.internals.arn]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_s3_bucket" "userdata" {
  bucket = local.buckets.userdata
}

resource "aws_s3_bucket_public_access_block" "userdata" {
  bucket                  = aws_s3_bucket.userdata.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "userdata" {
  bucket = aws_s3_bucket.userdata.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "userdata" {
  bucket = aws_s3_bucket.userdata.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "userdata" {
  bucket        = aws_s3_bucket.userdata.id
  target_bucket = aws_s3_bucket.logging.id
  target_prefix = "${aws_s3_bucket.userdata.id}/"
}

resource "aws_s3_bucket_policy" "userdata" {
  bucket = aws_s3_bucket.userdata.id
  policy = jsonencode({
    Version = "2012-10-17"
    Id      = "CCMEBucketPolicy"
    Statement = [
      {
        Sid       = "enforce-tls-12-requests-only"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = ["${aws_s3_bucket.userdata.arn}/*", aws_s3_bucket.userdata.arn]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
      {
        Sid       = "enforce-tls-requests-only"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "*"
        Resource  = ["${aws_s3_bucket.userdata.arn}/*", aws_s3_bucket.userdata.arn]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_vpc" "vpc" {
  cidr_block           = "10.0.0.0/16"
  instance_tenancy     = "default"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "VPC-CCME" }
}

resource "aws_vpc_dhcp_options" "dhcp" {
  domain_name         = "${var.region}.compute.internal"
  domain_name_servers = ["AmazonProvidedDNS"]
  tags                = { Name = "CCME-DHCP" }
}

resource "aws_vpc_dhcp_options_association" "dhcp" {
  vpc_id          = aws_vpc.vpc.id
  dhcp_options_id = aws_vpc_dhcp_options.dhcp.id
}

resource "aws_subnet" "frontend1" {
  vpc_id                  = aws_vpc.vpc.id
  cidr_block              = "10.0.1.0/24"
  availability_zone       = "${var.region}a"
  map_public_ip_on_launch = true
  tags                    = { Name = "CCME-FrontEnd-subnet-az1" }
}

resource "aws_subnet" "frontend2" {
  vpc_id                  = aws_vpc.vpc.id
  cidr_block              = "10.0.2.0/24"
  availability_zone       = "${var.region}b"
  map_public_ip_on_launch = true
  tags                    = { Name = "CCME-FrontEnd-subnet-az2" }
}

resource "aws_subnet" "backend1" {
  vpc_id                  = aws_vpc.vpc.id
  cidr_block              = "10.0.3.0/24"
  availability_zone       = "${var.region}a"
  map_public_ip_on_launch = false
  tags                    = { Name = "CCME-BackEnd-subnet-az1" }
}

resource "aws_subnet" "backend2" {
  vpc_id                  = aws_vpc.vpc.id
  cidr_block              = "10.0.4.0/24"
  availability_zone       = "${var.region}b"
  map_public_ip_on_launch = false
  tags                    = { Name = "CCME-BackEnd-subnet-az2" }
}

resource "aws_internet_gateway" "igw" {
  vpc_id = aws_vpc.vpc.id
  tags   = { Name = "CCME-IGW" }
}

resource "aws_eip" "nat" {
  domain = "vpc"
}

resource "aws_nat_gateway" "nat" {
  allocation_id     = aws_eip.nat.id
  subnet_id         = aws_subnet.frontend1.id
  connectivity_type = "public"
  tags              = { Name = "CCME-NGW" }
}

resource "aws_route_table" "frontend" {
  vpc_id = aws_vpc.vpc.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.igw.id
  }
  tags = { Name = "CCME-FrontEnd-rt" }
}

resource "aws_route_table" "backend" {
  vpc_id = aws_vpc.vpc.id
  tags   = { Name = "CCME-BackEnd-rt" }
}

resource "aws_route" "backend_default" {
  route_table_id         = aws_route_table.backend.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.nat.id
}

resource "aws_route_table_association" "frontend1" {
  subnet_id      = aws_subnet.frontend1.id
  route_table_id = aws_route_table.frontend.id
}

resource "aws_route_table_association" "frontend2" {
  subnet_id      = aws_subnet.frontend2.id
  route_table_id = aws_route_table.frontend.id
}

resource "aws_route_table_association" "backend1" {
  subnet_id      = aws_subnet.backend1.id
  route_table_id = aws_route_table.backend.id
}

resource "aws_route_table_association" "backend2" {
  subnet_id      = aws_subnet.backend2.id
  route_table_id = aws_route_table.backend.id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.vpc.id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.frontend.id, aws_route_table.backend.id]
}

resource "aws_secretsmanager_secret" "directory" {
  name        = "ccme-directory-reader"
  description = "Password of the directory read-only user (plaintext string)"
  kms_key_id  = aws_kms_alias.secrets.name
}

resource "aws_acm_certificate" "alb" {
  domain_name       = var.certificate_domain
  validation_method = "DNS"
}
