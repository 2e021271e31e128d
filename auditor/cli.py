"""The ccme-audit command line (typer). Each command is a thin shell over library calls."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor import __version__
from auditor.config import AuditConfig, load_config, parse_override
from auditor.engine.findings import Severity, failing
from auditor.errors import InputError

# The click that typer runs on: typer >= 0.16 vendors its own (and no longer installs click), older
# typer depends on click itself. Importing `click` directly breaks a plain `pip install ccme-audit`.
try:
    from typer._click import exceptions as _click
except ImportError:  # pragma: no cover - typer < 0.16
    from click import exceptions as _click  # type: ignore[no-redef]

_USAGE_ERRORS: tuple[type[Exception], ...] = (_click.UsageError,)

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Is this AWS account, and this infrastructure code, ready for CCME / ParallelCluster?",
)
rules_app = typer.Typer(no_args_is_help=True, help="List, show and validate rule packs.")
app.add_typer(rules_app, name="rules")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="ccme-audit.yaml (default: ./ccme-audit.yaml if present)."),
]
PackOpt = Annotated[
    list[str] | None,
    typer.Option("--pack", "-p", help="Rule pack(s) to run (default: the configuration's packs)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a configuration value: PATH=VALUE (e.g. buckets.logging=my-logs)."),
]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option("--region", help="Region(s) to audit (overrides the configuration)."),
]
KmsPrefixOpt = Annotated[str | None, typer.Option("--kms-prefix", help="The <KMS_PREFIX> of the key aliases.")]
RulesDirOpt = Annotated[Path | None, typer.Option("--rules", help="Rule directory (default: the shipped policies/).")]
FailOnOpt = Annotated[
    Severity,
    typer.Option("--fail-on", help="Exit 1 when a FAIL or ERROR finding is at or above this severity."),
]


def build_config(
    config: Path | None, sets: list[str] | None, regions: list[str] | None = None, kms_prefix: str | None = None,
    packs: list[str] | None = None, extra: dict[str, Any] | None = None,
) -> AuditConfig:
    overrides = [parse_override(s) for s in sets or []]
    if regions:
        overrides.append(("regions", list(regions)))
    if kms_prefix:
        overrides.append(("kms_prefix", kms_prefix))
    if packs:
        overrides.append(("packs", list(packs)))
    for key, value in (extra or {}).items():
        if value is not None:
            overrides.append((key, value))
    return load_config(config, overrides)


def exit_for(findings: Any, fail_on: Severity) -> None:
    if failing(findings, fail_on):
        raise typer.Exit(1)


FormatOpt = Annotated[
    list[str] | None,
    typer.Option("--format", "-f", help="Report format(s); repeat or comma-separate."),
]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the (single) report here, atomically.")]
OutputDirOpt = Annotated[Path | None, typer.Option("--output-dir", help="Write one file per --format here.")]
SecurityHubOpt = Annotated[
    bool,
    typer.Option("--security-hub", help="Also import the findings into AWS Security Hub (a write: "
                 "BatchImportFindings, GetFindings; resolved findings are archived). Exit 1 if any is not imported."),
]


def security_hub_import(evaluation: Any, profile: str | None = None) -> None:
    """--security-hub: import into the credentials' account; exit 1 when a finding was not imported."""
    import boto3

    from auditor.securityhub import run_import

    if not run_import(evaluation, boto3.Session(profile_name=profile)):
        raise typer.Exit(1)
HistoryOpt = Annotated[
    str | None,
    typer.Option("--history", metavar="DIR|s3://BUCKET/PREFIX",
                 help="Past JSON reports (a folder, or the Lambda's S3 prefix): the HTML report shows when each "
                 "rule last changed state."),
]


def load_history(source: str | None, evaluation: Any, profile: str | None = None) -> Any:
    """The rule history of `evaluation` from the past reports at `source` (None without --history)."""
    if source is None:
        return None
    from auditor.report import history

    return history.build(history.load(source, profile=profile), evaluation, source)


@app.command()
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
) -> None:
    """Evaluate the rule packs on a saved snapshot (offline, unless --security-hub)."""
    from auditor.engine.evaluate import evaluate as run
    from auditor.engine.rules import load_rules
    from auditor.report import parse_formats, write_reports
    from auditor.snapshot import evaluation_regions, load_snapshot

    formats = parse_formats(fmt or ["text"])
    snap = load_snapshot(snapshot)
    # The snapshot's regions, unless the configuration names them (--config, --set regions=...);
    # --region may only narrow them.
    chosen = region if config is not None or any(s.startswith("regions=") for s in set_ or []) else (
        evaluation_regions(snap, region))
    cfg = build_config(config, set_, chosen, kms_prefix, pack)
    rules = load_rules(rules_dir, cfg.packs)
    # The snapshot's retries were the collection's, not this evaluation's: not reported again as its own.
    result = dataclasses.replace(run(snap, rules, cfg), retries=None)
    write_reports(result, formats, output=output, output_dir=output_dir)
    if security_hub:
        security_hub_import(result)
    exit_for(result.findings, fail_on)


@rules_app.command("list")
def rules_list(
    pack: PackOpt = None,
    rules_dir: RulesDirOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List the rules with id, severity, resource type and title."""
    from auditor.engine.rules import load_rules

    rules = load_rules(rules_dir, pack or None)
    if fmt == "json":
        sys.stdout.write(json.dumps([{"id": r.id, "pack": r.pack, "severity": r.severity.value,
                                      "resource_type": r.resource_type, "title": r.title} for r in rules],
                                    indent=1) + "\n")
        return
    for rule in rules:
        sys.stdout.write(f"{rule.id:<40} {rule.pack:<16} {rule.severity.value:<8} {rule.resource_type:<24} "
                         f"{rule.title}\n")


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(help="The rule id.")], rules_dir: RulesDirOpt = None) -> None:
    """Show one rule: its source requirement, scope, assertions and remediation."""
    import yaml

    from auditor.engine.rules import load_rules

    rules = {r.id: r for r in load_rules(rules_dir)}
    rule = rules.get(rule_id)
    if rule is None:
        close = [r for r in rules if rule_id.upper() in r]
        raise InputError(f"no rule with id '{rule_id}'", place="RULE_ID",
                         fix=("did you mean " + ", ".join(close[:5])) if close else "see ccme-audit rules list")
    doc = {
        "id": rule.id, "title": rule.title, "severity": rule.severity.value, "pack": rule.pack,
        "area": rule.area, "file": rule.file, "source": rule.source.to_json(), "resource_type": rule.resource_type,
        "scope": {"where": rule.scope.where, "expect": rule.scope.expect, "missing_id": rule.scope.missing_id},
        "assert": rule.assertion, "parameters": sorted(rule.parameters), "remediation": list(rule.remediation),
    }
    sys.stdout.write(yaml.safe_dump(doc, sort_keys=False, width=110))


@rules_app.command("validate")
def rules_validate(
    path: Annotated[
        Path | None, typer.Argument(help="A rule file or directory (default: the shipped policies/).")
    ] = None,
) -> None:
    """Validate rule files: schema, then semantics (operators, parameters, resource types, unique ids)."""
    from auditor.engine.rules import load_rules

    rules = load_rules(path)
    packs = sorted({r.pack for r in rules})
    sys.stdout.write(f"ok: {len(rules)} rules in {len(packs)} pack(s): {', '.join(packs)}\n")


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule files (composed from the operator table)."""
    from auditor.engine.rules import rule_file_schema

    sys.stdout.write(json.dumps(rule_file_schema(), indent=1) + "\n")


@rules_app.command("params")
def rules_params() -> None:
    """List the parameters rules may use as {name}, with their default values."""
    from auditor.config import DEFAULTS, AuditConfig

    for name, value in sorted(AuditConfig(data=DEFAULTS).params("eu-west-1", None).items()):
        sys.stdout.write(f"{{{name}}} = {value!r}\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"ccme-audit {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """ccme-audit: compliance auditor for CCME / AWS ParallelCluster accounts and infrastructure code."""


# Command groups that live in their own modules: each module defines `register(app: typer.Typer)`.
COMMAND_MODULES = (
    "auditor.policy.cli",      # ccme-audit policy check|requirements
    "auditor.collect.cli",     # ccme-audit scan|collect|iam-policy|demo
    "auditor.report.cli",      # ccme-audit report|remediate
    "auditor.iac.cli",         # ccme-audit iac
    "auditor.egress.cli",      # ccme-audit egress probe|list
    "auditor.packages.cli",    # ccme-audit packages check
)
_registered = False


def _register_optional() -> None:
    global _registered
    if _registered:
        return
    import importlib

    for module in COMMAND_MODULES:
        try:
            sub = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not exc.name or not module.startswith(exc.name):
                raise
            continue
        if hasattr(sub, "register"):
            sub.register(app)
        else:  # a module exposing a sub-application: mounted under its package name
            app.add_typer(sub.app, name=module.split(".")[1])
    _registered = True


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit code 2 for bad input, never a traceback."""
    _register_optional()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="ccme-audit", standalone_mode=False)
    except InputError as exc:
        sys.stderr.write(f"ccme-audit: error: {exc.line()}\n")
        return 2
    except _USAGE_ERRORS as exc:
        ctx = getattr(exc, "ctx", None)
        path = ctx.command_path if ctx else "ccme-audit"
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        sys.stderr.write(f"ccme-audit: error: {message} (see: {path} --help)\n")
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("ccme-audit: aborted\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("ccme-audit: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("CCME_AUDIT_DEBUG"):
            raise
        sys.stderr.write(f"ccme-audit: internal error: {type(exc).__name__}: {exc} "
                         "(set CCME_AUDIT_DEBUG=1 for the traceback and report it)\n")
        return 3
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
