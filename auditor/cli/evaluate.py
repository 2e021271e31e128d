"""Command: ccme-audit evaluate (a saved snapshot, offline)."""

from __future__ import annotations

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
from auditor.engine.findings import Severity


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
) -> None:
    """Evaluate the rule packs on a saved snapshot (offline, unless --security-hub)."""
    from auditor.app.pipeline import evaluate as run
    from auditor.app.pipeline import read_snapshot, report
    from auditor.app.rulesets import load_rule_sets
    from auditor.report import parse_formats

    formats = parse_formats(fmt or ["text"])
    name = output_name(output_name_)
    cfg = build_config(config, set_, region, kms_prefix, pack)
    if show_config_:
        show_config(cfg)
    gate = GateOptions.build(check=check, skip_check=skip_check, severity=severity, fail_on=fail_on,
                             errors_fail_on=errors_fail_on, soft_fail=soft_fail, baseline=baseline,
                             create_baseline=create_baseline, config=cfg)
    rules = gate.rules(load_rule_sets(rules_dir, cfg.packs))
    snap = read_snapshot(snapshot)
    result = gate.apply(run(snap, rules, cfg))
    report(result, formats, output=output, output_dir=output_dir, name=name)
    gate.flush()
    if security_hub:
        security_hub_import(result)
    gate.exit(result)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
