"""Hostile input: every door that reads a file, against every pathology.

Doors: rule files (`rules validate`), the configuration (`iam-policy --config`), snapshots
(`evaluate`), CloudFormation, Terraform and ParallelCluster files (`iac`), resource policies
(`policy check`) and dependencies.yaml (`packages check -d`). Pathologies: deep flow nesting, block
sequences nested 50,000 deep on one line, a 30 MB file, non-UTF-8 bytes, a YAML alias bomb, an
alias inside its own anchor, binary bytes, NUL bytes, a directory where a file is expected, a symlink loop.

Every case ends in a clear one-line error (exit 2, `ccme-audit: error: ...`), the IaC gate's malformed
templates included (no report written); never a traceback or an internal error.
Run as a subprocess, each case's peak RSS (the child's own VmHWM, written at exit: ru_maxrss from
wait4 inherits the parent's high-water mark across fork and exec on Linux, so a pytest process at
870 MiB made every child look that big) stays under RSS_LIMIT and its wall time under
TIME_LIMIT. Default run: every case in-process (exit code, stderr) except the 30 MB ones, plus four
memory-heavy cases as subprocesses (DEFAULT_SUBPROCESS); --runslow: the whole matrix as subprocesses.
Hypothesis adds random bytes to every door in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability import record

ROOT = Path(__file__).resolve().parents[2]
RSS_LIMIT_MB = 500
TIME_LIMIT_S = 60
HUGE = 30 * 1024 * 1024
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
)


def _deep(prefix: str) -> bytes:
    return (prefix + "[" * 50_000 + "]" * 50_000 + "\n").encode()


def _deep_block(prefix: str) -> bytes:
    """Block sequences nested on one line: no bracket to count, 100 KB of text, 50,000 levels."""
    return (prefix + "\n  " + "- " * 50_000 + "x\n").encode()


# pathology -> content under a door-specific prefix (bytes), or a marker for the file-system cases.
PATHOLOGIES: dict[str, Callable[[str], bytes | str]] = {
    "deep": _deep,
    "deep-block": _deep_block,
    "huge": lambda prefix: (prefix + "[" + ", ".join(["1"] * (HUGE // 3)) + "]\n").encode(),
    "non-utf8": lambda prefix: prefix.encode() + b"\xff\xfe\x80\x81 caf\xe9\n",
    # An anchor holding an alias to itself: the safe loader builds a value that contains itself.
    "recursive-alias": lambda prefix: (prefix + "&a {b: [1, {c: *a}]}\n").encode(),
    "alias-bomb": lambda prefix: (prefix.replace(" ", "") + "\n" if prefix else "").encode() + ALIAS_BOMB.encode(),
    "binary": lambda prefix: bytes(range(256)) * 64,
    "nul": lambda prefix: prefix.encode() + b"value\x00with\x00nul\n",
    "directory": lambda prefix: "DIRECTORY",
    "symlink-loop": lambda prefix: "LOOP",
}
# The subprocess cases of the default run (the others run with --runslow).
DEFAULT_SUBPROCESS = {("cloudformation", "alias-bomb"), ("cloudformation", "deep"), ("snapshot", "huge"),
                      ("config", "alias-bomb"), ("cloudformation", "deep-block"), ("config", "deep-block"),
                      ("config", "recursive-alias")}


@dataclass(frozen=True)
class Door:
    name: str
    filename: str
    prefix: str  # what the hostile value hangs under, so it reaches the loader for that format
    argv: Callable[[Path, Path], list[str]]  # (hostile path, tmp) -> ccme-audit arguments
    iac: bool = False


def _rules(path: Path, tmp: Path) -> list[str]:
    return ["rules", "validate", str(path.parent.parent)]


DOORS = (
    Door("rule-file", "rules/ccme/x.yaml", "rules: ", _rules),
    Door("config", "ccme-audit.yaml", "regions: ", lambda p, t: ["iam-policy", "--config", str(p)]),
    Door("snapshot", "snapshot.json", "", lambda p, t: ["evaluate", str(p), "--pack", "ccme"]),
    Door("cloudformation", "stack.yaml", "Resources: ",
         lambda p, t: ["iac", str(p), "-f", "json", "-o", str(t / "out.json")], iac=True),
    Door("terraform", "tf/main.tf", "", lambda p, t: ["iac", str(p.parent), "-f", "json", "-o", str(t / "out.json")],
         iac=True),
    Door("parallelcluster", "cluster-config.yaml", "Region: eu-west-1\nImage: {Os: alinux2}\nHeadNode: ",
         lambda p, t: ["iac", str(p), "--pack", "parallelcluster", "-f", "json", "-o", str(t / "out.json")], iac=True),
    Door("policy", "policy.json", "", lambda p, t: [
        "policy", "check", str(p), "-r", "s3-deny-insecure-transport", "--bucket", "b", "--account",
        "123456789012", "--region", "eu-west-1"]),
    Door("dependencies", "dependencies.yaml", "mariadb: ", lambda p, t: ["packages", "check", str(t), "-d", str(p)]),
)


def make(door: Door, pathology: str, tmp: Path) -> list[str]:
    path = tmp / door.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    content = PATHOLOGIES[pathology](door.prefix)
    if content == "DIRECTORY":
        path.mkdir()
    elif content == "LOOP":
        path.symlink_to(path.name)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    return door.argv(path, tmp)


def judge(door: Door, code: int, stderr: str, tmp: Path) -> None:
    """Every door, the IaC gate included: one line naming the file, exit 2, and no report written."""
    assert "Traceback" not in stderr, stderr[-2000:]
    assert code != 3, f"internal error: {stderr.strip()}"
    assert code == 2, f"exit {code}: {stderr[-1000:]}"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccme-audit") and " error: " in lines[0], stderr[-2000:]
    assert len(lines[0]) < 2000, "the error line quotes too much input"
    if door.iac:
        assert not (tmp / "out.json").exists(), "a malformed template must not leave a half-written report"


def in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from auditor.cli import main

    code = main(argv)
    return code, capsys.readouterr().err


# Runs the CLI and, at exit (SystemExit included), writes this process's own peak RSS in kB.
_MEASURED = (
    "import atexit, runpy, sys\n"
    "def _hwm(path=sys.argv[1]):\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(path, 'w').write(line.split()[1])\n"
    "atexit.register(_hwm)\n"
    "sys.argv = ['ccme-audit', *sys.argv[2:]]\n"
    "runpy.run_module('auditor', run_name='__main__', alter_sys=True)\n"
)


def subprocess_run(argv: list[str], tmp: Path) -> tuple[int, str, float, float]:
    """Exit code, stderr, peak RSS (MiB) and wall time of `python -m auditor ARGV`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))  # this checkout
    err_path = tmp / "stderr.txt"
    hwm_path = tmp.parent / f"{tmp.name}.hwm"  # outside the case directory: judge() checks it for leftovers
    started = time.monotonic()
    with open(err_path, "wb") as err:
        proc = subprocess.run([sys.executable, "-c", _MEASURED, str(hwm_path), *argv], stdout=subprocess.DEVNULL,
                              stderr=err, cwd=tmp, env=env, check=False)
    elapsed = time.monotonic() - started
    rss_kb = float(hwm_path.read_text()) if hwm_path.exists() else 0.0
    assert hwm_path.exists() or proc.returncode < 0, "the child did not report its peak RSS"
    return proc.returncode, err_path.read_text(errors="replace"), rss_kb / 1024, elapsed


CASES = [(d, p) for d in DOORS for p in PATHOLOGIES]


def _marks(door: Door, pathology: str) -> tuple[Any, ...]:
    return ()


@pytest.mark.parametrize(("door", "pathology"), [pytest.param(d, p, id=f"{d.name}-{p}", marks=_marks(d, p))
                                                 for d, p in CASES if p != "huge"])
def test_in_process(door: Door, pathology: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = make(door, pathology, tmp_path)
    code, err = in_process(argv, capsys)
    judge(door, code, err, tmp_path)


def _subprocess_cases() -> list[Any]:
    out = []
    for door, pathology in CASES:
        fast = (door.name, pathology) in DEFAULT_SUBPROCESS
        out.append(pytest.param(door, pathology, id=f"{door.name}-{pathology}",
                                marks=_marks(door, pathology) + (() if fast else (pytest.mark.slow,))))
    return out


@pytest.mark.parametrize(("door", "pathology"), _subprocess_cases())
def test_subprocess_bounded(door: Door, pathology: str, tmp_path: Path) -> None:
    argv = make(door, pathology, tmp_path)
    code, err, rss, elapsed = subprocess_run(argv, tmp_path)
    record.record("hostile", door=door.name, pathology=pathology, exit_code=code, rss_mib=round(rss, 1),
                  seconds=round(elapsed, 2), error_line=next(iter(err.strip().splitlines()), "")[:300])
    judge(door, code, err, tmp_path)
    assert rss < RSS_LIMIT_MB, f"peak RSS {rss:.0f} MiB"
    assert elapsed < TIME_LIMIT_S, f"{elapsed:.1f} s"


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_random_bytes(door: Door, data: bytes, tmp_path_factory: pytest.TempPathFactory,
                      capsys: pytest.CaptureFixture[str]) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / door.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(door.prefix.encode() + data)
    code, err = in_process(door.argv(path, tmp), capsys)
    assert "Traceback" not in err and code != 3, err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err
