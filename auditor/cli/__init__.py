"""The ccme-audit command line (typer): the top of the house. Each command is a thin shell over library calls;
a module per command group (auditor/cli/<group>.py), the shared options in auditor/cli/common.py."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from auditor import __version__
from auditor.errors import InputError

# The click that typer runs on: typer >= 0.16 vendors its own (and no longer installs click), older
# typer depends on click itself. Importing `click` directly breaks a plain `pip install ccme-audit`.
try:
    from typer._click import exceptions as _click
except ImportError:  # pragma: no cover - typer < 0.16
    from click import exceptions as _click  # type: ignore[no-redef]

_USAGE_ERRORS: tuple[type[Exception], ...] = (_click.UsageError,)

app = typer.Typer(
    add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Is this AWS account, and this infrastructure code, ready for CCME / ParallelCluster?",
)


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


# The command groups, in the order --help lists them: each module defines `register(app: typer.Typer)`.
COMMAND_MODULES = (
    "auditor.cli.evaluate",    # ccme-audit evaluate
    "auditor.cli.rules",       # ccme-audit rules list|show|validate|schema|params
    "auditor.cli.policy",      # ccme-audit policy check|requirements
    "auditor.cli.scan",        # ccme-audit scan|collect|iam-policy
    "auditor.cli.demo",        # ccme-audit demo
    "auditor.cli.report",      # ccme-audit report|remediate
    "auditor.cli.iac",         # ccme-audit iac
    "auditor.cli.egress",      # ccme-audit egress probe|list
    "auditor.cli.packages",    # ccme-audit packages check
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
            app.add_typer(sub.app, name=module.split(".")[2])
    _registered = True


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors with exit code 2 for bad input, never a traceback."""
    _register_optional()
    command = typer.main.get_command(app)
    from auditor.cli.output import tidy_help

    tidy_help(command)
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
