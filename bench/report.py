"""Benchmark: a 10,000-finding HTML report stays one file under 10 MB and renders in Chromium in under 2 s.

    python bench/report.py [--findings 10000] [--runs 3] [--json FILE]

Render time = wall time of headless Chromium loading the report, running its script (which builds the
first page of rows before the load event) and taking a screenshot, minus the same on an empty page
(browser start-up), best of --runs. A --dump-dom run checks the script finished; its wall time is printed
too, but it is dominated by serialising the 7 MB data island back to text, which no reader waits for.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.engine.evaluate import Evaluation
from auditor.report import html
from bench._common import write_json
from tests.golden.regenerate import golden_evaluation
from tests.report import chromium

SIZE_LIMIT = 10 * 1024 * 1024
TIME_LIMIT = 2.0


def big_evaluation(count: int) -> Evaluation:
    base = golden_evaluation()
    seeds = base.findings
    findings = []
    for n in range(count):
        template = seeds[n % len(seeds)]
        suffix = f"-{n:05d}"
        attributes = dict(template.context.get("attributes") or {})
        if "name" in attributes:
            attributes["name"] = str(attributes["name"]) + suffix
        findings.append(
            dataclasses.replace(
                template,
                resource_id=template.resource_id + suffix,
                resource_name=(template.resource_name + suffix) if template.resource_name else None,
                context={**template.context, "attributes": attributes}
                if template.context.get("attributes")
                else template.context,
            )
        )
    return dataclasses.replace(base, findings=tuple(findings))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args()
    evaluation = big_evaluation(args.findings)
    start = time.perf_counter()
    text = html.render(evaluation)
    build = time.perf_counter() - start
    size = len(text.encode("utf-8"))
    failing = sum(f.status.value in ("FAIL", "ERROR") for f in evaluation.findings)
    print(f"findings: {len(evaluation.findings)} ({failing} FAIL/ERROR)")
    print(f"html size: {size} bytes ({size / 1024 / 1024:.2f} MiB), limit {SIZE_LIMIT / 1024 / 1024:.0f} MiB")
    print(f"html build (python): {build:.2f} s")
    figures: dict = {"findings": len(evaluation.findings), "failing": failing, "size_bytes": size,
                     "size_limit_bytes": SIZE_LIMIT, "build_s": build, "render_limit_s": TIME_LIMIT, "runs": args.runs}
    if chromium.chromium() is None:
        print("chromium: not installed (apt-get install -y chromium): render time not measured")
        write_json(args.json, {**figures, "chromium": None})
        return 0 if size < SIZE_LIMIT else 1
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        report.write_text(text, encoding="utf-8")
        empty = Path(tmp) / "empty.html"
        empty.write_text("<!DOCTYPE html><title>empty</title><body></body>", encoding="utf-8")
        dom, dump_time = chromium.run(report.as_uri(), "--dump-dom")
        if 'data-ready="1"' not in dom:
            print("chromium: the report script did not finish")
            write_json(args.json, {**figures, "chromium": "script did not finish"})
            return 1
        shot = ["--window-size=1400,1000", f"--screenshot={Path(tmp) / 'shot.png'}"]
        baseline = min(chromium.run(empty.as_uri(), *shot)[1] for _ in range(args.runs))
        loaded = [chromium.run(report.as_uri(), *shot)[1] for _ in range(args.runs)]
        render = min(loaded) - baseline
    print(f"chromium --dump-dom of the report (script finished): {dump_time:.2f} s")
    print(f"chromium screenshot, empty page (start-up): {baseline:.2f} s")
    print(f"chromium screenshot, the report: {min(loaded):.2f} s (best of {args.runs})")
    print(f"render time: {render:.2f} s, limit {TIME_LIMIT:.0f} s")
    ok = size < SIZE_LIMIT and render < TIME_LIMIT
    write_json(args.json, {**figures, "chromium": "ok", "dump_dom_s": dump_time, "startup_s": baseline,
                           "loaded_best_s": min(loaded), "render_s": render, "ok": ok})
    print("result: " + ("ok" if ok else "OVER LIMIT"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
