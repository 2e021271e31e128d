"""Benchmark: the asff, ocsf and csv formats at scale, and a Security Hub import on moto.

    python bench/outputs.py [--findings 10000] [--import-findings 2000] [--json FILE]

Prints, per format, the render time and size for --findings findings (copies of the golden findings with
distinct resources); then imports --import-findings findings into an in-process moto Security Hub twice
(first import, then an idempotent re-run with 10% fewer findings, which archives them) and prints the
calls made by operation, the batches and the wall time of each run. moto's latency is not AWS's: the call
counts are the figure that carries over.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import write_json
from bench.report import big_evaluation


def render_figures(count: int) -> dict[str, Any]:
    from auditor.report import asff, csvfmt, ocsf

    evaluation = big_evaluation(count)
    out: dict[str, Any] = {}
    for name, module in (("asff", asff), ("ocsf", ocsf), ("csv", csvfmt)):
        start = time.perf_counter()
        text = module.render(evaluation)
        seconds = time.perf_counter() - start
        size = len(text.encode("utf-8"))
        out[name] = {"seconds": round(seconds, 3), "bytes": size}
        print(f"{name}: {count} findings rendered in {seconds:.2f} s, {size / 1024 / 1024:.2f} MiB")
    return out


def import_figures(count: int) -> dict[str, Any]:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"})
    import boto3
    from moto import mock_aws

    from auditor.securityhub import client_factory, import_findings

    account = "123456789012"  # moto's
    evaluation = big_evaluation(count)
    evaluation = dataclasses.replace(
        evaluation, account=account,
        findings=tuple(dataclasses.replace(f, account=account) for f in evaluation.findings))
    fewer = dataclasses.replace(evaluation, findings=evaluation.findings[: count * 9 // 10])
    out: dict[str, Any] = {}
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        calls: Counter[str] = Counter()
        session.events.register("provide-client-params.securityhub",
                                lambda model, **_: calls.update([model.name]))
        for label, run in (("first import", evaluation), ("re-run, 10% resolved", fewer)):
            calls.clear()
            start = time.perf_counter()
            result = import_findings(run, client_factory(session), product_account=account)
            seconds = time.perf_counter() - start
            print(f"security hub {label}: {result.imported} imported, {result.archived} archived, "
                  f"{result.batches} batches, failures {len(result.failures)}, calls {dict(sorted(calls.items()))}, "
                  f"{seconds:.2f} s (moto in-process)")
            out[label] = {"imported": result.imported, "archived": result.archived, "batches": result.batches,
                          "failures": len(result.failures), "calls": dict(calls), "seconds": round(seconds, 3)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--import-findings", type=int, default=2_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args()
    figures = {"render": render_figures(args.findings), "import": import_figures(args.import_findings)}
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
