# Seed 003 ParallelCluster provisioner prerequisites (pack bbp), as auditor/demo/bbp.py seeds them: an
# isolated cluster VPC peered with the main VPC, gateway and interface endpoints, EFS and FSx for Lustre with
# S3 data repository associations, the Slurm accounting MariaDB, the Slurm job log group, a per-deployment
# ED25519 key pair, the provisioner Lambda (ECR image) behind an IAM-authorized REST API.

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "kms_prefix" {
  type    = string
  default = "ccme"
}

variable "image_tag" {
  type    = string
  default = "v1.4.2"
}

variable "deployment_public_key" {
  type    = string
  default = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx0bbpExampleOnlyNotARealKeyMaterialxxxxxxxx pcluster-vlab1-proj1"
}

data "aws_caller_identity" "current" {}

locals {
  account            = data.aws_caller_identity.current.account_id
  interface_services = ["logs", "monitoring", "cloudformation", "ec2", "sts", "secretsmanager", "elasticfilesystem"]
}

resource "aws_kms_key" "file_systems" {
  description = "CCME file_systems"
}

resource "aws_kms_alias" "file_systems" {
  name          = "alias/${var.kms_prefix}/file_systems"
  target_key_id = aws_kms_key.file_systems.key_id
}

resource "aws_kms_key" "cloudwatch" {
  description = "CCME cloudWatch"
}

resource "aws_kms_alias" "cloudwatch" {
  name          = "alias/${var.kms_prefix}/cloudWatch"
  target_key_id = aws_kms_key.cloudwatch.key_id
}

resource "aws_kms_key" "secrets" {
  description = "CCME secrets"
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.kms_prefix}/secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

# --- network: the main VPC (internet) and the isolated cluster VPC, peered ----------------------------

resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "bbp-main" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "main" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.0.1.0/24"
  availability_zone = "${var.region}a"
}

resource "aws_route_table" "main" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
  route {
    cidr_block                = "10.1.0.0/16"
    vpc_peering_connection_id = aws_vpc_peering_connection.main_cluster.id
  }
}

resource "aws_route_table_association" "main" {
  route_table_id = aws_route_table.main.id
  subnet_id      = aws_subnet.main.id
}

resource "aws_vpc" "cluster" {
  cidr_block           = "10.1.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "bbp-pcluster" }
}

resource "aws_subnet" "compute_a" {
  vpc_id                  = aws_vpc.cluster.id
  cidr_block              = "10.1.1.0/24"
  availability_zone       = "${var.region}a"
  map_public_ip_on_launch = false
  tags                    = { Name = "bbp-compute-a", HPC_Goal = "compute_cluster" }
}

resource "aws_subnet" "compute_b" {
  vpc_id                  = aws_vpc.cluster.id
  cidr_block              = "10.1.2.0/24"
  availability_zone       = "${var.region}b"
  map_public_ip_on_launch = false
  tags                    = { Name = "bbp-compute-b", HPC_Goal = "compute_cluster" }
}

resource "aws_vpc_peering_connection" "main_cluster" {
  vpc_id      = aws_vpc.main.id
  peer_vpc_id = aws_vpc.cluster.id
  auto_accept = true
}

resource "aws_route_table" "cluster" {
  vpc_id = aws_vpc.cluster.id
}

resource "aws_route" "cluster_to_main" {
  route_table_id            = aws_route_table.cluster.id
  destination_cidr_block    = "10.0.0.0/16"
  vpc_peering_connection_id = aws_vpc_peering_connection.main_cluster.id
}

resource "aws_route_table_association" "compute_a" {
  route_table_id = aws_route_table.cluster.id
  subnet_id      = aws_subnet.compute_a.id
}

resource "aws_route_table_association" "compute_b" {
  route_table_id = aws_route_table.cluster.id
  subnet_id      = aws_subnet.compute_b.id
}

resource "aws_security_group" "cluster" {
  name        = "bbp-compute-cluster"
  description = "ParallelCluster nodes"
  vpc_id      = aws_vpc.cluster.id
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["10.0.0.0/16"]
    description = "SSH from the main VPC (Workflow Service)"
  }
  ingress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    self        = true
    description = "cluster nodes"
  }
  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "endpoints" {
  name        = "bbp-endpoints"
  description = "Interface endpoints"
  vpc_id      = aws_vpc.cluster.id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "10.1.0.0/16"
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.cluster.id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.cluster.id]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "ParallelCluster", Effect = "Allow", Principal = "*", Action = ["s3:GetObject"],
      Resource = ["arn:aws:s3:::${var.region}-aws-parallelcluster/*", "arn:aws:s3:::dcv-license.${var.region}/*"] },
      { Sid = "WaitConditions", Effect = "Allow", Principal = "*", Action = ["s3:PutObject"],
      Resource = ["arn:aws:s3:::cloudformation-waitcondition-${var.region}/*"] },
      { Sid = "ProjectData", Effect = "Allow", Principal = "*", Action = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
        Resource = ["arn:aws:s3:::bbp-public-data", "arn:aws:s3:::bbp-public-data/*",
      "arn:aws:s3:::bbp-project-private", "arn:aws:s3:::bbp-project-private/*"] },
    ]
  })
}

resource "aws_vpc_endpoint" "dynamodb" {
  vpc_id            = aws_vpc.cluster.id
  service_name      = "com.amazonaws.${var.region}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.cluster.id]
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(local.interface_services)
  vpc_id              = aws_vpc.cluster.id
  service_name        = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [aws_subnet.compute_a.id, aws_subnet.compute_b.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
}

# --- storage: EFS home directories, FSx for Lustre with the project data from S3 -----------------------

resource "aws_efs_file_system" "home" {
  creation_token = "bbp-home"
  encrypted      = true
  kms_key_id     = aws_kms_key.file_systems.arn
  tags           = { Name = "bbp-home", HPC_Goal = "compute_cluster" }
}

resource "aws_fsx_lustre_file_system" "scratch" {
  storage_capacity            = 1200
  subnet_ids                  = [aws_subnet.compute_a.id]
  security_group_ids          = [aws_security_group.cluster.id]
  deployment_type             = "PERSISTENT_2"
  per_unit_storage_throughput = 250
  kms_key_id                  = aws_kms_key.file_systems.arn
  tags                        = { Name = "bbp-scratch" }
}

resource "aws_fsx_data_repository_association" "public" {
  file_system_id       = aws_fsx_lustre_file_system.scratch.id
  file_system_path     = "/project/public"
  data_repository_path = "s3://bbp-public-data/"
  s3 {
    auto_import_policy {
      events = ["NEW", "CHANGED", "DELETED"]
    }
  }
}

resource "aws_fsx_data_repository_association" "private" {
  file_system_id       = aws_fsx_lustre_file_system.scratch.id
  file_system_path     = "/project/private"
  data_repository_path = "s3://bbp-project-private/proj1/"
  s3 {
    auto_import_policy {
      events = ["NEW", "CHANGED", "DELETED"]
    }
    auto_export_policy {
      events = ["NEW", "CHANGED", "DELETED"]
    }
  }
}

# --- Slurm accounting: MariaDB, private, encrypted, two AZs; credentials in Secrets Manager -------------

resource "aws_secretsmanager_secret" "slurmdb" {
  name       = "hpc/slurmdb-credentials"
  kms_key_id = aws_kms_key.secrets.arn
}

resource "aws_db_subnet_group" "slurmdb" {
  name       = "bbp-slurmdb"
  subnet_ids = [aws_subnet.compute_a.id, aws_subnet.compute_b.id]
}

resource "aws_db_instance" "slurmdb" {
  identifier             = "slurm-accounting"
  engine                 = "mariadb"
  engine_version         = "10.11.8"
  instance_class         = "db.t4g.small"
  allocated_storage      = 20
  username               = "slurm"
  db_subnet_group_name   = aws_db_subnet_group.slurmdb.name
  publicly_accessible    = false
  storage_encrypted      = true
  vpc_security_group_ids = [aws_security_group.cluster.id]
}

resource "aws_cloudwatch_log_group" "slurm_jobs" {
  name              = "/bbp/slurm/jobs"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.cloudwatch.arn
}

# --- one deployment: its ED25519 key pair, the private key stored under the key pair's name -------------

resource "aws_key_pair" "deployment" {
  key_name   = "pcluster-vlab1-proj1"
  public_key = var.deployment_public_key
}

resource "aws_secretsmanager_secret" "deployment_key" {
  name        = "pcluster-vlab1-proj1"
  description = "Private key of the key pair pcluster-vlab1-proj1 (stored by the provisioner)"
  kms_key_id  = aws_kms_key.secrets.arn
}

# --- the provisioner: a container image Lambda behind an IAM-authorized REST API ------------------------

resource "aws_iam_role" "provisioner" {
  name = "hpc-resource-provisioner-lambda"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_lambda_function" "provisioner" {
  function_name = "hpc-resource-provisioner"
  package_type  = "Image"
  image_uri     = "${local.account}.dkr.ecr.${var.region}.amazonaws.com/hpc-resource-provisioner:${var.image_tag}"
  role          = aws_iam_role.provisioner.arn
  timeout       = 900
}

resource "aws_api_gateway_rest_api" "provisioner" {
  name = "hpc-resource-provisioner"
  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

resource "aws_api_gateway_rest_api_policy" "provisioner" {
  rest_api_id = aws_api_gateway_rest_api.provisioner.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::${local.account}:root" },
    Action = "execute-api:Invoke", Resource = "execute-api:/*" }]
  })
}

resource "aws_api_gateway_resource" "provisioner" {
  rest_api_id = aws_api_gateway_rest_api.provisioner.id
  parent_id   = aws_api_gateway_rest_api.provisioner.root_resource_id
  path_part   = "hpc-provisioner"
}

resource "aws_api_gateway_method" "provisioner" {
  for_each      = toset(["GET", "POST", "DELETE"])
  rest_api_id   = aws_api_gateway_rest_api.provisioner.id
  resource_id   = aws_api_gateway_resource.provisioner.id
  http_method   = each.key
  authorization = "AWS_IAM"
}

resource "aws_api_gateway_method" "provisioner_options" {
  rest_api_id   = aws_api_gateway_rest_api.provisioner.id
  resource_id   = aws_api_gateway_resource.provisioner.id
  http_method   = "OPTIONS"
  authorization = "NONE"
}

resource "aws_api_gateway_resource" "status" {
  rest_api_id = aws_api_gateway_rest_api.provisioner.id
  parent_id   = aws_api_gateway_rest_api.provisioner.root_resource_id
  path_part   = "status"
}

resource "aws_api_gateway_method" "status_get" {
  rest_api_id   = aws_api_gateway_rest_api.provisioner.id
  resource_id   = aws_api_gateway_resource.status.id
  http_method   = "GET"
  authorization = "AWS_IAM"
}

resource "aws_lambda_permission" "api" {
  statement_id  = "apigateway-invoke"
  function_name = aws_lambda_function.provisioner.function_name
  action        = "lambda:InvokeFunction"
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.provisioner.execution_arn}/*/*/*"
}
