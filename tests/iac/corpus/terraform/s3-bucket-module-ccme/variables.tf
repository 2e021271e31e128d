variable "create_bucket" {
  description = "Whether to create the bucket at all"
  type        = bool
  default     = true
}

variable "bucket" {
  description = "The bucket name; null lets AWS/Terraform generate one"
  type        = string
  default     = null
}

variable "force_destroy" {
  type    = bool
  default = false
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "versioning" {
  description = "Map: enabled (bool) or status (string)"
  type        = map(string)
  default     = {}
}

variable "logging" {
  description = "Map: target_bucket, target_prefix"
  type        = map(string)
  default     = {}
}

variable "server_side_encryption_configuration" {
  description = "Map with a rule object (or list of rule objects)"
  type        = any
  default     = {}
}

variable "attach_public_policy_block" {
  type    = bool
  default = true
}

variable "block_public_acls" {
  type    = bool
  default = true
}

variable "block_public_policy" {
  type    = bool
  default = true
}

variable "ignore_public_acls" {
  type    = bool
  default = true
}

variable "restrict_public_buckets" {
  type    = bool
  default = true
}

variable "deny_insecure_transport" {
  type    = bool
  default = false
}

variable "require_latest_tls" {
  type    = bool
  default = false
}

variable "allow_log_delivery" {
  type    = bool
  default = false
}
