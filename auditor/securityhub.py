"""Import findings into AWS Security Hub (BatchImportFindings), update them, archive the resolved ones.

A write to the account: only with `--security-hub` (scan, evaluate) or SECURITY_HUB=true (the Lambda).
One run, per region of the evaluation (a global finding goes to the first region):

1. read the ACTIVE findings this tool imported before (GetFindings on the account's custom-integration
   ProductArn and the `ccme-audit/` Id prefix, paginated; every returned finding is checked again here:
   ProductArn, ProviderName = ccme-audit, an Id in the scanned account and region, a rule of this run);
2. import every finding of the run in batches of 100 (ASFF, auditor/report/asff.py): the Ids are stable,
   so a re-run updates the same findings (UpdatedAt moves, CreatedAt and FirstObservedAt are kept); a PASS
   updates an earlier FAILED finding to PASSED;
3. re-import, with RecordState ARCHIVED, every finding read in 1 that this run no longer reports (fixed
   and gone, resource deleted, rule now SKIPPED), for the rules this run evaluated only.

Security Hub takes the findings of an account, through its default product, from that account only:
findings of another account (a multi-account scan, the Lambda scanning a member account) are not sent
and are reported as not imported; run the import in each account (Security Hub's administrator account
aggregates them).

Fails closed: a finding Security Hub did not accept (FailedFindings), a batch refused as a whole
(AccessDenied, Security Hub not enabled, throttling past retries) or existing findings that could not be
read (archival impossible) are all listed in the result, and the commands exit non-zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from auditor.collect.base import Call
from auditor.engine.evaluate import Evaluation
from auditor.report import asff

BATCH = 100
CALLS = (
    Call("securityhub", "GetFindings", "securityhub:GetFindings"),
    Call("securityhub", "BatchImportFindings", "securityhub:BatchImportFindings"),
)
ACTIONS = tuple(sorted(c.action for c in CALLS))
# The keys asff_finding writes: what an archived copy of an existing finding carries over.
_OWN_KEYS = (
    "SchemaVersion", "Id", "ProductArn", "ProductName", "CompanyName", "GeneratorId", "AwsAccountId", "Region",
    "Types", "CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt", "Severity", "Title", "Description",
    "Remediation", "SourceUrl", "ProductFields", "Resources", "Compliance", "RecordState", "FindingProviderFields",
)
ClientFor = Callable[[str], Any]


@dataclass(frozen=True)
class Failure:
    region: str
    id: str  # a finding Id, or "*" when a whole call failed
    code: str
    message: str

    def line(self) -> str:
        return f"{self.region}: {self.id}: {self.code}: {' '.join(self.message.split())[:300]}"


@dataclass
class ImportResult:
    imported: int = 0
    archived: int = 0
    batches: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"imported": self.imported, "archived": self.archived, "batches": self.batches,
                "failed": len(self.failures), "failures": [f.line() for f in self.failures[:20]]}

    def summary(self) -> str:
        text = (f"security hub: {self.imported} findings imported, {self.archived} archived, "
                f"in {self.batches} batch(es)")
        if self.failures:
            text += f"; {len(self.failures)} NOT imported (see below)"
        return text


class SecurityHubImportError(RuntimeError):
    """Some findings were not imported (the Lambda fails the invocation with it)."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        lines = "; ".join(f.line() for f in result.failures[:5])
        super().__init__(f"{len(result.failures)} Security Hub import failure(s): {lines}")


def policy_statement() -> dict[str, Any]:
    """The IAM statement the import needs (iam-policy --security-hub, deploy/template.yaml's condition).

    Resource `*`: neither call names a finding ARN, and the import's own checks (AwsAccountId = the caller,
    the account's default product) are what Security Hub enforces on what may be written.
    """
    return {"Sid": "CcmeAuditSecurityHubImport", "Effect": "Allow", "Action": list(ACTIONS), "Resource": "*"}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(exc: Exception) -> tuple[str, str]:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        err = response.get("Error", {})
        return str(err.get("Code") or type(exc).__name__), str(err.get("Message") or exc)
    return type(exc).__name__, str(exc)


def _ours(item: Mapping[str, Any], product_arn: str, prefixes: tuple[str, ...], rules: set[str]) -> bool:
    fields = item.get("ProductFields") or {}
    return (
        item.get("ProductArn") == product_arn
        and fields.get("ProviderName") == asff.PROVIDER
        and str(item.get("Id", "")).startswith(prefixes)
        and item.get("GeneratorId") in rules
        and item.get("RecordState", "ACTIVE") == "ACTIVE"
    )


def existing_findings(client: Any, product_arn: str, prefixes: tuple[str, ...], rules: set[str],
                      accounts: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The ACTIVE findings ccme-audit imported before under these Id prefixes, by Id."""
    filters: dict[str, Any] = {
        "ProductArn": [{"Value": product_arn, "Comparison": "EQUALS"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        "Id": [{"Value": p, "Comparison": "PREFIX"} for p in prefixes],
        "AwsAccountId": [{"Value": a, "Comparison": "EQUALS"} for a in sorted(set(accounts))],
    }
    found: dict[str, dict[str, Any]] = {}
    paginator = client.get_paginator("get_findings")
    for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": 100}):
        for item in page.get("Findings", []):
            if _ours(item, product_arn, prefixes, rules):
                found[item["Id"]] = item
    return found


def archived(item: Mapping[str, Any], at: str) -> dict[str, Any]:
    """An existing finding as this tool re-imports it to archive it: the attributes the provider owns
    (not Workflow, Note or what Security Hub adds, such as the reserved aws/ ProductFields), ARCHIVED."""
    copy = {k: item[k] for k in _OWN_KEYS if k in item}
    if isinstance(copy.get("ProductFields"), Mapping):
        copy["ProductFields"] = {k: v for k, v in copy["ProductFields"].items() if not str(k).startswith("aws/")}
    copy["RecordState"] = "ARCHIVED"
    copy["UpdatedAt"] = at
    return copy


def _send(client: Any, region: str, findings: list[dict[str, Any]], result: ImportResult) -> int:
    """Import in batches of 100; how many Security Hub accepted.

    An answer that counts more failures than it names (FailedCount > FailedFindings): the named ones are failures,
    the SuccessCount is counted as imported, and every other finding of the batch is named as unknown (which of
    them failed is not said): a failure, so the run still fails closed."""
    accepted: set[str] = set()
    unnamed_successes = 0
    for start in range(0, len(findings), BATCH):
        batch = findings[start:start + BATCH]
        result.batches += 1
        try:
            answer = client.batch_import_findings(Findings=batch)
        except (ClientError, BotoCoreError) as exc:  # the call refused: every finding of the batch failed
            code, message = _error(exc)
            result.failures.extend(Failure(region, f["Id"], code, message) for f in batch)
            continue
        failed = {str(f.get("Id")): f for f in answer.get("FailedFindings") or []}
        for item in failed.values():
            result.failures.append(Failure(region, str(item.get("Id")), str(item.get("ErrorCode")),
                                           str(item.get("ErrorMessage"))))
        failed_count = int(answer.get("FailedCount") or 0)
        if failed_count > len(failed):  # a count without the list: count what is known, name the rest unknown
            rest = [f["Id"] for f in batch if f["Id"] not in failed]
            successes = answer.get("SuccessCount")
            known = successes if isinstance(successes, int) and 0 <= successes <= len(rest) else 0
            unnamed_successes += known
            message = (f"Security Hub counted {failed_count - len(failed)} failure(s) it did not name among "
                       f"{len(rest)} findings ({known} imported): whether this one was imported is unknown")
            result.failures.extend(Failure(region, fid, "Unknown", message) for fid in rest)
            continue
        accepted.update(f["Id"] for f in batch if f["Id"] not in failed)
    return len(accepted) + unnamed_successes


def import_findings(
    evaluation: Evaluation,
    client_for: ClientFor,
    *,
    product_account: str,
    at: str | None = None,
    tool_version: str | None = None,
) -> ImportResult:
    """Import the evaluation's findings into Security Hub, region by region (see the module docstring)."""
    at = at or now_iso()
    home = evaluation.regions[0] if evaluation.regions else None
    docs = asff.findings(evaluation, tool_version=tool_version, at=evaluation.evaluated_at,
                         product_account=product_account, home_region=home)
    rules = {r.id for r in evaluation.rules} | {f.rule_id for f in evaluation.findings}
    by_region: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in docs:
        doc["UpdatedAt"] = doc["LastObservedAt"] = at
        by_region[doc["Region"]].append(doc)
    result = ImportResult()
    for region, items in by_region.items():
        # The account's default product takes findings of that account only (AwsAccountId = the caller).
        foreign = [d for d in items if d["AwsAccountId"] != product_account]
        result.failures.extend(
            Failure(region, d["Id"], "OtherAccount",
                    f"a finding of account {d['AwsAccountId']} cannot be imported from account {product_account} "
                    "(the default product takes its own account's findings only): import from that account")
            for d in foreign)
        by_region[region] = [d for d in items if d["AwsAccountId"] == product_account]
    accounts = [product_account]
    regions = list(evaluation.regions) + sorted(set(by_region) - set(evaluation.regions))
    for region in regions:
        client = client_for(region)
        product_arn = asff.product_arn(product_account, region)
        scopes = [region] + (["global"] if region == home else [])
        prefixes = tuple(f"{asff.PROVIDER}/{a}/{s}/" for a in accounts for s in scopes)
        current = by_region.get(region, [])
        try:
            existing = existing_findings(client, product_arn, prefixes, rules, accounts)
        except (ClientError, BotoCoreError) as exc:  # cannot read: no archival, and the run says so
            code, message = _error(exc)
            result.failures.append(Failure(region, "*", code, f"GetFindings failed, resolved findings were not "
                                                              f"archived: {message}"))
            existing = None
        for doc in current:
            before = (existing or {}).get(doc["Id"])
            if before:
                doc["CreatedAt"] = before.get("CreatedAt", doc["CreatedAt"])
                doc["FirstObservedAt"] = before.get("FirstObservedAt", doc["FirstObservedAt"])
        result.imported += _send(client, region, current, result)
        if existing:
            seen = {d["Id"] for d in current}
            gone = [archived(item, at) for fid, item in sorted(existing.items()) if fid not in seen]
            result.archived += _send(client, region, gone, result)
    return result


def client_factory(session: Any) -> ClientFor:
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "max_attempts": 10}, user_agent_extra="ccme-audit")
    clients: dict[str, Any] = {}

    def client_for(region: str) -> Any:
        if region not in clients:
            clients[region] = session.client("securityhub", region_name=region, config=config)
        return clients[region]

    return client_for


def import_with_session(evaluation: Evaluation, session: Any) -> ImportResult:
    """The importing account from STS, then import_findings with clients of this session."""
    from botocore.exceptions import NoCredentialsError

    from auditor.errors import InputError

    region = evaluation.regions[0] if evaluation.regions else None
    try:
        account = str(session.client("sts", region_name=region).get_caller_identity()["Account"])
    except NoCredentialsError:
        raise InputError("no AWS credentials found", place="--security-hub",
                         fix="configure credentials (or --profile) for the account receiving the findings") from None
    except (ClientError, BotoCoreError) as exc:
        result = ImportResult()
        code, message = _error(exc)
        result.failures.append(Failure("-", "*", code, f"sts:GetCallerIdentity failed, nothing imported: {message}"))
        return result
    return import_findings(evaluation, client_factory(session), product_account=account)

