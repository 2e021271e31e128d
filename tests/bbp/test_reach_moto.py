"""Reachability rules on moto: the clean provisioner account, then the same account with endpoint, database
and peering faults the derivation (auditor/derive/bbp.py) must find from the live answers."""

from __future__ import annotations

from typing import Any

from auditor.app.pipeline import evaluate
from auditor.demo.bbp import DB_INSTANCE, seed_bbp_account, stub_associations
from auditor.engine.findings import Status
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan

RULES = ("BBP-VPCE-SG-443", "BBP-VPCE-AZ-COVERAGE", "BBP-PEERING-ROUTES", "BBP-RDS-CLUSTER-ACCESS",
         "BBP-RDS-NO-WORLD-INGRESS")


def verdicts(session: Any, acct: Any) -> dict[tuple[str, str], Status]:
    cfg = config(dict(acct.config_overrides()))
    rules = [r for r in load_rules(None, ["bbp"]) if r.id in RULES]
    result = run_scan(session, cfg, rules, client_hooks=[stub_associations(acct.associations)])
    findings = evaluate(result.snapshot, rules, cfg).findings
    return {(f.rule_id, f.resource_id): f.status for f in findings}


def test_reachability_faults_found_on_the_live_answers() -> None:
    with moto_account() as session:
        acct = seed_bbp_account(session, REGION, faults=False)
        clean = verdicts(session, acct)
        ec2 = session.client("ec2", region_name=REGION)
        endpoints = ec2.describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [acct.cluster_vpc_id]}])["VpcEndpoints"]
        interface = {e["ServiceName"].rsplit(".", 1)[1]: e for e in endpoints if e["VpcEndpointType"] == "Interface"}
        # logs: recreated in the first cluster subnet only.
        logs = interface["logs"]
        ec2.delete_vpc_endpoints(VpcEndpointIds=[logs["VpcEndpointId"]])
        ec2.create_vpc_endpoint(VpcId=acct.cluster_vpc_id, ServiceName=logs["ServiceName"], VpcEndpointType="Interface",
                                SubnetIds=acct.cluster_subnets[:1], PrivateDnsEnabled=True,
                                SecurityGroupIds=[g["GroupId"] for g in logs["Groups"]])
        # The endpoints' group: 443 from the main VPC instead of the cluster VPC.
        group = interface["sts"]["Groups"][0]["GroupId"]
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
        # The database: 3306 from the first cluster subnet and from anywhere (IPv6).
        db_group = ec2.create_security_group(GroupName="bbp-slurmdb", Description="Slurm accounting",
                                             VpcId=acct.cluster_vpc_id)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=db_group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "10.1.1.0/24"}],
             "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
        session.client("rds", region_name=REGION).modify_db_instance(
            DBInstanceIdentifier=DB_INSTANCE, VpcSecurityGroupIds=[db_group], ApplyImmediately=True)
        # The main VPC routes only the first cluster subnet through the peering.
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [acct.main_vpc_id]}])["RouteTables"]
        main_rt = next(t["RouteTableId"] for t in tables
                       if any(r.get("VpcPeeringConnectionId") == acct.peering_id for r in t["Routes"]))
        ec2.delete_route(RouteTableId=main_rt, DestinationCidrBlock="10.1.0.0/16")
        ec2.create_route(RouteTableId=main_rt, DestinationCidrBlock="10.1.1.0/24",
                         VpcPeeringConnectionId=acct.peering_id)
        broken = verdicts(session, acct)
        new_logs = next(e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [acct.cluster_vpc_id]}])["VpcEndpoints"]
            if e["ServiceName"].endswith(".logs") and e["State"] != "deleted")

    assert clean and all(status is Status.PASS for status in clean.values()), clean
    assert {rule for rule, _ in clean} == set(RULES)
    assert broken[("BBP-VPCE-AZ-COVERAGE", new_logs)] is Status.FAIL
    assert broken[("BBP-VPCE-AZ-COVERAGE", interface["sts"]["VpcEndpointId"])] is Status.PASS
    for service, endpoint in interface.items():
        eid = new_logs if service == "logs" else endpoint["VpcEndpointId"]
        assert broken[("BBP-VPCE-SG-443", eid)] is Status.FAIL, service
    assert broken[("BBP-PEERING-ROUTES", acct.peering_id)] is Status.FAIL
    assert broken[("BBP-RDS-CLUSTER-ACCESS", DB_INSTANCE)] is Status.FAIL
    assert broken[("BBP-RDS-NO-WORLD-INGRESS", DB_INSTANCE)] is Status.FAIL
