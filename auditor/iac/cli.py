"""`ccme-audit iac PATH...`: the CI gate, a thin shell over `audit_paths`."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli import (
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
)
from auditor.config import AuditConfig
from auditor.engine.evaluate import INCOMPLETE_HINT, NEEDS_VALUE, WILDCARD_RESOURCE, Evaluation, iac_complete
from auditor.engine.findings import Finding, Severity, Source, Status
from auditor.engine.rules import Rule
from auditor.errors import InputError
from auditor.iac.model import PARSE_RULE_ID, ParseProblem

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


def parse_finding(problem: ParseProblem) -> Finding:
    if problem.finding:
        return replace(_parse_finding(problem), rule_id=NESTED_RULE_ID, severity=Severity.HIGH,
                       title="The nested stacks a template names can be read")
    return _parse_finding(problem)


NESTED_RULE_ID = "IAC-NESTED"


def _parse_finding(problem: ParseProblem) -> Finding:
    return Finding(
        rule_id=PARSE_RULE_ID,
        title="The template can be read",
        pack="iac",
        area="iac",
        resource_type="iac.file",
        resource_id=problem.file,
        status=Status.ERROR,
        severity=Severity.CRITICAL,
        message=problem.message,
        source=Source(document="ccme-audit", section="IaC loaders: a template that cannot be read is an error"),
        location={"file": problem.file, "line": problem.line},
    )


def _skipped_for_absent_types(
    rules: Sequence[Rule], present: set[str], region: str | None, account: str | None, complete: bool = False
) -> tuple[list[Rule], list[Finding]]:
    """Rules on a resource type no template of the run describes are SKIPPED, not 'not found'.

    Unless the run is declared complete: then a rule asserting that a resource exists is evaluated
    (and FAILs as not found), the others stay SKIPPED (there is nothing for them to judge).
    """
    kept, skipped = [], []
    for rule in rules:
        if not rule.iac:
            continue
        exists_rule = rule.scope.expect == "at_least_one"
        if rule.resource_type in present or (complete and exists_rule):
            kept.append(rule)
            continue
        hint = f"; {INCOMPLETE_HINT}" if exists_rule else ""
        skipped.append(
            Finding(
                rule_id=rule.id,
                title=rule.title,
                pack=rule.pack,
                area=rule.area,
                resource_type=rule.resource_type,
                resource_id=WILDCARD_RESOURCE,
                status=Status.SKIPPED,
                severity=rule.severity,
                message=f"no template in this run describes a {rule.resource_type}{hint}",
                source=rule.source,
                region=region,
                account=account,
                remediation=rule.remediation,
            )
        )
    return kept, skipped


def audit_paths(
    paths: Sequence[Path],
    config: AuditConfig,
    rules: Sequence[Rule],
    *,
    params: Mapping[str, str] | None = None,
    baseline: Path | None = None,
    today: dt.date | None = None,
    extra_findings: Sequence[Finding] = (),
) -> tuple[Evaluation, list[ParseProblem]]:
    """Load templates, evaluate the IaC rules, apply suppressions; parse problems become ERROR findings."""
    from auditor.engine.evaluate import evaluate
    from auditor.iac import load_paths
    from auditor.iac.suppress import apply_suppressions, load_baseline

    today = today or dt.datetime.now(dt.UTC).date()
    region = config.regions[0] if config.regions else None
    loaded = load_paths(
        paths,
        region=region,
        account=config.account,
        params=params or {},
        read_secret_values=config.option("read_secret_values"),
    )
    entries = load_baseline(baseline) if baseline is not None else []
    present = {r.type for r in loaded.snapshot.resources}
    if "ec2.vpc" in present:
        present.add("ec2.topology")  # derived from the VPCs by the engine before evaluation
    complete = iac_complete(config)
    selected, skipped = _skipped_for_absent_types(rules, present, region, config.account, complete)
    result = evaluate(loaded.snapshot, selected, config, today=today, mode="iac", complete=complete)
    unread = [p for p in loaded.problems if p.unread]
    if complete and unread:
        result = replace(result, findings=tuple(_unread_children(f, unread) for f in result.findings))
    parse = [parse_finding(p) for p in loaded.problems if not p.warning]
    findings = list(result.findings) + skipped + parse + list(extra_findings)
    findings = apply_suppressions(findings, loaded.suppressions, entries, today)
    findings.sort(key=lambda f: (f.rule_id, f.region or "", f.resource_id))
    notes = list(loaded.problems)
    if loaded.skipped:
        more = len(loaded.skipped) - 5
        shown = ", ".join(loaded.skipped[:5]) + (f" and {more} more" if more > 0 else "")
        notes.append(ParseProblem(shown, f"{len(loaded.skipped)} file(s) of the directories scanned are not "
                                  "templates: skipped", warning=True))
    unset = unset_values(findings)
    if unset:
        notes.append(ParseProblem("configuration", f"rules SKIPPED for values the configuration does not set: {unset} "
                                  "(set them in ccme-audit.yaml or with --set NAME=VALUE to judge those rules)",
                                  warning=True))
    if loaded.nested:
        notes.append(ParseProblem(", ".join(loaded.nested), "checked only as nested stacks of the templates that "
                                  "follow them (with the parameters they pass)", warning=True))
    return replace(result, findings=tuple(findings), account=config.account), notes


def _unread_children(finding: Finding, unread: Sequence[ParseProblem]) -> Finding:
    """In a complete run, "not found" is a claim about every template; a nested stack that is not read might
    hold the resource: ERROR naming it, not FAIL."""
    if finding.status is not Status.FAIL or not finding.message.startswith("not found:"):
        return finding
    first = unread[0]
    more = f" (and {len(unread) - 1} more)" if len(unread) > 1 else ""
    return replace(finding, status=Status.ERROR, message=f"{finding.message}; but {first.text()}{more}: it may "
                   "hold it (scan the processed or packaged templates)")


def unset_values(findings: Sequence[Finding]) -> str:
    """'secret_name (2 rules), account (1 rule)': the configuration values whose absence SKIPPED rules."""
    counts: dict[str, int] = {}
    for finding in findings:
        if finding.status is Status.SKIPPED and finding.message.startswith(NEEDS_VALUE):
            name = finding.message[len(NEEDS_VALUE):].split("'")[1]
            counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{name} ({n} rule{'s' if n > 1 else ''})" for name, n in counts.items())


def bad_input(problems: Sequence[ParseProblem]) -> InputError | None:
    """The first malformed template as one line of bad input (exit 2), or None."""
    errors = [p for p in problems if not p.warning and not p.finding]
    if not errors:
        return None
    first = errors[0]
    more = f" ({len(errors) - 1} more file error(s) after this one)" if len(errors) > 1 else ""
    return InputError(
        first.message + more,
        file=first.file,
        place=f"line {first.line}" if first.line else None,
        fix="correct the template, or leave the file out of the paths given",
    )


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
    ) -> None:
        """Check infrastructure code (the CI gate): the same rules as a live scan, on templates."""
        from auditor.cli import build_config, exit_for
        from auditor.engine.rules import load_rules
        from auditor.iac import checkov as checkov_mod
        from auditor.report import parse_formats, write_reports

        formats = parse_formats(fmt or ["text"])
        cfg = build_config(config, set_, region, kms_prefix, pack)
        if complete:
            cfg = replace(cfg, data={**cfg.data, "iac": {**(cfg.data.get("iac") or {}), "complete": True}})
        packs = list(pack) if pack else sorted(set(cfg.packs) | set(DEFAULT_IAC_PACKS))
        rules = load_rules(rules_dir, packs if not rules_dir else (list(pack) if pack else None))
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
        write_reports(result, formats, output=output, output_dir=output_dir)
        exit_for(result.findings, fail_on)
