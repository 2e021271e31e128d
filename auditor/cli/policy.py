"""``ccme-audit policy``: list the policy requirements and check a policy file against one.

Exit codes: 0 requirement met, 1 violated, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from auditor.policy.model import MAX_BYTES
from auditor.policy.requirements import (
    REQUIREMENTS,
    RequirementContext,
    RequirementResult,
    check_document,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Judge S3 bucket, KMS key and VPC endpoint policies by the requests they allow and deny.",
)


class OutputFormat(StrEnum):
    """Output formats."""

    text = "text"
    json = "json"


def _format(value: str) -> OutputFormat:
    try:
        return OutputFormat(value)
    except ValueError:
        raise _bad_input(f"--format {value!r} is unknown; use text or json") from None


def _bad_input(message: str) -> typer.Exit:
    sys.stderr.write("ccme-audit policy: error: " + " ".join(message.split()) + "\n")
    return typer.Exit(2)


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    path = Path(file)
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _bad_input(f"{file}: no such file; give the path of a policy JSON file") from None
    except IsADirectoryError:
        raise _bad_input(f"{file}: is a directory; give the path of a policy JSON file") from None
    except OSError as exc:
        raise _bad_input(f"{file}: cannot be read ({exc.strerror}); check the path and permissions") from None


def _pinned(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise _bad_input(f"--context {pair!r} is not KEY=VALUE; write e.g. --context aws:PrincipalOrgID=o-abc")
        out[key.strip()] = value
    return out


@app.command("requirements")
def requirements_command(
    output: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List the requirements: id, what they apply to, title."""
    if _format(output) is OutputFormat.json:
        rows = [
            {
                "id": r.id,
                "applies_to": r.applies_to,
                "title": r.title,
                "params": list(r.params),
                "source": r.source,
            }
            for r in REQUIREMENTS.values()
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r) for r in REQUIREMENTS)
    for req in REQUIREMENTS.values():
        typer.echo(f"{req.id:<{width}}  {req.applies_to:<4}  {req.title}")


@app.command("check")
def check_command(
    file: Annotated[str | None, typer.Argument(help="Policy JSON file ('-' for stdin).", show_default=False)] = None,
    requirement: Annotated[
        str | None, typer.Option("--requirement", "-r", help="Requirement id (see: requirements).")
    ] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="Bucket name (S3 requirements).")] = None,
    account: Annotated[str | None, typer.Option("--account", help="12-digit AWS account id.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS Region, e.g. eu-west-1.")] = None,
    key_arn: Annotated[str | None, typer.Option("--key-arn", help="ARN of the KMS key (KMS requirements).")] = None,
    log_group_prefix: Annotated[
        str,
        typer.Option(
            "--log-group-prefix",
            help="kms-cloudwatch-logs: only log groups whose name starts with this (default: every log group).",
        ),
    ] = "",
    context: Annotated[
        list[str] | None,
        typer.Option("--context", help="Request-context value known for this environment: KEY=VALUE."),
    ] = None,
    output: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Check a policy file against one requirement."""
    fmt = _format(output)
    if not file:
        raise _bad_input("FILE is missing; give the path of a policy JSON file ('-' for stdin)")
    if not requirement:
        raise _bad_input(
            "--requirement is missing; add --requirement ID (list them with: ccme-audit policy requirements)"
        )
    req = REQUIREMENTS.get(requirement)
    if req is None:
        raise _bad_input(f"--requirement {requirement!r} is unknown; use one of: {', '.join(REQUIREMENTS)}")
    given = {"account": account, "region": region, "bucket": bucket, "key_arn": key_arn}
    for name in req.params:
        if not given.get(name):
            flag = "--" + name.replace("_", "-")
            raise _bad_input(f"{flag} is required by {req.id}; add {flag} {name.upper()}")
    ctx = RequirementContext(
        account=account or "",
        region=region or "",
        bucket=bucket,
        key_arn=key_arn,
        pinned=_pinned(context),
        log_group_prefix=log_group_prefix,
    )
    problems = req.param_problems(ctx)
    if problems:
        raise _bad_input(f"{problems[0]}; fix the flag")
    data = _read(file)
    result = check_document(data, req.id, ctx)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps({"file": file, **result.to_json_value()}, indent=2))
    if result.error is not None:
        raise _bad_input(escape_text(f"{file}: {result.error}"))
    if fmt is OutputFormat.text:
        _print_text(file, result)
    raise typer.Exit(0 if result.ok else 1)


_UNSAFE = {0x7F, 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF}


def escape_text(text: str) -> str:
    """Control and bidirectional-override characters shown as ``<U+202E>`` (the code point they were)."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x20 or 0x80 <= cp < 0xA0 or cp in _UNSAFE:
            out.append(f"<U+{cp:04X}>")
        else:
            out.append(ch)
    return "".join(out)


def _print_text(file: str, result: RequirementResult) -> None:
    scope = "for every request" if result.ok else ""
    head = f"{result.claim()} {result.requirement}: {file}"
    typer.echo(escape_text(f"{head} ({scope}, proved by the solver)" if scope else head))
    for line in result.violations:
        typer.echo(escape_text(f"  - {line}"))
    for line in result.warnings:
        typer.echo(escape_text(f"  warning: {line}"))
    for line in result.notes:
        typer.echo(escape_text(f"  note: {line}"))
