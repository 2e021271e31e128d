"""Benchmark: `ccme-audit scan` (the ccme pack) against moto_server as the account grows.

Sizes (cumulative): the CCME environment alone; plus 300 unrelated buckets and 100 keys; with
--full, plus 3,000 buckets and 1,000 keys. Every request of the scanning clients (not the
seeding ones) sleeps 30 ms first (a botocore before-send handler), standing in for AWS latency.
Prints wall time, API calls by operation and peak traced memory per size: the detail calls must
stay flat, only the paginated list calls may grow.

    python bench/scan.py [--full] [--latency-ms 30] [--json FILE]

--json FILE also writes the figures as JSON (for bench/run_all.py).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from auditor.app.pipeline import evaluate  # noqa: E402
from auditor.collect.runner import local_s3control, scan  # noqa: E402
from auditor.config import load_config  # noqa: E402
from auditor.demo.account import seed_ccme_account  # noqa: E402
from auditor.demo.run import _stub_not_mocked  # noqa: E402
from auditor.engine.rules import load_rules  # noqa: E402
from bench._common import vm_hwm_mib, write_json  # noqa: E402

REGION = "eu-west-1"
# Calls moto does not implement (asked of moto: auditor/demo/gaps.py) are answered empty, as in
# `ccme-audit demo`.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_account_server() -> tuple[subprocess.Popen[bytes], str]:
    """moto_server on 127.0.0.1, with this process's AWS settings replaced by fake credentials pointing at it."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    proc, endpoint = start_server()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return proc, endpoint


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
            return proc, endpoint
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.2)


def seeding_clients(endpoint: str) -> Any:
    cache: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in cache:
            client = boto3.client(service, region_name=REGION, endpoint_url=endpoint)
            cache[service] = local_s3control(client) if service == "s3control" else client
        return cache[service]

    return get


def grow(clients: Any, buckets: int, keys: int, start: int) -> None:
    s3, kms = clients("s3"), clients("kms")

    def bucket(n: int) -> None:
        s3.create_bucket(Bucket=f"unrelated-bucket-{n:05d}", CreateBucketConfiguration={"LocationConstraint": REGION})

    def key(n: int) -> None:
        kid = kms.create_key(Description=f"unrelated {n}")["KeyMetadata"]["KeyId"]
        if n % 2 == 0:
            kms.create_alias(AliasName=f"alias/other-team/key-{n:05d}", TargetKeyId=kid)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bucket, range(start, start + buckets)))
        list(pool.map(key, range(start, start + keys)))


def latency_hook(seconds: float) -> Any:
    def hook(client: Any, service: str) -> None:
        def sleep(**_: Any) -> None:
            time.sleep(seconds)

        client.meta.events.register("before-send", sleep)

    return hook


def measure(label: str, latency: float, cfg: Any, rules: Any) -> dict[str, Any]:
    tracemalloc.start()
    started = time.perf_counter()
    result = scan(cfg, rules, client_hooks=[latency_hook(latency), _stub_not_mocked], progress=False)
    scanned = time.perf_counter() - started
    evaluation = evaluate(result.snapshot, rules, cfg)
    total = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "label": label,
        "scan_s": scanned,
        "total_s": total,
        "peak_mb": peak / 2**20,
        "calls": dict(result.stats.calls),
        "requests": sum(result.stats.requests.values()),
        "resources": len(result.snapshot.resources),
        "errors": len(result.snapshot.errors),
        "findings": len(evaluation.findings),
        "summary": evaluation.summary["by_status"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also run the 3,000-bucket / 1,000-key size")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args()
    proc, endpoint = fake_account_server()
    sizes = [("ccme only", 0, 0), ("+300 buckets, +100 keys", 300, 100)]
    if args.full:
        sizes.append(("+3,000 buckets, +1,000 keys", 2700, 900))
    try:
        clients = seeding_clients(endpoint)
        started = time.perf_counter()
        seeded = seed_ccme_account(clients, REGION, faults=True)
        print(f"seeded the CCME environment in {time.perf_counter() - started:.1f} s ({endpoint})")
        cfg = load_config(Path(os.devnull), seeded.config_overrides())
        rules = load_rules(None, ["ccme"])
        results = []
        grown = 0
        for label, buckets, keys in sizes:
            if buckets or keys:
                started = time.perf_counter()
                grow(clients, buckets, keys, grown)
                grown += max(buckets, keys)
                print(f"seeded {buckets} buckets and {keys} keys more in {time.perf_counter() - started:.1f} s")
            results.append(measure(label, args.latency_ms / 1000, cfg, rules))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(
        f"\nccme-audit scan, pack ccme ({len(rules)} rules), region {REGION}, "
        f"{args.latency_ms:.0f} ms injected per request, moto_server on 127.0.0.1"
    )
    print(f"{'':34}" + "".join(f"{r['label']:>30}" for r in results))
    for name, fmt in (
        ("scan wall time (s)", "{:.2f}"),
        ("scan + evaluate (s)", "{:.2f}"),
        ("peak traced memory (MiB)", "{:.1f}"),
        ("HTTP requests", "{}"),
        ("resources", "{}"),
        ("collection errors", "{}"),
        ("findings", "{}"),
    ):
        key = {
            "scan wall time (s)": "scan_s",
            "scan + evaluate (s)": "total_s",
            "peak traced memory (MiB)": "peak_mb",
            "HTTP requests": "requests",
            "resources": "resources",
            "collection errors": "errors",
            "findings": "findings",
        }[name]
        print(f"{name:34}" + "".join(f"{fmt.format(r[key]):>30}" for r in results))
    print("API calls by operation:")
    for op in sorted({op for r in results for op in r["calls"]}):
        print(f"  {op:32}" + "".join(f"{r['calls'].get(op, 0):>30}" for r in results))
    print("findings by status: " + " | ".join(f"{r['label']}: {r['summary']}" for r in results))
    write_json(args.json, {"latency_ms": args.latency_ms, "rules": len(rules), "region": REGION,
                           "sizes": results, "peak_rss_mib": vm_hwm_mib()})


if __name__ == "__main__":
    main()
