"""What every command shares: the common options, the configuration they build, the exit convention
(exit 1 when a finding fails at or above --fail-on), the Security Hub import and the rule history."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.config import AuditConfig, env_overrides, load_config, parse_override
from auditor.engine.findings import Severity, failing

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="ccme-audit.yaml (default: ccme-audit.yaml or .ccme-audit.yaml in the "
                 "working directory or a parent, up to the repository root)."),
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
RulesDirOpt = Annotated[
    list[Path] | None,
    typer.Option("--rules", metavar="DIR", help="Custom rules: a directory of packs (DIR/<pack>/*.yaml) added to the "
                 "shipped ones (repeatable); a pack of a shipped pack's name replaces it."),
]
FailOnOpt = Annotated[
    Severity,
    typer.Option("--fail-on", help="Exit 1 when a FAIL or ERROR finding is at or above this severity."),
]


def build_config(
    config: Path | None, sets: list[str] | None, regions: list[str] | None = None, kms_prefix: str | None = None,
    packs: list[str] | None = None, extra: dict[str, Any] | None = None, base: dict[str, Any] | None = None,
) -> AuditConfig:
    """`base`: values under the file and flags (the configuration a snapshot recorded)."""
    import os

    # Precedence: --set and flags > CCME_AUDIT_* environment > --config or the discovered file > `base` > defaults.
    overrides = [*env_overrides(os.environ), *(parse_override(s) for s in sets or [])]
    if regions:
        from auditor.regions import check_regions

        check_regions(regions)
        overrides.append(("regions", list(regions)))
    if kms_prefix:
        overrides.append(("kms_prefix", kms_prefix))
    if packs:
        overrides.append(("packs", list(packs)))
    for key, value in (extra or {}).items():
        if value is not None:
            overrides.append((key, value))
    return load_config(config, overrides, base=base)


def exit_for(findings: Any, fail_on: Severity) -> None:
    if failing(findings, fail_on):
        raise typer.Exit(1)


StatsOpt = Annotated[bool, typer.Option("--stats", help="Print API calls by operation on stderr.")]
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
    """--security-hub: import into the credentials' account, one summary line and one line per finding not
    imported (stderr); exit 1 when a finding was not imported."""
    import boto3

    from auditor.app.pipeline import import_findings

    result = import_findings(evaluation, boto3.Session(profile_name=profile))
    sys.stderr.write(result.summary() + "\n")
    for failure in result.failures:
        sys.stderr.write(f"security hub: not imported: {failure.line()}\n")
    if not result.ok:
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
