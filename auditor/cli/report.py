"""`ccme-audit report` (re-render a saved JSON report) and `ccme-audit remediate` (write a fix bundle)."""

from __future__ import annotations

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
    SetOpt,
    build_config,
    load_history,
)
from auditor.cli.gating import (
    BaselineOpt,
    CheckOpt,
    CreateBaselineOpt,
    ErrorsFailOnOpt,
    GateOptions,
    OutputNameOpt,
    SeverityOpt,
    SkipCheckOpt,
    SoftFailOpt,
    output_name,
)
from auditor.engine.findings import Severity
from auditor.errors import InputError
from auditor.snapshot import location_text


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


def _template_patch(findings: list[Any], output: Path | None) -> None:
    """remediate --format patch: the templates' fixes as one unified diff; what needs a person on stderr."""
    from auditor.fileio import write_text_atomic
    from auditor.report.templatefix import patch_files, plan

    steps = plan(findings)
    patch, missed = patch_files(steps.edits)
    for finding, why in steps.manual:
        where = location_text(finding.location) if finding.location else finding.resource_id
        sys.stderr.write(f"remediate: not patched: {finding.rule_id} {where}: {why} ({finding.message})\n")
    for edit, why in missed:
        sys.stderr.write(f"remediate: not patched: {edit.rule_id} {edit.file}#{edit.logical}: {why}\n")
    if output is None:
        sys.stdout.write(patch)
    else:
        write_text_atomic(output, patch)
        sys.stderr.write(f"ccme-audit: wrote {output} (not applied: review it, then git apply it)\n")
    done = len(steps.edits) - len(missed)
    sys.stderr.write(f"remediate: {done} change(s) to templates in the patch, "
                     f"{len(steps.manual) + len(missed)} finding(s) to fix by hand\n")


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        report_file: Annotated[Path, typer.Argument(metavar="REPORT.json", help="A JSON report (--format json).")],
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        output_dir: OutputDirOpt = None,
        fail_on: FailOnOpt = Severity.LOW,
        history: HistoryOpt = None,
        output_name_: OutputNameOpt = None,
        check: CheckOpt = None,
        skip_check: SkipCheckOpt = None,
        severity: SeverityOpt = None,
        baseline: BaselineOpt = None,
        create_baseline: CreateBaselineOpt = None,
        errors_fail_on: ErrorsFailOnOpt = None,
        soft_fail: SoftFailOpt = False,
    ) -> None:
        """Render a saved JSON report again, in any format (text, json, html, junit, sarif, markdown, asff,
        ocsf, csv)."""
        from auditor.cli.output import emit
        from auditor.report import parse_formats
        from auditor.report.common import evaluation_from_report

        gate = GateOptions.build(check=check, skip_check=skip_check, severity=severity, fail_on=fail_on,
                                 errors_fail_on=errors_fail_on, soft_fail=soft_fail, baseline=baseline,
                                 create_baseline=create_baseline)
        name = output_name(output_name_)
        kind, data = _load_input(report_file)
        if kind != "report":
            raise InputError(
                "this is a snapshot, not a report",
                file=str(report_file),
                fix="evaluate it: ccme-audit evaluate SNAPSHOT --format ...",
            )
        evaluation = gate.apply(evaluation_from_report(data, file=str(report_file)), selected=False)
        emit(evaluation, parse_formats(fmt or ["text"]), output=output, output_dir=output_dir,
             history=load_history(history, evaluation), name=name)
        gate.exit(evaluation)

    @app.command("remediate")
    def remediate(
        source: Annotated[
            Path,
            typer.Argument(
                metavar="SNAPSHOT|REPORT.json",
                help="A snapshot (evaluated with the configuration) or a JSON report.",
            ),
        ],
        fmt: Annotated[
            str,
            typer.Option("--format", "-f", help="sh, cloudformation or terraform (a live account), or patch: the "
                         "fix of a template report's findings as a unified diff of the templates (git apply)."),
        ] = "sh",
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

        kind = parse_kind(fmt) if fmt != "patch" else None
        what, data = _load_input(source)
        if what == "report":
            given = [name for name, value in (("--config", config), ("--pack", pack), ("--set", set_),
                                              ("--region", region), ("--kms-prefix", kms_prefix),
                                              ("--rules", rules_dir)) if value]
            if given:  # a report is already judged: these would be accepted and silently ignored
                raise InputError(f"{', '.join(given)} cannot change a report: it was evaluated when it was written",
                                 file=str(source), place=given[0],
                                 fix="pass the snapshot instead (scan --snapshot-out, collect), or scan again "
                                 "with these options")
            from auditor.report.remediation import validate_report_attributes

            evaluation = evaluation_from_report(data, file=str(source))
            validate_report_attributes(evaluation.findings, file=str(source))
        else:
            from auditor.app.pipeline import evaluate, snapshot_config
            from auditor.app.rulesets import load_rule_sets
            from auditor.snapshot import snapshot_from_json

            snapshot = snapshot_from_json(data, file=str(source))
            recorded = snapshot_config(snapshot) if config is None else None
            cfg = build_config(config, set_, region, kms_prefix, pack, base=recorded)
            evaluation = evaluate(snapshot, load_rule_sets(rules_dir, cfg.packs), cfg)
        from auditor.report.templatefix import split_template_findings

        live, on_templates = split_template_findings(evaluation.findings)
        if kind is None:
            _template_patch(on_templates, output)
            return
        if on_templates:
            from auditor.cli.output import template_note

            sys.stderr.write(template_note(on_templates))
        header = {
            "account": evaluation.account,
            "regions": list(evaluation.regions),
            "tool_version": __version__,
            "source": source.name,
        }
        text = render_bundle(live, kind, header)
        if output is None:
            sys.stdout.write(text)
        else:
            write_text_atomic(output, text)
            if kind.value == "sh":
                output.chmod(0o750)
            sys.stderr.write(f"ccme-audit: wrote {output} (not applied: review it, then run it yourself)\n")
