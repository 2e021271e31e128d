"""The gate as a pipeline lives with it (issue 26), through the real entry point: baselines (adopt, then only new
findings fail; fixed entries reported; an old suppressions file is exit 2 with how to migrate), rule selection with
wildcards, --severity, --soft-fail and --errors-fail-on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.cli import main
from tests.iac.variants import CFN_BROKEN

SNAPSHOTS = Path(__file__).parents[1] / "fixtures" / "snapshots"
ACCOUNT = ["--set", "account=111122223333", "--set", "secret_name=ccme-directory-reader"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_adopt_a_baseline_on_templates_then_only_new_findings_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "stack.yaml"
    shutil.copy(CFN_BROKEN, template)
    baseline = tmp_path / "baseline.json"
    gate = ["iac", str(template), "--pack", "ccme", *ACCOUNT, "--fail-on", "info"]

    # Today's repository fails; adopting the gate records what is there (and the adoption run passes).
    code, _, _ = run(gate, capsys)
    assert code == 1
    code, out, err = run([*gate, "--create-baseline", str(baseline)], capsys)
    doc = json.loads(baseline.read_text(encoding="utf-8"))
    assert code == 0 and doc["format"] == "ccme-audit-baseline/1" and doc["findings"]
    assert {"id", "rule", "resource", "status"} <= set(doc["findings"][0])
    assert f"ccme-audit: baseline: wrote {baseline} ({len(doc['findings'])} FAIL/ERROR findings)" in err

    # The next run with the baseline: nothing new, exit 0; the known findings show as WAIVED in every format.
    code, out, err = run([*gate, "--baseline", str(baseline), "-f", "json,sarif,junit,csv",
                          "--output-dir", str(tmp_path / "r")], capsys)
    assert code == 0 and out == ""
    assert f"ccme-audit: baseline {baseline}: 0 new, {len(doc['findings'])} in the baseline (WAIVED), 0 fixed" in err
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    waived = [f for f in report["findings"] if f["status"] == "WAIVED"]
    assert len(waived) == len(doc["findings"]) and all(f["waiver"]["kind"] == "baseline" for f in waived)
    assert not [f for f in report["findings"] if f["status"] in ("FAIL", "ERROR")]
    sarif = json.loads((tmp_path / "r" / "report.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert sum(1 for r in results if r.get("suppressions")) == len(doc["findings"])
    assert "in the baseline" in (tmp_path / "r" / "report.junit.xml").read_text(encoding="utf-8")
    assert "in the baseline" in (tmp_path / "r" / "report.csv").read_text(encoding="utf-8")

    # A change that breaks one more key: that finding alone is new and fails; fixing an old one reports it fixed.
    text = template.read_text(encoding="utf-8")
    assert text.count("EnableKeyRotation: false") == 1
    head, tail = text.replace("EnableKeyRotation: false", "EnableKeyRotation: true").split("  ClustersEbsKey:\n")
    tail = tail.replace("EnableKeyRotation: true", "EnableKeyRotation: false", 1)
    template.write_text(f"{head}  ClustersEbsKey:\n{tail}", encoding="utf-8")
    code, out, err = run([*gate, "--baseline", str(baseline), "-f", "json"], capsys)
    report = json.loads(out)
    new = [f for f in report["findings"] if f["status"] in ("FAIL", "ERROR")]
    assert code == 1 and new and all(f["context"].get("baseline") == "new" for f in new)
    assert [f["rule_id"] for f in new] == ["CCME-KMS-ROTATION-CLUSTERS-EBS"]
    assert "ccme-audit: baseline: fixed: CCME-KMS-ROTATION-" in err

    # Refresh: --create-baseline over the same file records today's findings; the run then passes again.
    code, _, err = run([*gate, "--baseline", str(baseline), "--create-baseline", str(baseline)], capsys)
    assert code == 1  # gated on the baseline it was given
    code, _, err = run([*gate, "--baseline", str(baseline)], capsys)
    assert code == 0 and " 0 new, " in err and " 0 fixed" in err


def test_a_baseline_on_snapshots_and_a_report_as_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = tmp_path / "b.json"
    code, _, _ = run(["evaluate", str(SNAPSHOTS / "ccme-broken.json"), "--create-baseline", str(baseline)], capsys)
    assert code == 0
    code, _, err = run(["evaluate", str(SNAPSHOTS / "ccme-compliant.json"), "--baseline", str(baseline)], capsys)
    assert code == 0 and " fixed\n" in err and "ccme-audit: baseline: fixed: CCME-" in err
    code, _, err = run(["evaluate", str(SNAPSHOTS / "ccme-all-wrong.json"), "--baseline", str(baseline)], capsys)
    assert code == 1 and "ccme-audit: baseline " in err and " 0 new," not in err
    # A previous JSON report is a baseline too (its FAIL and ERROR findings), and `report` re-gates offline.
    previous = tmp_path / "previous.json"
    run(["evaluate", str(SNAPSHOTS / "ccme-broken.json"), "-f", "json", "-o", str(previous)], capsys)
    code, _, _ = run(["evaluate", str(SNAPSHOTS / "ccme-broken.json"), "--baseline", str(previous)], capsys)
    assert code == 0
    code, _, _ = run(["report", str(previous)], capsys)
    assert code == 1
    code, out, _ = run(["report", str(previous), "--baseline", str(baseline)], capsys)
    assert code == 0 and "WAIVED" in out


def test_an_old_suppressions_file_given_to_baseline_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "baseline.yaml"
    old.write_text("suppressions:\n  - rule: CCME-S3-*\n    resource: '*'\n    reason: legacy\n"
                   "    expires: 2999-01-01\n", encoding="utf-8")
    out_file = tmp_path / "r.json"
    code, out, err = run(["iac", str(CFN_BROKEN), "--pack", "ccme", *ACCOUNT, "--baseline", str(old),
                          "-f", "json", "-o", str(out_file)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and not out_file.exists()
    assert f"--suppressions {old}" in err and "--create-baseline" in err
    # ... and keeps working under its own option.
    code, out, _ = run(["iac", str(CFN_BROKEN), "--pack", "ccme", *ACCOUNT, "--suppressions", str(old),
                        "-f", "json"], capsys)
    s3 = [f for f in json.loads(out)["findings"] if f["rule_id"].startswith("CCME-S3-")
          and f["status"] in ("FAIL", "ERROR", "WAIVED")]
    assert s3 and all(f["status"] == "WAIVED" for f in s3)


def test_check_and_skip_check_select_rules_with_wildcards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = str(SNAPSHOTS / "ccme-broken.json")
    code, out, _ = run(["evaluate", snap, "-f", "json", "--check", "CCME-S3-*", "--skip-check", "CCME-S3-PAB-*"],
                       capsys)
    ids = {f["rule_id"] for f in json.loads(out)["findings"]}
    assert code == 1 and ids and all(i.startswith("CCME-S3-") and not i.startswith("CCME-S3-PAB-") for i in ids)
    # The configuration's keys, replaced by the flags.
    config = tmp_path / "ccme-audit.yaml"
    config.write_text("check: [CCME-KMS-ROTATION-*]\n", encoding="utf-8")
    code, out, _ = run(["evaluate", snap, "-f", "json", "--config", str(config)], capsys)
    assert {f["rule_id"][:18] for f in json.loads(out)["findings"]} == {"CCME-KMS-ROTATION-"}
    code, out, _ = run(["evaluate", snap, "-f", "json", "--config", str(config), "--check", "CCME-VPC-*"], capsys)
    assert all(f["rule_id"].startswith("CCME-VPC-") for f in json.loads(out)["findings"])
    # A pattern that selects nothing is a typo: exit 2, one line.
    code, out, err = run(["evaluate", snap, "--skip-check", "CCME-S4-*"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--skip-check" in err and "CCME-S4-*" in err


def test_severity_filters_what_is_shown_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    snap = str(SNAPSHOTS / "ccme-broken.json")
    code, out, _ = run(["evaluate", snap, "-f", "json", "--severity", "critical,high"], capsys)
    doc = json.loads(out)
    assert code == 1 and {f["severity"] for f in doc["findings"]} <= {"critical", "high"}
    assert doc["summary"]["failing_by_severity"]["medium"] == 0
    code, _, _ = run(["evaluate", snap, "--severity", "info"], capsys)
    assert code == 0  # the broken snapshot has no failing info finding
    code, _, err = run(["evaluate", snap, "--severity", "urgent"], capsys)
    assert code == 2 and "--severity" in err and err.count("\n") == 1


def test_soft_fail_exits_0_on_findings_but_2_on_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    snap = str(SNAPSHOTS / "ccme-broken.json")
    code, out, err = run(["evaluate", snap, "--soft-fail"], capsys)
    assert code == 0 and "FAIL" in out and "--soft-fail: exit 0" in err
    code, _, _ = run(["evaluate", str(SNAPSHOTS / "nope.json"), "--soft-fail"], capsys)
    assert code == 2
    code, _, _ = run(["evaluate", snap, "--soft-fail", "--fail-on", "urgent"], capsys)
    assert code == 2


def test_errors_gated_apart_from_fails(capsys: pytest.CaptureFixture[str]) -> None:
    denied = str(SNAPSHOTS / "ccme-denied.json")
    code, out, _ = run(["evaluate", denied, "-f", "json"], capsys)
    doc = json.loads(out)
    errors = doc["summary"]["by_status"]["ERROR"]
    assert code == 1 and errors > 0  # the default stays fail-closed
    code, out, err = run(["evaluate", denied, "--errors-fail-on", "never", "--fail-on", "critical"], capsys)
    assert code == (1 if any(f["status"] == "FAIL" and f["severity"] == "critical" for f in doc["findings"]) else 0)
    assert f"ccme-audit: gate: {errors} ERROR finding(s) reported, not gated (--errors-fail-on never)" in err
    code, _, err = run(["evaluate", denied, "--errors-fail-on", "sometimes"], capsys)
    assert code == 2 and "--errors-fail-on" in err


def test_baseline_ids_do_not_depend_on_how_the_path_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded with an absolute path from one directory, checked with a relative one from a checkout elsewhere:
    the ids are the SARIF fingerprints (the path relative to the working directory)."""
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        (root / "infra").mkdir(parents=True)
        shutil.copy(CFN_BROKEN, root / "infra" / "stack.yaml")
    baseline = tmp_path / "baseline.json"
    monkeypatch.chdir(first)
    code, _, _ = run(["iac", str(first / "infra"), "--pack", "ccme", *ACCOUNT, "--create-baseline", str(baseline)],
                     capsys)
    code, out, _ = run(["iac", str(first / "infra"), "--pack", "ccme", *ACCOUNT, "-f", "sarif"], capsys)
    fingerprints = {r["partialFingerprints"]["ccmeFindingId/v1"] for r in json.loads(out)["runs"][0]["results"]
                    if r["level"] != "none"}
    recorded = {e["id"] for e in json.loads(baseline.read_text(encoding="utf-8"))["findings"]}
    assert recorded and recorded <= fingerprints
    monkeypatch.chdir(second)
    code, _, err = run(["iac", "infra", "--pack", "ccme", *ACCOUNT, "--baseline", str(baseline)], capsys)
    assert code == 0 and " 0 new, " in err and " 0 fixed" in err


def test_scan_previous_only_new_gates_on_what_is_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scheduled scan on moto: --previous REPORT --only-new fails only on findings the previous run did not have."""
    from auditor.demo.account import seed_ccme_account
    from tests.collect.helpers import REGION, moto_account
    from tests.collect.test_end_to_end import kms_s3_rules

    rules = kms_s3_rules(tmp_path)
    with moto_account() as session:
        seeded = seed_ccme_account(session, REGION, faults=True)
        sets = [a for k, v in seeded.config_overrides() for a in ("--set", f"{k}={json.dumps(v)}")
                if not isinstance(v, dict)]
        base = ["scan", "--rules", str(rules), "--pack", "ccme", "--region", REGION, *sets]
        first = tmp_path / "first.json"
        assert main([*base, "--format", "json", "--output", str(first)]) == 1
        capsys.readouterr()
        code, _, err = run([*base, "--previous", str(first), "--only-new"], capsys)
        assert code == 0 and " 0 new, " in err
        session.client("s3").put_bucket_versioning(Bucket=seeded.buckets["internals"],
                                                   VersioningConfiguration={"Status": "Suspended"})
        code, out, err = run([*base, "--previous", str(first), "--only-new", "-f", "json"], capsys)
    new = [f["rule_id"] for f in json.loads(out)["findings"] if f["status"] in ("FAIL", "ERROR")]
    assert code == 1 and new == ["CCME-S3-VERSIONING-INTERNALS"] and " 1 new, " in err
    assert "NEW FAILURES (1)" in err
    code, _, err = run(["scan", "--only-new", "--region", REGION], capsys)
    assert code == 2 and "--previous REPORT.json" in err


CUSTOM_RULE = """rules:
  - id: ACME-S3-TAGGED
    title: the logging bucket is versioned (a team's own rule)
    severity: high
    source: {document: test, section: s}
    resource_type: s3.bucket
    assert: {equals: {path: versioning, value: Enabled}}
"""


def test_custom_rules_add_to_the_shipped_packs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "acme", tmp_path / "more"
    (first / "acme").mkdir(parents=True)
    (first / "acme" / "s3.yaml").write_text(CUSTOM_RULE, encoding="utf-8")
    (second / "beta").mkdir(parents=True)
    (second / "beta" / "s3.yaml").write_text(CUSTOM_RULE.replace("ACME-", "BETA-"), encoding="utf-8")
    snap = str(SNAPSHOTS / "ccme-broken.json")
    code, out, _ = run(["evaluate", snap, "-f", "json", "--rules", str(first), "--rules", str(second)], capsys)
    packs = {f["pack"] for f in json.loads(out)["findings"]}
    assert code == 1 and {"ccme", "acme", "beta"} <= packs  # the shipped pack still runs beside both
    code, out, _ = run(["rules", "list", "--format", "json", "--rules", str(first)], capsys)
    ids = {r["id"] for r in json.loads(out)}
    assert "ACME-S3-TAGGED" in ids and "CCME-KMS-ALIAS-CLOUDWATCH" in ids
    # A configured pack found nowhere is bad input, not skipped without a word.
    config = tmp_path / "c.yaml"
    config.write_text("packs: [ccme, acme-missing]\n", encoding="utf-8")
    code, out, err = run(["evaluate", snap, "--config", str(config), "--rules", str(first)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "acme-missing" in err
    code, out, err = run(["iac", str(CFN_BROKEN), "--config", str(config), "--rules", str(first)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "acme-missing" in err
    code, _, err = run(["evaluate", snap, "--rules", str(tmp_path / "nope")], capsys)
    assert code == 2 and "nope" in err


def test_many_accounts_gate_on_a_previous_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An organization-style scan (moto): the previous run's JSON report is the baseline, so only findings new in
    any account fail; --check selects rules for every account."""
    from auditor.multi.orchestrate import assume_session
    from tests.collect.helpers import REGION, moto_account

    member, other = "111111111111", "222222222222"
    rules = tmp_path / "rules" / "ccme"
    rules.mkdir(parents=True)
    shutil.copy(Path(__file__).parents[2] / "policies" / "ccme" / "s3.yaml", rules / "s3.yaml")
    (tmp_path / "accounts.yaml").write_text(f"accounts: ['{member}', '{other}']\n", encoding="utf-8")
    from auditor.demo.account import seed_ccme_account

    with moto_account() as session:
        seed = seed_ccme_account(assume_session(session.client("sts"), member, "Audit", region=REGION), REGION)
        base = ["scan", "--accounts", str(tmp_path / "accounts.yaml"), "--role-name", "Audit", "--regions", REGION,
                "--rules", str(tmp_path / "rules"), "--check", "CCME-S3-*", "--skip-check", "CCME-S3-ACCOUNT-*",
                *[a for k in ("logging", "internals", "userdata") for a in ("--set", f"buckets.{k}={seed.buckets[k]}")]]
        last = tmp_path / "last.json"
        code, _, err = run([*base, "-f", "json", "-o", str(last)], capsys)
        assert code == 1, err
        assert not [f for f in json.loads(last.read_text())["findings"] if f["rule_id"].startswith("CCME-S3-ACCOUNT")]
        code, _, err = run([*base, "--baseline", str(last)], capsys)
        assert code == 0 and " 0 new, " in err
        member_s3 = assume_session(session.client("sts"), member, "Audit", region=REGION).client("s3")
        member_s3.put_bucket_versioning(Bucket=seed.buckets["internals"],
                                        VersioningConfiguration={"Status": "Suspended"})
        code, out, err = run([*base, "--baseline", str(last), "-f", "json"], capsys)
    new = [(f["account"], f["rule_id"]) for f in json.loads(out)["findings"] if f["status"] in ("FAIL", "ERROR")]
    assert code == 1 and new == [(member, "CCME-S3-VERSIONING-INTERNALS")] and " 1 new, " in err
