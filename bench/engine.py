"""Engine throughput: evaluate the rule packs over synthetic snapshots of growing size.

    python bench/engine.py [--sizes 10000,100000] [--all-in-scope-max N] [--json FILE]

Two shapes per size:
- "account": the CCME environment plus N unrelated resources (keys, aliases, buckets, subnets...):
  what a real scan evaluates; scoped rules must not pay for unrelated resources.
- "all-in-scope": the shipped rules with their scopes removed, so every rule evaluates every
  resource of its type: the per-resource cost of the engine (rules using the `policy` operator are
  left out here and measured apart: each policy check enumerates hundreds of requests; rules using
  the `lookup` operator are left out too and measured apart as "lookup-unscoped": unscoped, each
  resource looks up among all resources of the other type, which the engine finds through an
  exact-value index of that type, so their cost grows with N, not with its square).
Prints wall time, resources per second and peak memory (tracemalloc) for each; --json FILE also writes
them as JSON (for bench/run_all.py). --all-in-scope-max N skips the all-in-scope shape above N resources,
--lookup-max N (default: no limit) the lookup-unscoped shape. --untraced times without tracemalloc (which
slows allocation-heavy evaluation several times) and reports the process's resident high-water mark instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.engine.operators import walk
from auditor.engine.rules import Scope, load_rules
from auditor.policy import RequirementContext, check_document
from auditor.snapshot import snapshot_from_json
from bench._common import vm_hwm_mib, write_json
from tests.fixtures import ccme

TYPES = ["kms.key", "kms.alias", "s3.bucket", "ec2.subnet", "ec2.route_table", "ec2.vpc_endpoint"]


def synthetic(n: int) -> dict:
    doc = ccme.compliant()
    base_key = next(r for r in doc["resources"] if r["type"] == "kms.key")
    base_bucket = next(r for r in doc["resources"] if r["type"] == "s3.bucket")
    for i in range(n):
        kind = TYPES[i % len(TYPES)]
        if kind == "kms.key":
            attrs = dict(base_key["attributes"], key_id=f"k{i}", arn=f"arn:aws:kms:eu-west-1:1:key/k{i}",
                         aliases=[f"alias/app{i}/data"], multi_region=i % 3 == 0)
            doc["resources"].append(ccme.resource(kind, attrs["arn"], attrs, name=f"k{i}"))
        elif kind == "kms.alias":
            doc["resources"].append(ccme.resource(kind, f"alias/app{i}/data", {
                "name": f"alias/app{i}/data", "arn": None, "target_key_id": f"k{i}"}))
        elif kind == "s3.bucket":
            attrs = dict(base_bucket["attributes"], name=f"bucket-{i}", versioning=None if i % 2 else "Enabled")
            doc["resources"].append(ccme.resource(kind, f"bucket-{i}", attrs, name=f"bucket-{i}", region=None))
        elif kind == "ec2.subnet":
            doc["resources"].append(ccme.resource(kind, f"subnet-{i:08x}", {
                "subnet_id": f"subnet-{i:08x}", "vpc_id": f"vpc-{i % 50:08x}", "cidr_block": "10.0.0.0/24",
                "availability_zone": "eu-west-1a", "map_public_ip_on_launch": False, "tags": {}}))
        elif kind == "ec2.route_table":
            doc["resources"].append(ccme.resource(kind, f"rtb-{i:08x}", {
                "route_table_id": f"rtb-{i:08x}", "vpc_id": f"vpc-{i % 50:08x}", "main": False,
                "associations": [{"subnet_id": f"subnet-{i - 1:08x}", "gateway_id": None, "main": False}],
                "routes": [{"destination_cidr_block": "10.0.0.0/16", "gateway_id": "local", "state": "active"}]}))
        else:
            doc["resources"].append(ccme.resource(kind, f"vpce-{i:08x}", {
                "vpc_endpoint_id": f"vpce-{i:08x}", "vpc_id": f"vpc-{i % 50:08x}",
                "service_name": "com.amazonaws.eu-west-1.s3", "vpc_endpoint_type": "Gateway",
                "state": "available", "route_table_ids": [], "policy": None}))
    return doc


def measure(label: str, snapshot, rules, config, traced: bool = True) -> dict:  # type: ignore[no-untyped-def]
    gc.collect()
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    result = evaluate(snapshot, rules, config, today=dt.date(2026, 11, 22))
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    tracemalloc.stop()
    rss = vm_hwm_mib()
    n = len(snapshot.resources)
    memory = f"peak_mem={peak:7.1f} MiB" if peak is not None else f"process_peak_rss={rss or 0:7.1f} MiB"
    print(f"{label:<14} resources={n:>8} rules={len(rules):>4} findings={len(result.findings):>8} "
          f"wall={elapsed:7.3f}s  {n / elapsed:>10.0f} resources/s  {memory}")
    return {"shape": label, "resources": n, "rules": len(rules), "findings": len(result.findings),
            "wall_s": elapsed, "resources_per_s": n / elapsed, "peak_traced_mib": peak, "process_peak_rss_mib": rss}


def policy_checks(_: str) -> list[dict]:
    """Seed policies judged by each requirement, uncached: checks per second."""
    cases = [
        (ccme.bucket_policy("b"), "s3-deny-insecure-transport", {"bucket": "b"}),
        (ccme.bucket_policy("b"), "s3-deny-tls-below-1.2", {"bucket": "b"}),
        (ccme.key_policy("dcv_proxy_ebs"), "kms-dcv-proxy-autoscaling", {}),
        (ccme.key_policy("cloudWatch"), "kms-cloudwatch-logs", {}),
        (ccme.key_policy("s3"), "kms-root-full-access", {}),
    ]
    out = []
    for document, requirement, extra in cases:
        ctx = RequirementContext(account=ccme.ACCOUNT, region=ccme.REGION, **extra)
        start = time.perf_counter()
        runs = 0
        while time.perf_counter() - start < 0.5:
            result = check_document(document, requirement, ctx)
            runs += 1
        elapsed = (time.perf_counter() - start) / runs
        print(f"policy check   {requirement:<28} {result.requests_evaluated:>4} requests  "
              f"{elapsed * 1000:7.2f} ms/check  ok={result.ok}")
        out.append({"requirement": requirement, "requests": result.requests_evaluated,
                    "ms_per_check": elapsed * 1000, "ok": result.ok})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--all-in-scope-max", type=int, default=None,
                        help="skip the all-in-scope shape for sizes above this (it costs ~1 s per 1,000 resources)")
    parser.add_argument("--lookup-max", type=int, default=None,
                        help="skip the lookup-unscoped shape for sizes above this")
    parser.add_argument("--untraced", action="store_true", help="no tracemalloc: clean times, process peak RSS")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args()
    traced = not args.untraced
    rules = load_rules()
    operators = {r.id: {name for name, _ in walk(r.assertion)} for r in rules}
    unscoped = [dataclasses.replace(r, scope=Scope()) for r in rules
                if not {"policy", "lookup"} & operators[r.id]]
    lookups = [dataclasses.replace(r, scope=Scope()) for r in rules
               if "lookup" in operators[r.id] and "policy" not in operators[r.id]]
    config = load_config(None, [])
    print(f"python {sys.version.split()[0]}, {len(rules)} shipped rules "
          f"({', '.join(sorted({r.pack for r in rules}))})")
    figures: dict = {"rules": len(rules), "unscoped_rules": len(unscoped), "lookup_rules": len(lookups),
                     "policy_checks": policy_checks(args.sizes), "runs": [], "loads": []}
    for size in (int(s) for s in args.sizes.split(",")):
        doc = synthetic(size)
        start = time.perf_counter()
        snapshot = snapshot_from_json(doc, file="synthetic")
        loaded = time.perf_counter() - start
        print(f"load+validate  resources={len(snapshot.resources):>8} wall={loaded:7.3f}s")
        figures["loads"].append({"size": size, "resources": len(snapshot.resources), "wall_s": loaded})
        figures["runs"].append({"size": size, **measure("account", snapshot, rules, config, traced)})
        if args.all_in_scope_max is None or size <= args.all_in_scope_max:
            figures["runs"].append({"size": size, **measure("all-in-scope", snapshot, unscoped, config, traced)})
        else:
            print(f"all-in-scope   resources={len(snapshot.resources):>8} skipped (--all-in-scope-max)")
        if args.lookup_max is None or size <= args.lookup_max:
            figures["runs"].append({"size": size, **measure("lookup-unscoped", snapshot, lookups, config, traced)})
        else:
            print(f"lookup-unscoped resources={len(snapshot.resources):>7} skipped (--lookup-max)")
        del doc, snapshot
        gc.collect()
    figures["peak_rss_mib"] = vm_hwm_mib()
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
