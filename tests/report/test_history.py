"""Rule history in the HTML report: past JSON reports from a folder or the Lambda's S3 prefix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from auditor.cli import main
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Status
from auditor.errors import InputError
from auditor.report import history, jsonfmt
from auditor.report import html as html_report
from tests.report.conftest import HOSTILE, make_finding, with_status

T = ["2026-11-20T06:00:00+00:00", "2026-11-21T06:00:00+00:00", "2026-11-22T06:00:00+00:00",
     "2026-11-23T06:00:00+00:00"]


def evaluation(at: str, *findings: Finding) -> Evaluation:
    return Evaluation(findings=tuple(findings), account="111122223333", regions=("eu-west-1",), rules=(),
                      evaluated_at=at)


def f(resource: str, status: Status, rule: str = "CCME-TEST-RULE") -> Finding:
    return with_status(make_finding(rule_id=rule, resource_id=resource), status)


def scenario() -> list[Evaluation]:
    """CCME-TEST-RULE: PASS, PASS, FAIL (bucket-b broke on the 22nd), FAIL; STABLE: PASS throughout;
    NEW-RULE appears in the last report; the hostile rule id FAILs, then PASSes."""
    return [
        evaluation(T[0], f("bucket-a", Status.PASS), f("bucket-b", Status.PASS), f("x", Status.PASS, "STABLE"),
                   f("h", Status.FAIL, HOSTILE)),
        evaluation(T[1], f("bucket-a", Status.PASS), f("bucket-b", Status.PASS), f("x", Status.PASS, "STABLE"),
                   f("h", Status.PASS, HOSTILE)),
        evaluation(T[2], f("bucket-a", Status.PASS), f("bucket-b", Status.FAIL), f("x", Status.PASS, "STABLE"),
                   f("h", Status.PASS, HOSTILE)),
        evaluation(T[3], f("bucket-a", Status.PASS), f("bucket-b", Status.FAIL), f("x", Status.PASS, "STABLE"),
                   f("h", Status.PASS, HOSTILE), f("y", Status.ERROR, "NEW-RULE")),
    ]


def write_folder(root: Path, evaluations: list[Evaluation]) -> Path:
    for index, item in enumerate(evaluations):
        folder = root / f"2026/11/{20 + index}/060000Z"
        folder.mkdir(parents=True)
        (folder / "report.json").write_text(jsonfmt.render(item))
        (folder / "changes.json").write_text("{}")  # the Lambda's other files are not reports
    return root


def test_each_rule_and_finding_last_change() -> None:
    *past, current = scenario()
    points = [history.point(e, f"r{i}") for i, e in enumerate(past)]
    got = history.build(points, current, "DIR")
    rules = {r.rule_id: r for r in got.rules}
    assert got.reports == 3 and got.first == T[0]
    assert rules["CCME-TEST-RULE"].change == history.Change(at=T[2], before="PASS", after="FAIL")
    assert rules["CCME-TEST-RULE"].state == "FAIL" and rules["CCME-TEST-RULE"].since == T[2]
    assert rules["STABLE"].change is None and rules["STABLE"].since == T[0] and rules["STABLE"].evaluations == 4
    assert rules["NEW-RULE"].change == history.Change(at=T[3], before="ABSENT", after="ERROR")
    assert rules[HOSTILE].change == history.Change(at=T[1], before="FAIL", after="PASS")
    by_resource = {fd.resource_id: got.findings[fd.id] for fd in current.findings}
    assert by_resource["bucket-a"] is None
    assert by_resource["bucket-b"] == history.Change(at=T[2], before="PASS", after="FAIL")


def test_a_past_report_at_the_current_time_is_not_counted_twice() -> None:
    *past, current = scenario()
    got = history.build([history.point(e, str(i)) for i, e in enumerate([*past, current])], current, "DIR")
    assert got.reports == 3


def test_html_history_section_and_finding_details_escaped(tmp_path: Path) -> None:
    *past, current = scenario()
    folder = write_folder(tmp_path / "past", past)
    (tmp_path / "current.json").write_text(jsonfmt.render(current))
    out = tmp_path / "report.html"
    code = main(["report", str(tmp_path / "current.json"), "--format", "html", "--output", str(out),
                 "--history", str(folder)])
    assert code == 1  # bucket-b FAILs
    page = out.read_text()
    section = page[page.index('<section id="history">'):page.index("</section>", page.index('id="history"'))]
    rows = {re.sub(r"\|+", "|", re.sub(r"<[^>]+>", "|", row)).strip("|"): row
            for row in re.findall(r"<tr><td class=\"rid\">.*?</tr>", section)}
    assert "CCME-TEST-RULE|FAIL|2026-11-22T06:00:00+00:00|PASS|FAIL|4" in rows
    assert any(r.startswith("STABLE|PASS|no change since 2026-11-20T06:00:00+00:00|4") for r in rows)
    assert "From 3 past reports" in section
    assert HOSTILE not in page and "<img src=x" not in page and str(escape(HOSTILE)) in section
    data = json.loads(page.split('<script type="application/json" id="ccme-data">')[1].split("</script>")[0])
    details = {d["x"]: d["h"] for d in data["findings"]}
    assert details["bucket-b"] == "FAIL since 2026-11-22T06:00:00+00:00 (was PASS)"
    assert details["bucket-a"] == "PASS in every report read since 2026-11-20T06:00:00+00:00"


def test_without_history_the_page_has_no_history_section(tmp_path: Path) -> None:
    page = html_report.render(scenario()[-1])
    assert 'id="history"' not in page and '"h":' not in page


@pytest.mark.parametrize(("content", "expect"), [
    ("{not json", "report.json"),
    (json.dumps({"report_version": 1, "findings": []}), "report.json"),
    (json.dumps({"resources": []}), "not a ccme-audit JSON report"),
    (json.dumps({"report_version": 1, "evaluated_at": T[0], "findings": [
        {"id": "0123456789abcdef", "rule_id": "R", "status": "MAYBE"}]}), "/findings/0/status"),
    (json.dumps({"report_version": 1, "evaluated_at": "yesterday", "findings": []}), "/evaluated_at"),
])
def test_a_malformed_past_report_is_one_line_exit_2(tmp_path: Path, capsys, content: str, expect: str) -> None:
    *past, current = scenario()
    folder = write_folder(tmp_path / "past", past)
    (folder / "2026/11/20/060000Z/report.json").write_text(content)
    (tmp_path / "current.json").write_text(jsonfmt.render(current))
    out = tmp_path / "report.html"
    code = main(["report", str(tmp_path / "current.json"), "--format", "html", "--output", str(out),
                 "--history", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and expect in err and "Traceback" not in err
    assert "2026/11/20/060000Z/report.json" in err
    assert not out.exists()  # nothing written half-way


def test_an_empty_or_missing_history_folder_is_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "current.json").write_text(jsonfmt.render(scenario()[-1]))
    (tmp_path / "empty").mkdir()
    for folder, expect in ((tmp_path / "empty", "no JSON report"), (tmp_path / "nope", "no such directory")):
        code = main(["report", str(tmp_path / "current.json"), "--format", "html", "--history", str(folder)])
        err = capsys.readouterr().err
        assert code == 2 and expect in err and "--history" in err


def test_history_from_the_lambdas_s3_prefix(tmp_path: Path) -> None:
    from tests.collect.helpers import REGION, moto_account

    *past, current = scenario()
    with moto_account() as session:
        s3 = session.client("s3")
        s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
        for index, item in enumerate(past):  # the Lambda's layout: PREFIX/ACCOUNT/REGIONS/Y/M/D/HHMMSSZ/
            base = f"audits/111122223333/eu-west-1/2026/11/{20 + index}/060000Z/"
            s3.put_object(Bucket="reports", Key=base + "report.json", Body=jsonfmt.render(item).encode())
            s3.put_object(Bucket="reports", Key=base + "changes.json", Body=b"{}")
        s3.put_object(Bucket="reports", Key="audits/111122223333/eu-west-1/latest/report.json",
                      Body=jsonfmt.render(past[-1]).encode())
        points = history.load("s3://reports/audits", client=s3)
        assert sorted(p.at for p in points) == T[:3]  # latest/ repeats the newest dated report: skipped
        got = history.build(points, current, "s3://reports/audits")
        assert {r.rule_id: r.change for r in got.rules}["CCME-TEST-RULE"].at == T[2]
        s3.put_object(Bucket="reports", Key="audits/111122223333/eu-west-1/2026/11/24/060000Z/report.json",
                      Body=b"{broken")
        with pytest.raises(InputError, match=r"s3://reports/audits/.*/2026/11/24/060000Z/report.json"):
            history.load("s3://reports/audits", client=s3)
        with pytest.raises(InputError, match="NoSuchBucket"):
            history.load("s3://missing-bucket/x", client=s3)


def test_the_newest_reports_are_kept_by_evaluated_at_not_by_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the limit, the history keeps the newest reports by their evaluated_at: per-account names sort by
    account, not by time (issue 26)."""
    monkeypatch.setattr(history, "MAX_REPORTS", 2)
    *past, current = scenario()
    folder = tmp_path / "past"
    folder.mkdir()
    # Names that sort opposite to time: the newest report has the smallest name.
    for index, item in enumerate(past):
        (folder / f"{9 - index}-report.json").write_text(jsonfmt.render(item))
    points = history.load(str(folder))
    assert sorted(p.at for p in points) == [T[1], T[2]]
    (tmp_path / "current.json").write_text(jsonfmt.render(current))
    out = tmp_path / "report.html"
    code = main(["report", str(tmp_path / "current.json"), "--format", "html", "--output", str(out),
                 "--history", str(folder)])
    assert code == 1 and "From 2 past reports" in out.read_text()
