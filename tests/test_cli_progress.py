"""Progress of a scan (issue 25, output conventions), through the real command line on a moto_server: on a
terminal the scan shows its progress per service and region on stderr, and stdout carries the results only;
with --quiet, or when stderr is not a terminal, there is no progress at all."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.motoserver import moto_server

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(shutil.which("moto_server") is None,
                       reason="moto_server is not installed (pip install '.[dev]')"),
]
# Only the KMS and S3 rules: a short scan, still several services in two regions.
ARGS = ("-f", "json", "--region", "eu-west-1", "--region", "us-east-1", "--check", "CCME-KMS-*,CCME-S3-*")


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with moto_server() as url:
        yield url


def scan_on_a_terminal(url: str, *extra: str, cwd: Path) -> tuple[int, str, str]:
    """(exit code, stdout, what the terminal on stderr showed): stdout is a pipe, stderr a pseudo-terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CCME_AUDIT_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", PYTHONPATH=str(ROOT), TERM="xterm",
               COLUMNS="160")
    env.pop("NO_COLOR", None)
    env.pop("CI", None)  # rich treats some CI variables as "not interactive"
    controller, terminal = pty.openpty()
    shown: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        done = subprocess.run([sys.executable, "-m", "auditor", "scan", "--endpoint-url", url, *ARGS, *extra],
                              env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL,
                              timeout=300)
    finally:
        os.close(terminal)
        reader.join(timeout=10)
        os.close(controller)
    return done.returncode, done.stdout.decode(), b"".join(shown).decode(errors="replace")


def test_a_scan_on_a_terminal_shows_progress_on_stderr_and_only_results_on_stdout(
        emulator: str, tmp_path: Path) -> None:
    code, out, err = scan_on_a_terminal(emulator, cwd=tmp_path)
    assert code in (0, 1), err
    report = json.loads(out)  # stdout is the report and nothing else
    assert report["findings"]
    assert "collecting" in err  # the progress bar, per service and region
    assert "kms eu-west-1" in err or "kms us-east-1" in err or "s3 " in err
    assert "collecting" not in out


def test_quiet_shows_no_progress(emulator: str, tmp_path: Path) -> None:
    code, out, err = scan_on_a_terminal(emulator, "--quiet", cwd=tmp_path)
    assert code in (0, 1), err
    assert json.loads(out)["findings"]
    assert "collecting" not in err


def test_no_progress_when_stderr_is_not_a_terminal(emulator: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CCME_AUDIT_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "auditor", "scan", "--endpoint-url", emulator, *ARGS],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)["findings"]
    assert "collecting" not in done.stderr and "\x1b[" not in done.stderr
