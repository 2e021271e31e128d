variable "project" {
  type = string
}

variable "bucket_arns" {
  type = list(string)
}

resource "aws_iam_policy" "scratch" {
  name = "${var.project}-scratch-access"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
      Resource = flatten([for arn in var.bucket_arns : [arn, "${arn}/*"]])
    }]
  })
}
