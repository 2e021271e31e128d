"""ASFF, OCSF and CSV: each validated against its published schema, status mapping, limits, CSV injection.

- ASFF against botocore's own securityhub service model (AwsSecurityFinding, through ParamValidator on a
  BatchImportFindings request), plus the documented limits botocore does not check.
- OCSF against the published OCSF 1.5.0 schema (ocsf-json-schema, the Detection Finding class with the
  cloud profile, JSON Schema 2020-12), offline.
- CSV against schemas/report-csv.json (a Frictionless Table Schema), checked field by field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import jsonschema
import pytest
from botocore.validate import ParamValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.findings import Severity, Status
from auditor.errors import InputError
from auditor.report import EXTENSIONS, Format, asff, csvfmt, ocsf, parse_formats, render, write_reports
from tests.reliability.test_report_safety import PAYLOADS, hostile
from tests.report.conftest import HOSTILE, make_finding, with_status
from tests.report.test_formats import all_statuses

ROOT = Path(__file__).resolve().parents[2]
CSV_SCHEMA = ROOT / "schemas" / "report-csv.json"


# --------------------------------------------------------------------------- ASFF
@pytest.fixture(scope="module")
def import_request_shape() -> Any:
    model = botocore.session.get_session().get_service_model("securityhub")
    return model.operation_model("BatchImportFindings").input_shape


def assert_valid_asff(findings: list[dict[str, Any]], shape: Any) -> None:
    assert findings
    for start in range(0, len(findings), 100):
        report = ParamValidator().validate({"Findings": findings[start:start + 100]}, shape)
        assert not report.has_errors(), report.generate_report()
    for item in findings:
        assert len(item["Title"]) <= asff.TITLE_MAX and len(item["Description"]) <= asff.DESCRIPTION_MAX
        assert len(item["Remediation"]["Recommendation"]["Text"]) <= asff.RECOMMENDATION_MAX
        assert len(item["ProductFields"]) <= 50
        assert all(len(k) <= 128 and len(v) <= 2048 for k, v in item["ProductFields"].items())
        assert not any(k.startswith("aws/") for k in item["ProductFields"])  # reserved for AWS
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", item["UpdatedAt"])
        assert item["Severity"]["Label"] in ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
        assert item["Compliance"]["Status"] in ("PASSED", "WARNING", "FAILED", "NOT_AVAILABLE")
        assert item["RecordState"] == "ACTIVE"


def test_asff_validates_against_botocore_on_the_golden_snapshot(broken, import_request_shape) -> None:
    doc = json.loads(asff.render(broken))
    assert_valid_asff(doc["Findings"], import_request_shape)
    assert len(doc["Findings"]) == sum(1 for f in broken.findings if f.status is not Status.SKIPPED)


def test_the_validation_is_live(broken, import_request_shape) -> None:
    item = json.loads(asff.render(broken))["Findings"][0]
    del item["AwsAccountId"]
    item["Severity"]["Label"] = 7
    report = ParamValidator().validate({"Findings": [item]}, import_request_shape)
    assert report.has_errors() and "AwsAccountId" in report.generate_report()


def test_asff_status_mapping(evaluation_of, import_request_shape) -> None:
    findings = asff.findings(all_statuses(evaluation_of))
    assert_valid_asff(findings, import_request_shape)
    by_resource = {f["Resources"][0]["Id"].rsplit(":", 1)[-1]: f for f in findings}
    assert by_resource["bucket-a"]["Compliance"]["Status"] == "FAILED"
    assert by_resource["bucket-a"]["Severity"]["Label"] == "HIGH"
    assert by_resource["b-pass"]["Compliance"]["Status"] == "PASSED"
    assert by_resource["b-pass"]["Severity"] == {"Label": "INFORMATIONAL", "Original": "high"}
    error = by_resource["b-err"]
    assert error["Compliance"]["Status"] == "NOT_AVAILABLE" and error["Severity"]["Label"] == "MEDIUM"
    assert error["Description"].startswith("Evidence missing")
    waived = by_resource["b-waived"]
    assert waived["Workflow"] == {"Status": "SUPPRESSED"} and waived["Compliance"]["Status"] == "FAILED"
    assert "migration" in waived["Note"]["Text"]
    assert "b-skip" not in by_resource  # SKIPPED is not exported
    assert all("Workflow" not in f for k, f in by_resource.items() if k != "b-waived")
    iac = next(f for f in findings if f["GeneratorId"] == "CCME-IAC-RULE")
    assert iac["Resources"][0]["Type"] == "Other" and iac["Resources"][0]["Id"] == "MyBucket"
    assert iac["Resources"][0]["Details"]["Other"]["ccme-audit/File"] == "templates/stack.yaml"
    assert iac["Resources"][0]["Details"]["Other"]["ccme-audit/Line"] == "42"


def test_asff_ids_are_stable_and_scoped(evaluation_of) -> None:
    one = asff.findings(evaluation_of(make_finding()))[0]
    again = asff.findings(evaluation_of(make_finding(message="changed", status=Status.PASS)))[0]
    assert one["Id"] == again["Id"] == f"ccme-audit/111122223333/eu-west-1/{make_finding().id}"
    other_region = asff.findings(evaluation_of(make_finding(region="us-east-1")))[0]
    other_account = asff.findings(evaluation_of(make_finding(account="444455556666")))[0]
    assert len({one["Id"], other_region["Id"], other_account["Id"]}) == 3
    assert one["ProductArn"] == "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
    assert other_region["ProductArn"].startswith("arn:aws:securityhub:us-east-1:")
    assert one["GeneratorId"] == "CCME-TEST-RULE" and one["AwsAccountId"] == "111122223333"
    assert one["Types"] == ["Software and Configuration Checks/Industry and Regulatory Standards/CCME"]
    assert one["ProductFields"]["ProviderName"] == "ccme-audit"
    assert one["ProductFields"]["ccme-audit/SourceQuote"] == "quoted text"
    assert "Url" not in one["Remediation"]["Recommendation"] and "SourceUrl" not in one  # no public docs site


def test_asff_resources_are_named_by_arn(evaluation_of) -> None:
    cases = {
        ("s3.bucket", "my-bucket"): ("AwsS3Bucket", "arn:aws:s3:::my-bucket"),
        ("ec2.vpc", "vpc-0abc"): ("AwsEc2Vpc", "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0abc"),
        ("ec2.subnet", "subnet-01"): ("AwsEc2Subnet", "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-01"),
        ("kms.key", "arn:aws:kms:eu-west-1:111122223333:key/k"): (
            "AwsKmsKey", "arn:aws:kms:eu-west-1:111122223333:key/k"),
        ("ec2.vpc", "VPC-CCME (not found)"): ("Other", "VPC-CCME (not found)"),
        ("service.probe", "sns"): ("Other", "sns"),
    }
    for (rtype, rid), expected in cases.items():
        (item,) = asff.findings(evaluation_of(make_finding(resource_type=rtype, resource_id=rid)))
        assert (item["Resources"][0]["Type"], item["Resources"][0]["Id"]) == expected
    (china,) = asff.findings(evaluation_of(make_finding(region="cn-north-1")))
    assert china["ProductArn"].startswith("arn:aws-cn:securityhub:cn-north-1:")
    assert china["Resources"][0]["Id"] == "arn:aws-cn:s3:::bucket-a"


def test_asff_resource_types_are_security_hub_s() -> None:
    # Security Hub's resource types are the members of ResourceDetails in its service model (plus Other).
    model = botocore.session.get_session().get_service_model("securityhub")
    known = set(model.shape_for("ResourceDetails").members) | {"Other"}
    used = {asff_type for asff_type, _, _ in asff._RESOURCES.values()}
    assert used <= known, used - known
    assert len(used) > 8  # most canonical types name their AWS type, not Other


@settings(max_examples=40, deadline=None)
@given(title=st.text(min_size=0, max_size=600), message=st.text(min_size=0, max_size=3000))
def test_asff_text_is_cut_to_the_limits(title: str, message: str) -> None:
    from auditor.engine.evaluate import Evaluation

    evaluation = Evaluation(findings=(make_finding(title=title, message=message),), account="111122223333",
                            regions=("eu-west-1",), rules=(), evaluated_at="2026-11-22T00:00:00+00:00")
    (item,) = asff.findings(evaluation)
    assert 1 <= len(item["Title"]) <= 256 and 1 <= len(item["Description"]) <= 1024
    if len(title.strip()) > 256:
        assert item["Title"].endswith("\u2026")
    elif title.strip():
        assert item["Title"] == title.strip()


def test_asff_without_an_account_is_an_input_error(evaluation_of) -> None:
    from auditor.engine.evaluate import Evaluation

    evaluation = Evaluation(findings=(make_finding(account=None, region=None),), account=None, regions=(),
                            rules=(), evaluated_at="2026-11-22T00:00:00+00:00")
    with pytest.raises(InputError, match="account"):
        asff.render(evaluation)


# --------------------------------------------------------------------------- OCSF
@pytest.fixture(scope="module")
def ocsf_validator() -> jsonschema.protocols.Validator:
    from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=ocsf.OCSF_VERSION))
    assert schema.lookup_class_name_from_uid(class_uid=ocsf.CLASS_UID) == "detection_finding"
    class_schema = schema.get_class_schema("detection_finding", ["cloud"])
    jsonschema.Draft202012Validator.check_schema(class_schema)
    return jsonschema.Draft202012Validator(class_schema)


def assert_valid_ocsf(events: list[dict[str, Any]], validator: jsonschema.protocols.Validator) -> None:
    assert events
    for item in events:
        error = jsonschema.exceptions.best_match(validator.iter_errors(item))
        assert error is None, f"{list(error.absolute_path)}: {error.message}"


def test_ocsf_validates_against_the_published_schema(broken, ocsf_validator) -> None:
    events = json.loads(ocsf.render(broken))
    assert len(events) == len(broken.findings)
    assert_valid_ocsf(events, ocsf_validator)
    first = events[0]
    assert first["class_uid"] == 2004 and first["category_uid"] == 2 and first["type_uid"] == 200401
    assert first["metadata"]["version"] == "1.5.0" and first["metadata"]["product"]["name"] == "ccme-audit"
    assert first["cloud"] == {"provider": "AWS", "region": "eu-west-1",
                              "account": {"uid": "111122223333", "type_id": 10, "type": "AWS Account"}}
    assert first["time"] == 1795305600000  # 2026-11-22T00:00:00Z


def test_ocsf_every_status_validates_and_maps(evaluation_of, ocsf_validator) -> None:
    events = ocsf.events(all_statuses(evaluation_of))
    assert_valid_ocsf(events, ocsf_validator)
    by_resource = {e["resources"][0]["uid"]: e for e in events}
    assert by_resource["bucket-a"]["status_code"] == "FAIL" and by_resource["bucket-a"]["severity_id"] == 4
    assert by_resource["b-pass"]["unmapped"]["compliance"]["status"] == "Pass"
    error = by_resource["b-err"]
    assert error["status_code"] == "ERROR" and error["unmapped"]["compliance"]["status"] == "Not available"
    assert error["finding_info"]["desc"].startswith("Evidence missing")
    waived = by_resource["b-waived"]
    assert (waived["status_id"], waived["status"]) == (3, "Suppressed")
    assert waived["unmapped"]["waiver"]["reason"] == "migration"
    assert by_resource["b-skip"]["status_code"] == "SKIPPED"
    assert by_resource[HOSTILE]["severity"] == "Informational" and by_resource[HOSTILE]["severity_id"] == 1
    assert by_resource["MyBucket"]["resources"][0]["data"] == {"file": "templates/stack.yaml", "line": 42}


def test_ocsf_validation_is_live(broken, ocsf_validator) -> None:
    item = json.loads(ocsf.render(broken))[0]
    item["compliance"] = {"status": "Pass"}  # not an attribute of the Detection Finding class
    assert not ocsf_validator.is_valid(item)
    item = json.loads(ocsf.render(broken))[0]
    item["severity_id"] = 9
    assert not ocsf_validator.is_valid(item)


# --------------------------------------------------------------------------- CSV
TABLE_TYPES = {"string", "number", "integer", "boolean", "object", "array", "date", "time", "datetime", "year",
               "yearmonth", "duration", "geopoint", "geojson", "any"}
# The parts of the Table Schema specification (specs.frictionlessdata.io/table-schema) this file uses.
TABLE_SCHEMA = {
    "type": "object",
    "required": ["fields"],
    "properties": {
        "fields": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "type": {"enum": sorted(TABLE_TYPES)},
                    "format": {"type": "string"},
                    "description": {"type": "string"},
                    "constraints": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "required": {"type": "boolean"},
                            "unique": {"type": "boolean"},
                            "enum": {"type": "array", "minItems": 1},
                            "pattern": {"type": "string"},
                            "minimum": {"type": "integer"},
                            "maxLength": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "missingValues": {"type": "array", "items": {"type": "string"}},
        "primaryKey": {"type": "array", "items": {"type": "string"}},
    },
}


def table_errors(text: str, schema: dict[str, Any]) -> list[str]:
    """Rows checked against a Table Schema: header, types, required, enum, pattern, minimum, unique."""
    errors: list[str] = []
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    fields = schema["fields"]
    if rows[0] != [f["name"] for f in fields]:
        return [f"header {rows[0]} is not {[f['name'] for f in fields]}"]
    missing = set(schema.get("missingValues", [""]))
    seen: dict[str, set[str]] = {f["name"]: set() for f in fields}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(fields):
            errors.append(f"row {number}: {len(row)} cells")
            continue
        for field, cell in zip(fields, row, strict=True):
            where = f"row {number}, {field['name']}"
            rules = field.get("constraints", {})
            if cell in missing:
                if rules.get("required"):
                    errors.append(f"{where}: required")
                continue
            if field.get("type") == "integer":
                if not re.fullmatch(r"[+-]?\d+", cell):
                    errors.append(f"{where}: {cell!r} is not an integer")
                    continue
                if "minimum" in rules and int(cell) < rules["minimum"]:
                    errors.append(f"{where}: below the minimum")
            if "enum" in rules and cell not in rules["enum"]:
                errors.append(f"{where}: {cell!r} not in the enum")
            if "pattern" in rules and not re.fullmatch(rules["pattern"], cell):
                errors.append(f"{where}: {cell!r} does not match {rules['pattern']}")
            if rules.get("unique"):
                if cell in seen[field["name"]]:
                    errors.append(f"{where}: {cell!r} is not unique")
                seen[field["name"]].add(cell)
    return errors


@pytest.fixture(scope="module")
def csv_schema() -> dict[str, Any]:
    schema = json.loads(CSV_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(schema, TABLE_SCHEMA)
    return schema


def test_csv_columns_are_the_schema_s(csv_schema) -> None:
    assert tuple(f["name"] for f in csv_schema["fields"]) == csvfmt.COLUMNS
    assert csv_schema["primaryKey"] == ["finding_id"]


def test_csv_validates_against_its_table_schema(broken, csv_schema, evaluation_of) -> None:
    text = csvfmt.render(broken)
    assert table_errors(text, csv_schema) == []
    assert text.count("\r\n") >= len(broken.findings) + 1 and text.endswith("\r\n")
    text = csvfmt.render(all_statuses(evaluation_of))
    assert table_errors(text, csv_schema) == []


def test_the_table_check_is_live(broken, csv_schema) -> None:
    text = csvfmt.render(broken).replace(",FAIL,", ",FAILED,", 1)
    assert any("not in the enum" in e for e in table_errors(text, csv_schema))
    lines = csvfmt.render(broken).split("\r\n")
    assert any("not unique" in e for e in table_errors("\r\n".join([*lines[:2], lines[1], ""]), csv_schema))


def test_csv_one_row_per_finding_round_trips_rfc4180(evaluation_of) -> None:
    tricky = 'a, "quoted"\r\nsecond line'
    evaluation = all_statuses(evaluation_of)
    evaluation = evaluation_of(*evaluation.findings, make_finding(resource_id="b-tricky", message=tricky))
    rows = list(csv.DictReader(io.StringIO(csvfmt.render(evaluation), newline="")))
    assert len(rows) == len(evaluation.findings)
    by_id = {r["resource_id"]: r for r in rows}
    assert by_id["b-tricky"]["message"] == tricky
    assert by_id["b-err"]["status"] == "ERROR" and by_id["b-skip"]["status"] == "SKIPPED"
    assert by_id["b-waived"]["waiver"] == "migration (expires 2027-01-01)"
    assert (by_id["MyBucket"]["file"], by_id["MyBucket"]["line"]) == ("templates/stack.yaml", "42")
    assert json.loads(by_id["bucket-a"]["evidence"]) == ["expected versioning equals 'Enabled', observed null"]
    assert by_id["bucket-a"]["finding_id"] == make_finding().id
    assert [r["status"] for r in rows][:2] == ["FAIL", "FAIL"]  # most urgent first


@pytest.mark.parametrize(
    "value",
    ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\n=1",
     "\uff1d1+1", "\uff20SUM(1)"],
)
def test_csv_cells_cannot_start_a_formula(evaluation_of, value: str) -> None:
    finding = make_finding(resource_id=value, resource_name=value, message=value, title=value,
                           source=make_finding().source.__class__(document=value))
    rows = list(csv.reader(io.StringIO(csvfmt.render(evaluation_of(finding)), newline="")))
    cells = [cell for cell in rows[1] if value in cell]
    assert len(cells) >= 4
    for cell in rows[1]:
        assert not cell or cell[0] not in csvfmt.FORMULA_START, cell
    assert all(cell == "'" + value for cell in cells)  # the whole value kept, behind one quote


def test_csv_leaves_ordinary_cells_alone() -> None:
    assert csvfmt.neutralise("bucket-a") == "bucket-a"
    assert csvfmt.neutralise("a=b") == "a=b" and csvfmt.neutralise("") == ""


# --------------------------------------------------------------------------- the formats registry
def test_the_new_formats_are_chosen_like_the_others(tmp_path, broken) -> None:
    formats = parse_formats(["asff,ocsf", "csv"])
    assert formats == [Format.ASFF, Format.OCSF, Format.CSV]
    written = write_reports(broken, formats, output_dir=tmp_path)
    assert [p.name for p in written] == [EXTENSIONS[f] for f in formats] == [
        "report.asff.json", "report.ocsf.json", "report.csv"]
    assert json.loads((tmp_path / "report.asff.json").read_text())["Findings"]
    assert (tmp_path / "report.csv").read_bytes().startswith(b"finding_id,rule_id,status")
    assert render(broken, Format.OCSF) == ocsf.render(broken)


def test_asff_and_ocsf_escape_nothing_they_should_not(evaluation_of) -> None:
    finding = with_status(make_finding(resource_id=HOSTILE, message=HOSTILE), Status.FAIL, severity=Severity.LOW)
    doc = json.loads(asff.render(evaluation_of(finding)))
    assert HOSTILE in doc["Findings"][0]["Description"]  # JSON string escaping only: the value is intact
    assert json.loads(ocsf.render(evaluation_of(finding)))[0]["status_detail"] == HOSTILE


def test_nothing_to_report_is_still_a_valid_document(evaluation_of) -> None:
    empty = evaluation_of()
    assert json.loads(asff.render(empty)) == {"Findings": []}
    assert json.loads(ocsf.render(empty)) == []
    assert csvfmt.render(empty) == ",".join(csvfmt.COLUMNS) + "\r\n"


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_hostile_values_stay_data(name: str, import_request_shape, ocsf_validator, csv_schema) -> None:
    """The report-safety payloads (tests/reliability) in every resource-controlled string."""
    evaluation = hostile(PAYLOADS[name])
    payload = PAYLOADS[name]
    findings = json.loads(asff.render(evaluation))["Findings"]
    assert_valid_asff(findings, import_request_shape)
    assert any(payload in f["Resources"][0]["Id"] for f in findings)  # JSON carries it as data, intact
    events = json.loads(ocsf.render(evaluation))
    assert_valid_ocsf(events, ocsf_validator)
    assert events[0]["resources"][0]["uid"].startswith(payload)
    text = csvfmt.render(evaluation)
    assert table_errors(text, csv_schema) == []
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)  # no ESC, CSI, NUL for a terminal
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert len(rows) == len(evaluation.findings) + 1
    assert all(not cell or cell[0] not in csvfmt.FORMULA_START for row in rows for cell in row)
    printable = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "\ufffd", payload)
    assert any(row[csvfmt.COLUMNS.index("resource_id")].lstrip("'").startswith(printable) for row in rows[1:])
