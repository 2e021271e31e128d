# A bucket module of the AWS provider v3 era, upgraded halfway to v4: the split resources were added
# beside the bucket's legacy inline blocks, which were left in place.

variable "logging_bucket" {
  type    = string
  default = "ucit-ccme-logging-eu-west-1"
}

variable "internals_bucket" {
  type    = string
  default = "ucit-ccme-internals-eu-west-1"
}

resource "aws_s3_bucket" "logging" {
  bucket = var.logging_bucket

  versioning {
    enabled = false
  }
}

resource "aws_s3_bucket_versioning" "logging" {
  bucket = aws_s3_bucket.logging.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket" "internals" {
  bucket = var.internals_bucket

  versioning {
    enabled = true
  }

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowReadFromAnywhere"
      Effect    = "Allow"
      Principal = "*"
      Action    = "s3:GetObject"
      Resource  = "arn:aws:s3:::${var.internals_bucket}/*"
    }]
  })
}

resource "aws_s3_bucket_versioning" "internals" {
  bucket = aws_s3_bucket.internals.id
  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "tls" {
  statement {
    sid     = "enforce-tls-requests-only"
    effect  = "Deny"
    actions = ["s3:*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.internals.arn, "${aws_s3_bucket.internals.arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "internals" {
  bucket = aws_s3_bucket.internals.id
  policy = data.aws_iam_policy_document.tls.json
}
