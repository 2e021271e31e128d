"""Private-deployment packages: the seed lists rendered from dependencies.yaml, checked in a directory or S3."""
