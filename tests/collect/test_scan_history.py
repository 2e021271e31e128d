"""scan --history: the past reports are read before the scan (a bad folder is exit 2 at once), and the HTML
report of the scan shows when each rule last changed state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Status
from auditor.report import jsonfmt
from tests.collect.helpers import REGION, moto_account
from tests.report.conftest import make_finding, with_status

ROOT = Path(__file__).resolve().parents[2]


def _rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules" / "ccme"  # the S3 rules only: a short scan
    rules.mkdir(parents=True)
    (rules / "s3.yaml").write_text((ROOT / "policies" / "ccme" / "s3.yaml").read_text())
    return rules.parent


def _args(tmp_path: Path, out: Path, history: Path) -> list[str]:
    return ["scan", "--pack", "ccme", "--rules", str(_rules(tmp_path)), "--region", REGION, "--format", "html",
            "--output", str(out), "--history", str(history)]


def test_scan_history_reaches_the_html_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_account() as session:
        monkeypatch.setattr("boto3.Session", lambda profile_name=None, **_: session)
        account = session.client("sts").get_caller_identity()["Account"]
        folder = tmp_path / "past" / "2026/01/01/060000Z"
        folder.mkdir(parents=True)
        past = Evaluation(findings=(with_status(make_finding(rule_id="CCME-S3-EXISTS-LOGGING", account=account),
                                                Status.PASS),),
                          account=account, regions=(REGION,), rules=(), evaluated_at="2026-01-01T06:00:00+00:00")
        (folder / "report.json").write_text(jsonfmt.render(past))
        out = tmp_path / "report.html"
        assert main(_args(tmp_path, out, tmp_path / "past")) == 1  # an empty account fails the CCME rules
    page = out.read_text()
    assert '<section id="history">' in page and "2026-01-01" in page


def test_scan_with_a_bad_history_folder_is_exit_2_before_any_call(tmp_path: Path, capsys: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def no_session(*_: Any, **__: Any) -> Any:
        raise AssertionError("the scan started before --history was read")

    monkeypatch.setattr("boto3.Session", no_session)
    (tmp_path / "empty").mkdir()
    out = tmp_path / "report.html"
    code = main(_args(tmp_path, out, tmp_path / "empty"))
    err = capsys.readouterr().err
    assert code == 2 and "no JSON report" in err and "--history" in err and not out.exists()
    assert err.count("\n") == 1 and "Traceback" not in err  # one line naming the fix, not a traceback
