"""Formatters: published schemas (SARIF 2.1.0, JUnit XSD, report.json), status mapping, escaping."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from auditor.engine.findings import Severity, Status
from auditor.errors import InputError
from auditor.report import (
    EXTENSIONS,
    Format,
    jsonfmt,
    junit,
    markdown,
    parse_formats,
    render,
    sarif,
    write_reports,
)
from auditor.report.common import evaluation_from_report
from tests.report.conftest import HOSTILE, make_finding, with_status

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
REPORT_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "report.json"


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


def all_statuses(evaluation_of):
    fail = make_finding()
    return evaluation_of(
        fail,
        with_status(make_finding(resource_id="b-pass"), Status.PASS, message="compliant"),
        with_status(
            make_finding(resource_id="b-err", severity=Severity.MEDIUM),
            Status.ERROR,
            message="evidence unavailable: AccessDenied on s3:GetBucketPolicy",
        ),
        with_status(make_finding(resource_id="b-skip"), Status.SKIPPED, message="needs the opt-in option"),
        with_status(
            make_finding(resource_id="b-waived", severity=Severity.LOW),
            Status.WAIVED,
            waiver={"reason": "migration", "expires": "2027-01-01", "status": "FAIL"},
        ),
        make_finding(
            rule_id="CCME-IAC-RULE",
            resource_id="MyBucket",
            severity=Severity.MEDIUM,
            location={"file": "templates/stack.yaml", "line": 42, "column": 3},
        ),
        make_finding(
            rule_id="CCME-HOSTILE",
            resource_id=HOSTILE,
            resource_name=HOSTILE,
            message=HOSTILE,
            severity=Severity.INFO,
        ),
    )


def test_sarif_validates_on_the_golden_snapshot(broken, sarif_validator) -> None:
    errors = sorted(sarif_validator.iter_errors(json.loads(sarif.render(broken))), key=str)
    assert not errors, errors[0].message


def test_sarif_levels_fingerprints_and_locations(evaluation_of, sarif_validator) -> None:
    doc = json.loads(sarif.render(all_statuses(evaluation_of)))
    assert not list(sarif_validator.iter_errors(doc))
    run = doc["runs"][0]
    results = {r["properties"]["resource_id"]: r for r in run["results"]}
    assert set(results) == {"bucket-a", "b-err", "b-waived", "MyBucket", HOSTILE}  # no PASS, no SKIPPED
    assert results["bucket-a"]["level"] == "error"  # FAIL high
    assert results["MyBucket"]["level"] == "warning"  # FAIL medium
    assert results[HOSTILE]["level"] == "note"  # FAIL info
    assert results["b-err"]["level"] == "error" and results["b-err"]["properties"]["evidence_missing"] is True
    assert results["b-waived"]["suppressions"][0]["justification"].startswith("migration")
    physical = results["MyBucket"]["locations"][0]["physicalLocation"]
    assert physical == {
        "artifactLocation": {"uri": "templates/stack.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 42, "startColumn": 3},
    }
    assert "physicalLocation" not in results["bucket-a"]["locations"][0]
    finding = make_finding()
    assert results["bucket-a"]["partialFingerprints"] == {"ccmeFindingId/v1": finding.id}
    rules = run["tool"]["driver"]["rules"]
    assert rules[results["bucket-a"]["ruleIndex"]]["id"] == "CCME-TEST-RULE"
    assert all("helpUri" not in r and r["help"]["text"] for r in rules)


def test_sarif_help_uri_is_the_rule_doc_anchor_and_help_cites_the_source_url(broken, monkeypatch) -> None:
    unset = {r["id"]: r for r in json.loads(sarif.render(broken))["runs"][0]["tool"]["driver"]["rules"]}
    assert "helpUri" not in unset["CCME-KMS-ROTATION-SECRETS"]  # no public site unless one is configured
    help_text = unset["CCME-KMS-ROTATION-SECRETS"]["help"]["text"]
    assert "Documentation: docs/rules.md#CCME-KMS-ROTATION-SECRETS" in help_text
    monkeypatch.setenv("CCME_AUDIT_DOCS_URL", "https://git.example.org/ccme-audit/blob/main/docs/rules.md")
    rules = {r["id"]: r for r in json.loads(sarif.render(broken))["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CCME-KMS-ROTATION-SECRETS"]["helpUri"] == (
        "https://git.example.org/ccme-audit/blob/main/docs/rules.md#CCME-KMS-ROTATION-SECRETS")
    assert (
        "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"
        in rules["CCME-KMS-ROTATION-SECRETS"]["help"]["markdown"]
    )
    assert rules["CCME-KMS-ALIAS-CMH-EBS"]["helpUri"].endswith("#CCME-KMS-ALIAS-CMH-EBS")
    assert "seed 000" in rules["CCME-KMS-ALIAS-CMH-EBS"]["help"]["text"]


def test_junit_validates_against_the_jenkins_schema(broken, junit_schema) -> None:
    junit_schema.validate(junit.render(broken))


def test_junit_maps_each_status(evaluation_of, junit_schema) -> None:
    text = junit.render(all_statuses(evaluation_of))
    junit_schema.validate(text)
    root = ET.fromstring(text)
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert [child.tag for child in cases[("CCME-TEST-RULE", "bucket-a (eu-west-1)")]] == ["failure"]
    failure = cases[("CCME-TEST-RULE", "bucket-a (eu-west-1)")].find("failure")
    assert (
        failure.get("message") == "it fails"
        and "observed null" in failure.text
        and "seed 000" in failure.text
    )
    assert [child.tag for child in cases[("CCME-TEST-RULE", "b-err (eu-west-1)")]] == ["error"]
    assert [child.tag for child in cases[("CCME-TEST-RULE", "b-skip (eu-west-1)")]] == ["skipped"]
    waived = cases[("CCME-TEST-RULE", "b-waived (eu-west-1)")].find("skipped")
    assert waived is not None and "migration" in waived.get("message")
    assert list(cases[("CCME-TEST-RULE", "b-pass (eu-west-1)")]) == []
    assert cases[("CCME-HOSTILE", f"{HOSTILE} (eu-west-1)")] is not None  # hostile text survives as text
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "7",
        "3",
        "1",
        "2",
    )


def test_junit_replaces_characters_xml_cannot_carry(evaluation_of, junit_schema) -> None:
    text = junit.render(evaluation_of(make_finding(resource_id="bad\x00\x1b[31m", message="m\x08")))
    junit_schema.validate(text)
    assert "bad\ufffd\ufffd[31m" in ET.fromstring(text).find(".//testcase").get("name")


def test_json_report_validates_and_reads_back(broken) -> None:
    doc = json.loads(jsonfmt.render(broken))
    jsonschema.validate(doc, json.loads(REPORT_SCHEMA.read_text()))
    again = evaluation_from_report(doc, file="report.json")
    assert jsonfmt.render(again) == jsonfmt.render(broken)
    for fmt in Format:
        assert render(again, fmt, tool_version="1") == render(broken, fmt, tool_version="1")


def test_a_broken_json_report_is_one_input_error() -> None:
    with pytest.raises(InputError) as info:
        evaluation_from_report({"report_version": 1, "findings": []}, file="r.json")
    assert "r.json" in info.value.line() and "fix" in info.value.line()


def test_markdown_escapes_values_and_keeps_details_collapsed(evaluation_of) -> None:
    text = markdown.render(all_statuses(evaluation_of))
    assert "<script" not in text and "<img" not in text and "](b)" not in text
    assert "&lt;script&gt;" in text
    assert text.count("<details>") == text.count("</details>") == 4  # FAIL x3 + ERROR
    table = [line for line in text.splitlines() if line.startswith("| FAIL |")]
    assert all(line.count(" | ") == 5 for line in table)  # a | in a value cannot add a column


def test_markdown_code_fence_outlasts_backticks_in_values() -> None:
    block = markdown.code_block("a ```` b")
    assert block.startswith("`````\n") and block.endswith("\n`````")


def test_markdown_stays_under_the_size_limit(evaluation_of) -> None:
    many = [make_finding(resource_id=f"bucket-{n:05d}", message="x" * 200) for n in range(2000)]
    text = markdown.render(evaluation_of(*many), max_chars=20_000)
    assert len(text) <= 20_000
    assert "more failing findings not listed" in text


def test_markdown_with_nothing_failing(evaluation_of) -> None:
    text = markdown.render(evaluation_of(with_status(make_finding(), Status.PASS)))
    assert "No failing finding" in text


def test_formats_parse_and_write_atomically(tmp_path, broken) -> None:
    assert parse_formats(["html,junit", "sarif", "markdown"]) == [
        Format.HTML,
        Format.JUNIT,
        Format.SARIF,
        Format.MARKDOWN,
    ]
    with pytest.raises(InputError):
        parse_formats(["pdf"])
    written = write_reports(broken, list(Format), output_dir=tmp_path)
    assert sorted(p.name for p in written) == sorted(EXTENSIONS.values())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
