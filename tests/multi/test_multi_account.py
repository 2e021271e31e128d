"""Multi-account scans on moto: assumed roles land in their account, a refused role is ERROR, never skipped."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from auditor.cli import main
from auditor.config import load_config
from auditor.demo.account import seed_ccme_account
from auditor.demo.run import _stub_not_mocked, offline_guard
from auditor.engine.findings import Status, finding_id
from auditor.engine.rules import load_rules
from auditor.errors import InputError
from auditor.multi.orchestrate import assume_session, scan_accounts
from auditor.multi.targets import Target, organization_targets, parse_regions, parse_targets
from tests.collect.helpers import REGION, moto_account

HOME = "123456789012"  # moto's default account
MEMBER = "111111111111"
DENIED = "222222222222"
ROOT = Path(__file__).parents[2]


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def deny_assume_into(session: boto3.Session, account: str) -> None:
    """sts:AssumeRole into `account` answers AccessDenied (the trust policy refuses us)."""

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        if f"iam%3A%3A{account}%3Arole" not in body:
            return None
        xml = (b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to "
               b"perform sts:AssumeRole</Message></Error></ErrorResponse>")
        return AWSResponse(request.url, 403, {"Content-Type": "text/xml"}, _Raw(xml))

    session.events.register("before-send.sts.AssumeRole", answer)


@pytest.fixture
def accounts() -> Iterator[tuple[boto3.Session, Any]]:
    with moto_account() as session:
        member = assume_session(session.client("sts"), MEMBER, "CcmeAuditRole", region=REGION)
        seeded = seed_ccme_account(member, REGION, faults=True)
        deny_assume_into(session, DENIED)
        yield session, seeded


def test_role_assumption_lands_in_each_account_and_a_refused_role_is_an_error_set(accounts: Any) -> None:
    session, seeded = accounts
    assert seeded.account == MEMBER
    # The member's buckets exist in the member account only.
    assert not [b for b in session.client("s3").list_buckets()["Buckets"] if b["Name"].startswith("ucit-ccme")]
    config = load_config(Path("/dev/null"), seeded.config_overrides())
    rules = load_rules(None, config.packs)
    multi = scan_accounts(config, rules, [Target(MEMBER), Target(DENIED)], base_session=session,
                          role_name="CcmeAuditRole", external_id="ext-1",
                          client_hooks=[_stub_not_mocked, offline_guard], workers=2)
    by_account: dict[str | None, list[Any]] = {}
    for finding in multi.evaluation.findings:
        by_account.setdefault(finding.account, []).append(finding)
    assert set(by_account) == {MEMBER, DENIED}
    assert multi.evaluation.account is None and multi.evaluation.regions == (REGION,)

    member = by_account[MEMBER]
    fails = {(f.rule_id, f.resource_id) for f in member if f.status is Status.FAIL}
    assert ("CCME-VPC-DHCP", seeded.vpc_id) in fails
    assert ("CCME-S3-POLICY-TLS12-USERDATA", seeded.buckets["userdata"]) in fails
    assert sum(f.status is Status.PASS for f in member) > 20

    denied = by_account[DENIED]
    assert {f.rule_id for f in denied} == {r.id for r in rules}, "every rule reports on the refused account"
    errors = [f for f in denied if f.status is Status.ERROR]
    assert all(f.status is Status.SKIPPED and "opt-in" in f.message for f in denied if f not in errors)
    assert len(errors) >= len(denied) - 2  # only the opt-in checks (Cost Explorer, secret value) stay SKIPPED
    assert all("sts:AssumeRole" in f.message and "AccessDenied" in f.message for f in errors)
    assert multi.failures == {DENIED: f"cannot assume arn:aws:iam::{DENIED}:role/CcmeAuditRole: AccessDenied: "
                                      "not authorized to perform sts:AssumeRole"}
    # Finding ids differ per account even for the same rule and a wildcard resource.
    assert len({f.id for f in multi.evaluation.findings}) == len(multi.evaluation.findings)


def test_organization_lists_active_accounts_and_skips_suspended_ones() -> None:
    with moto_account() as session:
        org = session.client("organizations")
        org.create_organization(FeatureSet="ALL")
        active = org.create_account(Email="a@example.com", AccountName="a")["CreateAccountStatus"]["AccountId"]
        closed = org.create_account(Email="b@example.com", AccountName="b")["CreateAccountStatus"]["AccountId"]
        org.close_account(AccountId=closed)
        targets, skipped = organization_targets(session)
    assert {t.account for t in targets} == {HOME, active}
    assert skipped == [(closed, "SUSPENDED")]


def test_organization_refused_is_one_line_input_error() -> None:
    def refuse(request: Any, **_: Any) -> AWSResponse:
        body = b'{"__type": "AccessDeniedException", "Message": "not the management account"}'
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))

    with moto_account() as session:
        session.events.register("before-send.organizations.ListAccounts", refuse)
        with pytest.raises(InputError, match=r"organizations:ListAccounts.*AccessDeniedException"):
            organization_targets(session)


@pytest.mark.parametrize(("doc", "message"), [
    ([], "non-empty list"),
    ([12345678901], "leading zeros"),
    (["12345"], "12-digit"),
    (["111111111111", "111111111111"], "listed twice"),
    ([{"account": "111111111111", "role": "x"}], "unknown key"),
    ([{"account": "111111111111", "role_name": "arn:aws:iam::1:role/x"}], "not an IAM role name"),
    ({"accounts": "111111111111"}, "non-empty list"),
])
def test_bad_accounts_files_are_one_line_errors(doc: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_targets(doc, file="accounts.yaml")
    assert "accounts.yaml" in info.value.line() and "\n" not in info.value.line()


def test_accounts_file_forms_and_regions() -> None:
    got = parse_targets({"accounts": ["111111111111", 222222222222,
                                      {"account": "012345678901", "name": "prod", "role_name": "Audit",
                                       "external_id": "x"}]}, file="f")
    assert got == [Target("111111111111"), Target("222222222222"),
                   Target("012345678901", name="prod", role_name="Audit", external_id="x")]
    assert parse_regions(["eu-west-1,us-east-1", "eu-west-1", " "]) == ["eu-west-1", "us-east-1"]
    with pytest.raises(InputError, match="region"):
        parse_regions(["eu-west-1,Paris"])


def test_cli_scan_accounts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Only the S3 rules: their calls (S3, S3 Control, STS) are all emulated by moto, nothing leaves the process.
    rules = tmp_path / "rules" / "ccme"
    rules.mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "ccme" / "s3.yaml", rules / "s3.yaml")
    (tmp_path / "accounts.yaml").write_text(f"accounts:\n  - '{MEMBER}'\n  - account: '{DENIED}'\n    name: sandbox\n")
    with moto_account() as session:
        seed = seed_ccme_account(assume_session(session.client("sts"), MEMBER, "Audit", region=REGION), REGION)
        code = main(["scan", "--accounts", str(tmp_path / "accounts.yaml"), "--role-name", "Audit",
                     "--regions", REGION, "--rules", str(tmp_path / "rules"), "--format", "json",
                     "--set", f"buckets.logging={seed.buckets['logging']}",
                     "--set", f"buckets.internals={seed.buckets['internals']}",
                     "--set", f"buckets.userdata={seed.buckets['userdata']}",
                     "--snapshot-out", str(tmp_path / "snap.json"),
                     "--output", str(tmp_path / "report.json")])
    assert code == 1, capsys.readouterr().err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["account"] is None
    statuses: dict[str, set[str]] = {}
    for f in report["findings"]:
        statuses.setdefault(f["account"], set()).add(f["status"])
    # moto lets any role be assumed: the second account is scanned too, and it is empty.
    assert set(statuses) == {MEMBER, DENIED}
    assert "PASS" in statuses[MEMBER] and "FAIL" in statuses[MEMBER]
    assert statuses[DENIED] == {"FAIL"}, "an empty account has none of the buckets"
    assert (tmp_path / f"snap-{MEMBER}.json").is_file() and (tmp_path / f"snap-{DENIED}.json").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--accounts", "a.yaml", "--organization", "--role-name", "R"], "exclude each other"),
    (["--role-name", "R"], "need the accounts"),
    (["--regions", "eu-west-1,nowhere"], "not a region"),
])
def test_cli_bad_multi_account_flags(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _s3_only_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules" / "ccme"
    rules.mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "ccme" / "s3.yaml", rules / "s3.yaml")
    return tmp_path / "rules"


def _sections(err: str) -> dict[str, str]:
    """The drift's stderr, one section per account (from its 'ccme-audit: account X, ...' head line)."""
    out: dict[str, str] = {}
    current = None
    for line in err.splitlines():
        if line.startswith("ccme-audit: account ") and "," in line:
            current = line.split()[2].rstrip(",")
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def test_cli_scan_accounts_previous_per_account_and_only_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--previous with --accounts: matched per account, new/fixed told per account, --only-new gates across them."""
    (tmp_path / "accounts.yaml").write_text(f"accounts: ['{MEMBER}', '{DENIED}']\n")
    first, second, third = (tmp_path / f"{n}.json" for n in ("first", "second", "third"))
    with moto_account() as session:
        member = assume_session(session.client("sts"), MEMBER, "Audit", region=REGION)
        seed = seed_ccme_account(member, REGION)
        base = ["scan", "--accounts", str(tmp_path / "accounts.yaml"), "--role-name", "Audit", "--regions", REGION,
                "--rules", str(_s3_only_rules(tmp_path)),
                *[a for k in ("logging", "internals", "userdata") for a in ("--set", f"buckets.{k}={seed.buckets[k]}")]]
        assert main([*base, "-f", "json", "-o", str(first)]) == 1
        capsys.readouterr()

        # Nothing changed: exit 0 with --only-new; each account has its own (empty) section.
        code = main([*base, "--previous", str(first), "--only-new"])
        err = capsys.readouterr().err
        assert code == 0, err
        assert " 0 new, " in err and " 0 fixed" in err
        sections = _sections(err)
        assert set(sections) == {MEMBER, DENIED}
        assert all("NEW FAILURES (0)" in s and "FIXED (0)" in s for s in sections.values())

        # The member account's internals bucket loses its versioning: one new failure, in that account only.
        member.client("s3").put_bucket_versioning(Bucket=seed.buckets["internals"],
                                                  VersioningConfiguration={"Status": "Suspended"})
        code = main([*base, "--previous", str(first), "--only-new", "-f", "json", "-o", str(second)])
        err = capsys.readouterr().err
        assert code == 1, err
        new = [(f["rule_id"], f["account"]) for f in json.loads(second.read_text())["findings"]
               if f["status"] in ("FAIL", "ERROR")]
        assert new == [("CCME-S3-VERSIONING-INTERNALS", MEMBER)] and " 1 new, " in err
        sections = _sections(err)
        assert "NEW FAILURES (1)" in sections[MEMBER] and "CCME-S3-VERSIONING-INTERNALS" in sections[MEMBER]
        assert "NEW FAILURES (0)" in sections[DENIED]

        # Versioning back on: fixed in the member account, exit 0.
        member.client("s3").put_bucket_versioning(Bucket=seed.buckets["internals"],
                                                  VersioningConfiguration={"Status": "Enabled"})
        code = main([*base, "--previous", str(second), "--only-new"])
        err = capsys.readouterr().err
        assert code == 0, err
        sections = _sections(err)
        assert "FIXED (1)" in sections[MEMBER] and "CCME-S3-VERSIONING-INTERNALS" in sections[MEMBER]
        assert "FIXED (0)" in sections[DENIED]

        # A previous report of the member account alone, plus an account this run does not scan: the other
        # scanned account is a first run (its FAILs are new and fail), the unscanned one is not called fixed.
        doc = json.loads(first.read_text())
        other = "333333333333"
        kept = [f for f in doc["findings"] if f["account"] == MEMBER]
        doc["findings"] = kept + [{**f, "account": other,
                               "id": finding_id(f["rule_id"], f["resource_id"], f["region"], other)} for f in kept]
        third.write_text(json.dumps(doc))
        code = main([*base, "--previous", str(third), "--only-new"])
        err = capsys.readouterr().err
    assert code == 1, err
    sections = _sections(err)
    assert "holds no finding of this account" in sections[DENIED]
    assert "holds no finding of this account" not in sections[MEMBER] and "NEW FAILURES (0)" in sections[MEMBER]
    assert f"account(s) {other} of the previous report not scanned in this run: not compared" in err
    assert f"account(s) {other} not scanned in this run: their entries are not compared" in err
    assert " 0 fixed" in err, "an account not scanned has nothing fixed"


def test_cli_multi_account_check_selects_rules_before_collection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--check 'CCME-S3-*' over many accounts collects what the S3 rules read and nothing else: no KMS call."""
    from botocore.client import BaseClient

    rules = _s3_only_rules(tmp_path)
    shutil.copy(ROOT / "policies" / "ccme" / "kms.yaml", rules / "ccme" / "kms.yaml")
    (tmp_path / "accounts.yaml").write_text(f"accounts: ['{MEMBER}', '{DENIED}']\n")
    calls: list[tuple[str, str]] = []
    real = BaseClient._make_api_call

    def counted(self: Any, operation: str, params: Any) -> Any:
        calls.append((self.meta.service_model.service_name, operation))
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    with moto_account():
        base = ["scan", "--accounts", str(tmp_path / "accounts.yaml"), "--role-name", "Audit", "--regions", REGION,
                "--rules", str(rules), "-f", "json"]
        # Without a selection the KMS rules are collected for (the count is not trivially zero) ...
        assert main(base) == 1
        capsys.readouterr()
        assert any(service == "kms" for service, _ in calls)
        calls.clear()
        code = main([*base, "--check", "CCME-S3-*"])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert {f["rule_id"][:8] for f in json.loads(out)["findings"]} == {"CCME-S3-"}
    assert not [c for c in calls if c[0] == "kms"], "no KMS call for S3 rules"
    assert {service for service, _ in calls} <= {"sts", "s3", "s3control"}
    # A pattern naming no rule is still bad input, before anything is collected.
    calls.clear()
    with moto_account():
        assert main([*base, "--check", "CCME-NOPE-*"]) == 2
    assert "matches no rule" in capsys.readouterr().err and not calls
