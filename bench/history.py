"""History: read N past JSON reports of M findings each from a folder and build the rule history.

    python bench/history.py [--reports 100] [--findings 2000]

Prints the seconds to read and check the reports (auditor.report.history.load), to build the history and
to render the HTML page with it, and the reports read per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Source, Status
from auditor.report import history, html, jsonfmt

STATUSES = (Status.PASS, Status.PASS, Status.PASS, Status.FAIL, Status.ERROR)


def evaluation(index: int, findings: int) -> Evaluation:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=index)
    items = tuple(
        Finding(rule_id=f"RULE-{n % 200:03d}", title="t", pack="ccme", area="s3", resource_type="s3.bucket",
                resource_id=f"bucket-{n}", status=STATUSES[(n * 7 + index * (n % 3)) % len(STATUSES)],
                severity=Severity.MEDIUM, message="m", source=Source(document="seed"), region="eu-west-1",
                account="111122223333")
        for n in range(findings)
    )
    return Evaluation(findings=items, account="111122223333", regions=("eu-west-1",), rules=(),
                      evaluated_at=at.isoformat())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--findings", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.reports):
            folder = Path(tmp) / f"{index:05d}"
            folder.mkdir()
            (folder / "report.json").write_text(jsonfmt.render(evaluation(index, args.findings)))
        current = evaluation(args.reports, args.findings)
        started = time.perf_counter()
        points = history.load(tmp)
        loaded = time.perf_counter()
        built = history.build(points, current, tmp)
        done = time.perf_counter()
        page = html.render(current, history=built)
        rendered = time.perf_counter()
    print(f"history: {args.reports} reports x {args.findings} findings: load {loaded - started:.2f} s "
          f"({args.reports / (loaded - started):.0f} reports/s), build {done - loaded:.2f} s, "
          f"html {rendered - done:.2f} s ({len(page) / 1e6:.1f} MB), {len(built.rules)} rules")


if __name__ == "__main__":
    main()
