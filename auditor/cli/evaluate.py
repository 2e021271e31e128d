"""Command: ccme-audit evaluate (a saved snapshot, offline)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import (
    ConfigOpt,
    FailOnOpt,
    FormatOpt,
    KmsPrefixOpt,
    OutputDirOpt,
    OutputOpt,
    PackOpt,
    RegionOpt,
    RulesDirOpt,
    SecurityHubOpt,
    SetOpt,
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
from auditor.cli.output import Color, ColorOpt, QuietOpt, ShowOpt, emit, view
from auditor.engine.findings import Severity
from auditor.engine.waivers import check_waivers


def evaluate(
    snapshot: Annotated[
        Path, typer.Argument(help="A snapshot JSON file (from collect, scan --snapshot-out or a loader).")
    ],
    config: ConfigOpt = None,
    pack: PackOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    fail_on: FailOnOpt = Severity.LOW,
    set_: SetOpt = None,
    region: RegionOpt = None,
    kms_prefix: KmsPrefixOpt = None,
    rules_dir: RulesDirOpt = None,
    security_hub: SecurityHubOpt = False,
    check: CheckOpt = None,
    skip_check: SkipCheckOpt = None,
    severity: SeverityOpt = None,
    baseline: BaselineOpt = None,
    create_baseline: CreateBaselineOpt = None,
    errors_fail_on: ErrorsFailOnOpt = None,
    soft_fail: SoftFailOpt = False,
    show_config_: ShowConfigOpt = False,
    output_name_: OutputNameOpt = None,
    color: ColorOpt = Color.AUTO,
    show: ShowOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Evaluate the rule packs on a saved snapshot (offline, unless --security-hub), with the configuration
    the snapshot was collected with unless --config names another (--set still applies)."""
    from auditor.app.pipeline import evaluate as run
    from auditor.app.pipeline import read_snapshot, snapshot_config
    from auditor.app.rulesets import load_rule_sets
    from auditor.report import parse_formats
    from auditor.snapshot import evaluation_regions

    formats = parse_formats(fmt or ["text"])
    look = view(color, show, quiet)
    name = output_name(output_name_)
    if region:
        from auditor.regions import check_regions

        check_regions(region)  # the flags first, then the file
    snap = read_snapshot(snapshot)
    recorded = snapshot_config(snap) if config is None else None  # told on stderr as the configuration read
    # The snapshot's regions, unless the configuration names them (--config, --set regions=...);
    # --region may only narrow them.
    # Named = set by --config or the discovered file, CCME_AUDIT_REGIONS or --set regions=...
    from auditor.config import DEFAULTS

    unnamed = {key: value for key, value in (recorded or {}).items() if key != "regions"}
    named = build_config(config, set_, None, kms_prefix, pack, base=unnamed).data.get("regions") != DEFAULTS["regions"]
    chosen = region if named else evaluation_regions(snap, region)
    cfg = build_config(config, set_, chosen, kms_prefix, pack, base=recorded)
    if show_config_:
        show_config(cfg)
    gate = GateOptions.build(check=check, skip_check=skip_check, severity=severity, fail_on=fail_on,
                             errors_fail_on=errors_fail_on, soft_fail=soft_fail, baseline=baseline,
                             create_baseline=create_baseline, config=cfg)
    loaded = load_rule_sets(rules_dir, cfg.packs)
    check_waivers(cfg, loaded)  # a waiver naming no rule is a typo: exit 2
    rules = gate.rules(loaded)
    # The snapshot's retries were the collection's, not this evaluation's: not reported again as its own.
    result = gate.apply(dataclasses.replace(run(snap, rules, cfg), retries=None))
    emit(result, formats, output=output, output_dir=output_dir, look=look, name=name)
    gate.flush()
    if security_hub:
        security_hub_import(result)
    gate.exit(result)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
