"""Commands: ccme-audit rules list | show | validate | schema | params."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.cli.common import PackOpt, RulesDirOpt
from auditor.errors import InputError

app = typer.Typer(no_args_is_help=True, help="List, show and validate rule packs.")


def _catalogue_entry(rule: Any) -> dict[str, Any]:
    """A rule as data: what `rules list --format json` and `rules show --format json` print."""
    from auditor.report.common import rule_doc_ref

    return {
        "id": rule.id, "title": rule.title, "pack": rule.pack, "area": rule.area, "severity": rule.severity.value,
        "resource_type": rule.resource_type, "source": rule.source.to_json(), "remediation": list(rule.remediation),
        "documentation": rule_doc_ref(rule.id), "live": rule.live, "iac": rule.iac, "file": rule.file,
    }


def _matching(rules: list[Any], patterns: list[str]) -> list[Any]:
    """The rules whose id matches one of the patterns (ids or wildcards, any case); a pattern matching none is bad
    input naming the closest ids."""
    import fnmatch

    out: list[Any] = []
    for pattern in patterns:
        found = [r for r in rules if fnmatch.fnmatchcase(r.id, pattern.upper())]
        if not found:
            close = [r.id for r in rules if pattern.upper().strip("*?") in r.id]
            raise InputError(f"no rule with id '{pattern}'", place="RULE_ID",
                             fix=("did you mean " + ", ".join(close[:5])) if close else "see ccme-audit rules list")
        out.extend(r for r in found if r not in out)
    return out


FORMAT_HELP = "text or json (json: id, title, pack, severity, source, remediation, documentation link)."


def _format(value: str) -> str:
    if value not in ("text", "json"):
        raise InputError(f"unknown format '{value}'", place="--format", fix="use text or json")
    return value


@app.command("list")
def rules_list(
    pack: PackOpt = None,
    rules_dir: RulesDirOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "text",
) -> None:
    """List the rules with id, severity, resource type and title."""
    from auditor.app.rulesets import load_rule_sets

    fmt = _format(fmt)
    rules = load_rule_sets(rules_dir, pack or None)
    if fmt == "json":
        sys.stdout.write(json.dumps([_catalogue_entry(r) for r in rules], indent=1) + "\n")
        return
    for rule in rules:
        sys.stdout.write(f"{rule.id:<40} {rule.pack:<16} {rule.severity.value:<8} {rule.resource_type:<24} "
                         f"{rule.title}\n")


@app.command("show")
def rules_show(
    rule_id: Annotated[list[str], typer.Argument(metavar="RULE_ID...", help="Rule ids or wildcards (CCME-S3-*).")],
    rules_dir: RulesDirOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "text",
) -> None:
    """Show rules: their source requirement, scope, assertions and remediation."""
    import yaml

    from auditor.app.rulesets import load_rule_sets

    fmt = _format(fmt)
    rules = _matching(load_rule_sets(rules_dir), rule_id)
    docs = []
    for rule in rules:
        doc = _catalogue_entry(rule)
        doc.update({
            "scope": {"where": rule.scope.where, "expect": rule.scope.expect, "missing_id": rule.scope.missing_id},
            "assert": rule.assertion, "parameters": sorted(rule.parameters),
        })
        docs.append(doc)
    if fmt == "json":
        sys.stdout.write(json.dumps(docs, indent=1, default=str) + "\n")
        return
    sys.stdout.write("---\n".join(yaml.safe_dump(json.loads(json.dumps(d, default=str)), sort_keys=False, width=110)
                                  for d in docs))


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
