# The nine CCME keys, one module instance each (for_each over a map), the DCV proxy and CloudWatch
# keys with their extra statements. Broken on purpose: clusters_ebs is single-Region (the
# requirement is a multi-Region key) and the lambda key has rotation off.

variable "region" {
  default = "eu-west-1"
}

variable "prefix" {
  default = "ccme"
}

data "aws_caller_identity" "current" {}

locals {
  asg_role = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"

  extra = {
    dcv_proxy_ebs = [
      {
        Sid       = "UseByAutoScaling"
        Effect    = "Allow"
        Principal = { AWS = local.asg_role }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
      },
      {
        Sid       = "GrantsForAwsResources"
        Effect    = "Allow"
        Principal = { AWS = local.asg_role }
        Action    = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
        Resource  = "*"
        Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } }
      },
    ]
    cloudWatch = [
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
      },
    ]
  }

  keys = {
    for name in ["cmh_ebs", "dcv_proxy_ebs", "clusters_ebs", "file_systems", "s3", "sns", "secrets", "cloudWatch", "lambda"] :
    name => {
      multi_region = false
      rotation     = name != "lambda"
    }
  }
}

module "key" {
  source   = "./modules/kms-key"
  for_each = local.keys

  alias               = "${var.prefix}/${each.key}"
  multi_region        = each.value.multi_region
  enable_key_rotation = each.value.rotation
  extra_statements    = lookup(local.extra, each.key, [])
}
