"""AWS Security Finding Format (ASFF, SchemaVersion 2018-10-08): one AwsSecurityFinding per finding.

The document is `{"Findings": [...]}`, the request body of securityhub:BatchImportFindings (batches of 100
are the importer's business, auditor/securityhub.py). Mapping:

- Compliance.Status: PASS -> PASSED, FAIL -> FAILED, ERROR -> NOT_AVAILABLE (the evidence could not be
  collected: never PASSED), WAIVED -> FAILED with Workflow.Status SUPPRESSED and the waiver in a Note.
  SKIPPED findings (an opt-in check not asked for, out of scope) are not exported: they say nothing about
  the resource, and a previously imported finding that turns SKIPPED is archived by the importer.
- Id: `ccme-audit/<account>/<region|global>/<finding id>` (the finding id is a hash of rule, resource,
  region and account), so a re-run updates the same Security Hub finding instead of adding one.
- ProductArn: the account's custom integration, `arn:<partition>:securityhub:<region>:<account>:product/
  <account>/default`; GeneratorId: the rule id; ProductFields `ProviderName` = ccme-audit marks the findings
  this tool owns (the custom integration's product is shared with any other custom source).
- Severity.Label: the rule's severity (INFO -> INFORMATIONAL); a PASS is INFORMATIONAL, as Security Hub's
  own controls do, with the rule's severity kept in Severity.Original.
- Title <= 256 and Description <= 1024 characters, Remediation text <= 512, ProductFields values <= 2048:
  longer text is cut at the limit with an ellipsis.
- CreatedAt / FirstObservedAt / UpdatedAt / LastObservedAt: the evaluation time (the importer keeps the
  first two from the finding already in Security Hub).
- Severity and Types are also written in FindingProviderFields: after a finding is created, Security Hub
  takes a provider's changes to them from there only. Workflow and Note are taken at creation only (they
  belong to the people triaging the finding afterwards): a finding waived after its first import keeps
  its workflow status in Security Hub (Compliance and ProductFields ccme-audit/Status still say it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Status
from auditor.errors import InputError
from auditor.partitions import partition_of
from auditor.report.common import (
    evidence_lines,
    help_uri,
    ordered,
    recommendation,
    source_text,
    status_detail,
    version,
)
from auditor.report.evidence import policy_evidence

SCHEMA_VERSION = "2018-10-08"
PROVIDER = "ccme-audit"
TYPE_NAMESPACE = "Software and Configuration Checks/Industry and Regulatory Standards"
TITLE_MAX = 256
DESCRIPTION_MAX = 1024
RECOMMENDATION_MAX = 512
PRODUCT_FIELD_MAX = 2048
REQUIREMENT_MAX = 256  # Security Hub's limit on one Compliance.RelatedRequirements entry is not published
COMPLIANCE = {
    Status.PASS: "PASSED",
    Status.FAIL: "FAILED",
    Status.ERROR: "NOT_AVAILABLE",
    Status.WAIVED: "FAILED",
}
EXPORTED = frozenset(COMPLIANCE)
LABEL = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFO: "INFORMATIONAL",
}
CLASSIFIER = {"ccme": "CCME", "bbp": "CCME provisioner", "parallelcluster": "AWS ParallelCluster"}

# Canonical type -> (ASFF resource type, ARN template for an id that is not an ARN yet, id pattern).
_RESOURCES: dict[str, tuple[str, str | None, str]] = {
    "s3.bucket": ("AwsS3Bucket", "arn:{partition}:s3:::{id}", r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    "kms.key": ("AwsKmsKey", "arn:{partition}:kms:{region}:{account}:key/{id}", r"(mrk-)?[0-9a-f-]{32,36}"),
    "kms.alias": ("Other", "arn:{partition}:kms:{region}:{account}:{id}", r"alias/[A-Za-z0-9/_-]+"),
    "ec2.vpc": ("AwsEc2Vpc", "arn:{partition}:ec2:{region}:{account}:vpc/{id}", r"vpc-[0-9a-f]+"),
    "ec2.subnet": ("AwsEc2Subnet", "arn:{partition}:ec2:{region}:{account}:subnet/{id}", r"subnet-[0-9a-f]+"),
    "ec2.security_group": (
        "AwsEc2SecurityGroup", "arn:{partition}:ec2:{region}:{account}:security-group/{id}", r"sg-[0-9a-f]+"),
    "ec2.vpc_endpoint": (
        "Other", "arn:{partition}:ec2:{region}:{account}:vpc-endpoint/{id}", r"vpce-[0-9a-f]+"),
    "ec2.vpc_peering_connection": (
        "AwsEc2VpcPeeringConnection", "arn:{partition}:ec2:{region}:{account}:vpc-peering-connection/{id}",
        r"pcx-[0-9a-f]+"),
    "ec2.key_pair": ("Other", None, ""),
    "acm.certificate": ("AwsCertificateManagerCertificate", None, ""),
    "elbv2.load_balancer": ("AwsElbv2LoadBalancer", None, ""),
    "elbv2.listener": ("Other", None, ""),
    "efs.file_system": ("Other", None, ""),
    "rds.db_instance": ("AwsRdsDbInstance", None, ""),
    "lambda.function": ("AwsLambdaFunction", None, ""),
    "secretsmanager.secret": ("AwsSecretsManagerSecret", None, ""),
    "apigateway.rest_api": ("AwsApiGatewayRestApi", None, ""),
    "logs.log_group": ("Other", None, ""),
}


def partition(region: str | None) -> str:
    """The ARN partition of a region (auditor/partitions.py: one place for every ARN the tool builds)."""
    return partition_of(region).name


def product_arn(account: str, region: str) -> str:
    """The ARN of the account's custom integration (its default product) in a region."""
    return f"arn:{partition(region)}:securityhub:{region}:{account}:product/{account}/default"


def finding_uid(finding: Finding, account: str, region: str) -> str:
    return f"{PROVIDER}/{account}/{region if finding.region else 'global'}/{finding.id}"


def clip(text: str, limit: int) -> str:
    """The text cut to at most `limit` characters (an ellipsis marks a cut); never empty."""
    text = text.strip() or "-"
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "\u2026"


def _resource(finding: Finding, account: str, region: str) -> dict[str, Any]:
    asff_type, template, pattern = _RESOURCES.get(finding.resource_type, ("Other", None, ""))
    rid = finding.resource_id
    if rid.startswith("arn:"):
        resource_id = rid
    elif template and pattern and re.fullmatch(pattern, rid) and not finding.location:
        resource_id = template.format(partition=partition(region), region=region, account=account, id=rid)
    else:  # not a live AWS resource we can name by ARN (a template resource, a probe, a package file)
        asff_type, resource_id = "Other", rid
    resource: dict[str, Any] = {
        "Type": asff_type,
        "Id": clip(resource_id, 512),
        "Partition": partition(region),
        "Region": region,
    }
    other = {"ccme-audit/ResourceType": finding.resource_type}
    if finding.resource_name:
        other["ccme-audit/ResourceName"] = finding.resource_name
    if finding.location and finding.location.get("file"):
        other["ccme-audit/File"] = str(finding.location["file"])
        if finding.location.get("line"):
            other["ccme-audit/Line"] = str(finding.location["line"])
    resource["Details"] = {"Other": {k: clip(v, 1024) for k, v in other.items()}}
    return resource


def _description(finding: Finding) -> str:
    parts = [status_detail(finding)]
    evidence = evidence_lines(finding)
    if evidence:
        parts.append("Evidence: " + "; ".join(evidence))
    parts.append(f"Requirement: {source_text(finding.source)}")
    return clip(" ".join(parts), DESCRIPTION_MAX)


def _recommendation(finding: Finding) -> dict[str, Any]:
    out = {"Text": clip(recommendation(finding), RECOMMENDATION_MAX)}
    url = help_uri(finding.source, finding.rule_id)
    if url:
        out["Url"] = url
    return out


def asff_finding(
    finding: Finding,
    *,
    account: str,
    region: str,
    at: str,
    tool_version: str,
    product_account: str | None = None,
) -> dict[str, Any]:
    """One AwsSecurityFinding. `account` is the finding's account, `product_account` the importing one."""
    label = "INFORMATIONAL" if finding.status is Status.PASS else LABEL[finding.severity]
    source = finding.source
    fields = {
        "ProviderName": PROVIDER,
        "ProviderVersion": tool_version,
        "ccme-audit/RuleId": finding.rule_id,
        "ccme-audit/FindingId": finding.id,
        "ccme-audit/Status": finding.status.value,
        "ccme-audit/Pack": finding.pack,
        "ccme-audit/Area": finding.area,
        "ccme-audit/Source": source_text(source),
    }
    if source.quote:
        fields["ccme-audit/SourceQuote"] = source.quote
    evidence = evidence_lines(finding)
    if evidence:
        fields["ccme-audit/Evidence"] = json.dumps(evidence)
    for number, entry in enumerate(policy_evidence(finding)[:5], 1):
        request = {"violation": entry["violation"], **entry.get("request", {})}
        for bulky in ("alike", "principal_id", "conditions", "violation"):  # what goes first when it is too long
            if len(json.dumps(request, sort_keys=True)) <= PRODUCT_FIELD_MAX:
                break
            request.pop(bulky, None)
        fields[f"ccme-audit/ViolatingRequest{number}"] = json.dumps(request, sort_keys=True)
        if entry.get("statements"):
            fields[f"ccme-audit/DecidingStatements{number}"] = json.dumps(entry["statements"], sort_keys=True)
    doc: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_uid(finding, account, region),
        "ProductArn": product_arn(product_account or account, region),
        "ProductName": PROVIDER,
        "CompanyName": PROVIDER,
        "GeneratorId": finding.rule_id,
        "AwsAccountId": account,
        "Region": region,
        "Types": [f"{TYPE_NAMESPACE}/{CLASSIFIER.get(finding.pack, finding.pack)}"],
        "CreatedAt": at,
        "UpdatedAt": at,
        "FirstObservedAt": at,
        "LastObservedAt": at,
        "Severity": {"Label": label, "Original": finding.severity.value},
        # What a provider's later BatchImportFindings may change: Security Hub ignores updates of the
        # top-level Severity and Types, the provider's own values go here.
        "FindingProviderFields": {
            "Severity": {"Label": label, "Original": finding.severity.value},
            "Types": [f"{TYPE_NAMESPACE}/{CLASSIFIER.get(finding.pack, finding.pack)}"],
        },
        "Title": clip(finding.title, TITLE_MAX),
        "Description": _description(finding),
        "Remediation": {"Recommendation": _recommendation(finding)},
        "ProductFields": {k: clip(v, PRODUCT_FIELD_MAX) for k, v in fields.items()},
        **({"SourceUrl": help_uri(source, finding.rule_id)} if help_uri(source, finding.rule_id) else {}),
        "Resources": [_resource(finding, account, region)],
        "Compliance": {
            "Status": COMPLIANCE[finding.status],
            "RelatedRequirements": [clip(f"{source.document}" + (f", {source.section}" if source.section else ""),
                                         REQUIREMENT_MAX)],
        },
        "RecordState": "ACTIVE",
    }
    if finding.status is Status.WAIVED:
        waiver: Mapping[str, Any] = finding.waiver or {}
        doc["Workflow"] = {"Status": "SUPPRESSED"}
        doc["Note"] = {
            "Text": clip(f"Waived: {waiver.get('reason')} (expires {waiver.get('expires')})", 512),
            "UpdatedBy": PROVIDER,
            "UpdatedAt": at,
        }
    return doc


def iso(stamp: str) -> str:
    """An ISO 8601 time as Security Hub writes it (UTC, Z)."""
    return stamp.replace("+00:00", "Z")


def findings(
    evaluation: Evaluation,
    *,
    tool_version: str | None = None,
    at: str | None = None,
    account: str | None = None,
    product_account: str | None = None,
    home_region: str | None = None,
) -> list[dict[str, Any]]:
    """The exported findings, most urgent first. A finding without an account (an IaC run) needs `account`."""
    stamp = iso(at or evaluation.evaluated_at)
    out = []
    for finding in ordered(evaluation.findings):
        if finding.status not in EXPORTED:
            continue
        acct = finding.account or evaluation.account or account
        region = finding.region or home_region or (evaluation.regions[0] if evaluation.regions else None)
        if not acct or not region:
            raise InputError(
                "ASFF findings need an AWS account id and a region, and this evaluation has none",
                place="--format asff",
                fix="pass --set account=123456789012 and --region REGION",
            )
        out.append(asff_finding(finding, account=acct, region=region, at=stamp, tool_version=version(tool_version),
                                product_account=product_account))
    return out


def render(evaluation: Evaluation, *, tool_version: str | None = None) -> str:
    """One finding a line (json's C encoder: the indenting one is pure Python, 5x slower at 10,000)."""
    rows = ",\n".join(json.dumps(f) for f in findings(evaluation, tool_version=tool_version))
    return '{"Findings": [\n' + rows + ("\n" if rows else "") + "]}\n"
