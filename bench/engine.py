"""Engine throughput: evaluate the rule packs over synthetic snapshots of growing size.

    python bench/engine.py [--sizes 10000,100000] [--all-in-scope-max N] [--json FILE]

Two shapes per size:
- "account": the CCME environment plus N unrelated resources (keys, aliases, buckets, subnets...):
  what a real scan evaluates; scoped rules must not pay for unrelated resources.
- "all-in-scope": the shipped rules with their scopes removed, so every rule evaluates every
  resource of its type: the per-resource cost of the engine (rules using the `policy` operator are
  left out here and measured apart: p50/p95 of one requirement decision by the solver, over the seed's
  policies and over the adversarial corpus of tests/policy/test_policy_solver.py; rules using
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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _decisions(cases: list[tuple[object, str, dict]], repeat: int) -> tuple[list[float], int, int]:
    """Milliseconds per requirement decision (uncached), the number of ERRORs and of decisions."""
    times: list[float] = []
    errors = 0
    for document, requirement, extra in cases:
        ctx = RequirementContext(account=ccme.ACCOUNT, region=ccme.REGION, **extra)
        for _ in range(repeat):
            start = time.perf_counter()
            result = check_document(document, requirement, ctx)
            times.append((time.perf_counter() - start) * 1000)
        errors += result.error is not None
    return times, errors, len(cases)


def policy_checks(_: str) -> dict:
    """One requirement decision (z3): p50 and p95 over the seed's policies and over the adversarial corpus."""
    start = time.perf_counter()
    import z3  # noqa: F401  (the first decision pays for loading z3; measured apart)

    z3_load_ms = (time.perf_counter() - start) * 1000
    bucket = {"bucket": "b"}
    seed_cases: list[tuple[object, str, dict]] = [
        (ccme.bucket_policy("b"), r, bucket)
        for r in ("s3-deny-insecure-transport", "s3-deny-tls-below-1.2", "s3-no-outside-access")
    ]
    for suffix in ccme.SUFFIXES:
        for requirement in ("kms-root-full-access", "kms-no-outside-access", "kms-service-confused-deputy"):
            seed_cases.append((ccme.key_policy(suffix), requirement, {}))
    seed_cases += [(ccme.key_policy("dcv_proxy_ebs"), "kms-dcv-proxy-autoscaling", {}),
                   (ccme.key_policy("cloudWatch"), "kms-cloudwatch-logs", {})]
    from tests.policy import test_policy_solver as corpus

    adversarial = [(c.policy, c.requirement, {"bucket": corpus.BUCKET}) for c in corpus.CASES]
    ctx_account = corpus.ACCOUNT
    assert ctx_account and corpus.REGION
    out: dict = {"z3_load_ms": z3_load_ms}
    print(f"policy         z3 loaded in {z3_load_ms:.0f} ms (paid once, by the first decision)")
    for name, cases, repeat in (("seed", seed_cases, 5), ("corpus", adversarial, 2)):
        times, errors, count = _decisions(cases, repeat)
        p50, p95 = _percentile(times, 0.5), _percentile(times, 0.95)
        print(f"policy {name:<7} {count:>3} decisions  p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  "
              f"max {max(times):7.2f} ms  ERROR {errors}/{count}")
        out[name] = {"decisions": count, "p50_ms": p50, "p95_ms": p95, "max_ms": max(times), "errors": errors}
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
