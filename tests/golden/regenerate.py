"""Golden report files: every format rendered from tests/fixtures/snapshots/ccme-broken.json.

The evaluation time, the date and the tool version are pinned so the output is byte-for-byte stable.
Regenerate after an intended change to a formatter, a template or the KMS/S3 rules, and review the diff:

    python -m tests.golden.regenerate
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.engine.evaluate import Evaluation
from auditor.engine.rules import load_rules
from auditor.report import EXTENSIONS, Format, render
from auditor.report.remediation import RemediationKind, render_bundle
from auditor.snapshot import load_snapshot

HERE = Path(__file__).parent
EXPECTED = HERE / "expected"
SNAPSHOT = HERE.parent / "fixtures" / "snapshots" / "ccme-broken.json"
EVALUATED_AT = "2026-11-22T00:00:00+00:00"
TODAY = dt.date(2026, 11, 22)
TOOL_VERSION = "0.0.0-golden"
AREAS = ("kms", "s3")  # the golden files cover the KMS and S3 rules (seed 000 sections A and B)
# A live scan's retry waits as the runner records them (the fixture snapshot has none): the reports show them.
WAITS = {
    "wait_seconds": 3.415,
    "operations": [
        {"operation": "kms:GetKeyPolicy", "region": "eu-west-1", "retries": 4, "throttled": 0, "seconds": 2.9,
         "gave_up": 3},
        {"operation": "s3:ListBuckets", "region": "eu-west-1", "retries": 1, "throttled": 1, "seconds": 0.515,
         "gave_up": 0},
    ],
}
BUNDLE_FILES = {
    RemediationKind.SH: "remediation.sh",
    RemediationKind.CLOUDFORMATION: "remediation.cfn.yaml",
    RemediationKind.TERRAFORM: "remediation.tf",
}


def golden_evaluation() -> Evaluation:
    config = load_config(Path("/dev/null"), [("packs", ["ccme"])])
    rules = [r for r in load_rules(None, config.packs) if r.area in AREAS]
    result = evaluate(load_snapshot(SNAPSHOT), rules, config, today=TODAY)
    return dataclasses.replace(result, evaluated_at=EVALUATED_AT, retries=WAITS)


def outputs() -> dict[str, str]:
    evaluation = golden_evaluation()
    files = {EXTENSIONS[fmt]: render(evaluation, fmt, tool_version=TOOL_VERSION) for fmt in Format}
    header = {
        "account": evaluation.account,
        "regions": list(evaluation.regions),
        "tool_version": TOOL_VERSION,
        "source": SNAPSHOT.name,
    }
    for kind, name in BUNDLE_FILES.items():
        files[name] = render_bundle(evaluation.findings, kind, header)
    return files


def main() -> None:
    EXPECTED.mkdir(parents=True, exist_ok=True)
    for name, text in outputs().items():
        (EXPECTED / name).write_text(text, encoding="utf-8")
        print(f"wrote {EXPECTED / name} ({len(text)} characters)")


if __name__ == "__main__":
    main()
