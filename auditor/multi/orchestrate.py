"""Scan many accounts (and their regions) from one process: assume a role in each, scan concurrently.

Each account is scanned by the ordinary scan runner (its regions concurrently inside) with a
session built from `sts:AssumeRole` credentials, and evaluated with the account set in the
configuration; the findings are merged (finding ids already carry account and region). An account
whose role cannot be assumed, or whose scan fails, is not skipped: it gets a snapshot in which
every resource type the rules read is a type-level collection error, so every rule reports ERROR
for that account with the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from auditor.app.pipeline import collect, evaluate
from auditor.config import AuditConfig
from auditor.engine.evaluate import Evaluation, merge_waits
from auditor.engine.rules import Rule
from auditor.errors import InputError
from auditor.multi.targets import Target
from auditor.snapshot import CollectionError, Snapshot

SESSION_NAME = "ccme-audit"
ACCOUNT_WORKERS = 4
_ARN_PARTITION = re.compile(r"^arn:([\w-]+):")


class AssumeRoleFailed(Exception):
    def __init__(self, role_arn: str, code: str, message: str):
        self.role_arn, self.code, self.message = role_arn, code, message
        super().__init__(f"{code}: {message}")


def role_arn(account: str, role_name: str, partition: str = "aws") -> str:
    name = role_name.strip("/")
    return f"arn:{partition}:iam::{account}:role/{name}"


def assume_session(sts: Any, account: str, role_name: str, *, external_id: str | None = None,
                   partition: str = "aws", region: str | None = None, session_name: str = SESSION_NAME) -> Any:
    """A boto3 Session holding the credentials of `role_name` in `account` (sts:AssumeRole).

    `sts` is an STS client of the scanning identity (clients are thread-safe, sessions are not).
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    arn = role_arn(account, role_name, partition)
    params: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    try:
        credentials = sts.assume_role(**params)["Credentials"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AssumeRoleFailed(arn, str(error.get("Code") or "ClientError"), str(error.get("Message") or exc)) from None
    except BotoCoreError as exc:
        raise AssumeRoleFailed(arn, type(exc).__name__, str(exc)) from None
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def caller(session: Any, region: str | None) -> tuple[str, str]:
    """(account, partition) of the session's credentials; one line and exit 2 without credentials."""
    from auditor.collect.base import CallCounter
    from auditor.collect.runner import ClientFactory, caller_account

    factory = ClientFactory(session, region or "us-east-1", max_attempts=5, counter=CallCounter())
    account = caller_account(factory)
    arn = str(factory("sts", None).get_caller_identity().get("Arn", ""))
    match = _ARN_PARTITION.match(arn)
    return account, match.group(1) if match else "aws"


def for_account(config: AuditConfig, account: str) -> AuditConfig:
    """The configuration with `account` set (its parameters then name that account)."""
    return dataclasses.replace(config, data={**config.data, "account": account})


def error_snapshot(config: AuditConfig, rules: Sequence[Rule], account: str, *, operation: str, code: str,
                   message: str) -> Snapshot:
    """A snapshot that knows nothing about `account`: every type the rules read is a collection error."""
    types = sorted({rule.resource_type for rule in rules})
    errors = tuple(CollectionError(resource_type=t, operation=operation, code=code, message=message[:500],
                                   account=account) for t in types)
    return Snapshot(kind="live", resources=(), errors=errors, account=account, regions=tuple(config.regions),
                    collected_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                    options={"packs": list(config.packs)})


@dataclass
class AccountResult:
    target: Target
    snapshot: Snapshot
    evaluation: Evaluation
    failure: str | None = None  # why the account could not be scanned (its rules are then ERROR)
    seconds: float = 0.0
    # The session the account was read with (the assumed member role, or the base session for the home
    # account); None when the role could not be assumed. Reused for later calls (CloudTrail attribution).
    session: Any = field(default=None, compare=False, repr=False)


@dataclass
class MultiScan:
    accounts: list[AccountResult]
    evaluation: Evaluation
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failures(self) -> dict[str, str]:
        return {r.target.account: r.failure for r in self.accounts if r.failure}


def merge(evaluations: Sequence[Evaluation], rules: Sequence[Rule]) -> Evaluation:
    """One evaluation of several accounts: findings concatenated (their ids already differ), rules once."""
    findings = sorted((f for e in evaluations for f in e.findings),
                      key=lambda f: (f.rule_id, f.account or "", f.region or "", f.resource_id))
    accounts = sorted({e.account for e in evaluations if e.account})
    regions: list[str] = []
    for e in evaluations:
        regions.extend(r for r in e.regions if r not in regions)
    seen: dict[str, Rule] = {}
    for e in evaluations:
        for rule in e.rules:
            seen.setdefault(rule.id, rule)
    return Evaluation(
        findings=tuple(findings),
        account=accounts[0] if len(accounts) == 1 else None,
        regions=tuple(regions),
        rules=tuple(seen.values()) if seen else tuple(rules),
        evaluated_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        retries=merge_waits([e.retries for e in evaluations]),
    )


ClientHook = Callable[[Any, str], None]


def scan_account(config: AuditConfig, rules: Sequence[Rule], target: Target, *, base_session: Any,
                 sts: Any, home_account: str | None, role_name: str | None, external_id: str | None = None,
                 partition: str = "aws", client_hooks: Sequence[ClientHook] = (),
                 max_attempts: int = 10) -> AccountResult:
    """Scan one account: the base session for the home account, an assumed role for any other."""
    import time

    started = time.perf_counter()
    cfg = for_account(config, target.account)
    region = cfg.regions[0] if cfg.regions else None
    role = target.role_name or role_name
    failure: str | None = None
    if target.account == home_account:
        session = base_session
    elif not role:
        raise InputError(f"account {target.account} needs a role to assume", place="--role-name",
                         fix="pass --role-name NAME (a role the scanning identity may assume in each account)")
    else:
        try:
            session = assume_session(sts, target.account, role,
                                     external_id=target.external_id or external_id, partition=partition,
                                     region=region)
        except AssumeRoleFailed as exc:
            failure = f"cannot assume {exc.role_arn}: {exc.code}: {exc.message}"
            snap = error_snapshot(cfg, rules, target.account, operation="sts:AssumeRole", code=exc.code,
                                  message=failure)
            return AccountResult(target, snap, evaluate(snap, rules, cfg), failure, time.perf_counter() - started)
    try:
        snap = collect(cfg, rules, session=session, client_hooks=client_hooks, progress=False,
                       max_attempts=max_attempts).snapshot
    except InputError as exc:  # refused credentials, unreachable STS: this account only
        failure = f"cannot scan account {target.account}: {exc.what}"
        snap = error_snapshot(cfg, rules, target.account, operation=exc.place or "scan", code="ScanFailed",
                              message=failure)
    except Exception as exc:  # noqa: BLE001 - one account's crash fails closed on that account, not the run
        failure = f"cannot scan account {target.account}: {type(exc).__name__}: {exc}"
        snap = error_snapshot(cfg, rules, target.account, operation="scan", code="ScanCrashed", message=failure)
    return AccountResult(target, snap, evaluate(snap, rules, cfg), failure, time.perf_counter() - started,
                         session=session)


def scan_accounts(config: AuditConfig, rules: Sequence[Rule], targets: Sequence[Target], *, base_session: Any,
                  role_name: str | None, external_id: str | None = None, workers: int = ACCOUNT_WORKERS,
                  client_hooks: Sequence[ClientHook] = (), max_attempts: int = 10,
                  on_done: Callable[[AccountResult], None] | None = None,
                  skipped: Sequence[tuple[str, str]] = ()) -> MultiScan:
    """Scan every target (at most `workers` accounts at a time) and merge their findings."""
    if not targets:
        raise InputError("no account to scan", place="--accounts/--organization",
                         fix="list at least one account (suspended accounts are skipped)")
    region = config.regions[0] if config.regions else None
    home, partition = caller(base_session, region)
    sts = base_session.client("sts", region_name=region)
    roleless = [t.account for t in targets if t.account != home and not (t.role_name or role_name)]
    if roleless:
        raise InputError(f"account(s) {', '.join(roleless[:5])} need a role to assume", place="--role-name",
                         fix="pass --role-name NAME (a role the scanning identity may assume in each account)")
    lock = threading.Lock()

    def one(target: Target) -> AccountResult:
        result = scan_account(config, rules, target, base_session=base_session, sts=sts, home_account=home,
                              role_name=role_name, external_id=external_id, partition=partition,
                              client_hooks=client_hooks, max_attempts=max_attempts)
        if on_done is not None:
            with lock:
                on_done(result)
        return result

    with ThreadPoolExecutor(max(1, min(workers, len(targets))), thread_name_prefix="account") as pool:
        results = list(pool.map(one, targets))
    return MultiScan(accounts=results, evaluation=merge([r.evaluation for r in results], rules),
                     skipped=list(skipped))
