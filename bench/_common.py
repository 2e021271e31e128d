"""Shared helpers of the bench/ scripts: machine description, own peak memory, machine-readable output.

Every benchmark keeps printing its figures for a reader and, with `--json FILE`, also writes them as
JSON (atomically) for `bench/run_all.py`, which turns them into docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auditor.fileio import write_text_atomic  # noqa: E402


def _proc_field(path: str, field: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def vm_hwm_mib() -> float | None:
    """This process's own peak resident memory (VmHWM), in MiB; None where /proc is missing.

    Read inside the measured process: a parent's ru_maxrss for a child inherits the parent's high-water
    mark across fork+exec on Linux, so it cannot tell a small child from a big parent.
    """
    value = _proc_field("/proc/self/status", "VmHWM")
    if value is None or not value.endswith("kB"):
        return None
    return int(value.split()[0]) / 1024


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def git_commit(root: Path = ROOT) -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD") or "unknown", "dirty": bool(git("status", "--porcelain", "--", "."))}


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, Python, OS: what a reader needs to compare figures across machines."""
    mem = _proc_field("/proc/meminfo", "MemTotal")
    ram_gib = int(mem.split()[0]) / 2**20 if mem and mem.endswith("kB") else None
    return {
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib, 1) if ram_gib is not None else None,
        "python": sys.version.split()[0],
        "os": platform.platform(),
    }


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    """Write a benchmark's figures as JSON, atomically (nothing when no --json was given)."""
    if path is None:
        return
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto_server(log_path: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """moto_server on 127.0.0.1 (a free port), with no AWS_* variable of ours; returns (process, endpoint)."""
    import time
    import urllib.request

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    log = open(log_path, "wb") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).read()
            return proc, endpoint
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.2)
