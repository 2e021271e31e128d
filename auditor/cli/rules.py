"""Commands: ccme-audit rules list | show | validate | schema | params."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import PackOpt, RulesDirOpt
from auditor.errors import InputError

app = typer.Typer(no_args_is_help=True, help="List, show and validate rule packs.")


@app.command("list")
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


@app.command("show")
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


@app.command("validate")
def rules_validate(
    path: Annotated[
        Path | None, typer.Argument(help="A rule file or directory (default: the shipped policies/).")
    ] = None,
) -> None:
    """Validate rule files: schema, then semantics (operators, parameters, resource types, unique ids). Every
    problem is reported, in file order (exit 2 when there is one)."""
    from auditor.engine.rulecheck import rule_problems
    from auditor.engine.rules import load_rules

    problems, files = rule_problems(path)
    if problems:
        for problem in problems:
            sys.stderr.write(f"ccme-audit: error: {problem.line()}\n")
        if len(problems) > 1:
            sys.stderr.write(f"ccme-audit: {len(problems)} problems in {files} rule file(s)\n")
        raise typer.Exit(2)
    rules = load_rules(path)
    packs = sorted({r.pack for r in rules})
    sys.stdout.write(f"ok: {len(rules)} rules in {len(packs)} pack(s): {', '.join(packs)}\n")


@app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule files (composed from the operator table)."""
    from auditor.engine.rules import rule_file_schema

    sys.stdout.write(json.dumps(rule_file_schema(), indent=1) + "\n")


@app.command("params")
def rules_params() -> None:
    """List the parameters rules may use as {name}, with their default values."""
    from auditor.config import DEFAULTS, AuditConfig

    for name, value in sorted(AuditConfig(data=DEFAULTS).params("eu-west-1", None).items()):
        sys.stdout.write(f"{{{name}}} = {value!r}\n")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="rules")
