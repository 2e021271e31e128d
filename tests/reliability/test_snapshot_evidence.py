"""A snapshot is evidence, checked as such (issue 22): one resource recorded under two identities that
differ only by a missing field is refused, not evaluated twice (a FAIL and a PASS under one id)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.snapshot import snapshot_from_json

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "ccme-broken.json"


def _doc() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _bucket_index(doc: dict) -> int:
    return next(i for i, r in enumerate(doc["resources"]) if r["type"] == "s3.bucket" and r.get("account"))


@pytest.mark.parametrize("dropped", ["account", "region"])
def test_the_same_resource_without_one_field_is_refused(dropped: str) -> None:
    doc = _doc()
    original = next(r for r in doc["resources"] if r.get("account") and r.get("region"))
    twin = copy.deepcopy(original)
    twin[dropped] = None
    doc["resources"].append(twin)
    with pytest.raises(InputError) as caught:
        snapshot_from_json(doc, file="snap.json")
    assert f"duplicate resource {original['type']}" in str(caught.value) and "two identities" in str(caught.value)


def test_the_same_id_in_two_accounts_is_two_resources() -> None:
    doc = _doc()
    twin = copy.deepcopy(doc["resources"][_bucket_index(doc)])
    twin["account"] = "999999999999"
    doc["resources"].append(twin)
    snapshot = snapshot_from_json(doc, file="snap.json")
    assert len([r for r in snapshot.resources if r.id == twin["id"]]) == 2


def test_evaluate_exits_2_on_a_resource_recorded_twice(tmp_path: Path) -> None:
    doc = _doc()
    twin = copy.deepcopy(doc["resources"][_bucket_index(doc)])
    twin.pop("account")
    doc["resources"].append(twin)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "-m", "auditor", "evaluate", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert "duplicate resource" in done.stderr and "Traceback" not in done.stderr


def _evaluate(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", "evaluate", str(path), "--format", "json", *args],
                          capture_output=True, text=True, timeout=120)


def test_evaluate_takes_the_regions_from_the_snapshot(tmp_path: Path) -> None:
    """A snapshot collected in another region than the configuration's default is judged where it was
    collected, not reported all "not found"; --region may only narrow to regions it holds."""
    doc = _doc()
    assert doc["source"]["regions"] == ["eu-west-1"]
    for resource in doc["resources"]:
        if resource.get("region") == "eu-west-1":
            resource["region"] = "eu-central-1"
    for error in doc["errors"]:
        if error.get("region") == "eu-west-1":
            error["region"] = "eu-central-1"
    doc["source"]["regions"] = ["eu-central-1"]
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(doc))
    original = tmp_path / "original.json"
    original.write_text(FIXTURE.read_text(encoding="utf-8"))

    def statuses(path: Path, region: str) -> list[tuple[str, str, str]]:
        done = _evaluate(path)
        assert done.returncode in (0, 1), done.stderr
        report = json.loads(done.stdout)
        assert {f["region"] for f in report["findings"]} == {region}
        # The KMS rules name no region (the bucket names of the default configuration do).
        return sorted((f["rule_id"], f["resource_id"].replace("eu-west-1", "R").replace(region, "R"), f["status"])
                      for f in report["findings"] if f["rule_id"].startswith("CCME-KMS"))

    assert statuses(moved, "eu-central-1") == statuses(original, "eu-west-1")
    refused = _evaluate(moved, "--region", "eu-west-1")
    assert refused.returncode == 2 and "eu-central-1" in refused.stderr and "Traceback" not in refused.stderr


def test_evaluate_does_not_report_the_collections_retries_as_its_own(tmp_path: Path) -> None:
    doc = _doc()
    doc["source"].setdefault("options", {})["retries"] = {"wait_seconds": 3.0, "operations": [
        {"operation": "kms:GetKeyPolicy", "region": "eu-west-1", "retries": 4, "throttled": 0, "seconds": 3.0,
         "gave_up": 1}]}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run([sys.executable, "-m", "auditor", "evaluate", str(path), "--format", "text"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout.splitlines()[-1].startswith("summary: ") and "retries:" not in done.stdout


def test_a_key_is_found_through_the_aliases_that_target_it(tmp_path: Path) -> None:
    """An alias whose key lists no aliases: the key's rules still judge it (they did vanish)."""
    from auditor.config import load_config
    from auditor.engine.evaluate import evaluate
    from auditor.engine.rules import load_rules

    doc = _doc()
    targeted = {r["attributes"].get("target_key_id") for r in doc["resources"] if r["type"] == "kms.alias"}
    key = next(r for r in doc["resources"] if r["type"] == "kms.key" and r["attributes"].get("aliases")
               and r["attributes"].get("key_id") in targeted)
    cfg = load_config(Path("/dev/null"), [])
    rules = load_rules(None, ["ccme"])

    def findings_on_key(document: dict) -> list[tuple[str, str]]:
        evaluation = evaluate(snapshot_from_json(document, file="snap.json"), rules, cfg)
        return sorted((f.rule_id, f.status.value) for f in evaluation.findings if f.resource_id == key["id"])

    before = findings_on_key(doc)
    assert before
    key["attributes"]["aliases"] = []
    assert findings_on_key(doc) == before


def test_a_relabelled_account_snapshot_is_refused() -> None:
    """source.kind relabelled to a template kind would drop every live-only rule without a word."""
    doc = _doc()
    doc["source"]["kind"] = "cloudformation"
    with pytest.raises(InputError) as caught:
        snapshot_from_json(doc, file="snap.json")
    assert "/source/kind" in str(caught.value) and "template location" in str(caught.value)
