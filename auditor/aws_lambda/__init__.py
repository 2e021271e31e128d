"""The scheduled Lambda door: scan, store reports in S3, notify changes on SNS, emit metrics.

Nothing here may import the IaC loaders or checkov (the package ships without them).
"""
