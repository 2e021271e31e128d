"""Missing evidence is never a verdict, for every operation the collectors call (issue 22), end to end on moto.

The operations are enumerated from the collector registry (every collector's CALLS; the probe collectors' own
probes excepted: a probe's empty success means the service answered). Each is answered, through a hook in front of
moto, with a success that holds nothing: an empty body, a well-formed answer without members (`{}`, the bare XML
root), or, for a paginated listing, pages that say there is more forever. Properties, against a clean scan of the
same account:

- the scan records a collection error naming the operation (the answer is never read as "none exist");
- every rule on a resource type that error names (its resource, its attribute) has an ERROR finding;
- no rule has fewer findings than on the clean scan without an ERROR among them, and no rule gains a PASS or a
  FAIL it did not have (a verdict never comes from an empty answer).

Two seeded moto accounts (ccme and bbp) serve the scans; what moto does not emulate (Network Firewall and DNS
Firewall, FSx data repository associations, a stack's resource list holding a secret) is answered by canned
successes in front of it, so that every operation is called. A rule on iam.role (no shipped rule reads it) makes
the IAM collector run.

Default run: one answer shape per operation, chosen deterministically by its place in the sorted list, so that
every operation is covered on every run and every shape is used; `--runslow` runs every shape of every operation.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.awsrequest import AWSResponse

from auditor.collect import registry
from auditor.collect.base import Call
from auditor.collect.contract import contract
from auditor.collect.plan import build_plan
from auditor.config import AuditConfig
from auditor.demo.account import seed_ccme_account
from auditor.demo.bbp import seed_bbp_account
from auditor.demo.run import _stub_not_mocked
from auditor.engine.evaluate import evaluate
from auditor.engine.rules import Rule, load_rule_file, load_rules
from auditor.multi.orchestrate import assume_session
from tests.collect.helpers import REGION, config, moto_account, run_scan
from tests.collect.test_fault_injection import has_any, reads

PROBE_MODULES = ("auditor.collect.probes", "auditor.collect.probes_pcluster")
OPERATIONS: list[Call] = sorted(
    {c.key: c for m in registry.COLLECTORS if m.__name__ not in PROBE_MODULES for c in m.CALLS}.values(),
    key=lambda c: c.key,
)
BOTOCORE = botocore.session.get_session()
# Operations whose answer without members is AWS's documented "not set" (a bucket never versioned answers
# `<VersioningConfiguration/>`, one without logging `<BucketLoggingStatus/>`, one in us-east-1 an empty
# LocationConstraint; DescribeVpcAttribute names no required member): read as that setting, no collection error,
# so their verdicts may change with it. Every other property holds for them too (nothing vanishes).
NOT_SET_WHEN_EMPTY = frozenset(c.key for c in OPERATIONS if not contract(c.key).requires
                               and c.key != "s3:GetBucketPolicy")
ACCOUNT = "123456789012"  # moto's
MAX_PAGES = 6  # retry.max_pages of the scans: an endless listing ends after this many pages


def _model(call: Call) -> Any:
    return BOTOCORE.get_service_model(call.service)


def _paginator(call: Call) -> dict[str, Any] | None:
    client = BOTOCORE.create_client(call.service, region_name=REGION)
    name = xform_name(call.operation)
    return client.get_paginator(name)._pagination_cfg if client.can_paginate(name) else None


def shapes(call: Call) -> list[str]:
    """The answer shapes that apply: every operation can answer empty or hollow; a paginated listing with a result
    key can also never end."""
    out = ["empty", "hollow"]
    terms = contract(call.key)
    if terms.requires and _paginator(call) is not None and terms.identifier is not None:
        out.append("endless")
    return out


# Shapes that found a bug, run by default as well: the deployed-resource collector read one page of log groups.
ALWAYS = {("logs:DescribeLogGroups", "endless")}


def _params() -> list[Any]:
    """Default: one shape per operation (rotating through the shapes that apply); --runslow: all of them."""
    out = []
    for index, call in enumerate(OPERATIONS):
        applicable = shapes(call)
        chosen = applicable[index % len(applicable)]
        for shape in applicable:
            marks = () if shape == chosen or (call.key, shape) in ALWAYS else (pytest.mark.slow,)
            out.append(pytest.param(call, shape, id=f"{call.key}-{shape}", marks=marks))
    return out


# --- answers in front of moto ------------------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _hollow(call: Call) -> tuple[bytes, str]:
    """A well-formed success without members, in the operation's protocol."""
    protocol = _model(call).protocol
    op = call.operation
    if protocol in ("json", "rest-json"):
        return b"{}", "application/x-amz-json-1.1"
    if protocol == "ec2":
        return f'<{op}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"></{op}Response>'.encode(), "text/xml"
    if protocol == "query":
        return f"<{op}Response><{op}Result></{op}Result></{op}Response>".encode(), "text/xml"
    if op == "GetBucketPolicy":
        return b"", "application/xml"
    root = {"GetBucketAcl": "AccessControlPolicy", "GetBucketLogging": "BucketLoggingStatus",
            "GetBucketVersioning": "VersioningConfiguration", "GetBucketLocation": "LocationConstraint",
            "GetBucketEncryption": "ServerSideEncryptionConfiguration",
            "GetBucketOwnershipControls": "OwnershipControls",
            "GetPublicAccessBlock": "PublicAccessBlockConfiguration"}.get(op, op.removeprefix("Get"))
    return f"<{root}/>".encode(), "application/xml"


class Hollow:
    """A client hook answering one operation with a success that holds nothing (`shape`); counts the answers."""

    def __init__(self, call: Call, shape: str):
        self.call, self.shape, self.sent = call, shape, 0
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        if service != self.call.service:
            return
        # At before-call, ahead of moto and of the answers for what moto lacks: the body is parsed by botocore's
        # own parser for the operation's protocol, as the answer of a real endpoint would be.
        handler = self._page if self.shape == "endless" else self._parsed
        client.meta.events.register_first(f"before-call.{_event(client)}.{self.call.operation}", handler)

    def _count(self) -> int:
        with self._lock:
            self.sent += 1
            return self.sent

    def _parsed(self, model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.parsers import create_parser

        self._count()
        body, kind = (b"", "application/xml") if self.shape == "empty" else _hollow(self.call)
        headers = {"Content-Type": kind}
        parsed = create_parser(model.metadata["protocol"]).parse(
            {"body": body, "headers": headers, "status_code": 200}, model.output_shape)
        return AWSResponse("https://hollow.invalid/", 200, headers, _Raw(body)), parsed

    def _page(self, **_: Any) -> tuple[Any, dict[str, Any]]:
        n = self._count()
        cfg = _paginator(self.call)
        assert cfg is not None
        token = cfg["output_token"]
        page: dict[str, Any] = {contract(self.call.key).requires[0]: [],
                                (token if isinstance(token, str) else token[0]).split(".")[0]: f"token-{n}"}
        if cfg.get("more_results"):
            page[cfg["more_results"]] = True
        page["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return AWSResponse("https://canned.invalid/", 200, {}, _Raw(b"{}")), page


def _event(client: Any) -> str:
    return str(client.meta.service_model.service_id.hyphenize())


Canned = dict[str, Callable[[dict[str, Any]], dict[str, Any]]]


class CannedAnswers:
    """A client hook answering what moto does not emulate with fixed successes (parsed, as botocore's Stubber
    does), except the operation under test (`skip`), which goes on to the answer being tested."""

    def __init__(self, answers: Canned, skip: str | None = None):
        self.answers, self.skip = answers, skip

    def __call__(self, client: Any, service: str) -> None:
        for key, make in self.answers.items():
            svc, op = key.split(":")
            if svc == service and key != self.skip:
                client.meta.events.register(f"before-call.{_event(client)}.{op}", self._answer(make))

    @staticmethod
    def _answer(make: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., tuple[Any, dict[str, Any]]]:
        def answer(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
            body = {**make(params), "ResponseMetadata": {"HTTPStatusCode": 200}}
            return AWSResponse("https://canned.invalid/", 200, {}, _Raw(b"{}")), body

        return answer


# --- the two accounts ---------------------------------------------------------------------------------


IAM_ROLE_RULE = """rules:
  - id: TEST-IAM-AUTOSCALING-ROLE
    title: "the EC2 Auto Scaling service-linked role exists (a test rule, no shipped rule reads iam.role)"
    severity: low
    source: {document: test, section: all operations}
    resource_type: iam.role
    assert: {exists: {path: arn}}
"""


@dataclasses.dataclass
class World:
    name: str
    session: boto3.Session
    cfg: AuditConfig
    rules: list[Rule]
    canned: Canned
    clean: dict[str, list[str]]
    reached: set[str]
    scoped: dict[str, set[str]]  # per rule, the resources its clean findings are on
    sets: dict[str, Any]

    def scan(self, *hooks: Any, skip: str | None = None, rules: list[Rule] | None = None) -> Any:
        return run_scan(self.session, self.cfg, self.rules if rules is None else rules, max_attempts=1,
                        client_hooks=[*hooks, CannedAnswers(self.canned, skip), _stub_not_mocked])

    def statuses(self, snapshot: Any, rules: list[Rule] | None = None) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for finding in evaluate(snapshot, self.rules if rules is None else rules, self.cfg).findings:
            out[finding.rule_id].append(finding.status.value)
        return out

    def rules_reading(self, call: Call) -> list[Rule]:
        """The rules whose collection plan holds a type a collector making `call` produces: the only rules its
        answer can reach (a scan of them runs only the collectors they need; the others' findings cannot move)."""
        types = _owner_types(call)
        return [r for r in self.rules if build_plan([r], self.cfg, ACCOUNT).types & types]


class _Recorder:
    def __init__(self) -> None:
        self.sent: set[str] = set()

    def __call__(self, client: Any, service: str) -> None:
        def seen(model: Any, **_: Any) -> None:
            self.sent.add(f"{service}:{model.name}")

        client.meta.events.register_first("before-parameter-build", seen)


def _world(name: str, session: boto3.Session, sets: dict[str, Any], rules: list[Rule], canned: Canned) -> World:
    cfg = config({**sets, "retry.max_pages": MAX_PAGES})
    world = World(name, session, cfg, rules, canned, {}, set(), {}, sets)
    recorder = _Recorder()
    result = world.scan(recorder)
    world.clean, world.reached = world.statuses(result.snapshot), recorder.sent
    for finding in evaluate(result.snapshot, rules, cfg).findings:
        world.scoped.setdefault(finding.rule_id, set()).add(finding.resource_id)
    return world


def _ccme(session: boto3.Session, tmp: Path) -> World:
    seeded = seed_ccme_account(session, REGION, faults=True)
    ec2 = session.client("ec2", region_name=REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    host = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.medium",
                             TagSpecifications=[{"ResourceType": "instance",
                                                 "Tags": [{"Key": "Name", "Value": "ccme-management-host"}]}])
    host_id = host["Instances"][0]["InstanceId"]
    # A node of a deployed ParallelCluster cluster (its stack is named below): its instance type is described
    # live (pcluster.node) and its volumes are checked against the clusters' key (deployed.resource).
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="c5.large",
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [
                          {"Key": "parallelcluster:cluster-name", "Value": "ccme-cluster"},
                          {"Key": "parallelcluster:node-type", "Value": "Compute"}]}])
    # The deployed stack's resources (moto's CloudFormation lacks secrets: its resource list is canned).
    kms = session.client("kms", region_name=REGION)
    key = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    topic = session.client("sns", region_name=REGION).create_topic(
        Name="ccme-alerts", Attributes={"KmsMasterKeyId": "alias/ccme/sns"})["TopicArn"]
    session.client("logs", region_name=REGION).create_log_group(logGroupName="/ccme/app",
                                                                kmsKeyId=str(key.get("alias/ccme/cloudWatch")))
    secret = session.client("secretsmanager", region_name=REGION).create_secret(
        Name="ccme/app", SecretString="x", KmsKeyId="alias/ccme/secrets")["ARN"]
    role = session.client("iam").create_role(RoleName="ccme-fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("i.py", "def h(event, context):\n    return 1\n")
    session.client("lambda", region_name=REGION).create_function(
        FunctionName="ccme-fn", Runtime="python3.12", Role=role, Handler="i.h", Code={"ZipFile": code.getvalue()},
        KMSKeyArn=f"arn:aws:kms:{REGION}:123456789012:key/{key.get('alias/ccme/lambda')}")
    file_systems_key = f"arn:aws:kms:{REGION}:123456789012:key/{key.get('alias/ccme/file_systems')}"
    efs = session.client("efs", region_name=REGION).create_file_system(
        CreationToken="ccme-home", Encrypted=True, KmsKeyId=file_systems_key)["FileSystemId"]
    fsx = session.client("fsx", region_name=REGION).create_file_system(
        FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[seeded.backend_subnets[0]],
        KmsKeyId=file_systems_key)["FileSystem"]["FileSystemId"]
    stack_resources = [
        {"LogicalResourceId": "Host", "PhysicalResourceId": host_id, "ResourceType": "AWS::EC2::Instance"},
        {"LogicalResourceId": "Home", "PhysicalResourceId": efs, "ResourceType": "AWS::EFS::FileSystem"},
        {"LogicalResourceId": "Scratch", "PhysicalResourceId": fsx, "ResourceType": "AWS::FSx::FileSystem"},
        {"LogicalResourceId": "Topic", "PhysicalResourceId": topic, "ResourceType": "AWS::SNS::Topic"},
        {"LogicalResourceId": "Logs", "PhysicalResourceId": "/ccme/app", "ResourceType": "AWS::Logs::LogGroup"},
        {"LogicalResourceId": "Secret", "PhysicalResourceId": secret, "ResourceType": "AWS::SecretsManager::Secret"},
        {"LogicalResourceId": "Fn", "PhysicalResourceId": "ccme-fn", "ResourceType": "AWS::Lambda::Function"},
    ]
    for item in stack_resources:
        item.update({"ResourceStatus": "CREATE_COMPLETE", "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"})
    vpc = seeded.vpc_id
    arn = f"arn:aws:network-firewall:{REGION}:123456789012"
    canned: Canned = {
        "cloudformation:ListStackResources": lambda p: {"StackResourceSummaries": stack_resources},
        "network-firewall:ListFirewalls": lambda p: {"Firewalls": [
            {"FirewallName": "ccme-egress", "FirewallArn": f"{arn}:firewall/ccme-egress"}]},
        "network-firewall:DescribeFirewall": lambda p: {"Firewall": {
            "FirewallName": "ccme-egress", "FirewallArn": f"{arn}:firewall/ccme-egress", "VpcId": vpc,
            "FirewallPolicyArn": f"{arn}:firewall-policy/ccme", "FirewallId": "fw-1",
            "SubnetMappings": [{"SubnetId": seeded.frontend_subnets[0]}]}, "UpdateToken": "u"},
        "network-firewall:DescribeFirewallPolicy": lambda p: {
            "FirewallPolicy": {"StatelessDefaultActions": ["aws:forward_to_sfe"],
                               "StatelessFragmentDefaultActions": ["aws:forward_to_sfe"],
                               "StatefulRuleGroupReferences": [{"ResourceArn": f"{arn}:stateful-rulegroup/ccme"}]},
            "FirewallPolicyResponse": {"FirewallPolicyName": "ccme", "FirewallPolicyArn": f"{arn}:firewall-policy/ccme",
                                       "FirewallPolicyId": "fp-1"}, "UpdateToken": "u"},
        "network-firewall:DescribeRuleGroup": lambda p: {
            "RuleGroup": {"RulesSource": {"RulesSourceList": {
                "Targets": [".amazonaws.com", ".ubuntu.com"], "TargetTypes": ["TLS_SNI", "HTTP_HOST"],
                "GeneratedRulesType": "ALLOWLIST"}}},
            "RuleGroupResponse": {"RuleGroupArn": f"{arn}:stateful-rulegroup/ccme", "RuleGroupName": "ccme",
                                  "RuleGroupId": "rg-1", "Type": "STATEFUL"}, "UpdateToken": "u"},
        "route53resolver:ListFirewallRuleGroupAssociations": lambda p: {"FirewallRuleGroupAssociations": [
            {"Id": "rslvr-frgassoc-1", "FirewallRuleGroupId": "rslvr-frg-1", "VpcId": vpc, "Priority": 101,
             "Name": "ccme", "Status": "COMPLETE", "MutationProtection": "DISABLED"}]},
        "route53resolver:ListFirewallRules": lambda p: {"FirewallRules": [
            {"FirewallRuleGroupId": "rslvr-frg-1", "FirewallDomainListId": "rslvr-fdl-1", "Name": "allow",
             "Priority": 1, "Action": "ALLOW"},
            {"FirewallRuleGroupId": "rslvr-frg-1", "FirewallDomainListId": "rslvr-fdl-2", "Name": "block",
             "Priority": 2, "Action": "BLOCK", "BlockResponse": "NXDOMAIN"}]},
        "route53resolver:ListFirewallDomainLists": lambda p: {"FirewallDomainLists": [
            {"Id": "rslvr-fdl-1", "Name": "allowed"}, {"Id": "rslvr-fdl-2", "Name": "everything"}]},
        "route53resolver:ListFirewallDomains": lambda p: {"Domains": (
            ["*.amazonaws.com.", "*.ubuntu.com."] if p.get("FirewallDomainListId") == "rslvr-fdl-1" else ["*."])},
    }
    sets = dict(seeded.config_overrides())
    sets.update({"packs": ["ccme"], "options.read_secret_values": True, "management_host": "ccme-management-host",
                 "deployment.stacks": ["ccme-management", "ccme-cluster"], "account": "123456789012"})
    (tmp / "test").mkdir(parents=True, exist_ok=True)
    (tmp / "test" / "iam.yaml").write_text(IAM_ROLE_RULE, encoding="utf-8")
    rules = [*load_rules(None, ["ccme"]), *load_rule_file(tmp / "test" / "iam.yaml", "test")]
    return _world("ccme", session, sets, rules, canned)


def _bbp(session: boto3.Session) -> World:
    member = assume_session(session.client("sts"), "111111111111", "Audit", region=REGION)
    seeded = seed_bbp_account(member, REGION, faults=True)
    associations = seeded.associations

    def dra(params: dict[str, Any]) -> dict[str, Any]:
        ids = {v for f in params.get("Filters") or [] if f.get("Name") == "file-system-id" for v in f.get("Values")}
        return {"Associations": [a for a in associations if not ids or a["FileSystemId"] in ids]}

    sets = dict(seeded.config_overrides())
    return _world("bbp", member, sets, load_rules(None, ["bbp"]),
                  {"fsx:DescribeDataRepositoryAssociations": dra})


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[World]]:
    with moto_account() as session:
        yield [_ccme(session, tmp_path_factory.mktemp("rules")), _bbp(session)]


def _owner_types(call: Call) -> set[str]:
    """The resource types of the collectors that make `call` (probes aside)."""
    return {t for m in registry.COLLECTORS if m.__name__ not in PROBE_MODULES and call in m.CALLS
            for t in m.RESOURCE_TYPES}


def world_for(worlds: list[World], call: Call) -> World:
    """The account whose scan makes the call from a collector (a probe may make the same call: its empty success
    only says the service answered)."""
    types = _owner_types(call)
    for world in worlds:
        planned = build_plan(world.rules, world.cfg, ACCOUNT).types
        if call.key in world.reached and types & planned:
            return world
    pytest.fail(f"{call.key}: no seeded account makes a scan call it")


# --- the properties ---------------------------------------------------------------------------------


def test_every_operation_is_called_by_a_clean_scan_without_an_error(worlds: list[World]) -> None:
    reached = set().union(*(w.reached for w in worlds))
    assert {c.key for c in OPERATIONS} <= reached, sorted({c.key for c in OPERATIONS} - reached)
    for world in worlds:  # the clean scans judge: an ERROR there would hide what an empty answer does
        errors = {rid: s for rid, s in world.clean.items() if "ERROR" in s}
        assert not errors, (world.name, errors)


def test_the_default_run_covers_every_operation_and_every_shape() -> None:
    default = [p.values for p in _params() if not p.marks]
    assert {c.key for c, _ in default} == {c.key for c in OPERATIONS}
    assert {s for _, s in default} == {"empty", "hollow", "endless"}


@pytest.mark.parametrize(("call", "shape"), _params())
def test_an_answer_holding_nothing_is_an_error_and_no_finding_vanishes(worlds: list[World], call: Call,
                                                                      shape: str) -> None:
    world = world_for(worlds, call)
    rules = world.rules_reading(call)
    hook = Hollow(call, shape)
    result = world.scan(hook, skip=call.key, rules=rules)
    assert hook.sent > 0, f"{call.key} was not called"
    got = world.statuses(result.snapshot, rules)
    evidence = call.key not in NOT_SET_WHEN_EMPTY
    errors = [e for e in result.snapshot.errors if e.operation == call.action]
    assert errors or not evidence, f"{call.key} answered {shape}: no collection error names it"
    for rule in rules:
        before, after = world.clean.get(rule.id, []), got.get(rule.id, [])
        if before and set(before) != {"SKIPPED"} and _depends(rule, errors, world.scoped.get(rule.id, set())):
            assert "ERROR" in after or (has_any(rule) and after == before == ["PASS"]), (rule.id, before, after)
        if len(after) < len(before):
            assert "ERROR" in after, (rule.id, before, after)
        # The documented "not set" answer may FAIL a rule (versioning never enabled); it never PASSes one.
        for status in ("PASS", "FAIL") if evidence else ("PASS",):
            if after.count(status) > before.count(status):
                pytest.fail(f"{rule.id}: {status} from a {shape} {call.key} answer ({before} -> {after})")


def _depends(rule: Rule, errors: list[Any], resources: set[str]) -> bool:
    """The rule reads what an error says could not be collected: the whole type, or a resource it judged (the
    whole resource, or an attribute the rule reads)."""
    needs = reads(rule).get(rule.resource_type, set())
    for error in errors:
        if error.resource_type != rule.resource_type:
            continue
        if error.resource_id is not None and error.resource_id not in resources:
            continue
        if error.attribute is None or error.attribute in needs:
            return True
    return False
