"""Fault injection over every API operation the collectors declare (auditor.collect.registry).

For each operation alone: AccessDenied, persistent throttling, a read timeout and a malformed 200
(tests/reliability/faults.py), against the in-process moto demo account (seed_ccme_account, no
planted faults, both opt-in options on so the opt-in calls are made). The scan completes; only rules
fed by that operation change, and every finding that changes becomes ERROR (never a PASS or FAIL
from missing evidence); the failure is recorded as a collection error on that operation's IAM
action, not as a crashed collector; the command's exit code says so and nothing is half-written.

Default run: SAMPLE operations x 4 kinds; --runslow: every declared operation x 4 kinds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.collect.base import STS_CALLS
from auditor.report import Format
from tests.reliability.faults import KINDS, Fault
from tests.reliability.matrix import CALLS, FEEDS, SAMPLE, UNREAD, Account, account, cases, planned_calls, run_case

KEYS = planned_calls(["ccme"])


@pytest.fixture(scope="module")
def ccme() -> Iterator[Account]:
    yield from account("ccme")


def test_the_clean_run_makes_only_planned_calls(ccme: Account) -> None:
    assert ccme.made <= KEYS | {c.key for c in STS_CALLS}  # never a call the plan does not name
    assert len(ccme.made & KEYS) >= 40
    assert set(FEEDS) <= set(CALLS) and set(UNREAD) <= set(CALLS) and set(SAMPLE) <= KEYS


@pytest.mark.parametrize(("key", "kind"), cases(KEYS, set(SAMPLE)))
def test_a_fault_on_one_operation_errors_exactly_its_rules(ccme: Account, key: str, kind: str) -> None:
    run_case(ccme, key, kind)


def _config_file(tmp: Path, overrides: list[tuple[str, Any]]) -> Path:
    import yaml

    doc: dict[str, Any] = {}
    for dotted, value in overrides:
        node = doc
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    path = tmp / "ccme-audit.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _cli_scan(ccme: Account, tmp: Path, fault: Fault | None, mp: pytest.MonkeyPatch) -> tuple[int, Path]:
    """`ccme-audit scan` in this process, on the moto account, every format into --output-dir."""
    import auditor.collect.runner as runner
    from auditor.cli import main
    from auditor.demo.run import offline_guard

    real = runner.scan

    def scan(cfg: Any, rules: Any, **kwargs: Any) -> Any:
        hooks = [*([fault] if fault else []), *ccme.hooks, offline_guard]
        return real(cfg, rules, **{**kwargs, "client_hooks": hooks, "max_attempts": 2, "retry_mode": "standard",
                                   "progress": False})

    mp.setattr(runner, "scan", scan)
    out = tmp / "report"
    code = main(["scan", "--config", str(_config_file(tmp, ccme.overrides)), "--read-secret-values",
                 "--format", ",".join(f.value for f in Format), "--output-dir", str(out),
                 "--snapshot-out", str(out / "snapshot.json")])
    return code, out


@pytest.mark.parametrize("kind", ["clean", "deny", "malformed"])
def test_the_scan_command_exit_code_and_output_dir(ccme: Account, tmp_path: Path, kind: str) -> None:
    from auditor.report import EXTENSIONS

    fault = None if kind == "clean" else Fault("kms", "GetKeyPolicy", kind)
    with pytest.MonkeyPatch.context() as mp:
        code, out = _cli_scan(ccme, tmp_path, fault, mp)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted({"snapshot.json", *EXTENSIONS.values()}), names  # nothing temporary left behind
    report = json.loads((out / EXTENSIONS[Format.JSON]).read_text(encoding="utf-8"))
    statuses = {f["status"] for f in report["findings"]}
    if fault is None:
        assert code == 0 and "ERROR" not in statuses
    else:
        assert code == 1 and "ERROR" in statuses and fault.sent > 0


def test_a_formatter_crash_leaves_no_partial_file(ccme: Account, tmp_path: Path) -> None:
    """A failure while rendering one report: the files already written are whole, the failing one
    does not exist, and no temporary file is left."""
    import auditor.report as report

    real = report.render

    def render(evaluation: Any, fmt: Any, **kwargs: Any) -> str:
        if fmt == Format.HTML:
            raise RuntimeError("injected formatter crash")
        return str(real(evaluation, fmt, **kwargs))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "render", render)
        code, out = _cli_scan(ccme, tmp_path, None, mp)
    assert code == 3  # an internal error, reported on one line
    names = {p.name for p in out.iterdir()}
    assert not any(n.startswith(".") or n.endswith(".tmp") for n in names), names
    assert report.EXTENSIONS[Format.HTML] not in names
    json.loads((out / "snapshot.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_fault_on_the_identity_call_is_one_line_exit_2(
    ccme: Account, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """sts:GetCallerIdentity (the account id) comes first: without it nothing can be attributed."""
    fault = Fault("sts", "GetCallerIdentity", kind)
    with pytest.MonkeyPatch.context() as mp:
        code, out = _cli_scan(ccme, tmp_path, fault, mp)
    err = capsys.readouterr().err
    assert code == 2 and fault.sent > 0
    assert err.count("\n") == 1 and err.startswith("ccme-audit: error:") and "sts:GetCallerIdentity" in err, err
    assert not out.exists()
