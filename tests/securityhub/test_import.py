"""Security Hub import on moto: batches of 100, idempotent re-runs, archival, partial failures, the CLI doors,
and the IAM policy checked against the calls the importer makes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Status
from auditor.report import asff
from auditor.securityhub import ACTIONS, CALLS, client_factory, import_findings
from tests.collect.helpers import REGION, error_response, moto_account
from tests.report.conftest import make_finding

ACCOUNT = IMPORTER = "123456789012"  # moto's caller account: the default product takes its own findings only
ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "fixtures" / "snapshots" / "ccme-broken.json"


def mk(**changes: Any) -> Finding:
    return make_finding(**{"account": ACCOUNT, **changes})


def evaluation(findings: list[Finding], rules: tuple[Any, ...] = ()) -> Evaluation:
    return Evaluation(findings=tuple(findings), account=ACCOUNT, regions=(REGION,), rules=rules,
                      evaluated_at="2026-11-22T00:00:00+00:00")


def many(n: int, status: Status = Status.FAIL) -> list[Finding]:
    return [mk(resource_id=f"bucket-{i:03d}", status=status) for i in range(n)]


class Recorder:
    """Counts Security Hub operations and the size of each BatchImportFindings request."""

    def __init__(self, session: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.batch_sizes: list[int] = []
        session.events.register("provide-client-params.securityhub", self._params)

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "BatchImportFindings":
            self.batch_sizes.append(len(params["Findings"]))


def stored(session: Any) -> dict[str, dict[str, Any]]:
    client = session.client("securityhub", region_name=REGION)
    out: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("get_findings").paginate():
        out.update({f["Id"]: f for f in page["Findings"]})
    return out


@pytest.fixture()
def session() -> Iterator[Any]:
    with moto_account() as session:
        yield session


def test_batches_of_100_rerun_and_archival(session: Any) -> None:
    recorder = Recorder(session)
    first = import_findings(evaluation(many(250)), client_factory(session), product_account=IMPORTER,
                            at="2026-11-22T01:00:00.000Z")
    assert first.ok and (first.imported, first.archived, first.batches) == (250, 0, 3)
    assert recorder.batch_sizes == [100, 100, 50]
    found = stored(session)
    assert len(found) == 250
    one = found[f"ccme-audit/{ACCOUNT}/{REGION}/{mk(resource_id='bucket-000').id}"]
    assert one["ProductArn"] == f"arn:aws:securityhub:{REGION}:{IMPORTER}:product/{IMPORTER}/default"
    assert one["AwsAccountId"] == ACCOUNT and one["Compliance"]["Status"] == "FAILED"
    assert one["UpdatedAt"] == "2026-11-22T01:00:00.000Z" and one["CreatedAt"] == "2026-11-22T00:00:00Z"

    # Re-run: the same Ids are updated, none added; UpdatedAt moves, CreatedAt stays.
    second = import_findings(evaluation(many(250)), client_factory(session), product_account=IMPORTER,
                             at="2026-11-23T01:00:00.000Z")
    assert second.ok and (second.imported, second.archived) == (250, 0)
    found = stored(session)
    assert len(found) == 250
    assert {f["UpdatedAt"] for f in found.values()} == {"2026-11-23T01:00:00.000Z"}
    assert {f["CreatedAt"] for f in found.values()} == {"2026-11-22T00:00:00Z"}

    # A finding of another tool under the same custom product, and one of a rule this run does not
    # evaluate: neither is touched by the archival.
    client = session.client("securityhub", region_name=REGION)
    foreign = asff.asff_finding(mk(resource_id="other-tool"), account=ACCOUNT, region=REGION,
                                at="2026-11-22T00:00:00Z", tool_version="x", product_account=IMPORTER)
    foreign["Id"], foreign["ProductFields"] = "someone-else/1", {"ProviderName": "another-scanner"}
    other_rule = asff.asff_finding(mk(rule_id="CCME-NOT-RUN", resource_id="x"), account=ACCOUNT,
                                   region=REGION, at="2026-11-22T00:00:00Z", tool_version="x",
                                   product_account=IMPORTER)
    assert client.batch_import_findings(Findings=[foreign, other_rule])["FailedCount"] == 0

    # Third run: 200 still failing, bucket-000 now passes, 49 gone: archived.
    now = many(200)
    now[0] = mk(resource_id="bucket-000", status=Status.PASS)
    third = import_findings(evaluation(now), client_factory(session), product_account=IMPORTER,
                            at="2026-11-24T01:00:00.000Z")
    assert third.ok and (third.imported, third.archived) == (200, 50)
    found = stored(session)
    states = Counter(f["RecordState"] for f in found.values())
    assert states == Counter({"ACTIVE": 202, "ARCHIVED": 50})
    assert found[one["Id"]]["Compliance"]["Status"] == "PASSED" and found[one["Id"]]["RecordState"] == "ACTIVE"
    gone = found[f"ccme-audit/{ACCOUNT}/{REGION}/{mk(resource_id='bucket-249').id}"]
    assert gone["RecordState"] == "ARCHIVED" and gone["UpdatedAt"] == "2026-11-24T01:00:00.000Z"
    assert gone["CreatedAt"] == "2026-11-22T00:00:00Z" and gone["Compliance"]["Status"] == "FAILED"
    assert found["someone-else/1"]["RecordState"] == "ACTIVE"
    assert found[other_rule["Id"]]["RecordState"] == "ACTIVE"
    assert recorder.calls["GetFindings"] >= 3  # paginated reads, once per run at least


def test_skipped_findings_are_not_imported_and_archive_earlier_ones(session: Any) -> None:
    import_findings(evaluation(many(3)), client_factory(session), product_account=IMPORTER)
    skipped = [mk(resource_id="bucket-000", status=Status.SKIPPED), *many(3)[1:]]
    result = import_findings(evaluation(skipped), client_factory(session), product_account=IMPORTER)
    assert (result.imported, result.archived) == (2, 1)


def test_error_findings_are_not_available_never_passed(session: Any) -> None:
    result = import_findings(evaluation([mk(status=Status.ERROR, message="AccessDenied")]),
                             client_factory(session), product_account=IMPORTER)
    assert result.ok
    (item,) = stored(session).values()
    assert item["Compliance"]["Status"] == "NOT_AVAILABLE"


def _refuse(session: Any, operation: str, code: str = "AccessDeniedException", every: bool = True) -> None:
    state = {"n": 0}

    def handler(request: Any, **_: Any) -> Any:
        state["n"] += 1
        if every or state["n"] == 2:
            return error_response("securityhub", request.url, code, 403, "not authorized to perform " + operation)
        return None

    session.events.register(f"before-send.securityhub.{operation}", handler)


def test_a_refused_batch_is_reported_finding_by_finding(session: Any) -> None:
    _refuse(session, "BatchImportFindings", every=False)  # the second batch of three is refused
    result = import_findings(evaluation(many(250)), client_factory(session), product_account=IMPORTER)
    assert not result.ok and result.imported == 150
    assert len(result.failures) == 100 and {f.code for f in result.failures} == {"AccessDeniedException"}
    second_batch = asff.findings(evaluation(many(250)))[100:200]
    assert [f.id for f in result.failures] == [f["Id"] for f in second_batch]


def test_failed_findings_in_the_answer_are_reported(session: Any) -> None:
    class Partly:
        """A client whose BatchImportFindings answers FailedFindings for one Id (as Security Hub may)."""

        def __init__(self, real: Any, bad: str) -> None:
            self.real, self.bad = real, bad

        def get_paginator(self, name: str) -> Any:
            return self.real.get_paginator(name)

        def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:
            answer = self.real.batch_import_findings(Findings=[f for f in Findings if f["Id"] != self.bad])
            answer["FailedCount"] += 1
            answer["FailedFindings"].append({"Id": self.bad, "ErrorCode": "InvalidInput", "ErrorMessage": "bad"})
            return answer

    findings = many(5)
    bad = asff.finding_uid(findings[2], ACCOUNT, REGION)
    real = client_factory(session)
    result = import_findings(evaluation(findings), lambda region: Partly(real(region), bad),
                             product_account=IMPORTER)
    assert result.imported == 4 and [f.id for f in result.failures] == [bad]
    assert result.failures[0].line().endswith("InvalidInput: bad")


def test_failures_counted_but_not_named_count_what_is_known(session: Any) -> None:
    """An answer with FailedCount above its FailedFindings (issue 26): the SuccessCount is counted as imported,
    the named failure is reported, and every other finding of the batch is named as unknown (fail closed)."""

    class Unnamed:
        def __init__(self, real: Any, lost: str, bad: str) -> None:
            self.real, self.lost, self.bad = real, lost, bad

        def get_paginator(self, name: str) -> Any:
            return self.real.get_paginator(name)

        def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:
            kept = [f for f in Findings if f["Id"] not in (self.lost, self.bad)]
            answer = self.real.batch_import_findings(Findings=kept)
            answer["FailedCount"] += 2  # two failures, one named
            answer["FailedFindings"].append({"Id": self.bad, "ErrorCode": "InvalidInput", "ErrorMessage": "bad"})
            return answer

    findings = many(5)
    lost, bad = (asff.finding_uid(findings[i], ACCOUNT, REGION) for i in (1, 3))
    real = client_factory(session)
    result = import_findings(evaluation(findings), lambda region: Unnamed(real(region), lost, bad),
                             product_account=IMPORTER)
    assert result.imported == 3 and not result.ok
    codes = {f.id: f.code for f in result.failures}
    assert codes[bad] == "InvalidInput" and len(codes) == 5
    assert {code for fid, code in codes.items() if fid != bad} == {"Unknown"}
    assert "1 failure(s) it did not name among 4 findings (3 imported)" in result.failures[-1].message


def test_unreadable_existing_findings_fail_closed(session: Any) -> None:
    import_findings(evaluation(many(3)), client_factory(session), product_account=IMPORTER)
    _refuse(session, "GetFindings")
    result = import_findings(evaluation(many(1)), client_factory(session), product_account=IMPORTER)
    assert result.imported == 1 and result.archived == 0  # nothing archived blind
    assert not result.ok and "not archived" in result.failures[0].message


# --------------------------------------------------------------------------- the doors
def own_snapshot(tmp_path: Path) -> Path:
    """The golden snapshot, moved to moto's account (the one the import runs in)."""
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(SNAPSHOT.read_text().replace("111122223333", ACCOUNT))
    return snapshot


def test_evaluate_security_hub_imports_and_exits(session: Any, tmp_path: Path, capsys: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(session)
    monkeypatch.setattr("boto3.Session", lambda profile_name=None: session)  # the CLI's session, recorded
    args = ["evaluate", str(own_snapshot(tmp_path)), "--set", "packs=[ccme]", "--format", "json", "--output",
            str(tmp_path / "r.json"), "--fail-on", "critical"]
    assert main(args) == 0  # nothing critical fails in this snapshot: 0 without the import
    assert stored(session) == {}
    recorder.calls.clear()
    assert main([*args, "--security-hub"]) == 0
    err = capsys.readouterr().err
    assert "security hub:" in err and "0 archived" in err
    report = json.loads((tmp_path / "r.json").read_text())
    exported = [f for f in report["findings"] if f["status"] != "SKIPPED"]
    assert len(stored(session)) == len(exported) > 50
    # Every operation the import made is in `iam-policy --security-hub`, and only there.
    made = {f"securityhub:{name}" for name in recorder.calls}
    assert made == set(ACTIONS)
    assert main(["iam-policy", "--pack", "ccme", "--security-hub"]) == 0
    policy = json.loads(capsys.readouterr().out)
    allowed = {a for s in policy["Statement"] for a in s["Action"]}
    assert made <= allowed
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "CcmeAuditSecurityHubImport"]
    assert sorted(statement["Action"]) == sorted(c.action for c in CALLS) and statement["Effect"] == "Allow"
    assert main(["iam-policy", "--pack", "ccme"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert not any(a.startswith("securityhub:") for s in plain["Statement"] for a in s["Action"])


def test_evaluate_exits_1_when_a_finding_is_not_imported(session: Any, tmp_path: Path, capsys: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("boto3.Session", lambda profile_name=None: session)
    _refuse(session, "BatchImportFindings")
    code = main(["evaluate", str(own_snapshot(tmp_path)), "--set", "packs=[ccme]", "--format", "json", "--output",
                 str(tmp_path / "r.json"), "--fail-on", "critical", "--security-hub"])
    assert code == 1
    err = capsys.readouterr().err
    assert "NOT imported" in err and "AccessDeniedException" in err and "Traceback" not in err
    assert (tmp_path / "r.json").is_file()  # the reports are written before the import


def test_findings_of_another_account_are_not_sent_and_reported(session: Any, tmp_path: Path, capsys: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mixed = [*many(2), make_finding(account="111122223333", resource_id="theirs")]
    result = import_findings(evaluation(mixed), client_factory(session), product_account=IMPORTER)
    assert result.imported == 2 and [f.code for f in result.failures] == ["OtherAccount"]
    assert "111122223333" in result.failures[0].message
    assert all(f["AwsAccountId"] == IMPORTER for f in stored(session).values())
    # The door: a snapshot of another account, evaluated here with --security-hub, imports nothing, exits 1.
    monkeypatch.setattr("boto3.Session", lambda profile_name=None: session)
    code = main(["evaluate", str(SNAPSHOT), "--set", "packs=[ccme]", "--format", "json", "--output",
                 str(tmp_path / "r.json"), "--fail-on", "critical", "--security-hub"])
    assert code == 1 and "OtherAccount" in capsys.readouterr().err


def test_scan_security_hub_on_a_live_account(session: Any, tmp_path: Path, capsys: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("boto3.Session", lambda profile_name=None, **_: session)
    out = tmp_path / "r.json"
    rules = tmp_path / "rules" / "ccme"  # the S3 rules only: a short scan
    rules.mkdir(parents=True)
    (rules / "s3.yaml").write_text((ROOT / "policies" / "ccme" / "s3.yaml").read_text())
    code = main(["scan", "--pack", "ccme", "--rules", str(rules.parent), "--region", REGION, "--format", "json",
                 "--output", str(out), "--security-hub"])
    assert code == 1  # an empty account fails the CCME rules
    assert "security hub:" in capsys.readouterr().err
    report = json.loads(out.read_text())
    exported = {f["id"] for f in report["findings"] if f["status"] != "SKIPPED"}
    found = stored(session)
    assert {f["ProductFields"]["ccme-audit/FindingId"] for f in found.values()} == exported
    assert {f["Compliance"]["Status"] for f in found.values()} >= {"FAILED"}


def test_an_archived_copy_keeps_only_what_the_provider_owns() -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    from auditor.securityhub import archived

    item = asff.asff_finding(mk(), account=ACCOUNT, region=REGION, at="2026-11-22T00:00:00Z", tool_version="1")
    # What GetFindings returns beyond it on AWS: fields Security Hub adds and the customers' workflow.
    item["ProductFields"]["aws/securityhub/FindingId"] = "arn:aws:securityhub:...:finding/x"
    item.update(Workflow={"Status": "NOTIFIED"}, WorkflowState="NEW", ProcessedAt="2026-11-22T00:00:01Z",
                Note={"Text": "triaged", "UpdatedBy": "alice", "UpdatedAt": "2026-11-22T00:00:00Z"})
    copy = archived(item, "2026-11-25T00:00:00.000Z")
    assert copy["RecordState"] == "ARCHIVED" and copy["UpdatedAt"] == "2026-11-25T00:00:00.000Z"
    assert not {"Workflow", "WorkflowState", "ProcessedAt", "Note"} & set(copy)
    assert not any(k.startswith("aws/") for k in copy["ProductFields"])
    assert copy["CreatedAt"] == item["CreatedAt"] and copy["Id"] == item["Id"]
    shape = botocore.session.get_session().get_service_model("securityhub").operation_model(
        "BatchImportFindings").input_shape
    assert not ParamValidator().validate({"Findings": [copy]}, shape).has_errors()


def test_every_region_of_the_findings_is_imported_in_its_own_region(session: Any) -> None:
    findings = [mk(resource_id="a"), mk(resource_id="b", region="us-east-1"), mk(resource_id="c", region=None)]
    run = Evaluation(findings=tuple(findings), account=ACCOUNT, regions=(REGION,), rules=(),
                     evaluated_at="2026-11-22T00:00:00+00:00")  # us-east-1 not listed: still imported
    result = import_findings(run, client_factory(session), product_account=IMPORTER)
    assert result.ok and result.imported == 3
    here = stored(session)
    there = {f["Id"]: f for f in session.client("securityhub", region_name="us-east-1").get_findings()["Findings"]}
    assert {f["Region"] for f in here.values()} == {REGION}  # the global finding goes to the first region
    assert any("/global/" in i for i in here) and [f["Region"] for f in there.values()] == ["us-east-1"]
    assert next(iter(there.values()))["ProductArn"].startswith("arn:aws:securityhub:us-east-1:")
