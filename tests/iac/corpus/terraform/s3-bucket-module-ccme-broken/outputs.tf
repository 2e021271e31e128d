output "s3_bucket_id" {
  description = "The bucket name, or an empty string when no bucket is created"
  value       = try(aws_s3_bucket.this[0].id, "")
}

output "s3_bucket_arn" {
  value = try(aws_s3_bucket.this[0].arn, "")
}
