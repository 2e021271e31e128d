"""Commands: ccme-audit scan | collect | iam-policy | demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import (
    ConfigOpt,
    FailOnOpt,
    FormatOpt,
    HistoryOpt,
    KmsPrefixOpt,
    OutputDirOpt,
    OutputOpt,
    PackOpt,
    RegionOpt,
    RulesDirOpt,
    SecurityHubOpt,
    SetOpt,
    StatsOpt,
    build_config,
    security_hub_import,
)
from auditor.cli.gating import (
    BaselineOpt,
    CheckOpt,
    CreateBaselineOpt,
    ErrorsFailOnOpt,
    GateOptions,
    OutputNameOpt,
    SeverityOpt,
    ShowConfigOpt,
    SkipCheckOpt,
    SoftFailOpt,
    output_name,
    show_config,
)
from auditor.cli.output import Color, ColorOpt, EndpointOpt, QuietOpt, ShowOpt, emit, use_endpoint, view
from auditor.engine.findings import Severity
from auditor.engine.waivers import check_waivers

ProfileOpt = Annotated[str | None, typer.Option("--profile", help="AWS profile (default: the standard chain).")]
ReadSecretsOpt = Annotated[
    bool,
    typer.Option(
        "--read-secret-values",
        help="Read the directory secret's value to check it is plaintext "
        "(classified in memory, never stored, printed or logged).",
    ),
]
CostExplorerOpt = Annotated[
    bool,
    typer.Option("--probe-cost-explorer", help="Probe Cost Explorer (GetCostAndUsage costs $0.01 a call)."),
]
SnapshotOutOpt = Annotated[Path | None, typer.Option("--snapshot-out", help="Also save the collected snapshot here.")]
RegionsOpt = Annotated[
    list[str] | None, typer.Option("--regions", help="Regions to scan, comma-separated (adds to --region).")
]
AccountsOpt = Annotated[
    Path | None,
    typer.Option("--accounts", help="Scan these accounts (YAML/JSON list of account ids) by assuming --role-name."),
]
OrganizationOpt = Annotated[
    bool,
    typer.Option("--organization", help="Scan every ACTIVE account of the organization (organizations:ListAccounts)."),
]
RoleNameOpt = Annotated[
    str | None, typer.Option("--role-name", help="The role to assume in each account (with --accounts/--organization).")
]
ExternalIdOpt = Annotated[str | None, typer.Option("--external-id", help="ExternalId for sts:AssumeRole.")]
PreviousOpt = Annotated[
    Path | None,
    typer.Option("--previous", help="A previous JSON report of the same scope: what changed since is printed on "
                 "stderr (new failures, new errors, fixed; per account with --accounts/--organization)."),
]
AttributeOpt = Annotated[
    bool,
    typer.Option("--attribute-changes", help="With --previous: look up in CloudTrail who changed each resource "
                 "that went from PASS to FAIL (cloudtrail:LookupEvents) and show it on the finding."),
]


def _options(read_secret_values: bool, probe_cost_explorer: bool, attribute_changes: bool = False) -> dict[str, Any]:
    return {
        "options.read_secret_values": True if read_secret_values else None,
        "options.probe_cost_explorer": True if probe_cost_explorer else None,
        "options.attribute_changes": True if attribute_changes else None,
    }


def _previous(path: Path | None) -> dict[str, Any] | None:
    """A previous JSON report, validated against schemas/report.json (bad input: exit 2)."""
    if path is None:
        return None
    from auditor.errors import InputError
    from auditor.fileio import parse_json, read_text
    from auditor.report.common import evaluation_from_report

    data = parse_json(read_text(path), file=str(path))
    if not isinstance(data, dict) or "report_version" not in data:
        raise InputError("not a ccme-audit JSON report", file=str(path), place="/",
                         fix="pass a report written by ccme-audit scan --format json")
    evaluation_from_report(data, file=str(path))
    return data


def changes_since(previous: dict[str, Any], evaluation: Any, *, snapshot: Any = None, session: Any = None) -> Any:
    """The evaluation, with CloudTrail attributions when a session is given, and the drift summary on stderr."""
    from auditor.app import pipeline
    from auditor.report.diff import message

    if session is not None:
        from auditor.collect.cloudtrail import attribute_evaluation, client_factory, parse_time

        region = evaluation.regions[0] if evaluation.regions else None
        evaluation = attribute_evaluation(evaluation, previous, snapshot, client_factory(session, region),
                                          parse_time(evaluation.evaluated_at))
    changes = pipeline.changes(previous, evaluation)
    sys.stderr.write(message(changes, account=evaluation.account, scope=", ".join(evaluation.regions),
                             report_url=None))
    return evaluation


def _collect(
    config: Path | None,
    pack: list[str] | None,
    set_: list[str] | None,
    region: list[str] | None,
    kms_prefix: str | None,
    rules_dir: list[Path] | None,
    profile: str | None,
    read_secret_values: bool,
    probe_cost_explorer: bool,
    stats: bool,
    gate: GateOptions | None = None,
    progress: bool | None = None,
) -> tuple[Any, Any, Any]:
    from auditor.app.pipeline import collect
    from auditor.app.rulesets import load_rule_sets

    cfg = build_config(config, set_, region, kms_prefix, pack, extra=_options(read_secret_values, probe_cost_explorer))
    rules = load_rule_sets(rules_dir, cfg.packs)
    check_waivers(cfg, rules)  # a waiver naming no rule is a typo: exit 2
    if gate is not None:
        rules = gate.with_config(cfg).rules(rules)
    result = collect(cfg, rules, profile=profile, progress=progress)
    if stats:
        sys.stderr.write("\n".join(result.stats.lines()) + "\n")
    return cfg, rules, result


def scan(
    config: ConfigOpt = None,
    pack: PackOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    snapshot_out: SnapshotOutOpt = None,
    fail_on: FailOnOpt = Severity.LOW,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    set_: SetOpt = None,
    kms_prefix: KmsPrefixOpt = None,
    rules_dir: RulesDirOpt = None,
    read_secret_values: ReadSecretsOpt = False,
    probe_cost_explorer: CostExplorerOpt = False,
    stats: StatsOpt = False,
    show_config_: ShowConfigOpt = False,
    output_name_: OutputNameOpt = None,
    regions: RegionsOpt = None,
    accounts: AccountsOpt = None,
    organization: OrganizationOpt = False,
    role_name: RoleNameOpt = None,
    external_id: ExternalIdOpt = None,
    security_hub: SecurityHubOpt = False,
    previous: PreviousOpt = None,
    attribute_changes: AttributeOpt = False,
    history: HistoryOpt = None,
    check: CheckOpt = None,
    skip_check: SkipCheckOpt = None,
    severity: SeverityOpt = None,
    baseline: BaselineOpt = None,
    create_baseline: CreateBaselineOpt = None,
    errors_fail_on: ErrorsFailOnOpt = None,
    soft_fail: SoftFailOpt = False,
    only_new: Annotated[
        bool,
        typer.Option("--only-new", help="With --previous: only findings that were not FAIL or ERROR in the previous "
                     "report fail (it is the baseline)."),
    ] = False,
    color: ColorOpt = Color.AUTO,
    show: ShowOpt = None,
    quiet: QuietOpt = False,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Collect what the selected rules need from the live account, evaluate, report."""
    from auditor.app.pipeline import evaluate as run
    from auditor.errors import InputError
    from auditor.report import parse_formats

    formats = parse_formats(fmt or ["text"])
    name = output_name(output_name_)
    if show_config_:
        show_config(build_config(config, set_, region, kms_prefix, pack,
                                 extra=_options(read_secret_values, probe_cost_explorer, attribute_changes)))
    look = view(color, show, quiet)
    use_endpoint(endpoint_url)
    if attribute_changes and previous is None:
        raise InputError("--attribute-changes compares with a previous report", place="--attribute-changes",
                         fix="add --previous REPORT.json (a JSON report of an earlier scan)")
    if attribute_changes and (accounts is not None or organization):
        raise InputError("--attribute-changes looks up one account's CloudTrail", place="--attribute-changes",
                         fix="scan one account with --previous --attribute-changes (the Lambda attributes each "
                         "member account's changes)")
    if only_new and previous is None:
        raise InputError("--only-new gates on what is new since a previous report", place="--only-new",
                         fix="add --previous REPORT.json")
    if only_new and baseline is not None:
        raise InputError("--only-new makes --previous the baseline", place="--only-new",
                         fix="pass either --baseline FILE or --previous REPORT.json --only-new")
    previous_report = _previous(previous)
    gate = GateOptions.build(check=check, skip_check=skip_check, severity=severity, fail_on=fail_on,
                             errors_fail_on=errors_fail_on, soft_fail=soft_fail,
                             baseline=previous if only_new else baseline, create_baseline=create_baseline)
    past = None
    if history is not None:  # read and validated before the scan: a bad folder fails in a second, not after it
        from auditor.report import history as history_module

        past = history_module.load(history, profile=profile)

    def finish(evaluation: Any) -> None:
        """Write the reports (with the rule history), import into Security Hub, exit by --fail-on."""
        rule_history = None
        if past is not None and history is not None:
            rule_history = history_module.build(past, evaluation, history)
        emit(evaluation, formats, output=output, output_dir=output_dir, history=rule_history, look=look, name=name)
        gate.flush()
        if security_hub:
            security_hub_import(evaluation, profile)
        gate.exit(evaluation)

    if regions:
        from auditor.multi.targets import parse_regions

        region = parse_regions([*(region or []), *regions])
    if accounts is not None or organization or role_name or external_id:
        from auditor.cli.multi import changes_by_account, scan_many

        multi = scan_many(
            config,
            pack,
            set_,
            region,
            kms_prefix,
            rules_dir,
            profile,
            _options(read_secret_values, probe_cost_explorer),
            accounts=accounts, organization=organization, role_name=role_name, external_id=external_id,
            snapshot_out=snapshot_out, stats=stats, gate=gate,
        )
        gate = gate.with_config(build_config(config, set_, region, kms_prefix, pack))  # its check / skip_check keys
        scanned = [result.target.account for result in multi.accounts]
        evaluation = multi.evaluation  # of the selected rules only: they were selected before collection
        if previous_report is not None:  # per account: ids carry the account, the drift is told per account
            changes_by_account(previous_report, evaluation, scanned)
        gate = gate.for_accounts(scanned)
        finish(gate.apply(evaluation))
        return
    cfg, rules, result = _collect(
        config,
        pack,
        set_,
        region,
        kms_prefix,
        rules_dir,
        profile,
        read_secret_values,
        probe_cost_explorer,
        stats,
        gate,
        progress=False if quiet else None,
    )
    gate = gate.with_config(cfg)
    if snapshot_out is not None:
        result.snapshot.dump(snapshot_out)
    evaluation = run(result.snapshot, rules, cfg)
    if previous_report is not None:
        session = None
        if attribute_changes or (cfg.data.get("options") or {}).get("attribute_changes"):
            from auditor.collect.runner import make_session

            session = make_session(profile, cfg.regions[0] if cfg.regions else None)
        evaluation = changes_since(previous_report, evaluation, snapshot=result.snapshot, session=session)
    finish(gate.apply(evaluation))  # the drift is told on the findings as judged, before the baseline


def collect(
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the snapshot JSON here (atomically).")],
    config: ConfigOpt = None,
    pack: PackOpt = None,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    set_: SetOpt = None,
    kms_prefix: KmsPrefixOpt = None,
    rules_dir: RulesDirOpt = None,
    read_secret_values: ReadSecretsOpt = False,
    probe_cost_explorer: CostExplorerOpt = False,
    stats: StatsOpt = False,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Collect what the selected rules need into a snapshot file (evaluate it later, offline)."""
    use_endpoint(endpoint_url)
    _, _, result = _collect(
        config,
        pack,
        set_,
        region,
        kms_prefix,
        rules_dir,
        profile,
        read_secret_values,
        probe_cost_explorer,
        stats,
    )
    result.snapshot.dump(out)
    sys.stderr.write(
        f"wrote {out}: {len(result.snapshot.resources)} resources, {len(result.snapshot.errors)} collection errors\n"
    )


def iam_policy(
    config: ConfigOpt = None,
    pack: PackOpt = None,
    set_: SetOpt = None,
    rules_dir: RulesDirOpt = None,
    read_secret_values: ReadSecretsOpt = False,
    probe_cost_explorer: CostExplorerOpt = False,
    security_hub: Annotated[
        bool, typer.Option("--security-hub", help="Add the Security Hub import (scan --security-hub): "
                           "securityhub:BatchImportFindings and securityhub:GetFindings, in a statement of its own.")
    ] = False,
    attribute_changes: Annotated[
        bool, typer.Option("--attribute-changes", help="Add cloudtrail:LookupEvents (scan --attribute-changes).")
    ] = False,
) -> None:
    """Print the least-privilege IAM policy a scan of the selected packs needs (read-only unless --security-hub)."""
    from auditor.app.rulesets import load_rule_sets
    from auditor.collect.plan import build_plan
    from auditor.collect.registry import iam_policy as policy_for

    cfg = build_config(config, set_, None, None, pack,
                       extra=_options(read_secret_values, probe_cost_explorer, attribute_changes))
    rules = load_rule_sets(rules_dir, cfg.packs)
    plan = build_plan(rules, cfg, cfg.account or "000000000000")
    policy = policy_for(plan.types, plan.options)
    if security_hub:
        from auditor.securityhub import policy_statement

        policy["Statement"].append(policy_statement())
    sys.stdout.write(json.dumps(policy, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
    app.command("collect")(collect)
    app.command("iam-policy")(iam_policy)
