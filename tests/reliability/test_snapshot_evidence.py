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
