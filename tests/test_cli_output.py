"""Output conventions through the real entry point (`auditor.cli.main`, and `python -m auditor` on a
pseudo-terminal for colour): stdout, stderr and the exit code."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main

ROOT = Path(__file__).resolve().parents[1]
BAD_CLUSTER = str(ROOT / "examples" / "parallelcluster" / "cluster-bad.yaml")
STATUS_RANK = {"FAIL": 0, "ERROR": 1, "WAIVED": 2, "SKIPPED": 3, "PASS": 4}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout, and stderr less the line naming the configuration read (tested in tests/ci)."""
    code = main(argv)
    out, err = capsys.readouterr()
    err = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("ccme-audit: configuration:"))
    return code, out, err


def finding_lines(out: str) -> list[tuple[str, str]]:
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in STATUS_RANK:
            rows.append((parts[0], parts[1]))
    return rows


def test_text_is_ordered_by_status_then_severity_and_collapses_pass_and_skipped(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["iac", BAD_CLUSTER], capsys)
    assert code == 1 and err == ""
    rows = finding_lines(out)
    assert rows and rows[0][0] == "FAIL"
    keys = [(STATUS_RANK[s], SEVERITY_RANK[v]) for s, v in rows]
    assert keys == sorted(keys)
    assert {s for s, _ in rows} <= {"FAIL", "ERROR", "WAIVED"}
    report = json.loads(run(["iac", BAD_CLUSTER, "-f", "json"], capsys)[1])
    statuses = [f["status"] for f in report["findings"]]
    passed, skipped = statuses.count("PASS"), statuses.count("SKIPPED")
    assert passed and skipped
    assert f"not listed: {passed} pass, {skipped} skipped (--show pass,skipped lists them)" in out
    assert out.rstrip().splitlines()[-1].startswith("summary: ")


def test_show_lists_what_is_asked_and_quiet_prints_the_summary_only(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["iac", BAD_CLUSTER, "--show", "pass,skipped"], capsys)
    rows = finding_lines(out)
    assert {"PASS", "SKIPPED", "FAIL"} <= {s for s, _ in rows}
    assert "not listed" not in out
    keys = [(STATUS_RANK[s], SEVERITY_RANK[v]) for s, v in rows]
    assert keys == sorted(keys)
    _, only_skipped, _ = run(["iac", BAD_CLUSTER, "--show", "skipped"], capsys)
    assert "PASS" not in {s for s, _ in finding_lines(only_skipped)} and "not listed: 2 pass (" in only_skipped
    code, quiet, err = run(["iac", BAD_CLUSTER, "--quiet"], capsys)
    assert code == 1 and err == ""
    assert quiet.count("\n") == 1 and quiet.startswith("summary: ")
    code, _, err = run(["iac", BAD_CLUSTER, "--show", "passed"], capsys)
    assert code == 2 and "--show: unknown status 'passed'" in err


def test_output_dir_prints_the_summary_and_each_file_on_stderr(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["iac", BAD_CLUSTER, "-f", "json,sarif", "--output-dir", str(tmp_path)], capsys)
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("summary: ") and "fail" in lines[0]
    assert lines[1:] == [f"wrote {tmp_path / 'report.json'}", f"wrote {tmp_path / 'report.sarif'}"]
    code, out, err = run(["iac", BAD_CLUSTER, "-f", "json", "-o", str(tmp_path / "r.json"), "-q"], capsys)
    assert code == 1 and out == "" and err.startswith("summary: ") and err.count("\n") == 1


def _on_a_terminal(*argv: str, **env: str) -> str:
    """Run `python -m auditor` with stdout on a pseudo-terminal; what it printed there."""
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    base.update(PYTHONPATH=str(ROOT), TERM="xterm", **env)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "auditor", *argv], stdout=follower, stderr=subprocess.PIPE,
                            env=base, cwd=ROOT)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_follows_no_color_and_the_flag() -> None:
    assert "\x1b[31m" in _on_a_terminal("iac", BAD_CLUSTER)
    assert "\x1b[" not in _on_a_terminal("iac", BAD_CLUSTER, NO_COLOR="1")
    assert "\x1b[" not in _on_a_terminal("iac", BAD_CLUSTER, "--color", "never")


def test_color_always_colours_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["iac", BAD_CLUSTER, "--color", "always"], capsys)
    assert "\x1b[31mFAIL" in out
    _, out, _ = run(["iac", BAD_CLUSTER], capsys)
    assert "\x1b[" not in out


@pytest.mark.parametrize("command", [["iac", BAD_CLUSTER], ["demo", "--output-dir", "unused"],
                                     ["evaluate", "unused.json"], ["scan"]])
def test_an_unknown_region_is_bad_input_with_the_closest_name(command: list[str], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*command, "--region", "eu-wst-1"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("ccme-audit: error: --region: unknown region 'eu-wst-1' (fix: did you mean eu-west-1?")
    assert not (tmp_path / "unused").exists()


def test_opt_in_and_other_partition_regions_are_known(capsys: pytest.CaptureFixture[str]) -> None:
    for region in ("ap-southeast-5", "me-central-1", "cn-north-1", "us-gov-west-1"):
        code, _, err = run(["iac", BAD_CLUSTER, "--region", region, "-q"], capsys)
        assert code == 1 and err == "", (region, err)


def test_a_configured_region_typo_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "ccme-audit.yaml"
    config.write_text("regions: [eu-west-1, us-est-1]\n")
    code, out, err = run(["iac", BAD_CLUSTER, "--config", str(config)], capsys)
    assert code == 2 and out == ""
    assert f"{config}: /regions/1: unknown region 'us-est-1' (fix: did you mean us-east-1?" in err


def test_help_shows_no_bool_type_on_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["iac"], ["scan"], ["evaluate"], ["demo"]):
        code, out, _ = run([*command, "--help"], capsys)
        assert code == 0
        assert "<bool>" not in out and "<list[" not in out
        assert "--quiet" in out or command == ["demo"]


def test_the_demo_self_test_passes_only_on_exactly_the_planted_faults(capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from auditor.demo.run import self_test
    from auditor.engine.findings import Status
    from auditor.report.common import load_report

    evaluation = load_report(ROOT / "tests" / "golden" / "expected" / "report.json")
    failed = {f.rule_id for f in evaluation.findings if f.status is Status.FAIL}
    assert not self_test(evaluation, failed)  # the golden report also has ERRORs
    assert "self-test: FAILED: ERROR: CCME-KMS-KEY-LAMBDA" in capsys.readouterr().out
    no_errors = dataclasses.replace(
        evaluation, findings=tuple(f for f in evaluation.findings if f.status is not Status.ERROR))
    assert self_test(no_errors, failed | {"NOT-SELECTED-RULE"})
    assert capsys.readouterr().out.startswith("self-test: passed:")
    one = sorted(failed)[0]
    passing = sorted({r.id for r in evaluation.rules} - failed)[0]
    assert not self_test(no_errors, failed - {one} | {passing})
    out = capsys.readouterr().out
    assert f"unexpected FAIL: {one}" in out and f"missed: {passing}" in out


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ccme-audit.yaml"
    path.write_text(text)
    return str(path)


WAIVER = '  - {{rule: "{}", resource: "*", reason: "accepted until the key is replaced", expires: "2099-01-01"}}\n'


@pytest.mark.parametrize(("rule", "hint"), [
    ("CCME-KMS-ROTATON-*", "did you mean CCME-KMS-ROTATION-* (CCME-KMS-ROTATION-CLOUDWATCH"),
    ("BBP-SG-NO-WORLD-INGRES", "did you mean BBP-SG-NO-WORLD-INGRESS"),  # a pack not selected still counts
    ("CCME-DOES-NOT-EXIST", "did you mean CCME-"),
])
def test_a_waiver_naming_no_rule_is_bad_input(rule: str, hint: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "waivers:\n" + WAIVER.format("CCME-KMS-ROTATION-*") + WAIVER.format(rule))
    for argv in (["iac", BAD_CLUSTER], ["evaluate", str(ROOT / "tests/fixtures/snapshots/ccme-broken.json")]):
        code, out, err = run([*argv, "--config", config], capsys)
        assert code == 2 and out == "", err
        assert err.startswith(f"ccme-audit: error: {config}: /waivers/1/rule: waiver rule '{rule}' matches no rule "
                              "of any pack (fix: " + hint), err


def test_a_waiver_of_another_pack_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "waivers:\n" + WAIVER.format("BBP-SG-NO-WORLD-INGRESS"))
    code, _, err = run(["iac", BAD_CLUSTER, "--config", config, "-q"], capsys)
    assert code == 1 and err == ""


def test_a_configuration_typo_says_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "bukets:\n  logging: x\nkms_prefx: ab\n")
    code, out, err = run(["iac", BAD_CLUSTER, "--config", config], capsys)
    assert code == 2 and out == ""
    assert "did you mean buckets for bukets, kms_prefix for kms_prefx?" in err
    config = _config(tmp_path, "buckets:\n  loging: x\n")
    code, _, err = run(["iac", BAD_CLUSTER, "--config", config], capsys)
    assert code == 2 and f"{config}: /buckets: " in err and "did you mean logging for loging?" in err


def test_rules_validate_reports_every_problem_in_file_order(capsys: pytest.CaptureFixture[str]) -> None:
    folder = ROOT / "tests" / "fixtures" / "rules_many_errors"
    code, out, err = run(["rules", "validate", str(folder)], capsys)
    assert code == 2 and out == ""
    lines = err.splitlines()
    file = str(folder / "pk" / "a.yaml")
    assert all(line.startswith(f"ccme-audit: error: {file}: rule ") for line in lines[:-1])
    rules = [line.split(": rule ", 1)[1].split(",")[0].split(":")[0] for line in lines[:-1]]
    assert rules == ["T-TWO", "T-TWO", "t-three", "T-FOUR", "T-ONE"]  # the order they are written in
    assert "'sourc' was unexpected" in lines[0] and "'source' is a required property" in lines[1]
    assert "unknown resource type 's3.buckt'" in lines[3] and "duplicate rule id T-ONE" in lines[4]
    assert lines[-1] == "ccme-audit: 5 problems in 1 rule file(s)"


def test_evaluate_uses_the_configuration_the_snapshot_recorded(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.app.pipeline import recorded_config
    from auditor.config import load_config

    data = json.loads((ROOT / "tests/fixtures/snapshots/ccme-broken.json").read_text())
    recorded = recorded_config(load_config(Path(os.devnull), [("kms_prefix", "zz"), ("secret_name", "x/y")]))
    data["source"].setdefault("options", {})["config"] = recorded
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(data))

    def params(*extra: str) -> tuple[dict[str, object], str]:
        code, out, err = run(["evaluate", str(snapshot), "-f", "json", "--pack", "ccme", *extra], capsys)
        assert code == 1
        return json.loads(out)["findings"][0]["context"]["params"], err

    used, err = params()
    assert used["kms_prefix"] == "zz" and used["secret_name"] == "x/y" and err == ""
    assert main(["evaluate", str(snapshot), "-f", "json", "--pack", "ccme"]) == 1
    told = capsys.readouterr().err
    assert told == ("ccme-audit: configuration: the configuration recorded in the snapshot "
                    "(--config FILE to use another)\n")
    assert params("--set", "kms_prefix=yy")[0]["kms_prefix"] == "yy"  # a flag still wins
    told, err = params("--config", os.devnull)  # told otherwise: the file named, not the recording
    assert told["kms_prefix"] == "ccme" and err == ""
