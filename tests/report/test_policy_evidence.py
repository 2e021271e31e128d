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
from auditor.report.evidence import request_of

SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "ccme-broken.json"
BUCKET = "ucit-ccme-internals-eu-west-1"
REQUEST = f"GetBucketLocation on arn:aws:s3:::{BUCKET} over plain HTTP"
STATEMENT = 'decided by statement 3 ("Allow attachment of persistent resources")'
FORMATS = ("markdown", "html", "junit", "sarif", "csv", "asff", "ocsf")


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
    assert request["principal"] == "anonymous principal" and request["action"] == "GetBucketLocation"
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


def test_a_line_that_is_not_a_request_is_kept_as_written() -> None:
    assert request_of("2 of 12 evaluated requests break the requirement in total") is None
    parsed = request_of("s3:GetObject on arn:aws:s3:::b/* over TLS 1.1 (s3:TlsVersion=1.1, aws:SecureTransport=true) "
                        "by arn:aws:iam::444455556666:root is allowed by statement 2 (\"x\")")
    assert parsed == {"action": "s3:GetObject", "resource": "arn:aws:s3:::b/*", "transport": "TLS 1.1",
                      "transport_keys": "s3:TlsVersion=1.1, aws:SecureTransport=true",
                      "principal": "arn:aws:iam::444455556666:root", "decision": "allowed"}
