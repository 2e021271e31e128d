"""`ccme-audit iac PATH...`: the CI gate, a thin shell over `auditor.app.iac.audit_paths`."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
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
from auditor.engine.findings import Finding, Severity
from auditor.engine.waivers import check_waivers
from auditor.errors import InputError

DEFAULT_IAC_PACKS = ("ccme", "parallelcluster")


def read_parameters_file(path: Path) -> dict[str, str]:
    """A CloudFormation parameters file: the JSON list `aws cloudformation create-stack --parameters file://` reads
    ([{"ParameterKey": K, "ParameterValue": V}]), the `KEY=VALUE` list `deploy --parameter-overrides` reads, or
    a CodePipeline template configuration ({"Parameters": {K: V}})."""
    from auditor.fileio import parse_json, read_text

    doc = parse_json(read_text(path), file=str(path))
    items = doc.get("Parameters") if isinstance(doc, dict) else doc
    out: dict[str, str] = {}
    if isinstance(items, dict) and all(isinstance(v, str | int | float) and not isinstance(v, bool)
                                       for v in items.values()):
        return {str(k): str(v) for k, v in items.items()}
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("ParameterKey"), str) and "ParameterValue" in item:
                out[item["ParameterKey"]] = str(item["ParameterValue"])
            elif isinstance(item, str) and "=" in item and item.split("=", 1)[0].strip():
                key, value = item.split("=", 1)
                out[key.strip()] = value
            else:
                raise InputError("not a parameter", file=str(path), place=f"/{index}",
                                 fix='write {"ParameterKey": "Name", "ParameterValue": "value"} or "Name=value"')
        return out
    raise InputError("not a CloudFormation parameters file", file=str(path), place="/",
                     fix='write [{"ParameterKey": ..., "ParameterValue": ...}], ["Name=value"] or '
                     '{"Parameters": {"Name": "value"}}')


def terraform_env(environ: Mapping[str, str]) -> dict[str, str]:
    """TF_VAR_name=value from the environment, as Terraform reads them (below any tfvars file)."""
    return {k[len("TF_VAR_"):]: v for k, v in environ.items() if k.startswith("TF_VAR_") and len(k) > 7}


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
        suppressions: Annotated[
            Path | None,
            typer.Option(
                "--suppressions",
                help="Suppressions file: rule, resource (globs), reason, expires (expired entries fail).",
            ),
        ] = None,
        baseline: BaselineOpt = None,
        create_baseline: CreateBaselineOpt = None,
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
        check: CheckOpt = None,
        skip_check: SkipCheckOpt = None,
        severity: SeverityOpt = None,
        errors_fail_on: ErrorsFailOnOpt = None,
        soft_fail: SoftFailOpt = False,
        show_config_: ShowConfigOpt = False,
        output_name_: OutputNameOpt = None,
        skip_path: Annotated[
            list[str] | None,
            typer.Option("--skip-path", metavar="GLOB", help="Leave out these paths of the scanned directories "
                         "(globs relative to the directory, or a file name; repeatable; adds to config skip_path). "
                         "What git ignores (.gitignore) is left out too; a file named as an argument is always read."),
        ] = None,
        var_file: Annotated[
            list[Path] | None,
            typer.Option("--var-file", metavar="FILE", help="Terraform variables file (.tfvars or .tfvars.json; "
                         "repeatable, later wins) for the root modules; TF_VAR_* from the environment are read too."),
        ] = None,
        parameters_file: Annotated[
            Path | None,
            typer.Option("--parameters-file", metavar="FILE", help="CloudFormation parameter values: the JSON of "
                         "create-stack --parameters, deploy --parameter-overrides or a CodePipeline template "
                         "configuration (--param wins)."),
        ] = None,
        color: ColorOpt = Color.AUTO,
        show: ShowOpt = None,
        quiet: QuietOpt = False,
    ) -> None:
        """Check infrastructure code (the CI gate): the same rules as a live scan, on templates."""
        from auditor.app.rulesets import load_rule_sets
        from auditor.iac import checkov as checkov_mod
        from auditor.report import parse_formats

        formats = parse_formats(fmt or ["text"])
        name = output_name(output_name_)
        look = view(color, show, quiet)
        cfg = build_config(config, set_, region, kms_prefix, pack)
        if complete:
            cfg = replace(cfg, data={**cfg.data, "iac": {**(cfg.data.get("iac") or {}), "complete": True}})
        if show_config_:
            show_config(cfg)
        packs = list(pack) if pack else sorted(set(cfg.packs) | set(DEFAULT_IAC_PACKS))
        rules = load_rule_sets(rules_dir, packs)
        check_waivers(cfg, rules)  # a waiver naming no rule is a typo: exit 2
        gate = GateOptions.build(check=check, skip_check=skip_check, severity=severity, fail_on=fail_on,
                                 errors_fail_on=errors_fail_on, soft_fail=soft_fail, baseline=baseline,
                                 create_baseline=create_baseline, config=cfg)
        import os

        from_file = read_parameters_file(parameters_file) if parameters_file is not None else {}
        params = {**from_file, **parse_params(param or [])}
        for path in var_file or []:
            if not path.is_file():
                raise InputError("no such file", file=str(path), place="--var-file", fix="name a .tfvars file")
        extra: list[Finding] = []
        if checkov or checkov_path is not None:
            executable = checkov_mod.find_checkov(checkov_path)
            extra = checkov_mod.findings(checkov_mod.run(executable, paths))
        result, problems = audit_paths(paths, cfg, rules, params=params, baseline=suppressions,
                                       extra_findings=extra, gitignore=True, var_files=var_file or [],
                                       tf_env=terraform_env(os.environ),
                                       skip_paths=[*(cfg.data.get("skip_path") or []), *(skip_path or [])])
        error = bad_input(problems)
        if error is not None:
            raise error  # a malformed template: one line, exit 2, no report written
        result = gate.apply(result, selected=False)  # checkov's ids can be selected too
        emit(result, formats, output=output, output_dir=output_dir, look=look, name=name)
        # after the reports: a run that ends in bad input (exit 2) says one line, not these warnings before it
        for problem in problems:
            sys.stderr.write(f"ccme-audit: warning: {problem.text()}\n")
        gate.exit(result)
