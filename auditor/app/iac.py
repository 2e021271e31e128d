"""The templates' run (the CI gate's library): read templates -> derive -> evaluate -> suppressions.

The load stage of auditor/app/pipeline.py for infrastructure code: `audit_paths` loads the templates
(auditor/iac), then evaluates them through the same pipeline as a live scan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from auditor.app.pipeline import evaluate
from auditor.config import AuditConfig
from auditor.engine.evaluate import INCOMPLETE_HINT, NEEDS_VALUE, WILDCARD_RESOURCE, Evaluation, iac_complete
from auditor.engine.findings import Finding, Severity, Source, Status
from auditor.engine.rules import Rule
from auditor.errors import InputError
from auditor.iac.model import PARSE_RULE_ID, ParseProblem
from auditor.snapshot import Snapshot


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
    skip_paths: Sequence[str] = (),
    gitignore: bool = False,
    var_files: Sequence[Path] = (),
    tf_env: Mapping[str, str] | None = None,
    ec2_client: Any = None,
) -> tuple[Evaluation, list[ParseProblem]]:
    """Load templates, evaluate the IaC rules, apply suppressions; parse problems become ERROR findings.
    `skip_paths` (globs) and `gitignore` leave files of the scanned directories out (one warning counts them)."""
    from auditor.iac import load_paths
    from auditor.iac.pathfilter import PathFilter
    from auditor.iac.suppress import apply_suppressions, load_baseline

    today = today or dt.datetime.now(dt.UTC).date()
    region = config.regions[0] if config.regions else None
    path_filter = PathFilter(tuple(skip_paths), gitignore) if skip_paths or gitignore else None
    loaded = load_paths(
        paths,
        region=region,
        account=config.account,
        params=params or {},
        read_secret_values=config.option("read_secret_values"),
        path_filter=path_filter,
        var_files=var_files,
        tf_env=tf_env,
    )
    if instance_facts_source(config) == "ec2":
        loaded = replace(loaded, snapshot=_live_instance_facts(loaded.snapshot, region, ec2_client))
    entries = load_baseline(baseline) if baseline is not None else []
    present = {r.type for r in loaded.snapshot.resources}
    if "ec2.vpc" in present:
        present.add("ec2.topology")  # derived from the VPCs (auditor/derive) before evaluation
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
    if path_filter is not None and path_filter.skipped:
        reasons = sorted({reason for _, reason in path_filter.skipped})
        names = [name for name, _ in path_filter.skipped]
        more = len(names) - 5
        shown = ", ".join(names[:5]) + (f" and {more} more" if more > 0 else "")
        notes.append(ParseProblem(shown, f"{len(names)} path(s) left out ({', '.join(reasons)})", warning=True))
    for warning in path_filter.warnings if path_filter is not None else []:
        notes.append(ParseProblem(".gitignore", warning, warning=True))
    if loaded.nested:
        notes.append(ParseProblem(", ".join(loaded.nested), "checked only as nested stacks of the templates that "
                                  "follow them (with the parameters they pass)", warning=True))
    return replace(result, findings=tuple(findings), account=config.account), notes


def instance_facts_source(config: AuditConfig) -> str:
    """`table` (auditor/iac/instance_types.json, offline) or `ec2` (ec2:DescribeInstanceTypes, live)."""
    section = config.data.get("parallelcluster") or {}
    return str(section.get("instance_facts") or "table") if isinstance(section, dict) else "table"


def _live_instance_facts(snapshot: Snapshot, region: str | None, client: Any) -> Snapshot:
    """The cluster configurations' instance facts from EC2 itself (DescribeInstanceTypes, in the run's Region)."""
    from auditor.collect.instance_types import describe
    from auditor.iac.parallelcluster import named_instance_types, with_described

    clusters = [r for r in snapshot.resources if r.type == "pcluster.cluster"]
    if not clusters:
        return snapshot
    if client is None:
        from auditor.collect.runner import make_session

        client = make_session(region=region).client("ec2", region_name=region)
    names = sorted({n for c in clusters for n in named_instance_types(c.attributes)})
    described = describe(client, names)
    resources = tuple(replace(r, attributes=with_described(r.attributes, described))
                      if r.type == "pcluster.cluster" else r for r in snapshot.resources)
    return replace(snapshot, resources=resources)


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
