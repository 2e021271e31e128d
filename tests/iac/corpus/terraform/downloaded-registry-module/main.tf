# A root module that uses a registry module after `terraform init`: the module's code sits in
# .terraform/modules/<key>, and .terraform/modules/modules.json maps the call to that directory
# (the layout terraform init leaves behind, and that checkov reads too).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

module "log_bucket" {
  source  = "example-org/hpc-log-bucket/aws"
  version = "2.1.0"

  name            = "ucit-ccme-logging-eu-west-1"
  keep_versions   = true
  lifecycle_days  = 90
}

output "log_bucket_arn" {
  value = module.log_bucket.arn
}
