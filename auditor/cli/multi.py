"""`ccme-audit scan --accounts FILE | --organization --role-name NAME [--external-id ID] --regions ...`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.cli.common import build_config
from auditor.cli.gating import GateOptions
from auditor.engine.evaluate import Evaluation
from auditor.engine.waivers import check_waivers
from auditor.errors import InputError
from auditor.multi.orchestrate import MultiScan


def snapshot_path(base: Path, account: str) -> Path:
    """One snapshot file per account: report.json -> report-123456789012.json."""
    return base.with_name(f"{base.stem}-{account}{base.suffix or '.json'}")


def changes_by_account(previous: dict[str, Any], evaluation: Evaluation, accounts: Sequence[str]) -> None:
    """--previous with --accounts/--organization: what changed in each account scanned, on stderr (the previous
    report is matched per account by the account id of its findings)."""
    from auditor.report import jsonfmt
    from auditor.report.diff import compare_accounts, message

    drift = compare_accounts(previous, jsonfmt.document(evaluation), accounts)
    scope = ", ".join(evaluation.regions)
    for account, changes in drift.accounts:
        note = "the previous report holds no finding of this account" if changes.first_run else None
        sys.stderr.write(message(changes, account=account, scope=scope, report_url=None, note=note))
    if drift.not_scanned:
        sys.stderr.write(f"ccme-audit: account(s) {', '.join(drift.not_scanned)} of the previous report not scanned "
                         "in this run: not compared\n")


def scan_many(
    config: Path | None,
    pack: list[str] | None,
    set_: list[str] | None,
    region: list[str] | None,
    kms_prefix: str | None,
    rules_dir: list[Path] | None,
    profile: str | None,
    extra: dict[str, Any],
    *,
    accounts: Path | None,
    organization: bool,
    role_name: str | None,
    external_id: str | None,
    snapshot_out: Path | None,
    stats: bool,
    gate: GateOptions | None = None,
) -> MultiScan:
    """Scan the accounts (each collects only what the rules `gate` selects read, as a one-account scan does)."""
    from auditor.app.rulesets import load_rule_sets
    from auditor.collect.runner import make_session
    from auditor.multi.orchestrate import scan_accounts
    from auditor.multi.targets import check_role_name, load_targets, organization_targets

    if accounts is not None and organization:
        raise InputError("--accounts and --organization exclude each other", place="--accounts/--organization",
                         fix="pass one of them")
    if accounts is None and not organization:
        raise InputError("--role-name/--external-id need the accounts to scan", place="--role-name",
                         fix="add --accounts FILE or --organization")
    if role_name is not None:
        check_role_name(role_name, place="--role-name")
    cfg = build_config(config, set_, region, kms_prefix, pack, extra=extra)
    rules = load_rule_sets(rules_dir, cfg.packs)
    check_waivers(cfg, rules)  # a waiver naming no rule is a typo: exit 2 (as in a one-account scan)
    if gate is not None:  # --check / --skip-check / --severity (or the configuration's keys) before collection
        rules = gate.with_config(cfg).rules(rules)
    targets = load_targets(accounts) if accounts is not None else None
    session = make_session(profile, cfg.regions[0] if cfg.regions else None)
    skipped: list[tuple[str, str]] = []
    if targets is None:
        targets, skipped = organization_targets(session)
        for account, state in skipped:
            sys.stderr.write(f"ccme-audit: skipping account {account} ({state})\n")
    def done(result: Any) -> None:
        note = f"ERROR ({result.failure})" if result.failure else f"{len(result.snapshot.resources)} resources"
        sys.stderr.write(f"ccme-audit: account {result.target.account}: {note}, {result.seconds:.1f} s\n")

    multi = scan_accounts(cfg, rules, targets, base_session=session, role_name=role_name, external_id=external_id,
                          on_done=done if stats else None, skipped=skipped)
    if snapshot_out is not None:
        for result in multi.accounts:
            result.snapshot.dump(snapshot_path(snapshot_out, result.target.account))
    return multi
