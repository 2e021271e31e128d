"""The stages of one audit run, and the live run built from them:

    load -> derive -> evaluate -> report | import | notify

- load: `collect` (a live account, auditor/collect), `read_snapshot` (a snapshot file); the templates' loader is
  in auditor/app/iac.py;
- derive + evaluate: `evaluate` derives the facts the rules read (auditor/derive: topology, cluster reachability,
  egress allowlists) and hands the derived snapshot to the engine, which never derives anything itself;
- report: `report` writes the formats; import: `import_findings` (Security Hub); notify: `changes`, what changed
  since a previous JSON report (the drift the CLI prints and the Lambda publishes).

Importing this module stays light (no boto3): the live stages import the collectors when they run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.config import AuditConfig
from auditor.derive import derive
from auditor.engine.evaluate import Evaluation
from auditor.engine.evaluate import evaluate as judge
from auditor.engine.rules import Rule
from auditor.snapshot import Snapshot, load_snapshot

if TYPE_CHECKING:
    from auditor.collect.runner import ScanResult
    from auditor.report import Format
    from auditor.report.diff import Changes
    from auditor.securityhub import ImportResult


def collect(config: AuditConfig, rules: Sequence[Rule], **options: Any) -> ScanResult:
    """load: collect what `rules` need from the live account (options: auditor.collect.runner.scan's). The
    snapshot records the configuration it was collected with (options.config), for `evaluate` to reuse."""
    from auditor.collect.runner import scan

    result = scan(config, rules, **options)
    snapshot = result.snapshot
    result.snapshot = replace(snapshot, options={**snapshot.options, "config": recorded_config(config)})
    return result


def recorded_config(config: AuditConfig) -> dict[str, Any]:
    """The configuration as a snapshot records it (JSON values)."""
    return dict(json.loads(json.dumps(dict(config.data), default=str)))


def snapshot_config(snapshot: Snapshot) -> dict[str, Any] | None:
    """The configuration a snapshot was collected with, when it recorded one."""
    recorded = snapshot.options.get("config") if snapshot.options else None
    return dict(recorded) if isinstance(recorded, Mapping) else None


def read_snapshot(path: Path) -> Snapshot:
    """load: a snapshot file (from collect, scan --snapshot-out or a loader)."""
    return load_snapshot(path)


def evaluate(snapshot: Snapshot, rules: Sequence[Rule], config: AuditConfig, *, today: dt.date | None = None,
             **options: Any) -> Evaluation:
    """derive -> evaluate: the engine judges the derived snapshot (options: the engine's `mode` and `complete`,
    see auditor.engine.evaluate.evaluate)."""
    return judge(derive(snapshot, config, today=today), rules, config, today=today, **options)


def report(evaluation: Evaluation, formats: Sequence[Format], *, output: Path | None = None,
           output_dir: Path | None = None, history: Any = None, name: str | None = None,
           **options: Any) -> list[Path]:
    """report: each format to `output` (or stdout), several into `output_dir` (file names: `name`, a pattern of
    auditor.report.names, else report.<ext>; options: write_reports's `text_options` and `color`)."""
    from auditor.report import write_reports

    return write_reports(evaluation, formats, output=output, output_dir=output_dir, history=history, name=name,
                         **options)


def import_findings(evaluation: Evaluation, session: Any, *, product_account: str | None = None) -> ImportResult:
    """import: the findings into Security Hub, in `product_account` (default: the session's own account)."""
    from auditor import securityhub

    if product_account is None:
        return securityhub.import_with_session(evaluation, session)
    return securityhub.import_findings(evaluation, securityhub.client_factory(session), product_account=product_account)


def changes(previous: Mapping[str, Any] | None, evaluation: Evaluation) -> Changes:
    """notify: what changed since the previous JSON report (None: a first run)."""
    from auditor.report import jsonfmt
    from auditor.report.diff import compare

    return compare(previous, jsonfmt.document(evaluation))
