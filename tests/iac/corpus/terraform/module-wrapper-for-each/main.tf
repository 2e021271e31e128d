# A small log-group-and-queue module at the repository root; wrappers/ calls it once per item of a
# map, each argument taken from the item, else from shared defaults, else a fallback (the wrapper
# pattern terraform-aws-modules ships, so that one module block can make many instances).

variable "name" {
  type = string
}

variable "retention_in_days" {
  type    = number
  default = 14
}

variable "kms_key_id" {
  type    = string
  default = null
}

variable "create_queue" {
  type    = bool
  default = false
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/app/${var.name}"
  retention_in_days = var.retention_in_days
  kms_key_id        = var.kms_key_id
  tags              = var.tags
}

resource "aws_sqs_queue" "this" {
  count                   = var.create_queue ? 1 : 0
  name                    = "${var.name}-events"
  sqs_managed_sse_enabled = true
  tags                    = var.tags
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.this.name
}

output "queue_url" {
  value = try(aws_sqs_queue.this[0].url, null)
}
