"""Resource-policy findings keep their evidence in every format (through the real entry point): the violating
request (principal, action, resource, transport) and the statements that decided it, never "observed null";
no helpUri/SourceUrl unless a documentation URL is configured."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.cli import main

SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "ccme-broken.json"
BUCKET = "ucit-ccme-internals-eu-west-1"
REQUEST = f"GetBucketLocation on arn:aws:s3:::{BUCKET} over plain HTTP"
STATEMENT = 'decided by statement 3 ("Allow attachment of persistent resources")'
FORMATS = ("markdown", "html", "junit", "sarif", "csv", "asff", "ocsf", "json")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("reports")
    code = main(["evaluate", str(SNAPSHOT), "--pack", "ccme", "--set", "account=111122223333",
                 "--format", ",".join(FORMATS), "--output-dir", str(out)])
    assert code == 1
    return {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}


def test_every_format_carries_the_violating_request_and_the_statement(reports: dict[str, str]) -> None:
    assert len(reports) == len(FORMATS)
    for name, text in reports.items():
        for requirement in ("s3-deny-insecure-transport", "s3-deny-tls-below-1.2", "kms-dcv-proxy-autoscaling"):
            assert f"expected {requirement}, observed null" not in text, name
        assert REQUEST in text, name
        assert "statement 3" in text and "Allow attachment of persistent resources" in text, name


def test_sarif_related_locations_and_no_help_uri(reports: dict[str, str]) -> None:
    run = json.loads(reports["report.sarif"])["runs"][0]
    assert all("helpUri" not in rule for rule in run["tool"]["driver"]["rules"])
    assert "informationUri" not in run["tool"]["driver"]
    result = next(r for r in run["results"] if r["ruleId"] == "CCME-S3-POLICY-SECURETRANSPORT-INTERNALS"
                  and r["properties"]["resource_id"] == BUCKET)
    assert REQUEST in result["message"]["text"]
    texts = [loc["message"]["text"] for loc in result["relatedLocations"]]
    assert any(t.startswith(f"violating request: {REQUEST}") for t in texts)
    kms = next(r for r in run["results"] if r["ruleId"] == "CCME-KMS-POLICY-DCV-PROXY")
    related = [loc["message"]["text"] for loc in kms["relatedLocations"]]
    assert any(t.startswith(STATEMENT) and '"kms:CreateGrant"' in t for t in related)
    assert {loc["id"] for loc in kms["relatedLocations"]} == set(range(1, len(related) + 1))


def test_asff_product_fields_and_ocsf_evidences_hold_the_request(reports: dict[str, str]) -> None:
    asff = next(f for f in json.loads(reports["report.asff.json"])["Findings"]
                if f["GeneratorId"] == "CCME-S3-POLICY-SECURETRANSPORT-INTERNALS")
    request = json.loads(asff["ProductFields"]["ccme-audit/ViolatingRequest1"])
    assert request["principal"] == "anonymous principal" and request["action"] == "s3:GetBucketLocation"
    assert request["resource"] == f"arn:aws:s3:::{BUCKET}" and request["transport"] == "plain HTTP"
    assert REQUEST in asff["Description"] and "SourceUrl" not in asff
    ocsf = next(e for e in json.loads(reports["report.ocsf.json"])
                if e["metadata"]["event_code"] == "CCME-KMS-POLICY-DCV-PROXY")
    data = ocsf["evidences"][0]["data"]
    assert data["request"]["action"] == "kms:CreateGrant"
    assert [s["number"] for s in data["statements"]] == [1, 3]
    assert data["statements"][1]["statement"]["Sid"] == "Allow attachment of persistent resources"


def test_junit_and_csv_carry_it_in_their_text(reports: dict[str, str]) -> None:
    root = ET.fromstring(reports["report.junit.xml"])
    failures = [f.text or "" for f in root.iter("failure")]
    assert any(REQUEST in f and "documentation: docs/rules.md#" in f for f in failures)
    rows = list(csv.DictReader(io.StringIO(reports["report.csv"])))
    row = next(r for r in rows if r["rule_id"] == "CCME-S3-POLICY-TLS12-INTERNALS")
    assert f"GetBucketLocation on arn:aws:s3:::{BUCKET} over TLS 1.0" in row["evidence"]


def test_the_request_is_data_from_the_decision_not_read_back_from_words(reports: dict[str, str]) -> None:
    import jsonschema

    report = json.loads(reports["report.json"])
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "report.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    finding = next(f for f in report["findings"] if f["rule_id"] == "CCME-S3-POLICY-TLS12-INTERNALS"
                   and f["resource_id"] == BUCKET)
    witness = finding["evidence"][0]["witness"]
    assert witness["principal"]["kind"] == "anonymous" and witness["transport"] == "TLS 1.0"
    assert witness["resource"].startswith(f"arn:aws:s3:::{BUCKET}") and witness["decision"] != "explicit_deny"
    assert {k.lower() for k in witness["context"]} >= {"aws:securetransport", "s3:tlsversion"}
    kms = next(f for f in report["findings"] if f["rule_id"] == "CCME-KMS-POLICY-DCV-PROXY")
    refs = kms["evidence"][0]["witness"]["deciding_statements"]
    assert {"number": 3, "sid": "Allow attachment of persistent resources"} in refs


def test_reports_render_the_witness_they_are_given_whatever_the_words_say() -> None:
    from auditor.report.common import evidence_lines
    from auditor.report.evidence import policy_evidence
    from tests.report.conftest import make_finding

    witness = {"principal": {"kind": "aws", "id": "arn:aws:iam::444455556666:root",
                             "description": "arn:aws:iam::444455556666:root"},
               "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "transport": "TLS 1.1",
               "context": {"s3:TlsVersion": ["1.1"], "aws:SecureTransport": ["true"]}, "decision": "allow",
               "alike": [], "statements": ['statement 2 ("x")'], "deciding_statements": [{"number": 2, "sid": "x"}]}
    finding = make_finding(
        evidence=({"check": "s3-deny-tls-below-1.2", "path": "policy", "violation": "words nobody parses",
                   "witness": witness},
                  {"check": "s3-deny-tls-below-1.2", "path": "policy", "violation": "GetObject on arn:aws:s3:::b/k "
                   "over TLS 1.0 by anonymous principal is allowed by statement 1"}),
        context={"attributes": {"policy": {"Statement": [{"Sid": "a"}, {"Sid": "x", "Effect": "Allow"}]}}})
    first, second = policy_evidence(finding)
    assert first["request"] == {"principal": "arn:aws:iam::444455556666:root", "principal_kind": "aws",
                                "principal_id": "arn:aws:iam::444455556666:root", "action": "s3:GetObject",
                                "resource": "arn:aws:s3:::b/k", "transport": "TLS 1.1",
                                "conditions": {"s3:TlsVersion": ["1.1"], "aws:SecureTransport": ["true"]},
                                "decision": "allow"}
    assert first["statements"] == [{"number": 2, "sid": "x", "statement": {"Sid": "x", "Effect": "Allow"}}]
    assert "request" not in second and "statements" not in second  # words only: nothing is read back from them
    text = evidence_lines(finding)
    assert "  request: principal arn:aws:iam::444455556666:root; action s3:GetObject; resource arn:aws:s3:::b/k; " \
           "transport TLS 1.1; decision allow; conditions s3:TlsVersion=1.1, aws:SecureTransport=true" in text
