"""`ccme-audit report` (re-render a saved JSON report) and `ccme-audit remediate` (write a fix bundle)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli import (
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
    SetOpt,
    build_config,
    exit_for,
    load_history,
)
from auditor.engine.findings import Severity
from auditor.errors import InputError


def _load_input(path: Path) -> tuple[str, Any]:
    """('report', data) for a JSON report, ('snapshot', data) for a snapshot."""
    from auditor.fileio import parse_json, read_text

    data = parse_json(read_text(path), file=str(path))
    if isinstance(data, dict) and "report_version" in data:
        return "report", data
    if isinstance(data, dict) and "resources" in data:
        return "snapshot", data
    raise InputError(
        "neither a ccme-audit JSON report nor a snapshot",
        file=str(path),
        place="/",
        fix="pass a report from --format json or a snapshot from collect / scan --snapshot-out",
    )


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        report_file: Annotated[Path, typer.Argument(metavar="REPORT.json", help="A JSON report (--format json).")],
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        output_dir: OutputDirOpt = None,
        fail_on: FailOnOpt = Severity.LOW,
        history: HistoryOpt = None,
    ) -> None:
        """Render a saved JSON report again, in any format (text, json, html, junit, sarif, markdown, asff,
        ocsf, csv)."""
        from auditor.report import parse_formats, write_reports
        from auditor.report.common import evaluation_from_report

        kind, data = _load_input(report_file)
        if kind != "report":
            raise InputError(
                "this is a snapshot, not a report",
                file=str(report_file),
                fix="evaluate it: ccme-audit evaluate SNAPSHOT --format ...",
            )
        evaluation = evaluation_from_report(data, file=str(report_file))
        write_reports(evaluation, parse_formats(fmt or ["text"]), output=output, output_dir=output_dir,
                      history=load_history(history, evaluation))
        exit_for(evaluation.findings, fail_on)

    @app.command("remediate")
    def remediate(
        source: Annotated[
            Path,
            typer.Argument(
                metavar="SNAPSHOT|REPORT.json",
                help="A snapshot (evaluated with the configuration) or a JSON report.",
            ),
        ],
        fmt: Annotated[str, typer.Option("--format", "-f", help="sh, cloudformation or terraform.")] = "sh",
        output: OutputOpt = None,
        config: ConfigOpt = None,
        pack: PackOpt = None,
        set_: SetOpt = None,
        region: RegionOpt = None,
        kms_prefix: KmsPrefixOpt = None,
        rules_dir: RulesDirOpt = None,
    ) -> None:
        """Write one bundle fixing every FAIL finding. ccme-audit never applies it: review it, then run it."""
        from auditor import __version__
        from auditor.fileio import write_text_atomic
        from auditor.report.common import evaluation_from_report
        from auditor.report.remediation import parse_kind, render_bundle

        kind = parse_kind(fmt)
        what, data = _load_input(source)
        if what == "report":
            from auditor.report.remediation import validate_report_attributes

            evaluation = evaluation_from_report(data, file=str(source))
            validate_report_attributes(evaluation.findings, file=str(source))
        else:
            from auditor.engine.evaluate import evaluate
            from auditor.engine.rules import load_rules
            from auditor.snapshot import snapshot_from_json

            cfg = build_config(config, set_, region, kms_prefix, pack)
            evaluation = evaluate(snapshot_from_json(data, file=str(source)), load_rules(rules_dir, cfg.packs), cfg)
        header = {
            "account": evaluation.account,
            "regions": list(evaluation.regions),
            "tool_version": __version__,
            "source": source.name,
        }
        text = render_bundle(evaluation.findings, kind, header)
        if output is None:
            sys.stdout.write(text)
        else:
            write_text_atomic(output, text)
            if kind.value == "sh":
                output.chmod(0o750)
            sys.stderr.write(f"ccme-audit: wrote {output} (not applied: review it, then run it yourself)\n")
