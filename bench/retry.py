"""Benchmark: what a failing operation costs a scan, with the retry budget (auditor/collect/retry.py).

Two cases, each a full `ccme` scan against moto_server on 127.0.0.1 (started here), real back-off:

- hidden failure: the CCME demo environment (seed_ccme_account, the demo's stubs for the calls moto
  lacks) with ONE operation (default kms:GetKeyPolicy) answering HTTP 500 on every request;
- moto as a new user meets it: an empty moto account, no stubs, so every operation moto does not
  implement answers its HTTP 500 page (CUR, Price List, Cloud9, Snowball, Data Exports, Route 53
  Resolver firewall): the issue's "38 s of wall time for 1.5 s of CPU".

- evidence that never came (issue 22): kms:ListKeys answering 200 with `{}`, s3:GetBucketPolicy with an
  empty body, and kms:ListAliases answering a fresh NextMarker on every page (ends at retry.max_pages).

Prints, per case: wall and CPU time of the scan, the time waited in back-off (summed over concurrent
calls) and on which operations, and the rules that became ERROR. The target: under 10 s of wall time.

    python bench/retry.py [--operation kms:GetKeyPolicy] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botocore.awsrequest import AWSResponse  # noqa: E402

from auditor.app.pipeline import evaluate  # noqa: E402
from auditor.collect.runner import scan  # noqa: E402
from auditor.config import load_config  # noqa: E402
from auditor.demo.account import seed_ccme_account  # noqa: E402
from auditor.demo.run import _stub_not_mocked  # noqa: E402
from auditor.engine.rules import load_rules  # noqa: E402
from bench._common import write_json  # noqa: E402
from bench.scan import REGION, fake_account_server, seeding_clients  # noqa: E402

TARGET_S = 10.0  # the empty-answer and endless-token cases must end in under 30 s (issue 22)


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


class Broken:
    """A client hook: one service:Operation answers HTTP 500 (InternalFailure) on every request."""

    def __init__(self, key: str):
        self.service, self.operation = key.split(":", 1)
        self.sent = 0
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        if service != self.service:
            return
        model = client.meta.service_model
        xml = model.protocol in ("query", "ec2", "rest-xml")

        def answer(request: Any, **_: Any) -> AWSResponse:
            with self._lock:
                self.sent += 1
            if xml:
                body = b"<Error><Code>InternalFailure</Code><Message>internal error</Message></Error>"
                return AWSResponse(request.url, 500, {"Content-Type": "application/xml"}, _Raw(body))
            body = b'{"__type": "InternalFailure", "message": "internal error"}'
            return AWSResponse(request.url, 500, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))

        client.meta.events.register_first(f"before-send.{model.service_id.hyphenize()}.{self.operation}", answer)


class Hollow:
    """A client hook: one service:Operation answers 200 with `body`, or with a fresh next token on every page."""

    def __init__(self, key: str, body: bytes | None = None, endless: str | None = None):
        self.service, self.operation = key.split(":", 1)
        self.body, self.endless, self.sent = body, endless, 0
        self._lock = threading.Lock()

    def __call__(self, client: Any, service: str) -> None:
        if service != self.service:
            return
        model = client.meta.service_model
        xml = model.protocol in ("query", "ec2", "rest-xml")

        def answer(request: Any, **_: Any) -> AWSResponse:
            with self._lock:
                self.sent += 1
                n = self.sent
            body = self.body or b""
            if self.endless:
                body = f'{{"{self.endless}": [], "NextMarker": "m{n}", "Truncated": true}}'.encode()
            kind = "application/xml" if xml else "application/x-amz-json-1.1"
            return AWSResponse(request.url, 200, {"Content-Type": kind}, _Raw(body))

        client.meta.events.register_first(f"before-send.{model.service_id.hyphenize()}.{self.operation}", answer)


def measure(label: str, cfg: Any, rules: Any, hooks: list[Any]) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = scan(cfg, rules, client_hooks=hooks, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    evaluation = evaluate(result.snapshot, rules, cfg)
    gave_out = ("retry budget", "IncompleteResponse", "PaginationError", "MalformedResponse")
    errored = sorted({f.rule_id for f in evaluation.findings
                      if f.status.value == "ERROR" and any(word in f.message for word in gave_out)})
    return {
        "label": label,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "waited_s": result.stats.waits["wait_seconds"],
        "operations": result.stats.waits["operations"],
        "requests": sum(result.stats.requests.values()),
        "calls": sum(result.stats.calls.values()),
        "error_rules": errored,
        "summary": evaluation.summary["by_status"],
    }


def show(row: dict[str, Any]) -> None:
    verdict = "ok" if row["wall_s"] < TARGET_S else "OVER"
    print(f"{row['label']}: wall {row['wall_s']:.2f} s, CPU {row['cpu_s']:.2f} s, {row['calls']} API calls, "
          f"{row['requests']} HTTP requests, waited {row['waited_s']:.2f} s in back-off "
          f"(summed over concurrent calls); target < {TARGET_S:.0f} s: {verdict}")
    for op in row["operations"]:
        if op["seconds"] or op["gave_up"]:
            print(f"  {op['operation']:<52} {op['region']:<10} {op['seconds']:>6.2f} s  {op['retries']:>3} retries"
                  f"  gave up {op['gave_up']}")
    print(f"  ERROR rules whose evidence gave out (retry budget, empty or incomplete answer, endless pages) "
          f"({len(row['error_rules'])}): "
          f"{', '.join(row['error_rules']) or 'none'}")
    print(f"  findings: {row['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operation", default="kms:GetKeyPolicy", help="the operation that answers 500 forever")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args()
    proc, endpoint = fake_account_server()
    rows = []
    try:
        # The case first, on the empty account: moto's unimplemented operations answer 500.
        cfg = load_config(Path(os.devnull), [("regions", [REGION])])
        rules = load_rules(None, cfg.packs)
        rows.append(measure("moto's unimplemented operations (empty account, no stubs)", cfg, rules, []))
        show(rows[-1])
        overrides = seed_ccme_account(seeding_clients(endpoint), REGION, faults=False).config_overrides()
        cfg = load_config(Path(os.devnull), overrides)
        rules = load_rules(None, cfg.packs)
        rows.append(measure("demo environment, clean", cfg, rules, [_stub_not_mocked]))
        show(rows[-1])
        broken = Broken(args.operation)
        rows.append(measure(f"demo environment, {args.operation} answering 500 forever", cfg, rules,
                            [broken, _stub_not_mocked]))
        rows[-1]["broken_requests"] = broken.sent
        show(rows[-1])
        for label, hook in (
            ("demo environment, kms:ListKeys answering 200 {}", Hollow("kms:ListKeys", b"{}")),
            ("demo environment, s3:GetBucketPolicy answering 200 with an empty body", Hollow("s3:GetBucketPolicy")),
            ("demo environment, kms:ListAliases answering a fresh NextMarker forever", Hollow("kms:ListAliases",
                                                                                           endless="Aliases")),
        ):
            rows.append(measure(label, cfg, rules, [hook, _stub_not_mocked]))
            rows[-1]["hollow_requests"] = hook.sent
            show(rows[-1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if args.json:
        write_json(args.json, {"target_s": TARGET_S, "cases": rows})


if __name__ == "__main__":
    main()
