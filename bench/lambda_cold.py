"""Benchmark: the Lambda door's footprint and one run's duration.

1. cold import: fresh interpreters timing `import auditor.aws_lambda.handler` (median of --runs, the
   bare interpreter start subtracted), and the heaviest modules by `python -X importtime`;
2. package: `deploy/build.py` builds deploy/dist/ccme-audit-lambda.zip (pip, binary wheels for the
   Lambda platform; needs the package index) and its zipped / unzipped size is printed
   (--no-build measures an existing zip);
3. one handler run on the seeded demo account in in-process moto, every scan request delayed by
   --latency-ms (standing in for AWS), S3/SNS/CloudWatch writes included: wall time, requests;
4. peak memory: the resident high-water mark (VmHWM, read by the child itself at exit: a parent's
   ru_maxrss for a child inherits the parent's mark across fork+exec) of a fresh interpreter after the
   cold import, and of a fresh interpreter doing the two handler runs of 3 (an upper bound: the
   in-process moto account and its seeding live in the same process).

    python bench/lambda_cold.py [--runs 7] [--no-build] [--latency-ms 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cold_import(runs: int) -> dict[str, Any]:
    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        return time.perf_counter() - start

    bare = statistics.median(timed("pass") for _ in range(runs))
    full = statistics.median(timed("import auditor.aws_lambda.handler") for _ in range(runs))
    print(f"cold import: {1000 * (full - bare):.0f} ms (median of {runs}; interpreter start {1000 * bare:.0f} ms "
          f"subtracted; python {sys.version.split()[0]})")
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import auditor.aws_lambda.handler"],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    top = max(rows)[0] if rows else 0
    print(f"  -X importtime cumulative for the handler: {top / 1000:.0f} ms; heaviest top-level imports:")
    level1 = [(us, name.strip()) for us, name in rows if name.startswith(" ") and not name.startswith("   ")]
    for us, name in sorted(level1, reverse=True)[:8]:
        print(f"    {us / 1000:7.1f} ms  {name}")
    loaded = subprocess.run([sys.executable, "-c", "import sys, auditor.aws_lambda.handler; "
                             "print(len(sys.modules), sorted({m.split('.')[0] for m in sys.modules} & "
                             "{'checkov', 'cfnlint', 'hcl2', 'moto', 'typer', 'rich'}))"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    print(f"  modules loaded, forbidden among them: {loaded}")
    peak = subprocess.run([sys.executable, "-c", "import auditor.aws_lambda.handler; from bench._common import "
                           "vm_hwm_mib; print(vm_hwm_mib())"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    print(f"  peak resident memory after the cold import (VmHWM of the child): {float(peak):.1f} MiB")
    return {"runs": runs, "cold_import_ms": 1000 * (full - bare), "interpreter_start_ms": 1000 * bare,
            "importtime_ms": top / 1000, "modules": loaded, "import_peak_rss_mib": float(peak)}


def package(build: bool) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("deploy_build", ROOT / "deploy" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target: Path = module.ZIP_FILE
    if build:
        start = time.perf_counter()
        module.build_package(target)
        print(f"package built in {time.perf_counter() - start:.1f} s")
    if not target.exists():
        print(f"package: {target} missing (run without --no-build)")
        return {"built": build, "zip": None}
    with zipfile.ZipFile(target) as archive:
        infos = archive.infolist()
        unzipped = sum(i.file_size for i in infos)
        by_top: dict[str, int] = {}
        for info in infos:
            top = info.filename.split("/")[0]
            by_top[top] = by_top.get(top, 0) + info.compress_size
    print(f"package: {target.relative_to(ROOT)} {target.stat().st_size / 1e6:.2f} MB zipped, "
          f"{unzipped / 1e6:.2f} MB unzipped, {len(infos)} files (Lambda limits: 50 MB zipped, 250 MB unzipped)")
    for name, size in sorted(by_top.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {size / 1e6:6.2f} MB  {name}")
    return {"built": build, "zip": str(target.relative_to(ROOT)), "zipped_mb": target.stat().st_size / 1e6,
            "unzipped_mb": unzipped / 1e6, "files": len(infos)}


def handler_run_moto(latency_ms: float) -> dict[str, Any]:
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL") or key == "AWS_PROFILE":
            del os.environ[key]
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1"})
    import boto3
    from moto import mock_aws

    from auditor.aws_lambda.handler import run
    from auditor.demo.account import seed_ccme_account
    from auditor.demo.run import _stub_not_mocked, offline_guard

    requests = 0
    lock = threading.Lock()

    def slow(client: Any, service: str) -> None:
        def sleep(**_: Any) -> None:
            nonlocal requests
            with lock:
                requests += 1
            time.sleep(latency_ms / 1000)

        client.meta.events.register("before-send", sleep)

    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        seeded = seed_ccme_account(session, "eu-west-1", faults=True)
        s3 = session.client("s3")
        s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        topic = session.client("sns").create_topic(Name="t")["TopicArn"]
        config: dict[str, Any] = {}
        for dotted, value in seeded.config_overrides():
            node = config
            *parents, last = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        env = {"CCME_AUDIT_CONFIG_JSON": json.dumps(config), "REPORT_BUCKET": "reports", "REPORT_SSE": "AES256",
               "SNS_TOPIC_ARN": topic}
        times, summaries = [], []
        for _ in range(2):
            start = time.perf_counter()
            summaries.append(run({}, env, session=session, client_hooks=[_stub_not_mocked, offline_guard, slow]))
            times.append(time.perf_counter() - start)
        print(f"handler run (demo account, moto in-process, {latency_ms:.0f} ms per scan request): "
              f"first {times[0]:.2f} s (changes {summaries[0]['changes']}), second {times[1]:.2f} s "
              f"(notified: {summaries[1]['notified']}), {requests // 2} scan requests per run, "
              f"{summaries[0]['metrics']} metric data points")
    from bench._common import vm_hwm_mib

    return {"latency_ms": latency_ms, "first_s": times[0], "second_s": times[1], "requests_per_run": requests // 2,
            "metrics": summaries[0]["metrics"], "peak_rss_mib": vm_hwm_mib()}


def handler_run_child(latency_ms: float) -> dict[str, Any]:
    """Run handler_run_moto in a fresh interpreter, so its VmHWM is the handler run's own."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "handler.json"
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--handler-child", str(out),
                        "--latency-ms", str(latency_ms)], cwd=ROOT, check=True)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    print(f"  peak resident memory of the process doing both handler runs, moto and seeding included "
          f"(VmHWM): {result['peak_rss_mib']:.1f} MiB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    parser.add_argument("--handler-child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from bench._common import write_json

    if args.handler_child is not None:
        write_json(args.handler_child, handler_run_moto(args.latency_ms))
        return
    figures = {"import": cold_import(args.runs), "package": package(not args.no_build),
               "handler": handler_run_child(args.latency_ms)}
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
