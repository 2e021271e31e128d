"""Output files (issue 26): a run that ends in bad input writes nothing (no report, no baseline) and says one line;
-o with --output-dir is bad input, not a dropped file; reports get the mode the umask gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.cli import main
from tests.iac.variants import CFN_BROKEN

SNAPSHOT = Path(__file__).parents[1] / "fixtures" / "snapshots" / "ccme-broken.json"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_2_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports, baseline = tmp_path / "reports", tmp_path / "baseline.json"
    # ASFF needs an account: SARIF and JSON, which could be made, are not written either.
    code, out, err = run(["iac", str(CFN_BROKEN), "--pack", "ccme", "-f", "sarif,json,asff", "--output-dir",
                          str(reports), "--create-baseline", str(baseline)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "asff" in err
    assert not reports.exists() and not baseline.exists()


def test_output_with_output_dir_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["evaluate", str(SNAPSHOT), "-f", "json", "-o", str(tmp_path / "r.json"),
                          "--output-dir", str(tmp_path / "d")], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--output-dir" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_reports_follow_the_umask(umask: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = os.umask(umask)
    try:
        code, _, _ = run(["evaluate", str(SNAPSHOT), "-f", "json,sarif", "--output-dir", str(tmp_path),
                          "--create-baseline", str(tmp_path / "b.json")], capsys)
    finally:
        os.umask(old)
    assert code == 0
    for name in ("report.json", "report.sarif", "b.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_output_name_keeps_scheduled_runs_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(["evaluate", str(SNAPSHOT), "-f", "json,html", "--output-dir", str(tmp_path),
                      "--output-name", "ccme-{account}-{date}"], capsys)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert code == 1 and len(names) == 2 and all(n.startswith("ccme-111122223333-20") for n in names)
    assert {Path(n).suffix for n in names} == {".json", ".html"}
    # Re-rendering the saved report under another account's pattern: the fields come from the report.
    [saved] = [p for p in tmp_path.iterdir() if p.suffix == ".json"]
    code, _, _ = run(["report", str(saved), "-f", "csv", "--output-dir", str(tmp_path / "csv"), "--output-name",
                      "{account}_{regions}"], capsys)
    assert [p.name for p in (tmp_path / "csv").iterdir()] == ["111122223333_eu-west-1.csv"]
    code, out, err = run(["evaluate", str(SNAPSHOT), "--output-dir", str(tmp_path / "x"), "--output-name",
                          "../{owner}"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--output-name" in err
    assert not (tmp_path / "x").exists()
