"""Headless Chromium helpers for the HTML report tests and bench/report.py (no selenium, no downloads)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run(url: str, *extra: str, timeout: float = 60) -> tuple[str, float]:
    """Run headless Chromium on url with extra flags; return (stdout, wall seconds)."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="ccme-chromium-") as profile:
        start = time.perf_counter()
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout, elapsed


def dump_dom(path: Path, fragment: str = "") -> str:
    out, _ = run(
        path.resolve().as_uri() + (f"#{fragment}" if fragment else ""),
        "--dump-dom",
        "--virtual-time-budget=5000",
    )
    return out


def screenshot(path: Path, target: Path, size: str = "1400,1000") -> float:
    _, elapsed = run(
        path.resolve().as_uri(),
        f"--screenshot={target}",
        f"--window-size={size}",
        "--virtual-time-budget=5000",
    )
    return elapsed
