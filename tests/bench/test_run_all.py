"""bench/run_all.py's document writer on canned figures: every table has its command, the machine and the load
are shown, targets are judged from the figures, failures are visible, the write is atomic. No benchmark runs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import run_all
from bench.run_all import BENCHES, Document, Run, Section

CANNED: dict[str, list[dict[str, Any]]] = {
    "engine": [
        {
            "rules": 193,
            "unscoped_rules": 146,
            "lookup_rules": 24,
            "policy_checks": {
                "z3_load_ms": 40.0,
                "seed": {"decisions": 23, "p50_ms": 4.3, "p95_ms": 18.0, "max_ms": 60.0, "errors": 0},
            },
            "loads": [{"size": 10000, "resources": 10023, "wall_s": 0.6}],
            "runs": [
                {
                    "size": 10000,
                    "shape": "account",
                    "resources": 10023,
                    "rules": 193,
                    "findings": 127,
                    "wall_s": 0.5,
                    "resources_per_s": 20046.0,
                    "peak_traced_mib": None,
                    "process_peak_rss_mib": 180.0,
                },
                {
                    "size": 10000,
                    "shape": "lookup-unscoped",
                    "resources": 10023,
                    "rules": 24,
                    "findings": 501,
                    "wall_s": 30.0,
                    "resources_per_s": 334.0,
                    "peak_traced_mib": None,
                    "process_peak_rss_mib": 190.0,
                },
            ],
        },
        {
            "rules": 193,
            "unscoped_rules": 146,
            "lookup_rules": 24,
            "policy_checks": {},
            "loads": [],
            "runs": [
                {
                    "size": 100000,
                    "shape": "account",
                    "resources": 100023,
                    "rules": 193,
                    "findings": 127,
                    "wall_s": 5.1,
                    "resources_per_s": 19612.0,
                    "peak_traced_mib": None,
                    "process_peak_rss_mib": 400.0,
                },
                {
                    "size": 100000,
                    "shape": "lookup-unscoped",
                    "resources": 100023,
                    "rules": 24,
                    "findings": 5001,
                    "wall_s": 3000.0,
                    "resources_per_s": 33.0,
                    "peak_traced_mib": None,
                    "process_peak_rss_mib": 410.0,
                },
            ],
        },
    ],
    "scan": [
        {
            "latency_ms": 30.0,
            "rules": 60,
            "region": "eu-west-1",
            "peak_rss_mib": 150.0,
            "sizes": [
                {
                    "label": "ccme only",
                    "scan_s": 3.0,
                    "total_s": 3.2,
                    "peak_mb": 20.0,
                    "requests": 120,
                    "resources": 60,
                    "errors": 0,
                    "findings": 70,
                    "calls": {"s3:ListBuckets": 1, "s3:GetBucketPolicy": 3},
                    "summary": {"PASS": 60, "FAIL": 10},
                },
                {
                    "label": "+300 buckets, +100 keys",
                    "scan_s": 3.5,
                    "total_s": 3.7,
                    "peak_mb": 25.0,
                    "requests": 122,
                    "resources": 460,
                    "errors": 0,
                    "findings": 70,
                    "calls": {"s3:ListBuckets": 1, "s3:GetBucketPolicy": 3, "kms:ListAliases": 2},
                    "summary": {"PASS": 60, "FAIL": 10},
                },
            ],
        }
    ],
    "retry": [
        {
            "target_s": 10.0,
            "cases": [
                {
                    "label": "demo environment, kms:GetKeyPolicy failing forever",
                    "wall_s": 2.1,
                    "cpu_s": 1.2,
                    "waited_s": 0.9,
                    "operations": [
                        {"operation": "kms:GetKeyPolicy", "region": "eu-west-1", "retries": 2, "seconds": 0.9,
                         "gave_up": 1},
                        {"operation": "s3:ListBuckets", "region": "eu-west-1", "retries": 0, "seconds": 0.0,
                         "gave_up": 0},
                    ],
                    "requests": 95,
                    "calls": 93,
                    "error_rules": ["CCME-KMS-POLICY-EBS"],
                    "summary": {"PASS": 80, "ERROR": 11},
                }
            ],
        }
    ],
    "iac": [
        {
            "templates": 200,
            "tf_dirs": 50,
            "units": 250,
            "ccme_audit_s": 4.0,
            "ccme_audit_exit": 1,
            "checkov": {
                "version": "3.2.0",
                "equivalent_checks": ["CKV_AWS_21"],
                "limited_s": 50.0,
                "limited_exit": 1,
                "full_s": 80.0,
                "full_exit": 1,
            },
        }
    ],
    "report": [
        {
            "findings": 10000,
            "failing": 3792,
            "size_bytes": 7313779,
            "size_limit_bytes": 10485760,
            "build_s": 0.84,
            "render_limit_s": 2.0,
            "runs": 3,
            "chromium": "ok",
            "dump_dom_s": 4.0,
            "startup_s": 0.9,
            "loaded_best_s": 2.0,
            "render_s": 1.1,
            "ok": True,
        }
    ],
    "lambda": [
        {
            "import": {
                "runs": 7,
                "cold_import_ms": 229.0,
                "interpreter_start_ms": 56.0,
                "importtime_ms": 138.0,
                "modules": "221 []",
                "import_peak_rss_mib": 60.5,
            },
            "package": {
                "built": False,
                "zip": "deploy/dist/ccme-audit-lambda.zip",
                "zipped_mb": 1.92,
                "unzipped_mb": 6.62,
                "files": 451,
            },
            "handler": {
                "latency_ms": 30.0,
                "first_s": 2.1,
                "second_s": 1.9,
                "requests_per_run": 150,
                "metrics": 4,
                "peak_rss_mib": 210.0,
            },
        }
    ],
    "prowler": [
        {
            "prowler_ran": True,
            "prowler_version": "Prowler 5.0.0",
            "notes": ["a note"],
            "tools": [
                {
                    "tool": "Prowler 5.0.0",
                    "command": "prowler aws --checks s3_x",
                    "wall_s": 40.0,
                    "exit": 3,
                    "requests": {"s3": 80, "kms": 20},
                    "requests_total": 110,
                    "refused": {},
                },
                {
                    "tool": "ccme-audit",
                    "command": "ccme-audit scan",
                    "wall_s": 4.0,
                    "exit": 1,
                    "requests": {"s3": 30, "kms": 30},
                    "requests_total": 61,
                    "refused": {},
                },
            ],
            "tricky": [
                {
                    "bucket": "ucit-tricky-put-only",
                    "case": "deny on PutObject only",
                    "truth": "FAIL",
                    "prowler": "PASS",
                    "ccme_audit": "FAIL",
                    "truth_tls": "PASS",
                    "prowler_tls": "no such check",
                    "ccme_audit_tls": "PASS",
                }
            ],
            "ccme_buckets": [
                {
                    "bucket": "ucit-ccme-logging",
                    "check": "s3_bucket_object_versioning",
                    "prowler": "PASS",
                    "rule": "CCME-S3-VERSIONING-LOGGING",
                    "ccme_audit": "PASS",
                }
            ],
        }
    ],
}
MACHINE = {"cpu": "Test CPU 9000", "cores": 2, "ram_gib": 23.4, "python": "3.11.7", "os": "Linux-test"}


def canned_run(bench: str, command: list[str], figures: dict[str, Any] | None, problem: str | None = None) -> Run:
    return Run(
        run_all.shown(command),
        0 if figures else None,
        12.5,
        [0.5, 0.4, 0.3],
        [1.9, 0.8, 0.4],
        figures,
        "last line of output",
        problem,
    )


def canned_document(load: float = 0.5) -> Document:
    sections = []
    for bench in BENCHES:
        commands = bench.commands(False)
        figures = CANNED[bench.key]
        runs = [canned_run(bench.key, commands[i % len(commands)], fig) for i, fig in enumerate(figures)]
        tables, verdicts = bench.tables(runs)
        sections.append(Section(bench.key, bench.title, bench.meaning, bench.target, runs, tables, verdicts))
    return Document(
        MACHINE,
        "2026-11-22 08:00:00 UTC",
        "2026-11-22 08:20:00 UTC",
        {"commit": "0123456789abcdef", "dirty": False},
        False,
        [load, 0.3, 0.2],
        [0.6, 0.5, 0.4],
        sections,
        "python bench/run_all.py",
    )


def tables_of(text: str) -> list[tuple[str, list[str]]]:
    """(the line 2 above the table's first row, the table's lines) for every table after a '####' heading."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("#### "):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("|"):
                j += 1
            k = j
            while k < len(lines) and lines[k].startswith("|"):
                k += 1
            out.append((lines[j - 2], lines[j:k]))
    return out


def test_every_table_has_its_command(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    run_all.write_document(out, canned_document())
    text = out.read_text(encoding="utf-8")
    tables = tables_of(text)
    assert len(tables) >= 10
    for above, rows in tables:
        assert re.fullmatch(r"Command: `python bench/[a-z_]+\.py[^`]*`", above), above
        assert len(rows) >= 3, rows  # header, separator, at least one figure
    # every benchmark has a section, and every command that ran is listed with its exit code and load
    for bench in BENCHES:
        assert f"## {bench.title}" in text
    assert "| `python bench/engine.py --sizes 1000,3000 --untraced` | 0 | 12.5 | 0.50, 0.40, 0.30 |" in text
    assert "Command: `python bench/engine.py --sizes 1000,3000 --untraced`" in text


def test_machine_date_commit_and_load_are_shown(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    run_all.write_document(out, canned_document())
    text = out.read_text(encoding="utf-8")
    for expected in (
        "| CPU | Test CPU 9000 |",
        "| cores | 2 |",
        "| RAM | 23.4 GiB |",
        "| Python | 3.11.7 |",
        "| OS | Linux-test |",
        "| started | 2026-11-22 08:00:00 UTC |",
        "| git commit | 0123456789abcdef |",
        "| load average (1, 5, 15 min) before | 0.50, 0.30, 0.20 |",
    ):
        assert expected in text
    # a run's 1-minute load reached 1.9 on 2 cores: the document says the machine was loaded
    assert "**The machine was loaded**" in text and "1.90 on 2 cores" in text


def test_an_idle_machine_is_not_called_loaded(tmp_path: Path) -> None:
    doc = canned_document()
    for section in doc.sections:
        for run in section.runs:
            run.load_before, run.load_after = [0.2, 0.2, 0.2], [0.3, 0.2, 0.2]
    assert "The machine was loaded" not in run_all.render_document(doc)


def test_targets_are_judged_from_the_figures() -> None:
    text = run_all.render_document(canned_document())
    assert "IaC gate: 0.080 of checkov's time on its equivalent checks (target <= 0.100): met" in text
    assert "HTML report: 6.97 MiB, renders in 1.10 s: met" in text
    assert (
        "scan: detail calls flat from ccme only to +300 buckets, +100 keys; only paginated list calls grow "
        "(kms:ListAliases)" in text
    )
    assert "engine shape `lookup-unscoped` grows quadratic-like from 10,023 -> 100,023" in text
    assert (
        "Prowler: 0 of 1 buckets judged as AWS would on HTTP requests: wrong on ucit-tricky-put-only (false PASS)"
        in text
    )
    assert "ccme-audit: 1 of 1 buckets judged as AWS would on HTTP requests, 1 of 1 on TLS below 1.2\n" in text
    # a slower gate is reported as missing its target
    fig = json.loads(json.dumps(CANNED["iac"][0]))
    fig["ccme_audit_s"] = 6.0
    _, verdicts = run_all.iac_tables([canned_run("iac", ["bench/iac.py"], fig)])
    assert verdicts == ["IaC gate: 0.120 of checkov's time on its equivalent checks (target <= 0.100): NOT met"]
    # detail calls that grow are named
    fig = json.loads(json.dumps(CANNED["scan"][0]))
    fig["sizes"][1]["calls"]["s3:GetBucketPolicy"] = 303
    _, verdicts = run_all.scan_tables([canned_run("scan", ["bench/scan.py"], fig)])
    assert verdicts == ["scan: detail calls NOT flat as the account grows: s3:GetBucketPolicy"]
    fig["sizes"][1]["calls"] = dict(fig["sizes"][0]["calls"])
    _, verdicts = run_all.scan_tables([canned_run("scan", ["bench/scan.py"], fig)])
    assert verdicts == [
        "scan: detail calls flat from ccme only to +300 buckets, +100 keys; no operation's call count grows "
        "(4 -> 4 calls)"
    ]


def test_growth_of_short_runs_is_not_judged() -> None:
    fig = json.loads(json.dumps(CANNED["engine"][0]))
    fig["runs"] = [dict(fig["runs"][0], resources=1023, wall_s=0.02), dict(fig["runs"][0], wall_s=0.3)]
    tables, verdicts = run_all.engine_tables([canned_run("engine", ["bench/engine.py"], fig)])
    growth = next(t for t in tables if t.title.startswith("How cost grows"))
    assert growth.rows == [["account", "1,023 -> 10,023", "9.8", "15.0", "too short to tell (under 0.5 s)"]]
    assert verdicts == []


def test_a_failed_benchmark_is_visible_not_hidden(tmp_path: Path) -> None:
    doc = canned_document()
    section = next(s for s in doc.sections if s.key == "iac")
    run = canned_run("iac", ["bench/iac.py"], None, problem="timed out after 2400 s")
    section.runs, (section.tables, section.verdicts) = [run], run_all.iac_tables([run])
    text = run_all.render_document(doc)
    assert "| timed out after 2400 s |" in text
    assert "`python bench/iac.py` did not give figures (timed out after 2400 s)" in text
    prowler = next(s for s in doc.sections if s.key == "prowler")
    prowler.tables, prowler.verdicts = run_all.prowler_tables(
        [canned_run("prowler", ["bench/prowler.py"], {"prowler_ran": False, "reason": "STS unreachable", "tools": []})]
    )
    text = run_all.render_document(doc)
    assert "| STS unreachable |" in text and "Prowler: not compared (STS unreachable)" in text


def test_markup_in_figures_cannot_break_a_table() -> None:
    table = run_all.Table("t", "python bench/x.py", ["a"], [["x | y\nz"]])
    assert run_all.render_table(table)[-2] == "| x \\| y z |"


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("previous document\n", encoding="utf-8")

    def broken_replace(self: Path, target: Any) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        run_all.write_document(out, canned_document())
    assert out.read_text(encoding="utf-8") == "previous document\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["benchmarks.md"]


def test_run_one_reads_the_json_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "fake_bench.py"
    script.write_text(
        "import json, sys\nprint('human output')\n"
        "json.dump({'value': 42}, open(sys.argv[sys.argv.index('--json') + 1], 'w'))\n",
        encoding="utf-8",
    )
    run = run_all.run_one([str(script), "--flag"], timeout_s=60)
    assert run.figures == {"value": 42} and run.exit_code == 0 and run.problem is None
    assert run.command == f"python {script} --flag"
    silent = tmp_path / "silent.py"
    silent.write_text("import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n", encoding="utf-8")
    run = run_all.run_one([str(silent)], timeout_s=60)
    assert run.figures is None and run.exit_code == 3 and run.problem is not None and "boom" in run.problem
    assert sys.executable  # the runs above used this interpreter


def test_unknown_benchmark_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run_all.main(["--only", "engine,nope"])
    assert exc.value.code == 2
    assert "unknown benchmark(s) nope" in capsys.readouterr().err


def test_retry_verdict_names_the_cases_over_the_target() -> None:
    fig = json.loads(json.dumps(CANNED["retry"][0]))
    tables, verdicts = run_all.retry_tables([canned_run("retry", ["bench/retry.py"], fig)])
    assert verdicts == ["retry: every case under 10 s"]
    waits = next(t for t in tables if t.title == "Waits by operation")
    assert [row[1] for row in waits.rows] == ["kms:GetKeyPolicy"]  # an operation that never waited is left out
    fig["cases"][0]["wall_s"] = 12.0
    _, verdicts = run_all.retry_tables([canned_run("retry", ["bench/retry.py"], fig)])
    assert verdicts == ["retry: over 10 s: demo environment, kms:GetKeyPolicy failing forever"]
