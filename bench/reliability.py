"""Regenerate docs/reliability.md from one run of the reliability suites.

Runs `pytest tests/reliability --runslow` once (the whole fault-injection matrix over every collector
operation, the hostile-input matrix as subprocesses with their peak RSS and wall time, report safety
and the secret canary) with CCME_RELIABILITY_RECORD set, so each fault and hostile case appends one
JSON line (tests/reliability/record.py), and with --junitxml for every test's outcome and duration.
Then probes the open finding (`ccme-audit iac` on a directory with no template) directly, and writes
docs/reliability.md atomically: what each suite proves, the tables, the worst cases, the commands,
the machine, date and git commit, and the findings with their fixes.

    python bench/reliability.py [--out docs/reliability.md] [--no-slow] [--keep DIR]

--no-slow runs the default (sampled) suites only: a quick look, not the published document.
Prints the headline figures; exits 1 when a test failed (the document is still written, saying so).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.fileio import write_text_atomic  # noqa: E402
from auditor.report.markdown import esc  # noqa: E402

SUITES = {
    "test_faults": "fault injection (ccme demo account)",
    "test_faults_bbp": "fault injection (bbp provisioner account)",
    "test_hostile": "hostile input",
    "test_report_safety": "report safety",
    "test_secret_canary": "secret canary",
}
KINDS = ("deny", "throttle", "timeout", "malformed")
ERROR_LINE_CHARS = 110


@dataclass
class Case:
    module: str
    name: str
    seconds: float
    outcome: str  # passed, failed, skipped, xfailed
    message: str


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started


def junit_cases(path: Path) -> list[Case]:
    cases = []
    for tc in ET.parse(path).getroot().iter("testcase"):
        module = tc.get("classname", "").rsplit(".", 1)[-1]
        outcome, message = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                outcome, message = "failed", child.get("message", "")
            elif child.tag == "skipped":
                message = child.get("message", "")
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        cases.append(Case(module, tc.get("name", ""), float(tc.get("time", "0")), outcome, message))
    return cases


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def param(name: str) -> str:
    return name[name.index("[") + 1:-1] if "[" in name else ""


def machine() -> str:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        memory = "RAM unknown"
    return (f"{platform.system()} {platform.release()}, {cpu or platform.machine()}, {os.cpu_count()} CPUs "
            f"(affinity {len(os.sched_getaffinity(0))}), {memory}, Python {platform.python_version()}")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def commit_for(pattern: str) -> str:
    """The short hash of the newest commit whose message mentions `pattern` (fixes are looked up, not typed)."""
    found = git("log", "--format=%h", "-F", f"--grep={pattern}", "-n", "1")
    return f"`{found}`" if found else "(commit not found)"


def probe_empty_iac() -> tuple[int, str]:
    """The open finding, checked directly: `ccme-audit iac` on an empty directory."""
    with tempfile.TemporaryDirectory(prefix="ccme-reliability-") as name:
        empty = Path(name) / "empty-iac"
        empty.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONPATH"] = str(ROOT)
        code, _out, err, _ = run([sys.executable, "-m", "auditor", "iac", str(empty), "-f", "json", "-o",
                                  str(Path(name) / "empty.json")], env=env)
    return code, (err.strip().splitlines() or [""])[0]


_TMP = re.compile(r"/tmp/(?:pytest-of-[^/\s]+/pytest-\d+/[^/\s]+|ccme-reliability-[^/\s]+)/")


def untemp(line: str) -> str:
    """The case's temporary directory shortened to <tmp>/ (the rest of the line is kept)."""
    return _TMP.sub("<tmp>/", line)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def short_rules(rules: list[str], limit: int = 4) -> str:
    if not rules:
        return "none"
    shown = ", ".join(rules[:limit])
    return shown + (f" +{len(rules) - limit} more" if len(rules) > limit else "")


def fault_section(cases: list[Case], recs: list[dict[str, Any]], cmd: str) -> list[str]:
    by_case = {(r["account"], r["key"], r["kind"]): r for r in recs if r["suite"] == "fault"}
    outcome: dict[tuple[str, str, str], Case] = {}
    for case in cases:
        if case.module in ("test_faults", "test_faults_bbp") and case.name.startswith("test_a_fault_on_one_operation"):
            key, _, kind = param(case.name).rpartition("-")
            outcome[("ccme" if case.module == "test_faults" else "bbp", key, kind)] = case
    operations = sorted({(a, k) for a, k, _ in outcome})
    lines = [
        "## Fault injection: one operation answers badly, the scan stays honest",
        "",
        "For every API operation the collectors declare, alone: AccessDenied (in the protocol's own error shape), "
        "persistent throttling, a read timeout and a malformed 200 (an unparsable body; for JSON protocols also "
        "\"every field missing\"), injected at the botocore `before-send` event of that one operation, against the "
        "in-process moto demo accounts (`seed_ccme_account`, and the bbp provisioner account for the operations only "
        "its pack makes; no planted faults, both opt-in options on). Each case proves: the scan completes; no "
        "collector crashes (the failure is a collection error naming that IAM action); only the rules that read "
        "what the operation feeds change, and every finding that changes becomes ERROR (never a PASS or FAIL from "
        "missing evidence); the others are unchanged; the exit code is then 1. Retries happen within the retry "
        "budget (a throttled or timed-out call is retried, backoff sleeps removed; once one call of the operation "
        "has used its budget the later ones are not retried, and each lost call says the budget ran out). The CLI "
        "tests add: every report format and "
        "`--snapshot-out` are written whole into `--output-dir` with the exit code 1, a formatter crash leaves no "
        "partial file (exit 3), and any fault on `sts:GetCallerIdentity` is one line and exit 2 with nothing written.",
        "",
        f"Command: `{cmd}` (tests/reliability/test_faults.py, test_faults_bbp.py).",
        "",
        "Cell: `E` rules that became ERROR / findings unchanged / exit code of the scan at the default `--fail-on "
        "low` (0 when only INFO rules became ERROR: the advisory ones such as key rotation and account-level Block "
        "Public Access, and the optional-service probes, are below the threshold by design; `--fail-on info` makes "
        "it 1); `skip` when the demo account makes no "
        "such call (a detail call with nothing to describe) or moto lacks the operation (the demo answers it "
        "before any request exists); FAILED marks a case whose assertions failed.",
        "",
    ]
    rows = []
    errored_by_op: dict[tuple[str, str], list[str]] = {}
    for account, key in operations:
        row = [account, f"`{key}`"]
        for kind in KINDS:
            found = outcome.get((account, key, kind))
            rec = by_case.get((account, key, kind))
            if found is None:
                row.append("-")
            elif found.outcome == "skipped":
                row.append("skip")
            elif rec is not None:
                cell = f"{len(rec['errored_rules'])} E / {rec['unchanged']} / exit {rec['exit_code']}"
                if rec.get("other"):
                    cell += f" ({len(rec['other'])} other changes)"
                row.append(("FAILED " if found.outcome == "failed" else "") + cell)
                errored_by_op.setdefault((account, key), rec["errored_rules"])
            else:
                row.append("FAILED" if found.outcome == "failed" else found.outcome)
        rows.append(row)
    lines += table(["account", "operation", *KINDS], rows)
    counts = Counter(c.outcome for c in outcome.values())
    lines += ["", f"{len(outcome)} cases over {len(operations)} operations: "
              + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ".", ""]
    lines += ["### Which rules each operation's failure turns into ERROR", "",
              "(from the AccessDenied case, or the first kind that ran; every other finding stayed as it was)", ""]
    rows = [[a, f"`{k}`", str(len(rules)), short_rules(rules)] for (a, k), rules in sorted(errored_by_op.items())]
    lines += table(["account", "operation", "ERROR rules", "rules"], rows)
    lines.append("")
    return lines


def hostile_section(cases: list[Case], recs: list[dict[str, Any]], cmd: str) -> tuple[list[str], dict[str, Any]]:
    by_case = {f"{r['door']}-{r['pathology']}": r for r in recs if r["suite"] == "hostile"}
    sub = {param(c.name): c for c in cases if c.module == "test_hostile" and c.name.startswith("test_subprocess")}
    inproc = [c for c in cases if c.module == "test_hostile" and c.name.startswith("test_in_process")]
    fuzz = [c for c in cases if c.module == "test_hostile" and c.name.startswith("test_random_bytes")]
    lines = [
        "## Hostile input: every door that reads a file, against every pathology",
        "",
        "Doors: rule files (`rules validate`), the configuration (`iam-policy --config`), snapshots (`evaluate`), "
        "CloudFormation, Terraform and ParallelCluster files (`iac`), resource policies (`policy check`), "
        "dependencies.yaml (`packages check -d`). Pathologies: 50,000-deep bracket nesting, a 30 MB file, non-UTF-8 "
        "bytes, a YAML alias bomb (9^9 expansions), binary bytes, NUL bytes, a directory where a file is expected, a "
        "symlink loop. Each case is run as its own process (`python -m auditor`, this checkout) and must end in one "
        "clear line and exit 2 (`ccme-audit: error: <file>, <place>: <what> (fix: ...)`), the IaC gate's malformed "
        "templates included (no report written); never a traceback, never exit 3; its peak "
        "RSS (the child's own VmHWM at exit) under 500 MiB and its wall time under 60 s. The default test run does "
        "every case in-process except the 30 MB ones, plus four memory-heavy cases as subprocesses; hypothesis adds "
        "random bytes to every door.",
        "",
        f"Command: `{cmd}` (tests/reliability/test_hostile.py, `test_subprocess_bounded`).",
        "",
    ]
    rows = []
    worst_rss: tuple[float, str] = (0.0, "")
    worst_time: tuple[float, str] = (0.0, "")
    for ident, case in sub.items():
        rec = by_case.get(ident)
        door, pathology = (rec["door"], rec["pathology"]) if rec else (ident, "")
        status = {"passed": "ok", "xfailed": "xfail (open finding)"}.get(case.outcome, case.outcome.upper())
        if rec is None:
            rows.append([door, pathology, status, "-", "-", "-", "-"])
            continue
        line = untemp(rec["error_line"])
        shown = line if len(line) <= ERROR_LINE_CHARS else line[:ERROR_LINE_CHARS] + "…"
        rows.append([door, pathology, status, str(rec["exit_code"]), f"{rec['rss_mib']:.0f}",
                     f"{rec['seconds']:.2f}", esc(shown) or "(no stderr)"])
        worst_rss = max(worst_rss, (rec["rss_mib"], ident))
        worst_time = max(worst_time, (rec["seconds"], ident))
    lines += table(["door", "pathology", "result", "exit", "peak RSS MiB", "seconds", "first stderr line"], rows)
    in_counts = Counter(c.outcome for c in inproc)
    fuzz_counts = Counter(c.outcome for c in fuzz)
    lines += [
        "",
        f"Worst case memory: **{worst_rss[0]:.0f} MiB** ({worst_rss[1]}); worst case time: "
        f"**{worst_time[0]:.2f} s** ({worst_time[1]}). In-process variant: "
        + ", ".join(f"{n} {k}" for k, n in sorted(in_counts.items()))
        + "; hypothesis random bytes: " + ", ".join(f"{n} {k}" for k, n in sorted(fuzz_counts.items())) + ".",
        "",
    ]
    return lines, {"worst_rss_mib": worst_rss[0], "worst_rss_case": worst_rss[1], "worst_seconds": worst_time[0],
                   "worst_seconds_case": worst_time[1], "cases": len(rows)}


def simple_section(cases: list[Case], module: str, title: str, proves: str, cmd: str) -> list[str]:
    mine = [c for c in cases if c.module == module]
    rows = [[f"`{c.name}`", c.outcome.upper() if c.outcome == "failed" else c.outcome, f"{c.seconds:.2f}"]
            for c in mine]
    return [f"## {title}", "", proves, "", f"Command: `{cmd}`.", "", *table(["test", "result", "seconds"], rows), ""]


FINDINGS = [
    ("fault injection", "An unparsable XML answer (a truncated body) raised out of botocore's parser and crashed the "
     "whole collector instead of failing one call.", "unparsable answers are failed calls"),
    ("fault injection", "A non-JSON 2xx body was read by botocore as an empty object (no keys, no policy): missing "
     "evidence looked like an empty account.", "unparsable answers are failed calls"),
    ("fault injection", "A malformed sts:GetCallerIdentity answer ended in an internal error; it is now one line, "
     "exit 2.", "a malformed STS answer is exit 2"),
    ("fault injection", "Subnets that could not be listed made the topology rules and public-AZ checks FAIL instead "
     "of unknown (ERROR).", "subnets that could not be listed"),
    ("hostile input", "Deeply nested flow collections (50,000 `[`) segfaulted the IaC gate inside cfn-lint's "
     "decoder; the bracket depth is now checked first.", "deep flow nesting no longer segfaults"),
    ("hostile input", "A CloudFormation YAML alias bomb was expanded by cfn-lint; it is refused before.",
     "a CloudFormation alias bomb is refused"),
    ("hostile input", "A 30 MB snapshot took 880 MiB: the depth check kept every value on its stack; it keeps only "
     "containers now (160 MiB).", "the depth check keeps only containers"),
    ("hostile input", "A snapshot that is not a JSON object reached jsonschema (slow, unclear error); refused first; "
     "error lines quoting input are capped.", "a non-object snapshot is refused"),
    ("hostile input (the suite itself)", "Peak RSS was read from wait4's ru_maxrss, which inherits pytest's "
     "high-water mark across fork+exec (every child looked 870 MiB); each child now reports its own VmHWM.",
     "measure each child's own peak RSS"),
    ("secret canary", "With DEBUG logging on (root logger, `boto3.set_stream_logger`, a Lambda at log level DEBUG), "
     "botocore's `botocore.parsers` logger printed the GetSecretValue answer (with `--read-secret-values`) and "
     "ListFunctions' environment variables in clear. The collectors' clients now mark, before each parse, an "
     "operation whose output shape has a member the service model flags `sensitive`, and a filter on that logger "
     "replaces that body with its size (auditor/collect/redact.py, one line in auditor/collect/runner.py).",
     "botocore's debug log no longer prints response bodies"),
    ("fault injection", "Since the bbp reachability derivation, a ccme scan made ec2:DescribeSecurityGroups (the "
     "plan's derived inputs were per resource type: ec2.vpc_endpoint's derivation reads security groups) though no "
     "ccme rule reads them, and `iam-policy --pack ccme` granted it; the ccme matrix failed (\"no rule became "
     "ERROR\"). The plan's derived inputs are now per derived fact: a rule pulls the inputs of the facts it reads.",
     "derived inputs per fact"),
    ("hostile input", "Moving the YAML loaders onto libyaml's parser (the IaC gate's speed) let a configuration "
     "with 50,000 nested `[` crash the process (libyaml composes recursively in C, cfn-lint's decoder had been "
     "guarded, the configuration loader had not); block sequences nested on one line (`- - - x`) do the same "
     "with no bracket. Every YAML door now measures the nesting before composing.",
     "measures the nesting first"),
    ("hostile input", "A YAML alias inside its own anchor (`a: &a {b: [1, {c: *a}]}`) hung every YAML door for good "
     "(configuration, rule files, CloudFormation, ParallelCluster, dependencies.yaml): the alias-expansion count "
     "walked the cycle without end. A value that contains itself now counts as past the limit.",
     "counts as past the expansion limit"),
    ("shape fuzz", 'A VPC endpoint answer without ServiceName or VpcId, a Network Firewall without VpcId: the '
     'collector wrote null where the resource schema wants a string (the snapshot failed to read back); they are '
     'unknown now (ERROR for the rules reading them), and those two are no longer required in '
     'ec2.vpc_endpoint.json (an unknown value is pruned before the schema check).',
     "Shape fuzzing from botocore's service models"),
    ("shape fuzz", "A DNS Firewall association without VpcId or FirewallRuleGroupId was recorded with the string "
     "'None' as its VPC or rule group (str(None)); they are unknown now.",
     "Shape fuzzing from botocore's service models"),
    ("shape fuzz", 'A DNS Firewall rule whose Action is absent, or a value this version does not know (a newer AWS '
     'enum value), was null or failed the schema; it is unknown now (ERROR), never read as ALLOW/BLOCK/ALERT.',
     "Shape fuzzing from botocore's service models"),
    ("shape fuzz", 'A listed KMS key without KeyArn (not selected by any rule) wrote arn null, which the kms.key '
     'schema refuses; the attribute is left out, as for selected keys.',
     "Shape fuzzing from botocore's service models"),
    ("shape fuzz", "A DNS Firewall rule or association without Priority was read as priority 0 (first), a guess; "
     "and a matching rule whose action could not be told was passed over like ALERT, so the query could end "
     "ALLOWED (fail-open). A missing priority is unknown now, and a matching rule of unknown action makes the "
     "verdict unknown (ERROR).", "DNS Firewall: a rule or association without Priority"),
    ("shape fuzz", "FSx DescribeDataRepositoryAssociations has no botocore paginator; the collector's own loop "
     "followed NextToken for as long as one came back, so an answer repeating its token hung the scan for good. "
     "A repeated token (or over 1,000 pages) is a PaginationError now: that file system's associations are "
     "unknown (ERROR).", "FSx: a repeated NextToken"),
    ("unknown never passes", "A VPC peering connection whose requester or accepter VPC id was unknown crashed the "
     "bbp reachability derivation (an unhashable unknown marker used as a key), taking every rule of the "
     "evaluation with it; it is an unknown peering fact now (ERROR on the peering rules).",
     "Property: an unknown attribute never yields PASS"),
    ("replay corpus", "A bucket without a policy (NoSuchBucketPolicy) was FAIL on CCME-S3-POLICY-TLS-OVERSTRICT-* "
     "(\"denies TLS versions the seed allows\"): the policy operator fails on no policy whatever it judges. A "
     "bucket without a policy refuses no TLS version; the rule now says `no_policy: holds` (its missing denies "
     "still fail the TLS and secure-transport rules).",
     "CCME-S3-POLICY-TLS-OVERSTRICT-*: a bucket without a policy"),
]
# Found by tests/shapes and listed, not fixed (status text instead of a commit).
LISTED = [
    ("shape fuzz", "A listed item without its identifier (VpcId, GroupId, InternetGatewayId, AliasName, "
     "LoadBalancerArn, FunctionName, ...: optional in botocore's models, always sent by AWS) raises KeyError in "
     "its collector; the runner's guard records CollectorCrashed on every type of that collector, so its rules "
     "are ERROR (fail closed), but one bad item hides the whole collector's evidence.",
     "listed, not fixed: fail-closed already; the fuzz keeps identifiers present (tests/shapes/harness.py "
     "IDENTIFIERS) so the other properties are tested"),
]
SHAPES_SECTION = [
    "## Shape fuzzing and replay: answers AWS may send, not only moto's",
    '',
    'tests/shapes: every operation the collectors declare (the list `iam-policy` derives) is answered, at '
    "botocore's `before-call` as its Stubber does, with answers hypothesis generates from the operation's "
    'output shape in the installed botocore (optional members present or absent, empty lists, unknown enum '
    "values, up to three pages carrying the paginator's own tokens) or one of its documented error codes (the"
    " model's plus the protocol's access-denied, opt-in and credential codes and S3's not-configured ones); "
    'every collector of a ccme + bbp scan runs on them. Properties: no collector or rule crashes; the '
    'snapshot reads back through the snapshot and resource schemas; every page of a listing is read; each '
    '(operation, code) ends as its table says (ERROR through a collection error on that IAM action, the probe'
    " status, or the documented not-configured value). tests/shapes/test_replay.py replays AWS's documented "
    "example answers (botocore's examples-1.json, read from the installed package at test time) through the "
    'same path. Default run derandomized, about 35 s; `--runslow` adds 1,500 random scans. Every run also '
    "asks ec2:DescribeRegions about an opt-in region, as a scan does when the config names one: the region is "
    'dropped only when the answer does not list it or lists it not-opted-in, and a failed call drops nothing.',
    '',
    'tests/engine/test_unknown_never_passes.py, the evaluator side of "an absent or unknown member never '
    'yields PASS": for every PASS an expectation file proves on a named resource, each attribute its rule '
    'reads (on the resource, on the types it looks up, and on the collected types a derived fact is computed '
    'from) is made unknown and the rule evaluated again; it may stay PASS only where no schema-valid concrete '
    'value in its place would change the verdict (three-valued logic: another branch of an `any_of` decided). '
    'Breaking the evaluator so that `all_of` ignores an unknown member makes 31 of these cases fail.',
    '',
    'Command: `python -m pytest tests/shapes` (add `--runslow` for the long run).',
    '',
    'tests/data/replay holds a small corpus of AWS answers with asserted verdicts: six scenario files (JSON), '
    'each one coherent account state (three S3 buckets compliant, with realistic faults, with GetBucketPolicy '
    'refused on one bucket; the nine CCME KMS keys with AWS managed aliases, a key pending deletion, a '
    'multi-Region key, a near-miss alias; the CCME VPC in topology 2, and with network faults and '
    'DescribeVpcAttribute refused for one attribute). Each gives, per operation, the parsed pages in '
    "botocore's form (shaped after the AWS API reference and Cloud Custodian's placebo recordings, written with "
    'this project\'s names; the file names its source), an error code, or answers per request (one bucket, one '
    'key); every other operation answers an empty success. tests/shapes/test_replay_corpus.py serves each '
    'through the same harness and asserts the expected verdict of every rule the file decides, exactly (about '
    '180 verdicts); an ERROR anywhere else fails; no collector crash, no unanswered call (a detail call for a '
    'resource no rule selects is one), every page read, the snapshot reads back. Each page validates against '
    "botocore's output shape. Command: `python -m pytest tests/shapes/test_replay_corpus.py` (about 3 s).",
    '',
]


def findings_section(cases: list[Case], empty_code: int, empty_line: str) -> list[str]:
    rows = [[suite, what, "fixed in " + commit_for(pattern)] for suite, what, pattern in FINDINGS]
    rows += [[suite, what, status] for suite, what, status in LISTED]
    directory = [c for c in cases if c.module == "test_hostile" and c.name.endswith("-directory]")
                 and any(d in c.name for d in ("cloudformation", "parallelcluster"))]
    if empty_code == 0:
        status = (f"**open**: re-checked by this run, `ccme-audit iac EMPTY_DIRECTORY` exits {empty_code}; "
                  "the hostile cases cloudformation-directory and parallelcluster-directory are strict xfails.")
    else:
        status = (f"fixed in {commit_for('ccme-audit iac on a directory holding no template')}: re-checked by this "
                  f"run, `ccme-audit iac EMPTY_DIRECTORY` exits {empty_code} with one line "
                  f"({esc(untemp(empty_line)[:ERROR_LINE_CHARS])}); the hostile cases cloudformation-directory and "
                  "parallelcluster-directory (in-process and subprocess): "
                  + ", ".join(sorted({c.outcome for c in directory})))
    rows.append(["hostile input", "`ccme-audit iac` on a directory holding no template (here: a directory named "
                 "like the template) exited 0 with every rule SKIPPED: a mistyped path passes a CI gate.", status])
    return ["## Findings", "", "Every defect the suites found, and its fix (commits looked up in `git log`).", "",
            *table(["suite", "defect", "status"], rows), ""]


def checkout() -> dict[str, Any]:
    """What was tested: the commit, whether tracked files differed from it, and when."""
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def render(cases: list[Case], recs: list[dict[str, Any]], cmd: str, seconds: float, code: int,
           empty: tuple[int, str], tested: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    head = tested["commit"]
    dirty = " (with uncommitted changes in the checkout)" if tested["dirty"] else ""
    counts = Counter(c.outcome for c in cases)
    per_suite: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for c in cases:
        per_suite[c.module][c.outcome] += 1
    lines = [
        "# Reliability: faults, hostile input, report safety, secrets",
        "",
        "<!-- Generated by bench/reliability.py: do not edit by hand; rerun `python bench/reliability.py`. -->",
        "",
        f"Suites run {tested['date']} at commit `{head}`{dirty}, on "
        f"{machine()}.",
        "",
        f"One run: `{cmd}`, {seconds:.0f} s wall time, pytest exit code {code}; "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ".",
        "",
        *table(["suite", "module", "results", "seconds"], [
            [SUITES.get(m, m), f"tests/reliability/{m}.py", ", ".join(f"{n} {k}" for k, n in sorted(c.items())),
             f"{sum(x.seconds for x in cases if x.module == m):.1f}"] for m, c in sorted(per_suite.items())]),
        "",
        "The default test run (`pytest`, no `--runslow`) samples these suites (five operations x four faults for "
        "ccme, one for bbp, the hostile matrix in-process plus four subprocess cases, report safety and the canary "
        "whole) and stays within the suite's time budget; this document comes from the full matrices.",
        "",
    ]
    lines += fault_section(cases, recs, cmd)
    # Written by hand, its figures from bench/retry.py: the retry budget is not a test matrix.
    lines += [*(Path(__file__).with_name("reliability_retry.md").read_text(encoding="utf-8").splitlines()), ""]
    hostile, worst = hostile_section(cases, recs, cmd)
    lines += hostile
    lines += simple_section(
        cases, "test_report_safety", "Report safety: hostile strings stay inert",
        "The golden evaluation with every resource-controlled string (ids, names, tags, messages, evidence) replaced "
        "by payloads (script tags, attribute breakers, comment and CDATA breakers, Markdown links and table "
        "breakers, backticks, control and terminal escape sequences): the HTML report has the element and attribute "
        "structure of a benign render (nothing injected, no javascript: URL), JUnit parses as XML with the payload as "
        "text only, SARIF is valid JSON with the payload as data, the Markdown report (rendered as CommonMark) keeps "
        "no injected link, code span or table cell break, and the text report carries no raw ESC or control "
        "character.", cmd + " -k report_safety")
    lines += simple_section(
        cases, "test_secret_canary", "Secret canary: no secret value in any output or log",
        "A random `CANARY-<hex>` is planted in the emulated accounts (in-process moto, fake credentials): the CCME "
        "directory secret, the bbp Slurm database secret and the ED25519 key pair's private key material in Secrets "
        "Manager, an SSM SecureString parameter and Lambda environment variables. Every door runs with logging at "
        "DEBUG (the root logger through caplog and botocore's own stream logger, which logs response bodies), for "
        "the ccme and bbp packs: without `--read-secret-values`, `collect --out --stats` (GetSecretValue is never "
        "called); with it, `scan` (every `--format` into `--output-dir`, `--snapshot-out`, `--stats`; GetSecretValue "
        "is called and the plaintext check classifies the value), then `evaluate`, `report` and `remediate` (sh, "
        "CloudFormation, Terraform; file and stdout) from what scan wrote, and (ccme) the Lambda handler (its S3 "
        "objects, SNS notification, stdout). Every file, stdout, stderr and log record is searched for the canary "
        "raw (its alphabet makes the JSON-, XML-, HTML-, URL- and repr-escaped forms the same bytes), base64 (both "
        "alphabets, every alignment) and hex: it appears nowhere. Controls: the canary is readable back from the "
        "account, botocore's response-body records are captured, the detector finds every encoded form, and the "
        "bodies withheld follow the service model's `sensitive` trait.", cmd + " -k secret_canary")
    lines += findings_section(cases, *empty)
    lines += SHAPES_SECTION
    lines += [
        "## Reproduce",
        "",
        "```",
        f"python bench/reliability.py            # this document ({seconds / 60:.0f} minutes here)",
        "python -m pytest tests/reliability     # the default, sampled run",
        "python -m pytest tests/reliability --runslow -k 'hostile and subprocess'   # one matrix",
        "```",
        "",
    ]
    return "\n".join(lines), {**worst, "tests": dict(counts), "seconds": round(seconds, 1), "commit": head}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--no-slow", action="store_true", help="the default sampled suites only (quick look)")
    parser.add_argument("--keep", type=Path, help="keep the junit XML, record and run figures here")
    parser.add_argument("--from", dest="source", type=Path,
                        help="render again from a --keep directory instead of running the suites")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ccme-reliability-") as name:
        tmp = Path(args.keep or name)
        tmp.mkdir(parents=True, exist_ok=True)
        junit, rec = tmp / "junit.xml", tmp / "record.jsonl"
        rec.unlink(missing_ok=True)
        pytest_args = ["tests/reliability", *([] if args.no_slow else ["--runslow"]), "-q", "-p", "no:cacheprovider",
                       "--show-capture=no", f"--junitxml={junit}", "-o", "junit_logging=no"]
        cmd = "python -m pytest " + " ".join(shlex.quote(a) for a in pytest_args if not a.startswith("--junitxml"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        env["CCME_RELIABILITY_RECORD"] = str(rec)
        if args.source:
            tmp, junit, rec = args.source, args.source / "junit.xml", args.source / "record.jsonl"
            run_info = json.loads((args.source / "run.json").read_text(encoding="utf-8"))
            cmd, code, seconds, tested = run_info["cmd"], run_info["code"], run_info["seconds"], run_info["tested"]
        else:
            tested = checkout()
            print(f"running: {cmd}", flush=True)
            code, out, err, seconds = run([sys.executable, "-m", "pytest", *pytest_args], env=env)
            tail = out.strip().splitlines()[-1:] or err.strip().splitlines()[-1:]
            print(f"pytest exit {code} in {seconds:.0f} s: {tail[0] if tail else ''}", flush=True)
            (tmp / "run.json").write_text(json.dumps({"cmd": cmd, "code": code, "seconds": seconds, "tested": tested}),
                                          encoding="utf-8")
        if not junit.exists():
            sys.stderr.write(f"bench/reliability.py: no junit XML in {tmp} (pytest exit {code})\n")
            return 2
        cases = junit_cases(junit)
        empty = probe_empty_iac()
        text, figures = render(cases, records(rec), cmd, seconds, code, empty, tested)
    write_text_atomic(args.out, text)
    failed = [f"{c.module}::{c.name}" for c in cases if c.outcome == "failed"]
    print(json.dumps({**figures, "iac_empty_directory_exit": empty[0], "failed": failed, "document": str(args.out)},
                     indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
