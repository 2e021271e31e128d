"""`ccme-audit iac PATH...`: the CI gate, a thin shell over `auditor.app.iac.audit_paths`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from auditor.app.iac import audit_paths, bad_input
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
    SetOpt,
    build_config,
    exit_for,
)
from auditor.cli.output import Color, ColorOpt, QuietOpt, ShowOpt, emit, view
from auditor.engine.findings import Finding, Severity
from auditor.engine.waivers import check_waivers
from auditor.errors import InputError

DEFAULT_IAC_PACKS = ("ccme", "parallelcluster")


def parse_params(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise InputError(
                f"--param '{item}' is not NAME=VALUE",
                place="--param",
                fix="write --param Name=Value (a CloudFormation parameter or Terraform variable)",
            )
        name, value = item.split("=", 1)
        out[name.strip()] = value
    return out


PathsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Templates or directories: CloudFormation, Terraform (HCL "
        "directories or plan JSON), ParallelCluster configurations."
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("iac")
    def iac(
        paths: PathsArg,
        config: ConfigOpt = None,
        pack: PackOpt = None,
        fmt: FormatOpt = None,
        output: OutputOpt = None,
        output_dir: OutputDirOpt = None,
        fail_on: FailOnOpt = Severity.LOW,
        param: Annotated[
            list[str] | None,
            typer.Option("--param", help="A CloudFormation parameter or Terraform variable: NAME=VALUE (repeatable)."),
        ] = None,
        baseline: Annotated[
            Path | None,
            typer.Option(
                "--baseline",
                help="Suppressions file: rule, resource, reason, expires (expired entries fail).",
            ),
        ] = None,
        checkov: Annotated[
            bool,
            typer.Option("--checkov", help="Also run checkov on the same paths and merge its failed checks."),
        ] = False,
        checkov_path: Annotated[
            Path | None,
            typer.Option("--checkov-path", help="The checkov executable (default: found on PATH)."),
        ] = None,
        complete: Annotated[
            bool,
            typer.Option(
                "--complete",
                help="The templates describe the whole CCME prerequisite set: a bucket, key alias, VPC, secret "
                "or certificate that none of them describes FAILs as not found (else such rules are SKIPPED). "
                "Same as iac.complete: true in the configuration.",
            ),
        ] = False,
        set_: SetOpt = None,
        region: RegionOpt = None,
        kms_prefix: KmsPrefixOpt = None,
        rules_dir: RulesDirOpt = None,
        color: ColorOpt = Color.AUTO,
        show: ShowOpt = None,
        quiet: QuietOpt = False,
    ) -> None:
        """Check infrastructure code (the CI gate): the same rules as a live scan, on templates."""
        from auditor.engine.rules import load_rules
        from auditor.iac import checkov as checkov_mod
        from auditor.report import parse_formats

        formats = parse_formats(fmt or ["text"])
        look = view(color, show, quiet)
        cfg = build_config(config, set_, region, kms_prefix, pack)
        if complete:
            cfg = replace(cfg, data={**cfg.data, "iac": {**(cfg.data.get("iac") or {}), "complete": True}})
        packs = list(pack) if pack else sorted(set(cfg.packs) | set(DEFAULT_IAC_PACKS))
        rules = load_rules(rules_dir, packs if not rules_dir else (list(pack) if pack else None))
        check_waivers(cfg, rules)  # a waiver naming no rule is a typo: exit 2
        params = parse_params(param or [])
        extra: list[Finding] = []
        if checkov or checkov_path is not None:
            executable = checkov_mod.find_checkov(checkov_path)
            extra = checkov_mod.findings(checkov_mod.run(executable, paths))
        result, problems = audit_paths(paths, cfg, rules, params=params, baseline=baseline, extra_findings=extra)
        error = bad_input(problems)
        if error is not None:
            raise error  # a malformed template: one line, exit 2, no report written
        for problem in problems:
            sys.stderr.write(f"ccme-audit: warning: {problem.text()}\n")
        emit(result, formats, output=output, output_dir=output_dir, look=look)
        exit_for(result.findings, fail_on)
