"""The IaC gate over public repositories: tracebacks, refusals, and the noise it makes on them.

    python bench/iac_public.py REPO_DIR... [--each SUBDIR_GLOB] [--set NAME=VALUE]... [--param NAME=VALUE]...
                               [--json FILE]

Each REPO_DIR is scanned whole, and so is each directory under it matching --each (default
`examples/*`, `recipes/*/*`, and the repository's top-level directories holding templates), one
`ccme-audit iac` run each, in-process with CCME_AUDIT_DEBUG=1 so that a crash shows as a traceback.
The repositories are not part of this project: fetch them (for instance with `git clone --depth 1`)
and pass their paths; nothing is written inside them.

Prints, in total: runs (and those on a directory holding no template, which exit 2 by design),
tracebacks, exit-2 refusals (with the first lines), the median seconds per run, and every FAIL/ERROR
finding grouped by rule and message head. On code that is not CCME's, a FAIL or ERROR on a name-scoped
rule is noise unless --set/--param point the configuration at it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from auditor.cli import main  # noqa: E402

DEFAULT_EACH = ("examples/*", "recipes/*/*", "cli/tests/pcluster/example_configs", "test/fixtures/templates/good/*")


def targets(repo: Path, patterns: list[str]) -> list[Path]:
    found = [repo]
    for pattern in patterns:
        found.extend(sorted(p for p in repo.glob(pattern) if p.is_dir()))
    return found


def run(target: Path, extra: list[str], out: Path) -> tuple[int | str, str, list[dict], float]:
    os.environ["CCME_AUDIT_DEBUG"] = "1"
    err = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code: int | str = main(["iac", str(target), "--format", "json", "--output", str(out), *extra])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception:  # a crash is what this counts
        code = "traceback"
        err.write(traceback.format_exc())
    seconds = time.perf_counter() - start
    findings = json.loads(out.read_text(encoding="utf-8"))["findings"] if out.exists() and code in (0, 1) else []
    out.unlink(missing_ok=True)
    return code, err.getvalue(), findings, seconds


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--each", action="append", default=None)
    parser.add_argument("--set", dest="sets", action="append", default=[])
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    extra = [x for s in args.sets for x in ("--set", s)] + [x for p in args.param for x in ("--param", p)]
    patterns = args.each or list(DEFAULT_EACH)
    totals: Counter[str] = Counter()
    noise: Counter[tuple[str, str, str]] = Counter()
    statuses: Counter[tuple[str, str]] = Counter()
    times: list[float] = []
    refused: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        for repo in args.repos:
            for target in targets(repo, patterns):
                code, err, findings, seconds = run(target, extra, out)
                times.append(seconds)
                totals["runs"] += 1
                if code == "traceback" or "Traceback" in err:
                    totals["tracebacks"] += 1
                    refused.append(f"TRACEBACK {target}: {err.strip().splitlines()[-1][:200]}")
                elif code not in (0, 1) and "holds no template" in err:
                    totals["no template"] += 1  # a directory of scripts or docs: nothing to read, rightly exit 2
                elif code not in (0, 1):
                    totals["refused"] += 1
                    refused.append(f"exit {code} {target}: {err.strip().splitlines()[-1][:200] if err else ''}")
                for f in findings:
                    statuses[(f["rule_id"], f["status"])] += 1
                    if f["status"] in ("FAIL", "ERROR"):
                        totals[f["status"]] += 1
                        noise[(f["status"], f["rule_id"], f["message"][:90])] += 1
    print(f"runs {totals['runs']} ({totals['no template']} on a directory without templates), tracebacks "
          f"{totals['tracebacks']}, refused (exit 2) {totals['refused']}, "
          f"FAIL {totals['FAIL']}, ERROR {totals['ERROR']}, median {statistics.median(times):.2f} s/run, "
          f"max {max(times):.2f} s")
    for line in refused:
        print(" ", line)
    for (status, rule, message), n in noise.most_common(40):
        print(f"  {n:4} {status:5} {rule}: {message}")
    if args.json:
        args.json.write_text(json.dumps({"totals": totals, "median_seconds": statistics.median(times),
                                         "refused": refused,
                                         "findings": [{"status": s, "rule": r, "message": m, "count": n}
                                                      for (s, r, m), n in noise.most_common()]}, indent=1),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
