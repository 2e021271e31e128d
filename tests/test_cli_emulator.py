"""Trying it without an AWS account (README, 'Without an AWS account'): `demo --seed-into URL` seeds the demo
environment into a moto_server, `scan --endpoint-url URL` scans it; through the real command line (subprocesses,
fake credentials, loopback only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


@pytest.fixture()
def emulator() -> Iterator[str]:
    with moto_server() as url:
        yield url


def cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "auditor", *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_seed_an_emulator_then_scan_it_with_endpoint_url(emulator: str, tmp_path: Path) -> None:
    seeded = cli("demo", "--seed-into", emulator, "--output-dir", "emulated", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    config = Path("emulated") / "ccme-audit.yaml"
    assert seeded.stderr.splitlines()[-1] == f"scan it: ccme-audit scan --endpoint-url {emulator} --config {config}"
    scan = cli("scan", "--endpoint-url", emulator, "--config", str(config), "-f", "json", "-o", "report.json",
               cwd=tmp_path)
    assert scan.returncode == 1, scan.stderr  # the planted faults fail
    import json

    report = json.loads((tmp_path / "report.json").read_text())
    fails = {f["rule_id"] for f in report["findings"] if f["status"] == "FAIL"}
    assert {"CCME-KMS-REGIONALITY-SNS", "CCME-S3-ACCESS-LOGGING-INTERNALS", "CCME-S3-POLICY-SECURETRANSPORT-USERDATA",
            "CCME-VPC-DHCP"} <= fails
    assert report["account"] == "123456789012"
    # moto lacks some calls (Cost and Usage Reports, Pricing, ...): those rules are ERROR, never PASS.
    assert all(f["status"] != "PASS" for f in report["findings"] if f["rule_id"] == "CCME-SERVICE-PRICING")
    again = cli("demo", "--seed-into", emulator, "--output-dir", "again", cwd=tmp_path)
    assert again.returncode == 2 and "seed a fresh emulator" in again.stderr and "Traceback" not in again.stderr


def test_endpoint_url_must_be_a_url(tmp_path: Path) -> None:
    done = cli("scan", "--endpoint-url", "127.0.0.1:5000", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("ccme-audit: error: --endpoint-url: '127.0.0.1:5000' is not an http(s) URL "
                           "(fix: write e.g. http://127.0.0.1:5000)\n")
