"""Seed a realistic CCME environment into an account (moto in-process or moto_server).

`seed_ccme_account(session_or_clients, region, faults=True)` creates what seed 000 asks for: the
nine KMS keys with the seed's key policies, the three buckets, the VPC with DHCP options, an S3
gateway endpoint, front-end and back-end subnets in two AZs, an internet gateway and a NAT
gateway (topology 2: front-end public, back-end private through the NAT), a plaintext secret, an
imported ACM certificate and an internet-facing ALB with an HTTPS listener. With `faults`, four
prerequisites are subtly wrong (FAULTS). Returns the ids the audit configuration needs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor import seed

SUFFIXES = (
    "cmh_ebs",
    "dcv_proxy_ebs",
    "clusters_ebs",
    "file_systems",
    "s3",
    "sns",
    "secrets",
    "cloudWatch",
    "lambda",
)
ASG_ROLE = seed.ASG_ROLE
PREFIX = "ccme"
DOMAIN = "hpc.example.com"
SECRET_NAME = "ccme/directory-reader"  # noqa: S105 - a name, not a value

# The planted faults: (what, where), as the demo reports them.
FAULTS = {
    "sns-key-multi-region": "the sns key is Multi-Region where the seed wants Single-Region",
    "internals-logging-prefix": "the internals bucket logs under 'logs/' instead of '<bucket>/'",
    "userdata-tls-objects-only": ("the userdata bucket's TLS deny statements cover bucket/* only, not the bucket"),
    "dhcp-domain-name": "the DHCP domain-name is the other region family's (ec2.internal outside us-east-1)",
}

# The rules each planted fault fails (the demo is a self-test: it passes when exactly these fail).
FAULT_RULES = {
    "sns-key-multi-region": ("CCME-KMS-REGIONALITY-SNS",),
    "internals-logging-prefix": ("CCME-S3-ACCESS-LOGGING-INTERNALS",),
    "userdata-tls-objects-only": ("CCME-S3-POLICY-SECURETRANSPORT-USERDATA", "CCME-S3-POLICY-TLS12-USERDATA"),
    "dhcp-domain-name": ("CCME-VPC-DHCP",),
}


# Findings the seed's own documents make, not planted: the demo follows the seed, so the self-test expects them.
ADVISORIES = {
    "CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH": (
        "the seed's own CloudWatch key policy lets CloudWatch Logs use the key with no confused-deputy condition "
        "(info, advisory)"
    ),
}

@dataclass
class SeededAccount:
    account: str
    region: str
    buckets: dict[str, str]
    keys: dict[str, str]  # suffix -> key id
    vpc_id: str
    dhcp_options_id: str
    frontend_subnets: list[str]
    backend_subnets: list[str]
    endpoint_id: str
    secret_name: str
    certificate_arn: str
    certificate_domain: str
    load_balancer_arn: str
    faults: dict[str, str] = field(default_factory=dict)

    def config_overrides(self) -> list[tuple[str, Any]]:
        """Audit configuration values (`--set` style) describing this environment."""
        return [
            ("regions", [self.region]),
            ("kms_prefix", PREFIX),
            ("buckets.logging", self.buckets["logging"]),
            ("buckets.internals", self.buckets["internals"]),
            ("buckets.userdata", self.buckets["userdata"]),
            ("network.vpc_id", self.vpc_id),
            ("network.frontend_subnets", self.frontend_subnets),
            ("network.backend_subnets", self.backend_subnets),
            ("secret_name", self.secret_name),
            ("certificate_domain", self.certificate_domain),
        ]


key_policy = seed.key_policy
tls_policy = seed.tls_policy
log_delivery_statement = seed.log_delivery_statement


def self_signed_certificate(domain: str, days: int = 365) -> tuple[bytes, bytes]:
    """A throwaway self-signed certificate and key (PEM) for the imported ACM certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def _clients(session_or_clients: Any, region: str) -> Callable[[str], Any]:
    if callable(session_or_clients) and not hasattr(session_or_clients, "client"):
        return lambda service: session_or_clients(service)
    cache: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in cache:
            cache[service] = session_or_clients.client(service, region_name=region)
        return cache[service]

    return get


def _tags(name: str) -> list[dict[str, Any]]:
    return [{"Key": "Name", "Value": name}]


def seed_ccme_account(session_or_clients: Any, region: str, faults: bool = True) -> SeededAccount:
    """Create the CCME prerequisites (seed 000) in `region`; with `faults`, plant FAULTS."""
    client = _clients(session_or_clients, region)
    account = str(client("sts").get_caller_identity()["Account"])

    # IAM: the Auto Scaling service-linked role the DCV proxy key policy names.
    iam = client("iam")
    try:
        iam.get_role(RoleName="AWSServiceRoleForAutoScaling")
    except iam.exceptions.NoSuchEntityException:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")

    # KMS: nine keys; clusters_ebs Multi-Region; with faults, sns Multi-Region too.
    kms = client("kms")
    keys: dict[str, str] = {}
    for suffix in SUFFIXES:
        multi = suffix == "clusters_ebs" or (faults and suffix == "sns")
        key = kms.create_key(
            Description=f"CCME {suffix}",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Origin="AWS_KMS",
            MultiRegion=multi,
            Policy=json.dumps(key_policy(suffix, account, region)),
        )["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{PREFIX}/{suffix}", TargetKeyId=key["KeyId"])
        kms.enable_key_rotation(KeyId=key["KeyId"])
        keys[suffix] = key["KeyId"]

    # S3: three buckets. Logging must be set before policies with Principal "*" (moto).
    s3 = client("s3")
    buckets = {role: f"ucit-ccme-{role}-{region}" for role in ("logging", "internals", "userdata")}
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket, **location)
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                        "BucketKeyEnabled": False,
                    }
                ]
            },
        )
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
    logging_bucket = buckets["logging"]
    s3.put_bucket_policy(
        Bucket=logging_bucket,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [log_delivery_statement(logging_bucket, account)]}),
    )
    for role in ("internals", "userdata"):
        bucket = buckets[role]
        prefix = "logs/" if faults and role == "internals" else f"{bucket}/"
        s3.put_bucket_logging(
            Bucket=bucket,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": logging_bucket, "TargetPrefix": prefix}},
        )
    for role, bucket in buckets.items():
        policy = tls_policy(bucket, objects_only=faults and role == "userdata")
        if role == "logging":
            policy["Statement"].append(log_delivery_statement(bucket, account))
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    client("s3control").put_public_access_block(
        AccountId=account,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )

    # VPC, DHCP options, subnets in two AZs, IGW, NAT (topology 2), S3 gateway endpoint.
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(
        CidrBlock="10.0.0.0/16",
        InstanceTenancy="default",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags("VPC-CCME")}],
    )["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    right = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    # The fault swaps in the other region family's name: subtle, and the seed's own text gets it wrong.
    wrong = f"{region}.compute.internal" if region == "us-east-1" else "ec2.internal"
    domain = wrong if faults else right
    dhcp_id = ec2.create_dhcp_options(
        DhcpConfigurations=[
            {"Key": "domain-name", "Values": [domain]},
            {"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]},
        ]
    )["DhcpOptions"]["DhcpOptionsId"]
    ec2.associate_dhcp_options(DhcpOptionsId=dhcp_id, VpcId=vpc_id)
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    frontend: list[str] = []
    backend: list[str] = []
    for index, zone in enumerate(zones):
        for role, cidr, out in (
            ("FrontEnd", f"10.0.{index + 1}.0/24", frontend),
            ("BackEnd", f"10.0.{index + 3}.0/24", backend),
        ):
            subnet = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=zone,
                TagSpecifications=[{"ResourceType": "subnet", "Tags": _tags(f"CCME-{role}-subnet-az{index + 1}")}],
            )["Subnet"]["SubnetId"]
            ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": False})
            out.append(subnet)
    igw = ec2.create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": _tags("CCME-IGW")}]
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    public_rt = ec2.create_route_table(
        VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": _tags("CCME-FrontEnd-rt")}]
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for subnet in frontend:
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=subnet)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(
        SubnetId=frontend[0],
        AllocationId=allocation,
        ConnectivityType="public",
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": _tags("CCME-NGW")}],
    )["NatGateway"]["NatGatewayId"]
    private_rt = ec2.create_route_table(
        VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": _tags("CCME-BackEnd-rt")}]
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    for subnet in backend:
        ec2.associate_route_table(RouteTableId=private_rt, SubnetId=subnet)
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName=f"com.amazonaws.{region}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[public_rt, private_rt],
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": _tags("CCME-S3Endpoint")}],
    )["VpcEndpoint"]["VpcEndpointId"]

    # Secrets Manager: the directory reader's password, a plaintext string (never printed).
    client("secretsmanager").create_secret(
        Name=SECRET_NAME, KmsKeyId=f"alias/{PREFIX}/secrets", SecretString="demo-" + "x" * 12
    )

    # ACM: an imported certificate, used by the ALB's HTTPS listener.
    cert_pem, key_pem = self_signed_certificate(DOMAIN)
    cert_arn = client("acm").import_certificate(Certificate=cert_pem, PrivateKey=key_pem)["CertificateArn"]
    elbv2 = client("elbv2")
    group = ec2.create_security_group(GroupName="ccme-alb", Description="CCME ALB", VpcId=vpc_id)["GroupId"]
    lb_arn = elbv2.create_load_balancer(
        Name="ccme-alb",
        Subnets=frontend,
        SecurityGroups=[group],
        Scheme="internet-facing",
        Type="application",
    )["LoadBalancers"][0]["LoadBalancerArn"]
    target = elbv2.create_target_group(
        Name="ccme-cmh", Protocol="HTTPS", Port=443, VpcId=vpc_id, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": cert_arn}],
        SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target}],
    )

    return SeededAccount(
        account=account,
        region=region,
        buckets=buckets,
        keys=keys,
        vpc_id=vpc_id,
        dhcp_options_id=dhcp_id,
        frontend_subnets=frontend,
        backend_subnets=backend,
        endpoint_id=endpoint,
        secret_name=SECRET_NAME,
        certificate_arn=cert_arn,
        certificate_domain=DOMAIN,
        load_balancer_arn=lb_arn,
        faults=dict(FAULTS) if faults else {},
    )
