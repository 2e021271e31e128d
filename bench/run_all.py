"""Run every benchmark once and publish the figures in docs/benchmarks.md.

    python bench/run_all.py [--quick] [--only engine,scan,iac,report,lambda,prowler] [--out docs/benchmarks.md]

Each benchmark runs as a subprocess of this interpreter with `--json FILE`; its figures are read from that
file (not scraped from its printed output), and the document is written atomically: per benchmark the
exact command behind every table, what the figures mean and the target they are held to, and the machine
(CPU, cores, RAM, Python, OS, load average before and after each command: a loaded machine shows), the
date and the git commit. --quick runs small variants (minutes, not tens of minutes) and says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auditor.fileio import write_text_atomic  # noqa: E402
from bench._common import git_commit, load_average, machine_info  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
# Below this wall time a size-to-size ratio is noise (start-up, derivation, cache warm-up), not growth.
MIN_GROWTH_S = 0.5


@dataclass
class Run:
    """One benchmark command as it ran: the command shown to readers, its outcome and its JSON figures."""

    command: str
    exit_code: int | None
    wall_s: float
    load_before: list[float]
    load_after: list[float]
    figures: dict[str, Any] | None
    output_tail: str = ""
    problem: str | None = None


@dataclass
class Table:
    title: str
    command: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    meaning: str
    target: str
    runs: list[Run]
    tables: list[Table]
    verdicts: list[str] = field(default_factory=list)


@dataclass
class Document:
    machine: dict[str, Any]
    started: str
    finished: str
    commit: dict[str, Any]
    quick: bool
    load_before: list[float]
    load_after: list[float]
    sections: list[Section]
    invocation: str


# ---------------------------------------------------------------------------------------------------------------------
# formatting helpers


def num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def failed_table(run: Run, title: str) -> Table:
    return Table(title, run.command, ["outcome"], [[run.problem or f"exit {run.exit_code}, no figures"]])


# ---------------------------------------------------------------------------------------------------------------------
# per-benchmark tables: figures (the JSON a bench script wrote) -> tables, each carrying its command


def engine_tables(runs: list[Run]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    verdicts: list[str] = []
    rows_by_shape: dict[str, list[tuple[int, dict[str, Any], str]]] = {}
    for run in runs:
        if run.figures is None:
            tables.append(failed_table(run, "engine"))
            continue
        fig = run.figures
        rows = []
        for r in fig.get("runs", []):
            rows.append(
                [
                    r["shape"],
                    num(r["resources"]),
                    num(r["rules"]),
                    num(r["findings"]),
                    num(r["wall_s"], 3),
                    num(r["resources_per_s"], 0),
                    num(r.get("peak_traced_mib"), 1),
                    num(r.get("process_peak_rss_mib"), 0),
                ]
            )
            rows_by_shape.setdefault(r["shape"], []).append((r["resources"], r, run.command))
        loads = ", ".join(f"{num(x['resources'])} resources in {num(x['wall_s'], 2)} s" for x in fig.get("loads", []))
        tables.append(
            Table(
                f"Evaluation by size and shape ({num(fig.get('rules'))} shipped rules)",
                run.command,
                [
                    "shape",
                    "resources",
                    "rules",
                    "findings",
                    "wall (s)",
                    "resources/s",
                    "traced peak (MiB)",
                    "process peak RSS (MiB)",
                ],
                rows,
                [f"snapshot load + schema validation: {loads}"] if loads else [],
            )
        )
        if fig.get("policy_checks") and not any(t.title.startswith("Policy") for t in tables):
            tables.append(
                Table(
                    "Policy decisions (one requirement on one policy, by the solver, uncached)",
                    run.command,
                    ["policies", "decisions", "p50 (ms)", "p95 (ms)", "max (ms)", "ERROR"],
                    [
                        [name, num(p["decisions"]), num(p["p50_ms"], 2), num(p["p95_ms"], 2), num(p["max_ms"], 2),
                         num(p["errors"])]
                        for name, p in fig["policy_checks"].items()
                        if isinstance(p, dict)
                    ],
                    [f"z3 loaded in {fig['policy_checks']['z3_load_ms']:.0f} ms, once, by the first decision"],
                )
            )
    growth_rows = []
    for shape, points in sorted(rows_by_shape.items()):
        points.sort(key=lambda p: p[0])
        for (n0, r0, _), (n1, r1, _) in itertools.pairwise(points):
            if n1 <= n0 or not r0["wall_s"]:
                continue
            size_ratio = n1 / n0
            time_ratio = r1["wall_s"] / r0["wall_s"]
            if r1["wall_s"] < MIN_GROWTH_S:
                growth = f"too short to tell (under {MIN_GROWTH_S:g} s)"
            elif time_ratio < 1.5 * size_ratio:
                growth = "linear"
            else:
                growth = "quadratic-like" if time_ratio > 0.5 * size_ratio**2 else "super-linear"
            growth_rows.append([shape, f"{num(n0)} -> {num(n1)}", num(size_ratio, 1), num(time_ratio, 1), growth])
    if growth_rows:
        commands = sorted({r.command for r in runs if r.figures is not None})
        tables.append(
            Table(
                "How cost grows with size (wall-time ratio against resource ratio)",
                " ; ".join(commands),
                ["shape", "resources", "size x", "time x", "growth"],
                growth_rows,
            )
        )
        for row in growth_rows:
            if row[-1] in ("quadratic-like", "super-linear"):
                verdicts.append(
                    f"engine shape `{row[0]}` grows {row[-1]} from {row[1]} resources "
                    f"(time x{row[3]} for size x{row[2]})"
                )
    return tables, verdicts


def scan_tables(runs: list[Run]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    verdicts: list[str] = []
    for run in runs:
        if run.figures is None:
            tables.append(failed_table(run, "scan"))
            continue
        fig = run.figures
        sizes = fig.get("sizes", [])
        labels = [s["label"] for s in sizes]
        metric_rows = []
        for name, key, digits in (
            ("scan wall time (s)", "scan_s", 2),
            ("scan + evaluate (s)", "total_s", 2),
            ("peak traced memory (MiB)", "peak_mb", 1),
            ("API calls", None, 0),
            ("HTTP requests", "requests", 0),
            ("resources", "resources", 0),
            ("API calls per resource", "per_resource", 3),
            ("collection errors", "errors", 0),
            ("findings", "findings", 0),
        ):
            values = []
            for s in sizes:
                calls = sum(s["calls"].values())
                value = (
                    calls
                    if key is None
                    else (calls / s["resources"] if key == "per_resource" and s["resources"] else s.get(key))
                )
                values.append(num(value, digits) if isinstance(value, float) else num(value))
            metric_rows.append([name, *values])
        tables.append(
            Table(
                f"Live scan, pack ccme ({num(fig.get('rules'))} rules), {num(fig.get('latency_ms'), 0)} ms injected "
                "per request, moto_server on 127.0.0.1",
                run.command,
                ["figure", *labels],
                metric_rows,
                [
                    "process peak RSS of the benchmark (seeding clients included): "
                    f"{num(fig.get('peak_rss_mib'), 0)} MiB"
                ],
            )
        )
        ops = sorted({op for s in sizes for op in s["calls"]})
        op_rows = [[op, *[num(s["calls"].get(op, 0)) for s in sizes]] for op in ops]
        tables.append(Table("API calls by operation", run.command, ["operation", *labels], op_rows))
        if len(sizes) >= 2:
            first, last = sizes[0]["calls"], sizes[-1]["calls"]
            growing = [op for op in ops if last.get(op, 0) > first.get(op, 0)]
            detail = [op for op in growing if not op.split(":", 1)[-1].startswith(("List", "Describe"))]
            if detail:
                verdicts.append("scan: detail calls NOT flat as the account grows: " + ", ".join(detail))
            else:
                verdicts.append(
                    f"scan: detail calls flat from {labels[0]} to {labels[-1]}"
                    + (
                        f"; only paginated list calls grow ({', '.join(growing)})"
                        if growing
                        else f"; no operation's call count grows ({sum(first.values())} -> {sum(last.values())} calls)"
                    )
                )
    return tables, verdicts


def retry_tables(runs: list[Run]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    verdicts: list[str] = []
    for run in runs:
        if run.figures is None:
            tables.append(failed_table(run, "retry"))
            continue
        target = run.figures.get("target_s", 10.0)
        cases = run.figures.get("cases", [])
        rows = [[c["label"], num(c["wall_s"]), num(c["cpu_s"]), num(c["waited_s"]), num(c["requests"]),
                 num(len(c["error_rules"]))] for c in cases]
        tables.append(Table("Scans with failing operations (moto_server, real back-off)", run.command,
                            ["case", "wall (s)", "CPU (s)", "waited in back-off (s)", "HTTP requests",
                             "rules ERROR on the budget"], rows))
        op_rows = [[c["label"], op["operation"], op["region"], num(op["retries"]), num(op["seconds"]),
                    num(op["gave_up"])] for c in cases for op in c["operations"] if op["seconds"] or op["gave_up"]]
        tables.append(Table("Waits by operation", run.command,
                            ["case", "operation", "region", "retries", "waited (s)", "calls given up"], op_rows))
        slow = [c["label"] for c in cases if c["wall_s"] >= target]
        verdicts.append(f"retry: every case under {num(target, 0)} s" if not slow and cases
                        else f"retry: over {num(target, 0)} s: {', '.join(slow) or 'no case ran'}")
    return tables, verdicts


def iac_tables(runs: list[Run]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    verdicts: list[str] = []
    for run in runs:
        if run.figures is None:
            tables.append(failed_table(run, "iac"))
            continue
        fig = run.figures
        ours = fig.get("ccme_audit_s")
        rows = [["ccme-audit iac (pack ccme, JSON report)", num(ours), num(fig.get("ccme_audit_exit")), "1.000"]]
        checkov = fig.get("checkov")
        notes = [
            f"corpus: {num(fig.get('templates'))} CloudFormation templates + {num(fig.get('tf_dirs'))} "
            f"Terraform directories, about 25 resources each; best of {num(fig.get('repeat', 1))} run(s) per tool"
        ]
        if checkov:
            for label, key in (
                ("checkov -d, the equivalent S3/KMS checks", "limited"),
                ("checkov -d, every check", "full"),
            ):
                theirs = checkov.get(f"{key}_s")
                ratio = ours / theirs if ours and theirs else None
                rows.append([label, num(theirs), num(checkov.get(f"{key}_exit")), num(ratio, 3)])
            notes.append(
                f"checkov {checkov.get('version')}; equivalent checks: {', '.join(checkov['equivalent_checks'])}"
            )
            limited = checkov.get("limited_s")
            if ours and limited:
                ratio = ours / limited
                verdicts.append(
                    f"IaC gate: {ratio:.3f} of checkov's time on its equivalent checks (target <= 0.100): "
                    + ("met" if ratio <= 0.1 else "NOT met")
                )
        else:
            rows.append(["checkov", "not found", "", ""])
            verdicts.append("IaC gate: checkov not found, ratio not measured")
        tables.append(
            Table(
                "IaC gate against checkov on the same generated corpus",
                run.command,
                ["tool", "wall (s)", "exit", "ratio ccme-audit / tool"],
                rows,
                notes,
            )
        )
    return tables, verdicts


def report_tables(runs: list[Run]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    verdicts: list[str] = []
    for run in runs:
        if run.figures is None:
            tables.append(failed_table(run, "report"))
            continue
        fig = run.figures
        size_mib = fig["size_bytes"] / 2**20
        rows = [
            ["findings", num(fig["findings"]), ""],
            ["FAIL/ERROR findings", num(fig["failing"]), ""],
            ["HTML size (MiB)", num(size_mib), f"< {num(fig['size_limit_bytes'] / 2**20, 0)}"],
            ["HTML build in Python (s)", num(fig["build_s"]), ""],
        ]
        if fig.get("chromium") == "ok":
            rows += [
                ["Chromium start-up, empty page (s)", num(fig["startup_s"]), ""],
                [f"Chromium load + script + screenshot, best of {fig['runs']} (s)", num(fig["loaded_best_s"]), ""],
                [
                    "render time = the two above subtracted (s)",
                    num(fig["render_s"]),
                    f"< {num(fig['render_limit_s'], 0)}",
                ],
                [
                    "--dump-dom (serialises the 7 MB data island; no reader waits for it) (s)",
                    num(fig["dump_dom_s"]),
                    "",
                ],
            ]
            verdicts.append(
                f"HTML report: {size_mib:.2f} MiB, renders in {fig['render_s']:.2f} s: "
                + ("met" if fig.get("ok") else "NOT met")
            )
        else:
            rows.append(["render time", f"not measured ({fig.get('chromium') or 'chromium not installed'})", ""])
            verdicts.append(f"HTML report: {size_mib:.2f} MiB; render time not measured")
        tables.append(Table("HTML report at 10,000 findings", run.command, ["figure", "value", "target"], rows))
    return tables, verdicts


def lambda_tables(runs: list[Run]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    for run in runs:
        if run.figures is None:
            tables.append(failed_table(run, "lambda"))
            continue
        imp, pkg, handler = run.figures["import"], run.figures["package"], run.figures["handler"]
        rows = [
            [
                "cold import of auditor.aws_lambda.handler (ms, median, interpreter start subtracted)",
                num(imp["cold_import_ms"], 0),
            ],
            ["interpreter start (ms)", num(imp["interpreter_start_ms"], 0)],
            ["-X importtime cumulative (ms)", num(imp["importtime_ms"], 0)],
            ["modules loaded, forbidden ones among them", str(imp["modules"])],
            ["peak RSS after the cold import (MiB, VmHWM read in the child)", num(imp["import_peak_rss_mib"], 1)],
            [f"handler run, first (s; {num(handler['latency_ms'], 0)} ms per scan request)", num(handler["first_s"])],
            ["handler run, second (s)", num(handler["second_s"])],
            ["scan requests per run", num(handler["requests_per_run"])],
            [
                "peak RSS of the process doing both runs, in-process moto + seeding included (MiB, VmHWM)",
                num(handler["peak_rss_mib"], 1),
            ],
        ]
        if pkg.get("zip"):
            rows += [
                ["package zipped (MB)", num(pkg["zipped_mb"])],
                ["package unzipped (MB)", num(pkg["unzipped_mb"])],
                ["package rebuilt by this run", num(pkg["built"])],
            ]
        else:
            rows.append(["package", "not built (deploy/dist missing)"])
        tables.append(Table("Lambda door: cold import, package, peak memory", run.command, ["figure", "value"], rows))
    return tables, []


def prowler_tables(runs: list[Run]) -> tuple[list[Table], list[str]]:
    tables: list[Table] = []
    verdicts: list[str] = []
    for run in runs:
        fig = run.figures
        if fig is None:
            tables.append(failed_table(run, "prowler"))
            continue
        if not fig.get("prowler_ran"):
            tables.append(
                Table("Prowler could not run offline", run.command, ["reason"], [[fig.get("reason", "unknown")]])
            )
            verdicts.append("Prowler: not compared (" + str(fig.get("reason", "unknown")) + ")")
        tables.append(
            Table(
                "Wall time and API calls on the same moto_server account",
                run.command,
                [
                    "tool",
                    "command",
                    "wall (s)",
                    "exit",
                    "HTTP requests (S3)",
                    "HTTP requests (KMS)",
                    "HTTP requests (all)",
                    "requests by service",
                    "outside hosts tried (refused)",
                ],
                [
                    [
                        t["tool"],
                        f"`{t['command']}`",
                        num(t.get("wall_s")),
                        str(t.get("exit")),
                        num(t.get("requests", {}).get("s3")),
                        num(t.get("requests", {}).get("kms")),
                        num(t.get("requests_total")),
                        ", ".join(f"{k} {v}" for k, v in sorted(t.get("requests", {}).items())),
                        ", ".join(f"{k} ({v})" for k, v in sorted(t.get("refused", {}).items())) or "none",
                    ]
                    for t in fig.get("tools", [])
                ],
                fig.get("notes", []),
            )
        )
        if fig.get("tricky"):
            rows = [
                [
                    c["bucket"],
                    c["case"],
                    c["truth"],
                    c.get("prowler", "n/a"),
                    c.get("ccme_audit", "n/a"),
                    c.get("truth_tls", "n/a"),
                    c.get("prowler_tls", "n/a"),
                    c.get("ccme_audit_tls", "n/a"),
                ]
                for c in fig["tricky"]
            ]
            tables.append(
                Table(
                    "Bucket policies: verdict per bucket, truth = what AWS does (policy-semantics.md)",
                    run.command,
                    [
                        "bucket",
                        "policy",
                        "HTTP denied? truth",
                        "Prowler",
                        "ccme-audit",
                        "TLS < 1.2 denied? truth",
                        "Prowler",
                        "ccme-audit",
                    ],
                    rows,
                    [
                        "Prowler's verdict is its s3_bucket_secure_transport_policy check; it has no TLS-version "
                        "check. ccme-audit's are CCME-S3-POLICY-SECURETRANSPORT-* and CCME-S3-POLICY-TLS12-*."
                    ],
                )
            )
            for tool, key, tls in (("Prowler", "prowler", None), ("ccme-audit", "ccme_audit", "ccme_audit_tls")):
                cases = fig["tricky"]
                right = sum(c.get(key) == c["truth"] for c in cases)
                wrong = [f"{c['bucket']} (false {c.get(key)})" for c in cases if c.get(key) != c["truth"]]
                line = f"{tool}: {right} of {len(cases)} buckets judged as AWS would on HTTP requests"
                if tls:
                    right_tls = sum(c.get(tls) == c.get("truth_tls") for c in cases)
                    line += f", {right_tls} of {len(cases)} on TLS below 1.2"
                verdicts.append(line + (": wrong on " + ", ".join(wrong) if wrong else ""))
        if fig.get("ccme_buckets"):
            tables.append(
                Table(
                    "The demo's CCME buckets: Prowler's checks next to the matching ccme-audit rules",
                    run.command,
                    ["bucket", "check", "Prowler", "ccme-audit rule", "ccme-audit"],
                    [[r["bucket"], r["check"], r["prowler"], r["rule"], r["ccme_audit"]] for r in fig["ccme_buckets"]],
                )
            )
    return tables, verdicts


# ---------------------------------------------------------------------------------------------------------------------
# the benchmark list


@dataclass(frozen=True)
class Bench:
    key: str
    title: str
    meaning: str
    target: str
    commands: Callable[[bool], list[list[str]]]
    tables: Callable[[list[Run]], tuple[list[Table], list[str]]]
    timeout_s: int


BENCHES: list[Bench] = [
    Bench(
        "engine",
        "Engine throughput at 10k / 100k / 1M resources",
        "Synthetic snapshots (the CCME environment plus N unrelated keys, aliases, buckets, subnets, route tables and "
        "endpoints), evaluated by every shipped rule. `account`: the rules with their scopes, what a real scan "
        "evaluates. `all-in-scope`: the rules with their scopes removed, so every rule judges every resource of its "
        "type (rules with the `policy` or `lookup` operator left out). `lookup-unscoped`: only the rules using "
        "`lookup`, unscoped: each resource looks up among all resources of another type (the engine finds the "
        "matches through an exact-value index of that type, built once per type and path; scoped, as shipped, a "
        "lookup touches the few configured resources). Times without tracemalloc (--untraced); memory is the "
        "process's resident high-water mark after each shape, snapshot included. Each size runs in its own process "
        "so its peak is its own. Not run: all-in-scope at 1M (about 11 findings per resource are kept in memory: some "
        "11 million findings, extrapolating the 100k row's memory to well over 10 GB).",
        "Account-shaped evaluation grows linearly with the account (unrelated resources cost only their scoping).",
        lambda quick: (
            [
                ["bench/engine.py", "--sizes", "1000,3000", "--untraced"],
                ["bench/engine.py", "--sizes", "10000", "--untraced"],
            ]
            + (
                []
                if quick
                else [
                    ["bench/engine.py", "--sizes", "100000", "--untraced"],
                    ["bench/engine.py", "--sizes", "1000000", "--untraced", "--all-in-scope-max", "0"],
                ]
            )
        ),
        engine_tables,
        3600,
    ),
    Bench(
        "scan",
        "Live scan as the account grows (moto_server, injected latency)",
        "`ccme-audit scan` (pack ccme) against moto_server on 127.0.0.1; every request of the scanning clients sleeps "
        "30 ms first, standing in for AWS latency. Sizes are cumulative: the CCME environment alone, plus 300 buckets "
        "and 100 keys, plus 3,000 buckets and 1,000 keys. API calls are botocore operations, HTTP requests include "
        "retries; calls per resource = API calls / resources in the snapshot. Peak memory is tracemalloc's peak "
        "during scan + evaluation.",
        "Detail calls stay flat as the account grows; only paginated list calls may grow.",
        lambda quick: [["bench/scan.py"] if quick else ["bench/scan.py", "--full"]],
        scan_tables,
        2400,
    ),
    Bench(
        "retry",
        "A failing operation costs a scan seconds (retry budget)",
        "Full `ccme` scans against moto_server on 127.0.0.1 with botocore's real back-off: an empty account where "
        "every operation moto does not implement answers its HTTP 500 page (the issue's case), the CCME demo "
        "environment clean, and the same with kms:GetKeyPolicy answering HTTP 500 on every request. Waited = time "
        "slept in retry back-off and the adaptive rate limiter, summed over concurrent calls.",
        "A scan with an operation failing forever finishes in under 10 s, the rules reading it ERROR.",
        lambda quick: [["bench/retry.py"]],
        retry_tables,
        600,
    ),
    Bench(
        "iac",
        "IaC gate against checkov",
        "A generated corpus of CloudFormation templates and Terraform directories (KMS keys and aliases, buckets with "
        "policies and settings, a VPC with subnets, routes and an S3 endpoint). Wall time of each tool as a "
        "subprocess, interpreter start included; with --repeat N the best of N runs per tool (load on a shared "
        "machine only ever adds time).",
        "ccme-audit iac takes at most 1/10 of checkov's time on the same corpus (equivalent checks).",
        lambda quick: [
            ["bench/iac.py", "--templates", "20", "--tf-dirs", "5"] if quick else ["bench/iac.py", "--repeat", "2"]
        ],
        iac_tables,
        2400,
    ),
    Bench(
        "report",
        "HTML report at 10,000 findings",
        "One self-contained HTML file for 10,000 findings; render time is headless Chromium loading it, running its "
        "script (first page of rows built before the load event) and taking a screenshot, minus the same on an "
        "empty page (browser start-up), best of the runs.",
        "One file under 10 MB that renders in under 2 s.",
        lambda quick: [["bench/report.py", "--runs", "1" if quick else "3"]],
        report_tables,
        900,
    ),
    Bench(
        "lambda",
        "Lambda door: cold import and peak memory",
        "Fresh interpreters importing the handler (median, bare interpreter start subtracted); the deployment zip as "
        "it is in deploy/dist (--no-build: rebuilding needs the package index; `python bench/lambda_cold.py` "
        "rebuilds it); two handler runs on the demo account in in-process moto with 30 ms per scan request. Peak "
        "memory is VmHWM read by the measured child itself at exit (a parent's ru_maxrss for a child inherits the "
        "parent's high-water mark across fork+exec).",
        "Cold import stays light (no checkov, cfn-lint, hcl2, moto, typer or rich); peak memory well under the "
        "function's MemorySize (deploy/template.yaml default 1024 MB).",
        lambda quick: [["bench/lambda_cold.py", "--runs", "3" if quick else "7", "--no-build"]],
        lambda_tables,
        1200,
    ),
    Bench(
        "prowler",
        "Prowler on the same moto_server account (S3 and KMS checks)",
        "bench/prowler.py installs Prowler into its own virtual environment (bench/out/prowler-venv), starts "
        "moto_server on 127.0.0.1 behind a counting proxy, seeds the demo CCME account and buckets with deliberately "
        "tricky policies (the cases of docs policy-semantics), runs Prowler's S3 and KMS checks and `ccme-audit scan` "
        "(its S3 and KMS rules) on the same account, and compares wall time, HTTP requests and verdicts. Any other "
        "address is routed to a refusing proxy on 127.0.0.1, so neither tool can reach AWS (attempts are counted). "
        "How the two judge a bucket policy: Prowler's s3_bucket_secure_transport_policy (read in its source) passes "
        "a bucket when one statement has Effect Deny, an Action list containing s3:PutObject, s3:* or *, and "
        'Condition Bool aws:SecureTransport equal to the string "false"; it does not look at Resource or Principal '
        "and does not normalise JSON literals. ccme-audit evaluates the policy against enumerated requests (every "
        "action class, the bucket and its objects, anonymous / same-account / other-account principals, HTTP and "
        "each TLS version) as IAM does. Request counts: Prowler's checks cover every bucket and key of the account; "
        "ccme-audit's rules fetch details of the three configured CCME buckets and the prefixed keys only.",
        "Verdicts as AWS would decide (truth column); no false PASS.",
        lambda quick: [["bench/prowler.py"]],
        prowler_tables,
        1260,
    ),
]


# ---------------------------------------------------------------------------------------------------------------------
# running


def shown(command: list[str]) -> str:
    return "python " + " ".join(shlex.quote(part) for part in command)


def run_one(command: list[str], timeout_s: int) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        before = load_average()
        start = time.perf_counter()
        problem = None
        code: int | None
        try:
            done = subprocess.run(
                [sys.executable, *command, "--json", str(out)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            code, problem = None, f"timed out after {timeout_s} s"
            output = (
                (exc.stdout or b"").decode("utf-8", "replace")
                if isinstance(exc.stdout, bytes)
                else str(exc.stdout or "")
            )
        wall = time.perf_counter() - start
        figures = None
        if out.exists():
            try:
                figures = json.loads(out.read_text(encoding="utf-8"))
            except ValueError as exc:
                problem = f"unreadable figures: {exc}"
        elif problem is None:
            problem = f"exit {code}, no figures written: " + " ".join(output.strip().splitlines()[-3:])[-300:]
        tail = "\n".join(output.strip().splitlines()[-40:])
        print(f"[run_all] {shown(command)}: exit {code}, {wall:.1f} s", file=sys.stderr)
        return Run(shown(command), code, wall, before, load_average(), figures, tail, problem)


def run_bench(bench: Bench, quick: bool) -> Section:
    runs = [run_one(command, bench.timeout_s) for command in bench.commands(quick)]
    tables, verdicts = bench.tables(runs)
    return Section(bench.key, bench.title, bench.meaning, bench.target, runs, tables, verdicts)


# ---------------------------------------------------------------------------------------------------------------------
# the document


def render_table(table: Table) -> list[str]:
    out = [f"#### {table.title}", "", f"Command: `{table.command}`", ""]
    out.append("| " + " | ".join(cell(c) for c in table.columns) + " |")
    out.append("|" + "|".join(" --- " for _ in table.columns) + "|")
    for row in table.rows:
        out.append("| " + " | ".join(cell(c) for c in row) + " |")
    out.append("")
    out += [f"- {note}" for note in table.notes]
    if table.notes:
        out.append("")
    return out


def render_document(doc: Document) -> str:
    m = doc.machine
    dirty = " (working tree has uncommitted changes)" if doc.commit.get("dirty") else ""
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{doc.invocation}` (bench/run_all.py; do not edit by hand). "
        + ("**Quick variants** (`--quick`): small sizes, not the published ones." if doc.quick else "Full variants."),
        "",
        "## Machine and run",
        "",
        "| | |",
        "| --- | --- |",
        f"| CPU | {cell(str(m.get('cpu')))} |",
        f"| cores | {m.get('cores')} |",
        f"| RAM | {num(m.get('ram_gib'), 1)} GiB |",
        f"| Python | {m.get('python')} |",
        f"| OS | {cell(str(m.get('os')))} |",
        f"| started | {doc.started} |",
        f"| finished | {doc.finished} |",
        f"| git commit | {doc.commit.get('commit')}{dirty} |",
        f"| load average (1, 5, 15 min) before | {', '.join(num(x) for x in doc.load_before) or 'n/a'} |",
        f"| load average (1, 5, 15 min) after | {', '.join(num(x) for x in doc.load_after) or 'n/a'} |",
        "",
    ]
    cores = m.get("cores") or 1
    peak_load = max(
        [
            *doc.load_before[:1],
            *doc.load_after[:1],
            *[x for s in doc.sections for r in s.runs for x in (r.load_before[:1] + r.load_after[:1])],
        ],
        default=0.0,
    )
    if peak_load > 0.7 * cores:
        lines += [
            f"**The machine was loaded**: the 1-minute load average reached {peak_load:.2f} on {cores} cores "
            "during this run (other work shared the machine); times are pessimistic, compare with care.",
            "",
        ]
    lines += ["## Summary against the targets", ""]
    lines += [f"- {v}" for s in doc.sections for v in s.verdicts] or ["- (no verdicts)"]
    lines.append("")
    lines += [
        "## Commands",
        "",
        "Each figure below comes from the command printed above its table, run from the repository root; "
        "run_all adds `--json FILE` to collect the figures. Per command: exit code, wall time, load average.",
        "",
        "| command | exit | wall (s) | load before | load after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for section in doc.sections:
        for run in section.runs:
            lines.append(
                f"| `{cell(run.command)}` | {run.exit_code if run.exit_code is not None else cell(run.problem or '')}"
                f" | {num(run.wall_s, 1)} | {', '.join(num(x) for x in run.load_before)}"
                f" | {', '.join(num(x) for x in run.load_after)} |"
            )
    lines.append("")
    for section in doc.sections:
        lines += [f"## {section.title}", "", section.meaning, "", f"Target: {section.target}", ""]
        for table in section.tables:
            lines += render_table(table)
        problems = [r for r in section.runs if r.problem]
        for run in problems:
            lines += [
                f"`{run.command}` did not give figures ({run.problem}); its last output lines:",
                "",
                "```text",
                run.output_tail.replace("```", "'''"),
                "```",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def write_document(path: Path, doc: Document) -> None:
    """Render and write the document atomically: a failure leaves any previous document untouched."""
    write_text_atomic(path, render_document(doc))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small variants (minutes, not tens of minutes)")
    parser.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(b.key for b in BENCHES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    wanted = [w for w in args.only.split(",") if w]
    unknown = sorted(set(wanted) - {b.key for b in BENCHES})
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}: choose among {', '.join(b.key for b in BENCHES)}")
    selected = [b for b in BENCHES if not wanted or b.key in wanted]
    invocation = (
        "python bench/run_all.py" + (" --quick" if args.quick else "") + (f" --only {args.only}" if wanted else "")
    )
    started, load_before = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), load_average()
    commit = git_commit()
    sections = [run_bench(bench, args.quick) for bench in selected]
    doc = Document(
        machine_info(),
        started,
        dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        commit,
        args.quick,
        load_before,
        load_average(),
        sections,
        invocation,
    )
    write_document(args.out, doc)
    print(f"wrote {args.out}")
    return 0 if all(r.figures is not None for s in sections for r in s.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
