"""Variants of the bbp provisioner examples: per bbp rule, the same breakage (FAIL) and the same unresolvable
value (ERROR) written in CloudFormation and Terraform, with the resource the finding must name.

Edits are grouped: the edits of one group apply together to one copy of the compliant example (one load per
group and flavour keeps the tests fast); edits that would mask each other sit in different groups.
`python -m tests.iac.bbp_variants` rewrites examples/*/bbp-provisioner-broken from group 1.
"""

# ruff: noqa: E501 - template text reads better unwrapped
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.iac.variants import ROOT

CFN_GOOD = ROOT / "examples" / "cloudformation" / "bbp-provisioner.yaml"
TF_GOOD = ROOT / "examples" / "terraform" / "bbp-provisioner" / "main.tf"
CFN_BROKEN = ROOT / "examples" / "cloudformation" / "bbp-provisioner-broken.yaml"
TF_BROKEN = ROOT / "examples" / "terraform" / "bbp-provisioner-broken" / "main.tf"


@dataclass(frozen=True)
class Variant:
    rule: str
    status: str  # the verdict the rule must give on `cfn_key` / `tf_key`
    group: int
    what: str
    cfn: tuple[tuple[str, str], ...]  # (old, new) edits; old must occur exactly once
    tf: tuple[tuple[str, str], ...]
    cfn_key: str  # logical id of the resource the finding names ('' for a missing resource)
    tf_key: str  # Terraform address (instance key included) of that resource
    missing_id: str = ""  # for a resource the rule expects but the template lacks
    located: bool = True  # False for derived resources (ec2.topology) that carry no template line


UNSET_CFN = ("Parameters:\n", "Parameters:\n  Unset: {Type: String}\n")
UNSET_TF = ('variable "region" {', 'variable "unset" {\n  type = string\n}\n\nvariable "region" {')

NAT_CFN = """  ClusterNat:
    Type: AWS::EC2::NatGateway
    Properties: {SubnetId: !Ref ComputeSubnetB, ConnectivityType: private}
  ClusterDefaultRoute:
    Type: AWS::EC2::Route
    Properties: {RouteTableId: !Ref ClusterRouteTable, DestinationCidrBlock: 0.0.0.0/0, NatGatewayId: !Ref ClusterNat}
  ClusterIgw:
    Type: AWS::EC2::InternetGateway
  ClusterIgwAttachment:
    Type: AWS::EC2::VPCGatewayAttachment
    Properties: {VpcId: !Ref ClusterVpc, InternetGatewayId: !Ref ClusterIgw}
  Peering:
"""
NAT_TF = """resource "aws_nat_gateway" "cluster" {
  subnet_id         = aws_subnet.compute_b.id
  connectivity_type = "private"
}

resource "aws_route" "cluster_default" {
  route_table_id         = aws_route_table.cluster.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.cluster.id
}

resource "aws_internet_gateway" "cluster" {
  vpc_id = aws_vpc.cluster.id
}

resource "aws_vpc_peering_connection" "main_cluster" {
"""
DEBUG_CFN = """  DebugSsh:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupName: bbp-debug-ssh
      GroupDescription: temporary
      VpcId: !Ref ClusterVpc
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}]
  S3Endpoint:
"""
DEBUG_TF = """resource "aws_security_group" "debug" {
  name        = "bbp-debug-ssh"
  description = "temporary"
  vpc_id      = aws_vpc.cluster.id
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_vpc_endpoint" "s3" {
"""
OUTSIDE_CFN = """  OutsideSsh:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupName: bbp-outside-ssh
      GroupDescription: partner access
      VpcId: !Ref ClusterVpc
      SecurityGroupIngress: [{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/1}]
  S3Endpoint:
"""
OUTSIDE_TF = """resource "aws_security_group" "outside" {
  name        = "bbp-outside-ssh"
  description = "partner access"
  vpc_id      = aws_vpc.cluster.id
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["10.0.0.0/1"]
  }
}

resource "aws_vpc_endpoint" "s3" {
"""
CFN_POLICY = """      Policy:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}, Action: "execute-api:Invoke", Resource: "execute-api:/*"}
"""
CFN_S3_WAIT = """          - Sid: WaitConditions
            Effect: Allow
            Principal: "*"
            Action: ["s3:PutObject"]
            Resource: [!Sub "arn:aws:s3:::cloudformation-waitcondition-${AWS::Region}/*"]
"""
TF_S3_WAIT = """      { Sid = "WaitConditions", Effect = "Allow", Principal = "*", Action = ["s3:PutObject"],
      Resource = ["arn:aws:s3:::cloudformation-waitcondition-${var.region}/*"] },
"""
CFN_PERMISSION = '      Principal: apigateway.amazonaws.com\n      SourceArn: !Sub "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${ProvisionerApi}/*/*/*"'
TF_PERMISSION = '  principal     = "apigateway.amazonaws.com"\n  source_arn    = "${aws_api_gateway_rest_api.provisioner.execution_arn}/*/*/*"'
TF_S3_POLICY_START = "  policy = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [\n      { Sid = \"ParallelCluster\""
CFN_INTERFACE = 'ServiceName: !Sub "com.amazonaws.${AWS::Region}.%s"'


def iface(service: str) -> str:
    """The CloudFormation properties of one interface endpoint of the example, from its service name on."""
    return (CFN_INTERFACE % service + "\n      VpcEndpointType: Interface\n"
            "      SubnetIds: [!Ref ComputeSubnetA, !Ref ComputeSubnetB]\n"
            "      SecurityGroupIds: [!GetAtt EndpointSg.GroupId]\n      PrivateDnsEnabled: true")


TF_DNS = "  private_dns_enabled = true"
IFACE_TF = 'aws_vpc_endpoint.interface["%s"]'

V = Variant

# A second Project's cluster whose FSx mounts the first Project's private prefix (seed 003: private assets
# "not visible among Projects").
OTHER_PROJECT_CFN = """  OtherScratchFileSystem:
    Type: AWS::FSx::FileSystem
    Properties:
      FileSystemType: LUSTRE
      StorageCapacity: 1200
      SubnetIds: [!Ref ComputeSubnetA]
      KmsKeyId: !Ref FileSystemsKey
      LustreConfiguration: {DeploymentType: PERSISTENT_2, PerUnitStorageThroughput: 250}
  OtherPrivateDataAssociation:
    Type: AWS::FSx::DataRepositoryAssociation
    Properties:
      FileSystemId: !Ref OtherScratchFileSystem
      FileSystemPath: /project/private
      DataRepositoryPath: s3://bbp-project-private/proj1/shared/
"""
OTHER_PROJECT_TF = """resource "aws_fsx_lustre_file_system" "other" {
  storage_capacity            = 1200
  subnet_ids                  = [aws_subnet.compute_a.id]
  deployment_type             = "PERSISTENT_2"
  per_unit_storage_throughput = 250
  kms_key_id                  = aws_kms_key.file_systems.arn
}

resource "aws_fsx_data_repository_association" "other_private" {
  file_system_id       = aws_fsx_lustre_file_system.other.id
  file_system_path     = "/project/private"
  data_repository_path = "s3://bbp-project-private/proj1/shared/"
}

"""
VARIANTS: list[Variant] = [
    # --- network ------------------------------------------------------------------------------------
    V("BBP-VPC-ISOLATED", "FAIL", 1, "an internet gateway attached to the cluster VPC; a NAT default route",
      (("  Peering:\n", NAT_CFN),), (('resource "aws_vpc_peering_connection" "main_cluster" {\n', NAT_TF),),
      "ClusterVpc", "aws_vpc.cluster", located=False),
    V("BBP-VPC-NO-NAT", "FAIL", 1, "(same edit) a NAT gateway in a cluster subnet", (), (), "ClusterVpc", "aws_vpc.cluster"),
    V("BBP-SUBNET-ISOLATED", "FAIL", 1, "(same edit) the cluster route table's default route to the NAT gateway", (), (),
      "ComputeSubnetA", "aws_subnet.compute_a"),
    V("BBP-VPCE-S3-GATEWAY", "FAIL", 1, "the S3 gateway endpoint serves no route table",
      (('ServiceName: !Sub "com.amazonaws.${AWS::Region}.s3"\n      VpcEndpointType: Gateway\n      RouteTableIds: [!Ref ClusterRouteTable]',
        'ServiceName: !Sub "com.amazonaws.${AWS::Region}.s3"\n      VpcEndpointType: Gateway\n      RouteTableIds: []'),),
      (('service_name      = "com.amazonaws.${var.region}.s3"\n  vpc_endpoint_type = "Gateway"\n  route_table_ids   = [aws_route_table.cluster.id]',
        'service_name      = "com.amazonaws.${var.region}.s3"\n  vpc_endpoint_type = "Gateway"\n  route_table_ids   = []'),),
      "ComputeSubnetA", "aws_subnet.compute_a"),
    V("BBP-VPCE-DYNAMODB-GATEWAY", "FAIL", 2, "no DynamoDB gateway endpoint on the cluster route table",
      (('ServiceName: !Sub "com.amazonaws.${AWS::Region}.dynamodb"\n      VpcEndpointType: Gateway\n      RouteTableIds: [!Ref ClusterRouteTable]',
        'ServiceName: !Sub "com.amazonaws.${AWS::Region}.dynamodb"\n      VpcEndpointType: Gateway\n      RouteTableIds: [!Ref MainRouteTable]'),),
      (('service_name      = "com.amazonaws.${var.region}.dynamodb"\n  vpc_endpoint_type = "Gateway"\n  route_table_ids   = [aws_route_table.cluster.id]',
        'service_name      = "com.amazonaws.${var.region}.dynamodb"\n  vpc_endpoint_type = "Gateway"\n  route_table_ids   = [aws_route_table.main.id]'),),
      "ComputeSubnetB", "aws_subnet.compute_b"),
    *[
        V(f"BBP-VPCE-{service.upper()}", "FAIL", 1, f"the {service} interface endpoint without private DNS",
          ((iface(service), iface(service).replace("PrivateDnsEnabled: true", "PrivateDnsEnabled: false")),),
          ((TF_DNS, "  private_dns_enabled = false"),) if service == "logs" else (),
          "ClusterVpc", "aws_vpc.cluster")
        for service in ("logs", "monitoring", "cloudformation", "ec2", "sts", "secretsmanager", "elasticfilesystem")
    ],
    V("BBP-VPCE-AZ-COVERAGE", "FAIL", 2, "the secretsmanager endpoint in one cluster AZ only",
      ((iface("secretsmanager"), iface("secretsmanager").replace(", !Ref ComputeSubnetB]", "]")),),
      (("  subnet_ids          = [aws_subnet.compute_a.id, aws_subnet.compute_b.id]",
        "  subnet_ids          = [aws_subnet.compute_a.id]"),),
      "SecretsManagerEndpoint", IFACE_TF % "secretsmanager"),
    V("BBP-VPCE-SG-443", "FAIL", 2, "the endpoint security group admits 443 from the main VPC only",
      (("{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.1.0.0/16}",
        "{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.0.0.0/16}"),),
      (('  cidr_ipv4         = "10.1.0.0/16"', '  cidr_ipv4         = "10.0.0.0/16"'),),
      "LogsEndpoint", IFACE_TF % "logs"),
    V("BBP-VPCE-S3-POLICY", "FAIL", 1, "the S3 endpoint policy drops the wait-condition statement",
      ((CFN_S3_WAIT, ""),), ((TF_S3_WAIT, ""),), "S3Endpoint", "aws_vpc_endpoint.s3"),
    V("BBP-VPCE-S3-POLICY-RESTRICTIVE", "FAIL", 2, "the S3 endpoint policy allows everything (the default)",
      (("      PolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          - Sid: ParallelCluster",
        "      PolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          - {Effect: Allow, Principal: \"*\", Action: \"*\", Resource: \"*\"}\n          - Sid: ParallelCluster"),),
      ((TF_S3_POLICY_START, TF_S3_POLICY_START.replace('{ Sid = "ParallelCluster"',
        '{ Effect = "Allow", Principal = "*", Action = "*", Resource = "*" },\n      { Sid = "ParallelCluster"')),),
      "S3Endpoint", "aws_vpc_endpoint.s3"),
    V("BBP-PEERING-MAIN", "FAIL", 2, "the peering is not accepted / joins another VPC",
      (("Properties: {VpcId: !Ref MainVpc, PeerVpcId: !Ref ClusterVpc}",
        "Properties: {VpcId: !Ref MainVpc, PeerVpcId: vpc-0123456789abcdef0}"),),
      (("  auto_accept = true", "  auto_accept = false"),),
      "ClusterVpc", "aws_vpc.cluster"),
    V("BBP-PEERING-ROUTES", "FAIL", 1, "the main VPC routes one cluster subnet only through the peering",
      (("DestinationCidrBlock: 10.1.0.0/16, VpcPeeringConnectionId", "DestinationCidrBlock: 10.1.1.0/24, VpcPeeringConnectionId"),),
      (('    cidr_block                = "10.1.0.0/16"', '    cidr_block                = "10.1.1.0/24"'),),
      "Peering", "aws_vpc_peering_connection.main_cluster"),
    V("BBP-SUBNET-PEER-ROUTE", "FAIL", 6, "the cluster route table has no route through the peering",
      (("  ClusterToMain:\n    Type: AWS::EC2::Route\n    Properties: {RouteTableId: !Ref ClusterRouteTable, "
        "DestinationCidrBlock: 10.0.0.0/16, VpcPeeringConnectionId: !Ref Peering}\n", ""),),
      (('resource "aws_route" "cluster_to_main" {\n  route_table_id            = aws_route_table.cluster.id\n'
        '  destination_cidr_block    = "10.0.0.0/16"\n'
        '  vpc_peering_connection_id = aws_vpc_peering_connection.main_cluster.id\n}\n', ""),),
      "ComputeSubnetA", "aws_subnet.compute_a"),
    V("BBP-SG-NO-WORLD-INGRESS", "FAIL", 1, "a debug security group admits SSH from anywhere",
      (("  S3Endpoint:\n", DEBUG_CFN),), (('resource "aws_vpc_endpoint" "s3" {\n', DEBUG_TF),),
      "DebugSsh", "aws_security_group.debug"),
    # 10.0.0.0/1 is not 0.0.0.0/0 (BBP-SG-NO-WORLD-INGRESS passes it) but lies outside the cluster VPC and
    # its peer, and admits SSH from outside the main VPC.
    V("BBP-SG-INGRESS-OUTSIDE-NETWORK", "FAIL", 2, "a security group admits SSH from 10.0.0.0/1",
      (("  S3Endpoint:\n", OUTSIDE_CFN),), (('resource "aws_vpc_endpoint" "s3" {\n', OUTSIDE_TF),),
      "OutsideSsh", "aws_security_group.outside"),
    V("BBP-SG-SSH-WORKFLOW-ONLY", "FAIL", 2, "(same edit as BBP-SG-INGRESS-OUTSIDE-NETWORK)", (), (),
      "OutsideSsh", "aws_security_group.outside"),
    V("BBP-SG-NO-WORLD-INGRESS", "PASS", 2, "(same edit: 10.0.0.0/1 is not the whole Internet)", (), (),
      "OutsideSsh", "aws_security_group.outside"),
    # --- storage ------------------------------------------------------------------------------------
    V("BBP-EFS-ENCRYPTED", "FAIL", 1, "EFS unencrypted",
      (("      Encrypted: true\n      KmsKeyId: !GetAtt FileSystemsKey.Arn\n", ""),),
      (("  encrypted      = true\n  kms_key_id     = aws_kms_key.file_systems.arn\n", ""),),
      "HomeFileSystem", "aws_efs_file_system.home"),
    V("BBP-EFS-CCME-KEY", "FAIL", 2, "EFS encrypted with the cloudWatch key",
      (("KmsKeyId: !GetAtt FileSystemsKey.Arn", "KmsKeyId: !GetAtt CloudWatchKey.Arn"),),
      (("  encrypted      = true\n  kms_key_id     = aws_kms_key.file_systems.arn",
        "  encrypted      = true\n  kms_key_id     = aws_kms_key.cloudwatch.arn"),),
      "HomeFileSystem", "aws_efs_file_system.home"),
    V("BBP-FSX-DRA", "FAIL", 2, "the data repositories are not S3",
      (("DataRepositoryPath: s3://bbp-public-data/", "DataRepositoryPath: /mnt/public"),
       ("DataRepositoryPath: s3://bbp-project-private/proj1/", "DataRepositoryPath: /mnt/private")),
      (('data_repository_path = "s3://bbp-public-data/"', 'data_repository_path = "/mnt/public"'),
       ('data_repository_path = "s3://bbp-project-private/proj1/"', 'data_repository_path = "/mnt/private"')),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-FSX-DRA-PUBLIC-PRIVATE", "FAIL", 1, "no /project/private association",
      (("FileSystemPath: /project/private", "FileSystemPath: /scratch/private"),),
      (('file_system_path     = "/project/private"', 'file_system_path     = "/scratch/private"'),),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-FSX-DRA-SEPARATE-BUCKETS", "FAIL", 7, "both associations on the public bucket (two prefixes)",
      (("DataRepositoryPath: s3://bbp-project-private/proj1/", "DataRepositoryPath: s3://bbp-public-data/proj1/"),),
      (('data_repository_path = "s3://bbp-project-private/proj1/"', 'data_repository_path = "s3://bbp-public-data/proj1/"'),),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-FSX-DRA", "PASS", 7, "(same edit: still S3 associations)", (), (),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-FSX-PRIVATE-NOT-SHARED", "FAIL", 8, "another cluster's FSx mounts proj1's prefix as its /project/private",
      (("  PrivateDataAssociation:\n    Type:", OTHER_PROJECT_CFN + "  PrivateDataAssociation:\n    Type:"),),
      (('resource "aws_fsx_data_repository_association" "private" {',
        OTHER_PROJECT_TF + 'resource "aws_fsx_data_repository_association" "private" {'),),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-FSX-PRIVATE-NOT-SHARED", "FAIL", 8, "(same edit) the other cluster's side", (), (),
      "OtherScratchFileSystem", "aws_fsx_lustre_file_system.other"),
    # --- Slurm accounting database --------------------------------------------------------------------
    V("BBP-RDS-MYSQL-PROTOCOL", "FAIL", 1, "PostgreSQL", (("Engine: mariadb", "Engine: postgres"),),
      (('engine                 = "mariadb"', 'engine                 = "postgres"'),), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-MARIADB", "FAIL", 1, "(same edit) not MariaDB", (), (), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-PRIVATE", "FAIL", 1, "publicly accessible", (("PubliclyAccessible: false", "PubliclyAccessible: true"),),
      (("publicly_accessible    = false", "publicly_accessible    = true"),), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-ENCRYPTED", "FAIL", 1, "storage unencrypted", (("StorageEncrypted: true", "StorageEncrypted: false"),),
      (("storage_encrypted      = true", "storage_encrypted      = false"),), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-2AZ", "FAIL", 1, "the subnet group in one AZ",
      (("      SubnetIds: [!Ref ComputeSubnetA, !Ref ComputeSubnetB]\n  SlurmDb:", "      SubnetIds: [!Ref ComputeSubnetA]\n  SlurmDb:"),),
      (("  subnet_ids = [aws_subnet.compute_a.id, aws_subnet.compute_b.id]", "  subnet_ids = [aws_subnet.compute_a.id]"),),
      "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-IN-CLUSTER-VPC", "FAIL", 2, "the subnet group in the main VPC",
      (("      SubnetIds: [!Ref ComputeSubnetA, !Ref ComputeSubnetB]\n  SlurmDb:", "      SubnetIds: [!Ref MainSubnet]\n  SlurmDb:"),),
      (("  subnet_ids = [aws_subnet.compute_a.id, aws_subnet.compute_b.id]", "  subnet_ids = [aws_subnet.main.id]"),),
      "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-CLUSTER-ACCESS", "FAIL", 1, "the database behind the endpoint security group (443 only)",
      (("VPCSecurityGroups: [!GetAtt ClusterSg.GroupId]", "VPCSecurityGroups: [!GetAtt EndpointSg.GroupId]"),),
      (("vpc_security_group_ids = [aws_security_group.cluster.id]", "vpc_security_group_ids = [aws_security_group.endpoints.id]"),),
      "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-NO-WORLD-INGRESS", "FAIL", 2, "the database port open to the world",
      (("        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/16",
        "        - {IpProtocol: tcp, FromPort: 3306, ToPort: 3306, CidrIp: 0.0.0.0/0}\n        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/16"),),
      (('    cidr_blocks = ["10.0.0.0/16"]\n', '    cidr_blocks = ["10.0.0.0/16", "0.0.0.0/0"]\n'),
       ("    from_port   = 22\n    to_port     = 22\n    cidr_blocks = [\"10.0.0.0/16\", \"0.0.0.0/0\"]",
        "    from_port   = 22\n    to_port     = 3306\n    cidr_blocks = [\"10.0.0.0/16\", \"0.0.0.0/0\"]")),
      "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-SECRET", "FAIL", 1, "no secret named bbp.slurm_db_secret",
      (("      Name: hpc/slurmdb-credentials", "      Name: hpc/slurmdb"),),
      (('  name       = "hpc/slurmdb-credentials"', '  name       = "hpc/slurmdb"'),), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-SLURM-LOGGROUP", "FAIL", 2, "the log group has another name",
      (("LogGroupName: /bbp/slurm/jobs", "LogGroupName: /bbp/slurm/job-data"),),
      (('  name              = "/bbp/slurm/jobs"', '  name              = "/bbp/slurm/job-data"'),), "", "",
      missing_id="/bbp/slurm/jobs"),
    V("BBP-SLURM-LOGGROUP-RETENTION", "FAIL", 1, "no retention", (("      RetentionInDays: 365\n", ""),),
      (("  retention_in_days = 365\n", ""),), "SlurmJobLogs", "aws_cloudwatch_log_group.slurm_jobs"),
    V("BBP-SLURM-LOGGROUP-KMS", "FAIL", 1, "no KMS key", (("      KmsKeyId: !GetAtt CloudWatchKey.Arn\n", ""),),
      (("  kms_key_id        = aws_kms_key.cloudwatch.arn\n", ""),), "SlurmJobLogs", "aws_cloudwatch_log_group.slurm_jobs"),
    V("BBP-SLURM-LOGGROUP-CCME-KEY", "FAIL", 4, "encrypted with the file_systems key",
      (("      RetentionInDays: 365\n      KmsKeyId: !GetAtt CloudWatchKey.Arn\n",
        "      RetentionInDays: 365\n      KmsKeyId: !GetAtt FileSystemsKey.Arn\n"),),
      (("  kms_key_id        = aws_kms_key.cloudwatch.arn\n", "  kms_key_id        = aws_kms_key.file_systems.arn\n"),),
      "SlurmJobLogs", "aws_cloudwatch_log_group.slurm_jobs"),
    # --- services -----------------------------------------------------------------------------------
    V("BBP-LAMBDA-IMAGE", "FAIL", 2, "a zip package",
      (("      PackageType: Image\n      Code: {ImageUri:", "      PackageType: Zip\n      Runtime: python3.12\n      Handler: app.handler\n      Code: {ZipFile: x}\n      X: {ImageUri:"),),
      (('  package_type  = "Image"\n  image_uri ', '  package_type  = "Zip"\n  runtime       = "python3.12"\n  x_image_uri '),),
      "Provisioner", "aws_lambda_function.provisioner"),
    V("BBP-LAMBDA-IMAGE-TAG", "FAIL", 1, "the image tagged :latest",
      (("ImageTag: {Type: String, Default: v1.4.2}", "ImageTag: {Type: String, Default: latest}"),),
      (('default = "v1.4.2"', 'default = "latest"'),), "Provisioner", "aws_lambda_function.provisioner"),
    V("BBP-LAMBDA-APIGW-ONLY", "FAIL", 1, "the account may invoke the function, without a source ARN",
      ((CFN_PERMISSION, "      Principal: !Ref AWS::AccountId"),),
      ((TF_PERMISSION, "  principal     = local.account"),), "Provisioner", "aws_lambda_function.provisioner"),
    V("BBP-LAMBDA-APIGW-ONLY", "PASS", 2, "an API Gateway principal with a literal execute-api source ARN",
      ((CFN_PERMISSION, '      Principal: apigateway.amazonaws.com\n      SourceArn: !Sub "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:a1b2c3d4e5/*/*/*"'),),
      ((TF_PERMISSION, '  principal     = "apigateway.amazonaws.com"\n  source_arn    = "arn:aws:execute-api:${var.region}:${local.account}:a1b2c3d4e5/*/*/*"'),),
      "Provisioner", "aws_lambda_function.provisioner"),
    V("BBP-APIGW-AUTH", "FAIL", 1, "GET /status without authorization",
      (("ResourceId: !Ref StatusResource, HttpMethod: GET, AuthorizationType: AWS_IAM",
        "ResourceId: !Ref StatusResource, HttpMethod: GET, AuthorizationType: NONE"),),
      (('  resource_id   = aws_api_gateway_resource.status.id\n  http_method   = "GET"\n  authorization = "AWS_IAM"',
        '  resource_id   = aws_api_gateway_resource.status.id\n  http_method   = "GET"\n  authorization = "NONE"'),),
      "ProvisionerApi", "aws_api_gateway_rest_api.provisioner"),
    V("BBP-APIGW-POLICY", "FAIL", 1, "no resource policy", ((CFN_POLICY, ""),),
      (("resource \"aws_api_gateway_rest_api_policy\" \"provisioner\" {\n  rest_api_id = aws_api_gateway_rest_api.provisioner.id",
        "resource \"aws_api_gateway_rest_api_policy\" \"provisioner\" {\n  rest_api_id = \"a1b2c3d4e5\""),),
      "ProvisionerApi", "aws_api_gateway_rest_api.provisioner"),
    V("BBP-SSH-ED25519", "FAIL", 1, "an RSA key pair", (("KeyType: ed25519", "KeyType: rsa"),),
      (('default = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5', 'default = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ'),),
      "DeploymentKey", "aws_key_pair.deployment"),
    V("BBP-SSH-KEY-STORED", "FAIL", 1, "the private key stored under another name",
      (("      Name: pcluster-vlab1-proj1\n", "      Name: keys/pcluster-vlab1-proj1\n"),),
      (('  name        = "pcluster-vlab1-proj1"', '  name        = "keys/pcluster-vlab1-proj1"'),),
      "DeploymentKey", "aws_key_pair.deployment"),
    # --- values a template leaves unresolved: ERROR ---------------------------------------------------
    V("BBP-EFS-ENCRYPTED", "ERROR", 3, "Encrypted from a parameter without a value",
      (UNSET_CFN, ("      Encrypted: true\n", "      Encrypted: !Ref Unset\n")),
      (UNSET_TF, ("  encrypted      = true\n", "  encrypted      = var.unset\n")), "HomeFileSystem", "aws_efs_file_system.home"),
    V("BBP-FSX-DRA", "ERROR", 3, "a data repository path from a parameter without a value",
      (("DataRepositoryPath: s3://bbp-public-data/", "DataRepositoryPath: !Ref Unset"),
       ("DataRepositoryPath: s3://bbp-project-private/proj1/", "DataRepositoryPath: !Ref Unset")),
      (('data_repository_path = "s3://bbp-public-data/"', "data_repository_path = var.unset"),
       ('data_repository_path = "s3://bbp-project-private/proj1/"', "data_repository_path = var.unset")),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-RDS-MYSQL-PROTOCOL", "ERROR", 3, "Engine unresolved", (("Engine: mariadb", "Engine: !Ref Unset"),),
      (('engine                 = "mariadb"', "engine                 = var.unset"),), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-PRIVATE", "ERROR", 3, "PubliclyAccessible unresolved",
      (("PubliclyAccessible: false", "PubliclyAccessible: !Ref Unset"),),
      (("publicly_accessible    = false", "publicly_accessible    = var.unset"),), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-ENCRYPTED", "ERROR", 3, "StorageEncrypted unresolved",
      (("StorageEncrypted: true", "StorageEncrypted: !Ref Unset"),),
      (("storage_encrypted      = true", "storage_encrypted      = var.unset"),), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-CLUSTER-ACCESS", "ERROR", 3, "the security groups unresolved",
      (("VPCSecurityGroups: [!GetAtt ClusterSg.GroupId]", "VPCSecurityGroups: [!Ref Unset]"),),
      (("vpc_security_group_ids = [aws_security_group.cluster.id]", "vpc_security_group_ids = [var.unset]"),),
      "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-2AZ", "ERROR", 3, "the subnet group's subnets unresolved",
      (("      SubnetIds: [!Ref ComputeSubnetA, !Ref ComputeSubnetB]\n  SlurmDb:", "      SubnetIds: !Ref Unset\n  SlurmDb:"),),
      (("  subnet_ids = [aws_subnet.compute_a.id, aws_subnet.compute_b.id]", "  subnet_ids = var.unset"),),
      "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-SLURM-LOGGROUP-RETENTION", "ERROR", 3, "RetentionInDays unresolved",
      (("      RetentionInDays: 365\n", "      RetentionInDays: !Ref Unset\n"),),
      (("  retention_in_days = 365\n", "  retention_in_days = var.unset\n"),), "SlurmJobLogs", "aws_cloudwatch_log_group.slurm_jobs"),
    V("BBP-LAMBDA-IMAGE", "ERROR", 3, "the image URI unresolved",
      (("      Code: {ImageUri: !Sub", "      Code: {ImageUri: !Ref Unset, X: !Sub"),),
      (('  image_uri     = "${local.account}', '  image_uri     = var.unset\n  x = "${local.account}'),),
      "Provisioner", "aws_lambda_function.provisioner"),
    V("BBP-APIGW-AUTH", "ERROR", 3, "an authorization type unresolved",
      (("ResourceId: !Ref StatusResource, HttpMethod: GET, AuthorizationType: AWS_IAM",
        "ResourceId: !Ref StatusResource, HttpMethod: GET, AuthorizationType: !Ref Unset"),),
      (('  resource_id   = aws_api_gateway_resource.status.id\n  http_method   = "GET"\n  authorization = "AWS_IAM"',
        '  resource_id   = aws_api_gateway_resource.status.id\n  http_method   = "GET"\n  authorization = var.unset'),),
      "ProvisionerApi", "aws_api_gateway_rest_api.provisioner"),
    V("BBP-SSH-ED25519", "ERROR", 3, "the key type unresolved", (("KeyType: ed25519", "KeyType: !Ref Unset"),),
      (("  public_key = var.deployment_public_key", "  public_key = var.unset"),), "DeploymentKey", "aws_key_pair.deployment"),
    V("BBP-SG-NO-WORLD-INGRESS", "ERROR", 3, "an ingress source unresolved",
      (("{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 10.0.0.0/16,", "{IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: !Ref Unset,"),),
      (('    cidr_blocks = ["10.0.0.0/16"]\n', "    cidr_blocks = [var.unset]\n"),), "ClusterSg", "aws_security_group.cluster"),
    V("BBP-VPCE-S3-POLICY", "ERROR", 3, "a statement of the endpoint policy unresolved",
      (('Resource: [!Sub "arn:aws:s3:::cloudformation-waitcondition-${AWS::Region}/*"]', "Resource: [!Ref Unset]"),),
      (('Resource = ["arn:aws:s3:::cloudformation-waitcondition-${var.region}/*"]', "Resource = [var.unset]"),),
      "S3Endpoint", "aws_vpc_endpoint.s3"),
    V("BBP-VPCE-AZ-COVERAGE", "ERROR", 3, "the endpoint subnets unresolved",
      ((iface("secretsmanager"), iface("secretsmanager").replace("[!Ref ComputeSubnetA, !Ref ComputeSubnetB]", "!Ref Unset")),),
      (("  subnet_ids          = [aws_subnet.compute_a.id, aws_subnet.compute_b.id]", "  subnet_ids          = var.unset"),),
      "SecretsManagerEndpoint", IFACE_TF % "secretsmanager"),
    V("BBP-VPCE-SG-443", "ERROR", 3, "the endpoint security groups unresolved",
      ((iface("sts"), iface("sts").replace("[!GetAtt EndpointSg.GroupId]", "!Ref Unset")),),
      (("  security_group_ids  = [aws_security_group.endpoints.id]", "  security_group_ids  = var.unset"),),
      "StsEndpoint", IFACE_TF % "sts"),
    V("BBP-EFS-CCME-KEY", "ERROR", 3, "(same edit as BBP-EFS-ENCRYPTED) whether encrypted is unknown", (), (),
      "HomeFileSystem", "aws_efs_file_system.home"),
    V("BBP-FSX-DRA-PUBLIC-PRIVATE", "ERROR", 3, "(same edit as BBP-FSX-DRA)", (), (),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-FSX-DRA-SEPARATE-BUCKETS", "ERROR", 3, "(same edit as BBP-FSX-DRA)", (), (),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-FSX-PRIVATE-NOT-SHARED", "ERROR", 3, "(same edit as BBP-FSX-DRA) the private path is unresolved", (), (),
      "ScratchFileSystem", "aws_fsx_lustre_file_system.scratch"),
    V("BBP-RDS-MARIADB", "ERROR", 3, "(same edit as BBP-RDS-MYSQL-PROTOCOL)", (), (), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-IN-CLUSTER-VPC", "ERROR", 3, "(same edit as BBP-RDS-2AZ)", (), (), "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-RDS-NO-WORLD-INGRESS", "ERROR", 3, "(same edit as BBP-RDS-CLUSTER-ACCESS)", (), (),
      "SlurmDb", "aws_db_instance.slurmdb"),
    V("BBP-SLURM-LOGGROUP-KMS", "ERROR", 3, "KmsKeyId unresolved",
      (("      KmsKeyId: !GetAtt CloudWatchKey.Arn\n", "      KmsKeyId: !Ref Unset\n"),),
      (("  kms_key_id        = aws_kms_key.cloudwatch.arn\n", "  kms_key_id        = var.unset\n"),),
      "SlurmJobLogs", "aws_cloudwatch_log_group.slurm_jobs"),
    V("BBP-SLURM-LOGGROUP-CCME-KEY", "ERROR", 3, "(same edit as BBP-SLURM-LOGGROUP-KMS)", (), (),
      "SlurmJobLogs", "aws_cloudwatch_log_group.slurm_jobs"),
    V("BBP-LAMBDA-IMAGE-TAG", "ERROR", 3, "(same edit as BBP-LAMBDA-IMAGE)", (), (),
      "Provisioner", "aws_lambda_function.provisioner"),
    V("BBP-APIGW-POLICY", "ERROR", 3, "the resource policy from a parameter without a value",
      ((CFN_POLICY, "      Policy: !Ref Unset\n"),),
      (("  policy = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [{ Effect = \"Allow\", Principal = { AWS",
        "  policy = var.unset\n  x = jsonencode({\n    Version = \"2012-10-17\"\n    Statement = [{ Effect = \"Allow\", Principal = { AWS"),),
      "ProvisionerApi", "aws_api_gateway_rest_api.provisioner"),
    V("BBP-VPCE-S3-POLICY-RESTRICTIVE", "ERROR", 3, "(same edit as BBP-VPCE-S3-POLICY)", (), (),
      "S3Endpoint", "aws_vpc_endpoint.s3"),
    V("BBP-VPCE-MONITORING", "ERROR", 3, "private DNS of the monitoring endpoint unresolved",
      ((iface("monitoring"), iface("monitoring").replace("PrivateDnsEnabled: true", "PrivateDnsEnabled: !Ref Unset")),),
      ((TF_DNS, "  private_dns_enabled = var.unset"),), "ClusterVpc", "aws_vpc.cluster"),
    *[
        V(f"BBP-VPCE-{service.upper()}", "ERROR", 3, f"private DNS of the {service} endpoint unresolved",
          ((iface(service), iface(service).replace("PrivateDnsEnabled: true", "PrivateDnsEnabled: !Ref Unset")),),
          (), "ClusterVpc", "aws_vpc.cluster")
        for service in ("logs", "cloudformation", "ec2", "elasticfilesystem")
    ],
    V("BBP-VPC-ISOLATED", "ERROR", 3, "(same edit as BBP-SUBNET-ISOLATED)", (), (), "ClusterVpc", "aws_vpc.cluster",
      located=False),
    V("BBP-SLURM-LOGGROUP", "ERROR", 5, "the log group name from a parameter without a value",
      (UNSET_CFN, ("LogGroupName: /bbp/slurm/jobs", "LogGroupName: !Ref Unset")),
      (UNSET_TF, ('  name              = "/bbp/slurm/jobs"', "  name              = var.unset")), "SlurmJobLogs",
      "aws_cloudwatch_log_group.slurm_jobs"),
    V("BBP-SUBNET-ISOLATED", "ERROR", 3, "a route's destination unresolved",
      (("Properties: {RouteTableId: !Ref ClusterRouteTable, DestinationCidrBlock: 10.0.0.0/16,",
        "Properties: {RouteTableId: !Ref ClusterRouteTable, DestinationCidrBlock: !Ref Unset,"),),
      (('  destination_cidr_block    = "10.0.0.0/16"', "  destination_cidr_block    = var.unset"),),
      "ComputeSubnetA", "aws_subnet.compute_a"),
]


def groups() -> list[int]:
    return sorted({v.group for v in VARIANTS})


def _apply(text: str, edits: list[tuple[str, str]], what: str) -> str:
    for old, new in edits:
        if text.count(old) != 1:
            raise ValueError(f"{what}: expected exactly one {old[:80]!r}, found {text.count(old)}")
        text = text.replace(old, new)
    return text


def variant_text(flavour: str, group: int) -> str:
    good = (CFN_GOOD if flavour == "cloudformation" else TF_GOOD).read_text(encoding="utf-8")
    edits = [e for v in VARIANTS if v.group == group for e in (v.cfn if flavour == "cloudformation" else v.tf)]
    return _apply(good, edits, f"{flavour} group {group}")


def line_of(text: str, flavour: str, key: str) -> int:
    """The line of a resource's declaration (the finding's location)."""
    if flavour == "cloudformation":
        marker = f"  {key}:\n"
    else:
        address = key.split("[", 1)[0]
        rtype, name = address.split(".", 1)
        marker = f'resource "{rtype}" "{name}" {{'
    before, found, _ = text.partition(marker)
    assert found, marker
    return before.count("\n") + 1


def main() -> None:
    header = "# Generated by python -m tests.iac.bbp_variants: the group-1 breakages listed in tests/iac/bbp_variants.py\n"
    CFN_BROKEN.write_text(header + variant_text("cloudformation", 1), encoding="utf-8")
    TF_BROKEN.parent.mkdir(parents=True, exist_ok=True)
    TF_BROKEN.write_text(header + variant_text("terraform", 1), encoding="utf-8")


def _paths() -> tuple[Path, Path]:
    return CFN_BROKEN, TF_BROKEN


if __name__ == "__main__":
    main()
