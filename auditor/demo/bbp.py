"""Seed a seed-003-style ParallelCluster provisioner account (moto in-process or moto_server).

`seed_bbp_account(session_or_clients, region, faults=True)` creates: a main VPC and an isolated
cluster VPC (no internet gateway, no NAT) peered with routes both ways (covering each other's CIDR);
S3 (restrictive policy) and DynamoDB gateway endpoints and interface endpoints with private DNS for logs, monitoring,
cloudformation, ec2, sts, secretsmanager and elasticfilesystem, behind a security group allowing
443 from the cluster; an encrypted EFS (the {prefix}/file_systems key); an FSx for Lustre file system
whose project data comes from two S3 data repository associations; a MariaDB RDS instance for Slurm
accounting, private and encrypted, across two AZs, its credentials in Secrets Manager; the Slurm job
log group (the {prefix}/cloudWatch key); an ED25519 key pair per deployment with its private key
stored under the same name; the provisioner Lambda as an ECR container image invoked by API Gateway
only; a REST API whose methods require IAM authorization.

With `faults`, FAULTS are planted and nothing else is wrong. moto lacks FSx
DescribeDataRepositoryAssociations: `stub_associations` answers it with the associations seeded here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.demo.account import _clients, _tags, key_policy

PREFIX = "ccme"
LOG_GROUP = "/bbp/slurm/jobs"
FUNCTION = "hpc-resource-provisioner"
DB_INSTANCE = "slurm-accounting"
DB_SECRET = "hpc/slurmdb-credentials"  # noqa: S105 - a name, not a value
CLUSTER = "pcluster-vlab1-proj1"
INTERFACE_SERVICES = ("logs", "monitoring", "cloudformation", "ec2", "sts", "secretsmanager", "elasticfilesystem")

# The planted faults, as the demo reports them: rule id -> what is wrong.
FAULTS = {
    "BBP-SG-NO-WORLD-INGRESS": "security group bbp-debug-ssh in the cluster VPC admits SSH from 0.0.0.0/0",
    "BBP-SLURM-LOGGROUP-RETENTION": f"the Slurm job log group {LOG_GROUP} never expires (no retention set)",
    "BBP-APIGW-AUTH": "GET /status of the provisioner API has authorization NONE",
    "BBP-LAMBDA-IMAGE-TAG": "the provisioner Lambda image is tagged :latest",
    "BBP-PEERING-ROUTES": "the main VPC routes only 10.1.1.0/24 of the cluster VPC 10.1.0.0/16 through the peering",
}
# Rules the planted faults make fail too (rule id -> the planted fault's rule): SSH from 0.0.0.0/0 is also a
# source outside the cluster network, and SSH from outside the main VPC.
IMPLIED = {
    "BBP-SG-INGRESS-OUTSIDE-NETWORK": "BBP-SG-NO-WORLD-INGRESS",
    "BBP-SG-SSH-WORKFLOW-ONLY": "BBP-SG-NO-WORLD-INGRESS",
}


@dataclass
class SeededProvisioner:
    account: str
    region: str
    main_vpc_id: str
    cluster_vpc_id: str
    cluster_subnets: list[str]
    peering_id: str
    api_id: str
    fsx_id: str
    associations: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, str] = field(default_factory=dict)

    def config_overrides(self) -> list[tuple[str, Any]]:
        return [
            ("regions", [self.region]),
            ("kms_prefix", PREFIX),
            ("packs", ["bbp"]),
            ("network.cluster_vpc_id", self.cluster_vpc_id),
            ("network.cluster_subnets", self.cluster_subnets),
            ("bbp.main_vpc_id", self.main_vpc_id),
            ("bbp.provisioner_function", FUNCTION),
            ("bbp.slurm_log_group", LOG_GROUP),
            ("bbp.slurm_db_instance", DB_INSTANCE),
            ("bbp.slurm_db_secret", DB_SECRET),
        ]


def endpoint_policy(region: str) -> dict[str, Any]:
    """A restrictive S3 gateway endpoint policy that still lets ParallelCluster work (PC-NOINET)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ParallelCluster", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
             "Resource": [f"arn:aws:s3:::{region}-aws-parallelcluster/*", f"arn:aws:s3:::dcv-license.{region}/*"]},
            {"Sid": "WaitConditions", "Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject"],
             "Resource": [f"arn:aws:s3:::cloudformation-waitcondition-{region}/*"]},
            {"Sid": "ProjectData", "Effect": "Allow", "Principal": "*",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
             "Resource": ["arn:aws:s3:::bbp-public-data", "arn:aws:s3:::bbp-public-data/*",
                          "arn:aws:s3:::bbp-project-private", "arn:aws:s3:::bbp-project-private/*"]},
        ],
    }


def seed_bbp_account(session_or_clients: Any, region: str, faults: bool = True) -> SeededProvisioner:
    client = _clients(session_or_clients, region)
    account = str(client("sts").get_caller_identity()["Account"])
    kms = client("kms")
    keys: dict[str, str] = {}
    for suffix in ("file_systems", "cloudWatch", "secrets"):
        key = kms.create_key(Description=f"CCME {suffix}", Policy=json.dumps(key_policy(suffix, account, region)),
                             KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{PREFIX}/{suffix}", TargetKeyId=key["KeyId"])
        keys[suffix] = str(key["Arn"])

    ec2 = client("ec2")
    main_vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": _tags("bbp-main")}])["Vpc"]["VpcId"]
    cluster_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": _tags("bbp-pcluster")}])["Vpc"]["VpcId"]
    for vpc in (main_vpc, cluster_vpc):
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=main_vpc)
    main_subnet = ec2.create_subnet(VpcId=main_vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=f"{region}a")
    main_subnet_id = main_subnet["Subnet"]["SubnetId"]
    subnets = []
    for index, az in enumerate(("a", "b"), start=1):
        sid = ec2.create_subnet(VpcId=cluster_vpc, CidrBlock=f"10.1.{index}.0/24", AvailabilityZone=f"{region}{az}",
                                TagSpecifications=[{"ResourceType": "subnet", "Tags": [
                                    *_tags(f"bbp-compute-{az}"), {"Key": "HPC_Goal", "Value": "compute_cluster"}]}]
                                )["Subnet"]["SubnetId"]
        ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": False})
        subnets.append(sid)

    peering = ec2.create_vpc_peering_connection(VpcId=main_vpc, PeerVpcId=cluster_vpc)["VpcPeeringConnection"]
    pcx = peering["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    main_rt = ec2.create_route_table(VpcId=main_vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=main_rt, SubnetId=main_subnet_id)
    ec2.create_route(RouteTableId=main_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    # With faults, the main side routes one cluster subnet only: the second one cannot answer the main VPC.
    ec2.create_route(RouteTableId=main_rt, DestinationCidrBlock="10.1.1.0/24" if faults else "10.1.0.0/16",
                     VpcPeeringConnectionId=pcx)
    cluster_rt = ec2.create_route_table(VpcId=cluster_vpc)["RouteTable"]["RouteTableId"]
    for sid in subnets:
        ec2.associate_route_table(RouteTableId=cluster_rt, SubnetId=sid)
    ec2.create_route(RouteTableId=cluster_rt, DestinationCidrBlock="10.0.0.0/16", VpcPeeringConnectionId=pcx)

    cluster_sg = ec2.create_security_group(GroupName="bbp-compute-cluster", Description="ParallelCluster nodes",
                                           VpcId=cluster_vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=cluster_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": "SSH from the main VPC (Workflow Service)"}]},
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": cluster_sg, "Description": "cluster nodes"}]},
    ])
    endpoint_sg = ec2.create_security_group(GroupName="bbp-endpoints", Description="Interface endpoints",
                                            VpcId=cluster_vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=endpoint_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])
    if faults:
        debug = ec2.create_security_group(GroupName="bbp-debug-ssh", Description="temporary", VpcId=cluster_vpc)
        ec2.authorize_security_group_ingress(GroupId=debug["GroupId"], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    ec2.create_vpc_endpoint(VpcId=cluster_vpc, ServiceName=f"com.amazonaws.{region}.s3", VpcEndpointType="Gateway",
                            RouteTableIds=[cluster_rt], PolicyDocument=json.dumps(endpoint_policy(region)))
    ec2.create_vpc_endpoint(VpcId=cluster_vpc, ServiceName=f"com.amazonaws.{region}.dynamodb",
                            VpcEndpointType="Gateway", RouteTableIds=[cluster_rt])
    for service in INTERFACE_SERVICES:
        ec2.create_vpc_endpoint(VpcId=cluster_vpc, ServiceName=f"com.amazonaws.{region}.{service}",
                                VpcEndpointType="Interface", SubnetIds=subnets, SecurityGroupIds=[endpoint_sg],
                                PrivateDnsEnabled=True)

    # Storage: EFS for home directories, FSx for Lustre with the project data from S3.
    efs = client("efs")
    efs.create_file_system(CreationToken="bbp-home", Encrypted=True, KmsKeyId=keys["file_systems"],
                           Tags=[*_tags("bbp-home"), {"Key": "HPC_Goal", "Value": "compute_cluster"}])
    fsx = client("fsx")
    fs = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=subnets[:1],
                                SecurityGroupIds=[cluster_sg], KmsKeyId=keys["file_systems"],
                                LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250},
                                Tags=_tags("bbp-scratch"))["FileSystem"]
    fsx_id = str(fs["FileSystemId"])
    associations = [
        {"AssociationId": "dra-0bbp00000000public", "FileSystemId": fsx_id, "Lifecycle": "AVAILABLE",
         "FileSystemPath": "/project/public", "DataRepositoryPath": "s3://bbp-public-data/",
         "S3": {"AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}}},
        {"AssociationId": "dra-0bbp0000000private", "FileSystemId": fsx_id, "Lifecycle": "AVAILABLE",
         "FileSystemPath": "/project/private", "DataRepositoryPath": "s3://bbp-project-private/proj1/",
         "S3": {"AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]},
                "AutoExportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}}},
    ]

    # Slurm accounting: MariaDB, private, encrypted, two AZs; credentials in Secrets Manager.
    sm = client("secretsmanager")
    sm.create_secret(Name=DB_SECRET, KmsKeyId=keys["secrets"],
                     SecretString=json.dumps({"username": "slurm", "password": "demo-only-not-a-password"}))
    rds = client("rds")
    rds.create_db_subnet_group(DBSubnetGroupName="bbp-slurmdb", DBSubnetGroupDescription="Slurm accounting",
                               SubnetIds=subnets)
    rds.create_db_instance(DBInstanceIdentifier=DB_INSTANCE, Engine="mariadb", EngineVersion="10.11.8",
                           DBInstanceClass="db.t4g.small",
                           AllocatedStorage=20, MasterUsername="slurm", MasterUserPassword="demo-only-not-a-password",
                           DBSubnetGroupName="bbp-slurmdb", PubliclyAccessible=False, StorageEncrypted=True,
                           VpcSecurityGroupIds=[cluster_sg])

    logs = client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP, kmsKeyId=keys["cloudWatch"])
    if not faults:
        logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=365)

    # One deployment: its ED25519 key pair, the private key stored under the key pair's name.
    key = ec2.create_key_pair(KeyName=CLUSTER, KeyType="ed25519")
    sm.create_secret(Name=CLUSTER, SecretString=key["KeyMaterial"], KmsKeyId=keys["secrets"])
    key = None  # the demo keeps no private key

    # The provisioner: a container image Lambda behind an IAM-authorized REST API.
    iam = client("iam")
    role = iam.create_role(RoleName="hpc-resource-provisioner-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    tag = "latest" if faults else "v1.4.2"
    image = f"{account}.dkr.ecr.{region}.amazonaws.com/hpc-resource-provisioner:{tag}"
    lam = client("lambda")
    lam.create_function(FunctionName=FUNCTION, PackageType="Image", Code={"ImageUri": image}, Role=role,
                        Timeout=900)
    api = client("apigateway")
    api_id = str(api.create_rest_api(name="hpc-resource-provisioner", endpointConfiguration={"types": ["REGIONAL"]},
                                     policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                                         "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                         "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]}))["id"])
    root = next(r["id"] for r in api.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    pcluster = api.create_resource(restApiId=api_id, parentId=root, pathPart="hpc-provisioner")["id"]
    for verb in ("GET", "POST", "DELETE"):
        api.put_method(restApiId=api_id, resourceId=pcluster, httpMethod=verb, authorizationType="AWS_IAM")
    api.put_method(restApiId=api_id, resourceId=pcluster, httpMethod="OPTIONS", authorizationType="NONE")
    status = api.create_resource(restApiId=api_id, parentId=root, pathPart="status")["id"]
    api.put_method(restApiId=api_id, resourceId=status, httpMethod="GET",
                   authorizationType="NONE" if faults else "AWS_IAM")
    lam.add_permission(FunctionName=FUNCTION, StatementId="apigateway-invoke", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{region}:{account}:{api_id}/*/*/*")
    return SeededProvisioner(
        account=account, region=region, main_vpc_id=main_vpc, cluster_vpc_id=cluster_vpc, cluster_subnets=subnets,
        peering_id=pcx, api_id=api_id, fsx_id=fsx_id, associations=associations,
        faults=dict(FAULTS) if faults else {},
    )


def stub_associations(associations: list[dict[str, Any]]) -> Callable[[Any, str], None]:
    """A client hook answering FSx DescribeDataRepositoryAssociations (moto lacks it) with `associations`.

    It answers at before-call, ahead of moto's own request interception, with the parsed response.
    """

    def hook(client: Any, service: str) -> None:
        if service != "fsx":
            return
        from botocore.awsrequest import AWSResponse

        def answer(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
            ids = {v for f in params.get("Filters") or [] if f.get("Name") == "file-system-id"
                   for v in f.get("Values") or []}
            found = [a for a in associations if not ids or a["FileSystemId"] in ids]
            http = AWSResponse("https://fsx.invalid/", 200, {}, _Raw(b"{}"))
            return http, {"Associations": found, "ResponseMetadata": {"HTTPStatusCode": 200}}

        client.meta.events.register("before-call.fsx.DescribeDataRepositoryAssociations", answer)

    return hook


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body
