"""Command: ccme-audit demo (a seeded in-process moto account, scanned and reported)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import FormatOpt, PackOpt, StatsOpt


def demo(
    pack: PackOpt = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where the reports go.")] = Path("ccme-audit-report"),
    fmt: FormatOpt = None,
    region: Annotated[str, typer.Option("--region", help="The demo account's region.")] = "eu-west-1",
    stats: StatsOpt = False,
    seed_into: Annotated[
        str | None,
        typer.Option("--seed-into", metavar="<url>",
                     help="Seed the same environment into an emulator at this URL (moto_server) instead, write the "
                     "configuration a scan of it needs to --output-dir/ccme-audit.yaml, and stop (see README, "
                     "'Without an AWS account')."),
    ] = None,
) -> None:
    """Seed a CCME environment with planted faults in an in-process moto account, scan it, report. A self-test:
    exit 0 when the scan found exactly the planted faults (and no ERROR), 1 otherwise."""
    from auditor.demo.run import run_demo
    from auditor.regions import check_regions

    check_regions([region])
    if seed_into is not None:
        import sys

        from auditor.cli.output import use_endpoint
        from auditor.demo.run import seed_endpoint

        use_endpoint(seed_into)
        path = seed_endpoint(seed_into, region, output_dir)
        sys.stderr.write(f"wrote {path}\nscan it: ccme-audit scan --endpoint-url {seed_into} --config {path}\n")
        return
    if not run_demo(packs=pack, output_dir=output_dir, formats=fmt, region=region, stats=stats):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
