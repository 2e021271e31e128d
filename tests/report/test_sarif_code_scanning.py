"""SARIF as GitHub code scanning takes it: relative artifact URIs under %SRCROOT%, stable partialFingerprints,
a help per
rule naming its anchor of docs/rules.md (helpUri only with CCME_AUDIT_DOCS_URL), security-severity, levels,
lines >= 1 only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from auditor.report import ruledoc, sarif
from tests.report.conftest import make_finding

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
EXAMPLE = ROOT / "examples" / "cloudformation" / "ccme-prerequisites-broken.yaml"
LEVELS = {"error", "warning", "note", "none"}


def _iac_sarif(tmp_path: Path, name: str, cwd: Path, template: Path | str = EXAMPLE) -> dict:
    out = tmp_path / name
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "iac", str(template), "--format", "sarif", "--output", str(out)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # the broken example fails the gate
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def iac_doc(tmp_path_factory) -> dict:
    # The template is passed by its absolute path, as a CI wrapper may: the URI must still be relative.
    return _iac_sarif(tmp_path_factory.mktemp("sarif"), "a.sarif", ROOT)


def test_iac_sarif_validates_and_has_no_absolute_path(iac_doc) -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(iac_doc))
    assert not errors, errors[0].message
    text = json.dumps(iac_doc)
    assert str(ROOT) not in text and "file://" not in text


def test_iac_results_carry_relative_uris_lines_and_fingerprints(iac_doc) -> None:
    results = iac_doc["runs"][0]["results"]
    assert results
    with_file = [r for r in results if "physicalLocation" in r["locations"][0]]
    assert with_file, "IaC findings carry a physical location"
    for result in results:
        assert result["level"] in LEVELS
        assert re.fullmatch(r"[0-9a-f]{16}", result["partialFingerprints"]["ccmeFindingId/v1"])
    for result in with_file:
        physical = result["locations"][0]["physicalLocation"]
        artifact = physical["artifactLocation"]
        assert artifact == {"uri": "examples/cloudformation/ccme-prerequisites-broken.yaml", "uriBaseId": "%SRCROOT%"}
        assert (ROOT / artifact["uri"]).is_file()
        if "region" in physical:
            assert physical["region"]["startLine"] >= 1


def test_fingerprints_do_not_depend_on_how_the_template_path_was_passed(iac_doc, tmp_path) -> None:
    again = _iac_sarif(tmp_path, "b.sarif", ROOT, EXAMPLE.relative_to(ROOT))

    def prints(doc: dict) -> list[tuple[str, str]]:
        return sorted((r["ruleId"], r["partialFingerprints"]["ccmeFindingId/v1"]) for r in doc["runs"][0]["results"])

    assert prints(again) == prints(iac_doc)


def test_every_rule_has_a_doc_anchor_and_a_security_severity(iac_doc) -> None:
    doc = ruledoc.DOC.read_text(encoding="utf-8")
    rules = iac_doc["runs"][0]["tool"]["driver"]["rules"]
    assert rules
    for rule in rules:
        assert "helpUri" not in rule  # no documentation URL configured: the help names docs/rules.md
        anchor = rule["help"]["text"].rsplit("Documentation: docs/rules.md#", 1)[1]
        assert anchor == rule["id"] and f'<a id="{anchor}"></a>' in doc
        score = float(rule["properties"]["security-severity"])
        assert 0.0 < score <= 10.0
        assert rule["defaultConfiguration"]["level"] in LEVELS
        assert rule["help"]["text"] and rule["shortDescription"]["text"]
    by_severity = {r["properties"]["severity"]: float(r["properties"]["security-severity"]) for r in rules}
    assert by_severity.get("high", 8.0) > by_severity.get("medium", 5.5) > by_severity.get("low", 3.0)


def test_a_file_outside_the_source_root_keeps_only_its_logical_location(evaluation_of, tmp_path) -> None:
    outside = make_finding(location={"file": "/elsewhere/stack.yaml", "line": 3},
                           resource_id="/elsewhere/stack.yaml#Bucket", message="in /elsewhere/stack.yaml")
    inside = make_finding(resource_id="b", location={"file": str(tmp_path / "dir with space" / "s#1.yaml"), "line": 0})
    doc = sarif.document(evaluation_of(outside, inside), source_root=tmp_path)
    results = {r["properties"]["resource_id"]: r["locations"][0] for r in doc["runs"][0]["results"]}
    assert "physicalLocation" not in results["stack.yaml#Bucket"]
    assert results["stack.yaml#Bucket"]["logicalLocations"][0]["name"] == "stack.yaml#Bucket"
    assert "/elsewhere" not in json.dumps(doc)
    physical = results["b"]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "dir%20with%20space/s%231.yaml", "uriBaseId": "%SRCROOT%"}}


def test_relative_paths_are_taken_from_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sarif.relative_uri("infra/a.yaml", tmp_path) == "infra/a.yaml"
    assert sarif.relative_uri("../a.yaml", tmp_path) is None
    assert sarif.relative_uri(str(tmp_path), tmp_path) is None


def test_docs_rules_md_is_up_to_date() -> None:
    assert ruledoc.main(["--check"]) == 0, "docs/rules.md is stale: python -m auditor.report.ruledoc --write"


def test_error_messages_and_evidence_carry_the_relative_path_too(evaluation_of, tmp_path) -> None:
    from auditor.engine.findings import Status
    from tests.report.conftest import with_status

    file = str(tmp_path / "infra" / "stack.yaml")
    error = with_status(make_finding(resource_id=f"{file}#Key", location={"file": file, "line": 7},
                                     evidence=({"check": f"exists in {file}", "observed": None},)),
                        Status.ERROR, message=f"unresolved Fn::ImportValue in {file}")
    doc = sarif.document(evaluation_of(error), source_root=tmp_path)
    [result] = doc["runs"][0]["results"]
    assert result["message"]["text"] == "Evidence missing: unresolved Fn::ImportValue in infra/stack.yaml"
    assert result["properties"]["resource_id"] == "infra/stack.yaml#Key"
    assert str(tmp_path) not in json.dumps(doc)
