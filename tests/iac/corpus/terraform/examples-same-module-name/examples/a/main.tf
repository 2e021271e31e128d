module "s3_bucket" {
  source = "../../"
  bucket = "ucit-ccme-logging-eu-west-1"
}
