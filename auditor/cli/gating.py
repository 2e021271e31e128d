"""The options a pipeline gate shares (evaluate, iac, scan, report): rule selection (--check, --skip-check,
--severity), baselines (--baseline, --create-baseline) and the exit code (--fail-on, --errors-fail-on,
--soft-fail). The logic is auditor/app/gate.py; this module reads the flags, prints the gate's lines on stderr
(`ccme-audit: baseline: ...`, `ccme-audit: gate: ...`) and exits."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.app.gate import (
    Baseline,
    BaselineEntry,
    Gate,
    Selection,
    apply_baseline,
    baseline_document,
    load_baseline,
    parse_errors_fail_on,
)
from auditor.config import AuditConfig
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Severity, Status
from auditor.engine.rules import Rule
from auditor.fileio import write_text_atomic

OutputNameOpt = Annotated[
    str | None,
    typer.Option("--output-name", metavar="PATTERN",
                 help="File names under --output-dir: PATTERN.<ext> with {account}, {date}, {time}, {regions} "
                 "(default: report), so that scheduled runs do not overwrite each other."),
]


def output_name(pattern: str | None) -> str | None:
    """--output-name, checked before anything runs."""
    if pattern is not None:
        from auditor.report.names import check_pattern

        check_pattern(pattern)
    return pattern


ShowConfigOpt = Annotated[
    bool,
    typer.Option("--show-config", help="Print the merged configuration (defaults < file < CCME_AUDIT_* < flags) "
                 "and which file it came from, then exit."),
]
CheckOpt = Annotated[
    list[str] | None,
    typer.Option("--check", metavar="RULE", help="Run only these rules: ids or wildcards (CCME-S3-*), repeatable "
                 "or comma-separated (config: check)."),
]
SkipCheckOpt = Annotated[
    list[str] | None,
    typer.Option("--skip-check", metavar="RULE", help="Do not run these rules: ids or wildcards "
                 "(CCME-KMS-ROTATION-*), repeatable or comma-separated (config: skip_check). Not a waiver: "
                 "the rule is not shown."),
]
SeverityOpt = Annotated[
    list[str] | None,
    typer.Option("--severity", metavar="LIST", help="Show and count only findings of these severities "
                 "(critical,high,...); --fail-on is the threshold over what remains (config: severity)."),
]
SoftFailOpt = Annotated[
    bool,
    typer.Option("--soft-fail", help="Report only: exit 0 on findings (still 2 on bad input, 3 on a crash)."),
]
ErrorsFailOnOpt = Annotated[
    str | None,
    typer.Option("--errors-fail-on", metavar="SEVERITY|never",
                 help="Gate ERROR findings (evidence that could not be read) on their own threshold (default: "
                 "--fail-on; never: report and count them, do not fail)."),
]
BaselineOpt = Annotated[
    Path | None,
    typer.Option("--baseline", metavar="FILE",
                 help="Only findings not in this baseline (from --create-baseline, or a JSON report) fail; "
                 "those in it are WAIVED, entries no longer found are reported fixed."),
]
CreateBaselineOpt = Annotated[
    Path | None,
    typer.Option("--create-baseline", metavar="FILE",
                 help="Record this run's FAIL and ERROR findings (by finding id) as a baseline; with --baseline, "
                 "refresh it."),
]


def describe_config(config: AuditConfig) -> str:
    """One line: which configuration file the run read (or that none was found, and where it looked), and the
    CCME_AUDIT_* variables it took."""
    from auditor.config import CONFIG_FILE_NAMES, ENV_KEYS, discover_config

    if config.source != "<defaults>" and config.source != os.devnull:
        text = f"configuration: {config.source}"
    else:
        _, searched = discover_config()
        where = f"in {searched[0]}" if len(searched) == 1 else f"from {searched[0]} up to {searched[-1]}"
        text = f"configuration: none found ({' or '.join(CONFIG_FILE_NAMES)} {where}): defaults"
    used = [name for name in ENV_KEYS if os.environ.get(name, "").strip()]
    if used:
        text += f", with {', '.join(used)}"
    return text


def show_config(config: AuditConfig) -> None:
    """--show-config: the merged configuration as YAML on stdout, its source in a comment; exit 0."""
    import yaml

    sys.stdout.write(f"# {describe_config(config)}\n")
    sys.stdout.write(yaml.safe_dump(json.loads(json.dumps(dict(config.data), default=str)), sort_keys=False))
    raise typer.Exit(0)


@dataclass
class GateOptions:
    selection: Selection
    gate: Gate
    baseline: Baseline | None
    create_baseline: Path | None
    config: AuditConfig | None = None
    _pending: dict[str, Any] | None = None  # the baseline --create-baseline writes once the reports are written
    _lines: list[str] = field(default_factory=list)  # told by exit(): a run that ends in bad input says one line

    def _say(self, line: str) -> None:
        self._lines.append(line)

    @classmethod
    def build(cls, *, check: list[str] | None = None, skip_check: list[str] | None = None,
              severity: list[str] | None = None, fail_on: Severity = Severity.LOW, errors_fail_on: str | None = None,
              soft_fail: bool = False, baseline: Path | None = None, create_baseline: Path | None = None,
              config: AuditConfig | None = None) -> GateOptions:
        """Read every flag (bad input raises here, before anything is scanned or written)."""
        return cls(
            selection=Selection.build(check, skip_check, severity, config.data if config else None),
            gate=Gate(fail_on, parse_errors_fail_on(errors_fail_on, fail_on), soft_fail),
            baseline=load_baseline(baseline) if baseline is not None else None,
            create_baseline=create_baseline,
            config=config,
        )

    def with_config(self, config: AuditConfig) -> GateOptions:
        """The configuration read after the flags (scan): its check / skip_check / severity where no flag was given."""
        return replace(self, selection=self.selection.with_config(config.data), config=config)

    def for_accounts(self, accounts: Sequence[str]) -> GateOptions:
        """A multi-account run: the baseline's entries of the accounts scanned (an account not scanned this time
        is not compared, its entries are not reported fixed)."""
        if self.baseline is None:
            return self
        baseline, others = self.baseline.scoped(accounts)
        if others:
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            self._say(f"ccme-audit: baseline {baseline.file}: account(s) {shown} not scanned in this run: "
                      "their entries are not compared\n")
        return replace(self, baseline=baseline)

    def rules(self, rules: Sequence[Rule]) -> list[Rule]:
        """The rules to run (the patterns are checked against them here, before anything is collected)."""
        return self.selection.rules(rules) if self.selection.active else list(rules)

    def apply(self, evaluation: Evaluation, *, selected: bool = True) -> Evaluation:
        """Select, write the baseline asked for, apply the baseline: the evaluation the reports show.
        `selected`: the rules went through `rules` already (else the patterns are checked on the evaluation)."""
        from auditor import __version__

        if self.config is not None:  # told once the input is known good: bad input stays one line
            self._say(f"ccme-audit: {describe_config(self.config)}\n")
        evaluation = self.selection.evaluation(evaluation, verify=not selected)
        baseline = self.baseline
        if self.create_baseline is not None:  # written by exit(), after the reports: exit 2 leaves nothing
            self._pending = baseline_document(evaluation, __version__)
            if baseline is None:
                baseline = Baseline(str(self.create_baseline), {
                    row["id"]: BaselineEntry(row["id"], row["rule"], row["resource"], row["status"])
                    for row in self._pending["findings"]}, evaluation.evaluated_at)
        if baseline is None:
            return evaluation
        result = apply_baseline(evaluation, baseline)
        self._say(f"ccme-audit: baseline {baseline.file}: {result.new} new, {result.known} in the baseline "
                  f"(WAIVED), {len(result.fixed)} fixed\n")
        for entry in result.fixed[:20]:
            self._say(f"ccme-audit: baseline: fixed: {entry.rule} {entry.resource} ({entry.id})\n")
        if len(result.fixed) > 20:
            self._say(f"ccme-audit: baseline: fixed: ... and {len(result.fixed) - 20} more\n")
        return result.evaluation

    def flush(self) -> None:
        """Once the reports are written: the gate's stderr lines, and the baseline --create-baseline asked for."""
        for line in self._lines:
            sys.stderr.write(line)
        self._lines.clear()
        if self.create_baseline is not None and self._pending is not None:
            write_text_atomic(self.create_baseline, json.dumps(self._pending, indent=2) + "\n")
            sys.stderr.write(f"ccme-audit: baseline: wrote {self.create_baseline} "
                             f"({len(self._pending['findings'])} FAIL/ERROR findings)\n")
            self._pending = None

    def exit(self, evaluation: Evaluation) -> None:
        """Exit 1 when a finding fails the gate (0 with --soft-fail); the ERRORs not gated are counted."""
        self.flush()
        findings = evaluation.findings
        failing = self.gate.failing(findings)
        errors = sum(1 for f in findings if f.status is Status.ERROR)
        gated_errors = sum(1 for f in failing if f.status is Status.ERROR)
        if errors > gated_errors and self.gate.errors_fail_on != self.gate.fail_on:
            threshold = self.gate.errors_fail_on.value if self.gate.errors_fail_on else "never"
            sys.stderr.write(f"ccme-audit: gate: {errors - gated_errors} ERROR finding(s) reported, not gated "
                             f"(--errors-fail-on {threshold})\n")
        if failing and self.gate.soft_fail:
            sys.stderr.write(f"ccme-audit: gate: {len(failing)} finding(s) at or above the threshold; "
                             "--soft-fail: exit 0\n")
        code = self.gate.code(findings)
        if code:
            raise typer.Exit(code)
