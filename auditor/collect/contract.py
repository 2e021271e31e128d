"""The response contract of every operation the collectors call: what a successful answer must hold.

AWS, a proxy or an SDK bug can answer 200 with nothing: an empty body, `{}`, a list operation
without its result key, a GetBucketPolicy without `Policy`. Read with `.get()`, such an answer looks
like "no keys", "no policy", "empty secret": a verdict from evidence that never came. The contract
names, per operation, the members a collector needs (taken from botocore's output shape: the list
operation's result key, the member the detail call exists to return); CollectContext.call and
CollectContext.paginate (auditor/collect/base.py) check every answer against it, so a member absent
or null makes the call a collection error (code IncompleteResponse) and every rule that reads it
ERROR. An empty list that is present is an answer: "none exist".

A listing also names the member that identifies each item, and the resource types that item would
be: an item without it is reported as an error on those types (the other items stay known).

tests/collect/test_contract.py checks every entry against botocore's output shapes, and that every
operation a collector declares has an entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contract:
    # Members a successful answer must hold, neither null nor ""; "A|B" means at least one of them,
    # "A.B" member B of structure A.
    requires: tuple[str, ...] = ()
    # For a listing: the member that identifies each item, and the resource types an item would be.
    identifier: str | None = None
    types: tuple[str, ...] = ()


def _list(key: str, identifier: str | None = None, *types: str) -> Contract:
    return Contract((key,), identifier, tuple(types))


NONE = Contract()
# AWS answers all four flags of a Block Public Access configuration.
_PAB = tuple(f"PublicAccessBlockConfiguration.{flag}" for flag in (
    "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))

CONTRACTS: dict[str, Contract] = {
    # KMS
    "kms:ListAliases": _list("Aliases", "AliasName", "kms.alias", "kms.key"),
    "kms:ListKeys": _list("Keys", "KeyId", "kms.key"),
    "kms:DescribeKey": Contract(("KeyMetadata",)),
    "kms:GetKeyPolicy": Contract(("Policy",)),
    "kms:GetKeyRotationStatus": Contract(("KeyRotationEnabled",)),
    # S3 (GetBucketLocation's LocationConstraint is null for us-east-1; versioning Status and
    # LoggingEnabled are absent when never set: none of them is required)
    "s3:ListBuckets": _list("Buckets", "Name", "s3.bucket"),
    "s3:GetBucketLocation": NONE,
    "s3:GetPublicAccessBlock": Contract(_PAB),
    "s3:GetBucketVersioning": NONE,
    "s3:GetBucketLogging": NONE,
    "s3:GetBucketEncryption": Contract(("ServerSideEncryptionConfiguration.Rules",)),
    "s3:GetBucketPolicy": Contract(("Policy",)),
    "s3:GetBucketAcl": Contract(("Owner",)),
    "s3:GetBucketOwnershipControls": Contract(("OwnershipControls.Rules",)),
    "s3control:GetPublicAccessBlock": Contract(_PAB),
    # Secrets Manager
    "secretsmanager:ListSecrets": _list("SecretList", "Name", "secretsmanager.secret"),
    "secretsmanager:GetSecretValue": Contract(("SecretString|SecretBinary",)),
    # KmsKeyId is absent when the secret uses the AWS managed key: the answer's identity is what must be there.
    "secretsmanager:DescribeSecret": Contract(("ARN",)),
    "ec2:DescribeInstances": _list("Reservations"),
    "cloudformation:ListStackResources": _list("StackResourceSummaries"),
    "sns:GetTopicAttributes": Contract(("Attributes",)),  # KmsMasterKeyId is absent without encryption
    "lambda:GetFunctionConfiguration": Contract(("FunctionArn",)),  # KMSKeyArn is absent with the default key
    "ec2:DescribeImages": _list("Images"),
    "ec2:DescribeVolumes": _list("Volumes", "VolumeId", "deployed.resource"),
    "ec2:DescribeInstanceTypes": _list("InstanceTypes", "InstanceType", "pcluster.node"),
    # ACM
    "acm:ListCertificates": _list("CertificateSummaryList", "CertificateArn", "acm.certificate"),
    "acm:DescribeCertificate": Contract(("Certificate",)),
    # ELBv2
    "elbv2:DescribeLoadBalancers": _list("LoadBalancers", "LoadBalancerArn", "elbv2.load_balancer",
                                         "elbv2.listener"),
    "elbv2:DescribeListeners": _list("Listeners", "ListenerArn", "elbv2.listener"),
    # IAM
    "iam:GetRole": Contract(("Role",)),
    # EC2
    "ec2:DescribeVpcs": _list("Vpcs", "VpcId", "ec2.vpc"),
    "ec2:DescribeVpcAttribute": NONE,
    "ec2:DescribeDhcpOptions": _list("DhcpOptions", "DhcpOptionsId", "ec2.dhcp_options"),
    "ec2:DescribeSubnets": _list("Subnets", "SubnetId", "ec2.subnet"),
    "ec2:DescribeRouteTables": _list("RouteTables", "RouteTableId", "ec2.route_table"),
    "ec2:DescribeVpcEndpoints": _list("VpcEndpoints", "VpcEndpointId", "ec2.vpc_endpoint"),
    "ec2:DescribeInternetGateways": _list("InternetGateways", "InternetGatewayId", "ec2.internet_gateway"),
    "ec2:DescribeNatGateways": _list("NatGateways", "NatGatewayId", "ec2.nat_gateway"),
    "ec2:DescribeSecurityGroups": _list("SecurityGroups", "GroupId", "ec2.security_group"),
    "ec2:DescribeVpcPeeringConnections": _list("VpcPeeringConnections", "VpcPeeringConnectionId",
                                               "ec2.vpc_peering_connection"),
    "ec2:DescribeKeyPairs": _list("KeyPairs", "KeyName", "ec2.key_pair"),
    # Seed 003 provisioner
    "efs:DescribeFileSystems": _list("FileSystems", "FileSystemId", "efs.file_system"),
    "fsx:DescribeFileSystems": _list("FileSystems", "FileSystemId", "fsx.file_system"),
    "fsx:DescribeDataRepositoryAssociations": Contract(("Associations",)),
    "rds:DescribeDBInstances": _list("DBInstances", "DBInstanceIdentifier", "rds.db_instance"),
    "logs:DescribeLogGroups": _list("logGroups", "logGroupName", "logs.log_group"),
    "ssm:DescribeParameters": _list("Parameters", "Name", "ssm.parameter"),
    "lambda:ListFunctions": _list("Functions", "FunctionName", "lambda.function"),
    "lambda:GetFunction": Contract(("Configuration",)),
    "lambda:GetPolicy": Contract(("Policy",)),
    "apigateway:GetRestApis": _list("items", "id", "apigateway.rest_api"),
    "apigateway:GetResources": _list("items"),
    # Egress filters
    "network-firewall:ListFirewalls": _list("Firewalls", "FirewallArn", "networkfirewall.firewall"),
    "network-firewall:DescribeFirewall": Contract(("Firewall",)),
    "network-firewall:DescribeFirewallPolicy": Contract(("FirewallPolicy",)),
    "network-firewall:DescribeRuleGroup": Contract(("RuleGroupResponse",)),
    "route53resolver:ListFirewallRuleGroupAssociations": _list(
        "FirewallRuleGroupAssociations", "Id", "route53resolver.firewall_association"),
    "route53resolver:ListFirewallRules": _list("FirewallRules"),
    "route53resolver:ListFirewallDomainLists": _list("FirewallDomainLists"),
    "route53resolver:ListFirewallDomains": _list("Domains"),
}


def contract(key: str) -> Contract:
    """The contract of `service:Operation`; none (anything goes) for an operation not listed (probes)."""
    return CONTRACTS.get(key, NONE)


def missing_members(answer: object, requires: tuple[str, ...]) -> list[str]:
    """The required members `answer` lacks (absent or null); the whole answer when it is no object."""
    if not isinstance(answer, dict):
        return ["the answer"]
    out = []
    for member in requires:
        names = member.split("|")
        if all(_member(answer, name) in (None, "") for name in names):
            out.append(" or ".join(names))
    return out


def _member(answer: dict[str, object], path: str) -> object:
    value: object = answer
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
