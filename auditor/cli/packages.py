"""Commands: ccme-audit packages check | list."""

from __future__ import annotations

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
    RulesDirOpt,
    SetOpt,
    build_config,
    exit_for,
)
from auditor.engine.findings import Severity

packages_app = typer.Typer(
    no_args_is_help=True, help="Private-deployment packages (CCME/pkgs/deps, management/pkgs/deps)."
)

DependenciesOpt = Annotated[
    Path, typer.Option("--dependencies", "-d", help="The dependencies.yaml of the CCME release.")
]
ArchOpt = Annotated[
    list[str] | None, typer.Option("--arch", help="x86_64 and/or aarch64 (default: both); repeat for several.")
]
OsOpt = Annotated[
    list[str] | None,
    typer.Option("--os", help="el7, el8, ... (default: the os keys dependencies.yaml gives mariadb/galera, "
                              "else el8)."),
]


def _required(dependencies: Path, arch: list[str] | None, os_: list[str] | None) -> list[object]:
    from auditor.packages.render import ARCHES, load_dependencies, required_files

    deps = load_dependencies(dependencies)
    return list(required_files(deps, file=str(dependencies), arches=arch or ARCHES, oses=os_ or None))


def check_cmd(
    target: Annotated[str, typer.Argument(help="A directory holding CCME/ and management/, or s3://BUCKET/PREFIX.")],
    dependencies: DependenciesOpt,
    arch: ArchOpt = None,
    os_: OsOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile for an s3:// target.")] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    snapshot_out: Annotated[Path | None, typer.Option("--snapshot-out", help="Also save the snapshot here.")] = None,
    fail_on: FailOnOpt = Severity.LOW,
    rules_dir: RulesDirOpt = None,
) -> None:
    """Report every file of the seed's package lists missing from TARGET, and every .rpm missing its .sig."""
    from auditor.app.pipeline import evaluate, report
    from auditor.app.rulesets import load_rule_sets
    from auditor.cli.egress import single_region
    from auditor.packages.check import files_snapshot, list_directory, list_s3
    from auditor.packages.render import RequiredFile
    from auditor.report import parse_formats

    formats = parse_formats(fmt or ["text"])
    cfg = build_config(config, set_)
    required = [r for r in _required(dependencies, arch, os_) if isinstance(r, RequiredFile)]
    directories = sorted({r.directory for r in required})
    if target.startswith("s3://"):
        listing = list_s3(target, directories, profile=profile)
    else:
        listing = list_directory(Path(target), directories)
    snapshot = files_snapshot(required, listing)
    if snapshot_out is not None:
        snapshot.dump(snapshot_out)
    rules = load_rule_sets(rules_dir, ["packages"], add_custom=False)
    evaluation = evaluate(snapshot, rules, single_region(cfg))
    report(evaluation, formats, output=output, output_dir=output_dir)
    exit_for(evaluation.findings, fail_on)


def list_cmd(dependencies: DependenciesOpt, arch: ArchOpt = None, os_: OsOpt = None) -> None:
    """Print the file paths the lists render to (one a line)."""
    from auditor.packages.render import RequiredFile

    for item in _required(dependencies, arch, os_):
        if isinstance(item, RequiredFile):
            sys.stdout.write(f"{item.path}\n")


packages_app.command("check")(check_cmd)
packages_app.command("list")(list_cmd)


def register(app: typer.Typer) -> None:
    app.add_typer(packages_app, name="packages")
