"""The provisioner account without faults passes every bbp rule; `ccme-audit demo --pack bbp` reports exactly
the planted faults (a subprocess: fake credentials, in-process moto, no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from auditor.app.pipeline import evaluate
from auditor.demo.bbp import FAULTS, IMPLIED, seed_bbp_account, stub_associations
from auditor.engine.findings import Status
from auditor.engine.rules import load_rules
from tests.collect.helpers import REGION, config, moto_account, run_scan


def test_without_faults_everything_passes() -> None:
    with moto_account() as session:
        acct = seed_bbp_account(session, REGION, faults=False)
        cfg = config(dict(acct.config_overrides()))
        rules = load_rules(None, ["bbp"])
        result = run_scan(session, cfg, rules, client_hooks=[stub_associations(acct.associations)])
        findings = evaluate(result.snapshot, rules, cfg).findings
    assert {f.rule_id for f in findings} == {r.id for r in rules if r.live}
    assert all(f.status is Status.PASS for f in findings), [
        (f.rule_id, f.message) for f in findings if f.status is not Status.PASS]


def test_demo_pack_bbp(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # the demo must ignore it
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--pack", "bbp", "--output-dir", str(out), "--format", "json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    bad = {(f["rule_id"], f["status"]) for f in report["findings"] if f["status"] != "PASS"}
    assert bad == {(rule, "FAIL") for rule in (*FAULTS, *IMPLIED)}
    for text in FAULTS.values():
        assert text in proc.stdout
