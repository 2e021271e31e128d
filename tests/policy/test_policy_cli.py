"""The `policy` sub-application: exit codes 0/1/2 and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli.policy import app
from auditor.policy import REQUIREMENTS

DATA = Path(__file__).parent / "data"
SEED_S3 = DATA / "seed_s3_tls_bucket_policy.json"
BUCKET = "EXAMPLE_OF_CCME_CLUSTER_S3_BUCKET_NAME"
S3_ARGS = ["--bucket", BUCKET, "--account", "123456789012", "--region", "eu-west-1"]
runner = CliRunner()


def run(*args: str | Path, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_requirements_lists_ids_kinds_and_titles() -> None:
    code, out, _ = run("requirements")
    assert code == 0
    for req in REQUIREMENTS.values():
        assert any(line.split()[:2] == [req.id, req.applies_to] and req.title in line for line in out.splitlines())
    code, out, _ = run("requirements", "--format", "json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == list(REQUIREMENTS)


def test_check_pass_exits_0() -> None:
    code, out, err = run("check", SEED_S3, "--requirement", "s3-deny-insecure-transport", *S3_ARGS)
    assert code == 0, err
    assert out.startswith("PASS s3-deny-insecure-transport")


def test_check_fail_exits_1_with_evidence(tmp_path: Path) -> None:
    policy = json.loads(SEED_S3.read_text())
    policy["Statement"] = policy["Statement"][:1]
    path = tmp_path / "tls-only.json"
    path.write_text(json.dumps(policy))
    code, out, _ = run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS)
    assert code == 1
    assert out.startswith("FAIL s3-deny-insecure-transport")
    assert "over plain HTTP (aws:SecureTransport=false) by" in out and "is not denied" in out
    code, out, _ = run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["error"] is None and data["violations"]


def test_check_reads_stdin() -> None:
    code, out, _ = run("check", "-", "-r", "s3-deny-tls-below-1.2", *S3_ARGS, stdin=SEED_S3.read_text())
    assert code == 0 and out.startswith("PASS")


def test_context_flag_pins_a_key(tmp_path: Path) -> None:
    policy = json.loads(SEED_S3.read_text())
    policy["Statement"][1]["Condition"]["StringNotEquals"] = {"aws:SourceVpce": "vpce-1"}
    path = tmp_path / "vpce.json"
    path.write_text(json.dumps(policy))
    assert run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS)[0] == 1
    args = ["--context", "aws:SourceVpce=vpce-2"]
    assert run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS, *args)[0] == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("{not json", "the policy is not valid JSON (line 1 column 2"),
        (
            '{"Statement": {"Sid": "t", "Effect": "deny", "Action": "*"}}',
            'statement 1 ("t"): Effect is "deny"',
        ),
        (
            '{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*", '
            '"Condition": {"NumericLessThen": {"s3:TlsVersion": "1.2"}}}}',
            'statement 1: Condition operator "NumericLessThen" is unknown; use a documented operator '
            '(did you mean "NumericLessThan"?)',
        ),
    ],
)
def test_bad_file_exits_2_with_one_line_naming_the_file(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS)
    assert code == 2
    line = one_error_line(err)
    if content is None:
        assert expected in line
    else:
        assert line.startswith(f"ccme-audit policy: error: {path}: {expected}"), line
    assert str(path) in line
    assert out == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--requirement", "nope"], "--requirement 'nope' is unknown"),
        (
            ["-r", "s3-deny-insecure-transport", "--bucket", BUCKET, "--account", "123456789012"],
            "--region is required",
        ),
        (["-r", "kms-root-full-access", "--account", "42", "--region", "eu-west-1"], "12-digit"),
        (["-r", "s3-deny-insecure-transport", *S3_ARGS, "--format", "xml"], "--format 'xml' is unknown"),
        (["-r", "s3-deny-insecure-transport", *S3_ARGS, "--context", "novalue"], "KEY=VALUE"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str], expected: str) -> None:
    code, out, err = run("check", SEED_S3, *args)
    assert code == 2
    assert expected in one_error_line(err)
    assert out == ""


def test_missing_file_argument_and_requirement_exit_2() -> None:
    code, _, err = run("check", "-r", "s3-deny-insecure-transport", *S3_ARGS)
    assert code == 2 and "FILE is missing" in one_error_line(err)
    code, _, err = run("check", SEED_S3, *S3_ARGS)
    assert code == 2 and "--requirement is missing" in one_error_line(err)


def test_malformed_policy_in_json_format_reports_the_error_too(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"Statement": "x"}')
    code, out, err = run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS, "-f", "json")
    assert code == 2
    assert json.loads(out)["error"].startswith("Statement is a string")
    one_error_line(err)


def test_the_stated_context_is_printed_with_the_verdict(tmp_path: Path) -> None:
    policy = json.loads(SEED_S3.read_text())
    policy["Statement"][1]["Condition"]["StringNotEquals"] = {"aws:SourceVpce": "vpce-1"}
    path = tmp_path / "vpce.json"
    path.write_text(json.dumps(policy))
    stated = ["--context", "aws:SourceVpce=vpce-2"]
    code, out, _ = run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS, *stated)
    assert code == 0
    assert out.startswith("PASS, assuming aws:SourceVpce = vpce-2 s3-deny-insecure-transport")
    code, out, _ = run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS, *stated, "-f", "json")
    assert json.loads(out)["assumptions"] == ["aws:SourceVpce = vpce-2"]


def test_control_and_bidi_characters_are_escaped_in_text(tmp_path: Path) -> None:
    policy = json.loads(SEED_S3.read_text())
    policy["Statement"] = policy["Statement"][:1]
    policy["Statement"][0]["Sid"] = "evil\u202egnp.exe\x1b[2J"
    path = tmp_path / "bidi.json"
    path.write_text(json.dumps(policy))
    code, out, _ = run("check", path, "-r", "s3-deny-tls-below-1.2", *S3_ARGS)
    assert code == 0
    policy["Statement"].append({"Sid": "hole\u202e", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                "Resource": "*"})
    policy["Statement"][0]["Condition"] = {"Bool": {"aws:SecureTransport": "false"}, "StringNotEquals":
                                           {"aws:UserAgent": "a\u202eb"}}
    path.write_text(json.dumps(policy))
    code, out, _ = run("check", path, "-r", "s3-deny-insecure-transport", *S3_ARGS)
    assert code == 1
    assert "\u202e" not in out and "\x1b" not in out
    assert "<U+202E>" in out


def test_log_group_prefix_flag_narrows_the_cloudwatch_requirement(tmp_path: Path) -> None:
    account, region = "123456789012", "eu-west-1"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"}, "Action": "kms:*",
         "Resource": "*", "Condition": {"ArnLike": {
             "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:/ccme/*"}}}]}
    path = tmp_path / "logs.json"
    path.write_text(json.dumps(policy))
    args = ["check", path, "-r", "kms-cloudwatch-logs", "--account", account, "--region", region]
    code, out, _ = run(*args)
    assert code == 1 and "for log group arn:aws:logs" in out
    code, out, _ = run(*args, "--log-group-prefix", "/ccme/")
    assert code == 0 and out.startswith("PASS")
    code, _out, err = run(*args, "--log-group-prefix", "bad prefix")
    assert code == 2 and "log group prefix" in one_error_line(err)
