"""Commands: ccme-audit egress probe | list."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import (
    ConfigOpt,
    FailOnOpt,
    FormatOpt,
    OutputDirOpt,
    OutputOpt,
    RegionOpt,
    RulesDirOpt,
    SetOpt,
    build_config,
    exit_for,
)
from auditor.config import AuditConfig
from auditor.engine.findings import Severity

egress_app = typer.Typer(no_args_is_help=True, help="The egress allowlist: list the required endpoints, probe them.")

FromConfigOpt = Annotated[
    Path | None,
    typer.Option("--from-config", help="Probe only the egress.extra_endpoints of this ccme-audit.yaml "
                                       "(not the shipped list)."),
]


def _config(config: Path | None, from_config: Path | None, set_: list[str] | None,
            region: list[str] | None) -> tuple[AuditConfig, bool]:
    if from_config is not None:
        return build_config(from_config, set_, region), False
    return build_config(config, set_, region), True


def single_region(cfg: AuditConfig) -> AuditConfig:
    """The configuration evaluated once: probe resources are not regional (one host probes every Region)."""
    return AuditConfig(data={**cfg.data, "regions": [cfg.regions[0]]}, source=cfg.source, waivers=cfg.waivers)


def probe_cmd(
    config: ConfigOpt = None,
    from_config: FromConfigOpt = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per step (DNS, connect, TLS, HTTP).")] = 5.0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Endpoints probed at once.")] = 16,
    ca_bundle: Annotated[
        Path | None, typer.Option("--ca-bundle", help="PEM file of trusted CAs (default: the system store).")
    ] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    snapshot_out: Annotated[Path | None, typer.Option("--snapshot-out", help="Also save the probe snapshot.")] = None,
    fail_on: FailOnOpt = Severity.LOW,
    set_: SetOpt = None,
    region: RegionOpt = None,
    rules_dir: RulesDirOpt = None,
) -> None:
    """Resolve and connect to every required endpoint (DNS, TCP, TLS, HTTP HEAD) from this host; report."""
    from auditor.allowlist.endpoints import required_endpoints
    from auditor.app.pipeline import evaluate, report
    from auditor.app.rulesets import load_rule_sets
    from auditor.egress.probe import ProbeOptions, probe, probe_snapshot
    from auditor.report import parse_formats

    formats = parse_formats(fmt or ["text"])
    cfg, shipped = _config(config, from_config, set_, region)
    endpoints = required_endpoints(cfg, shipped=shipped)
    rules = load_rule_sets(rules_dir, ["egress"], add_custom=False)
    results = probe(endpoints, ProbeOptions(timeout=timeout, concurrency=concurrency, ca_bundle=ca_bundle))
    snapshot = probe_snapshot(results, regions=cfg.regions)
    if snapshot_out is not None:
        snapshot.dump(snapshot_out)
    evaluation = evaluate(snapshot, rules, single_region(cfg))
    report(evaluation, formats, output=output, output_dir=output_dir)
    exit_for(evaluation.findings, fail_on)


def list_cmd(
    config: ConfigOpt = None,
    from_config: FromConfigOpt = None,
    set_: SetOpt = None,
    region: RegionOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List the required endpoints (shipped data + configuration), expanded per Region."""
    from auditor.allowlist.endpoints import required_endpoints
    from auditor.errors import InputError

    if fmt not in ("text", "json"):
        raise InputError(f"unknown format '{fmt}'", place="--format", fix="use text or json")
    cfg, shipped = _config(config, from_config, set_, region)
    endpoints = required_endpoints(cfg, shipped=shipped)
    if fmt == "json":
        sys.stdout.write(json.dumps([{"id": e.id, **e.to_json()} for e in endpoints], indent=1) + "\n")
        return
    for e in endpoints:
        note = "" if e.confirmed else "  (to be confirmed)"
        sys.stdout.write(f"{e.family:<16} {e.host}:{e.port:<6} {e.id}{note}\n")


egress_app.command("probe")(probe_cmd)
egress_app.command("list")(list_cmd)


def register(app: typer.Typer) -> None:
    app.add_typer(egress_app, name="egress")
