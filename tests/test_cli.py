"""The CLI: verdicts and exit codes, and one precise line with exit 2 for every kind of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "snapshots"
GOOD_RULE = """rules:
  - id: T-ONE
    title: versioning enabled
    severity: high
    source: {document: test, section: s}
    resource_type: s3.bucket
    assert: {equals: {path: versioning, value: Enabled}}
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_rules_validate_shipped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "validate"], capsys)
    assert code == 0 and out.startswith("ok: ")


def test_rules_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "list", "--format", "json"], capsys)
    assert code == 0 and any(r["id"] == "CCME-KMS-ALIAS-CLOUDWATCH" for r in json.loads(out))
    code, out, _ = run(["rules", "show", "CCME-KMS-ALIAS-CLOUDWATCH"], capsys)
    assert code == 0 and "alias/{kms_prefix}/cloudWatch" in out and "000_6e3bc4fc67598c3a.txt" in out
    code, _, err = run(["rules", "show", "CCME-NOPE"], capsys)
    assert code == 2 and err.count("\n") == 1


@pytest.fixture
def kms_s3_rules(tmp_path: Path) -> str:
    """The shipped KMS and S3 rules only: the fixture snapshots describe sections A and B."""
    pack = tmp_path / "kms-s3" / "ccme"
    pack.mkdir(parents=True)
    for name in ("kms.yaml", "s3.yaml"):
        shutil.copy(Path(__file__).parents[1] / "policies" / "ccme" / name, pack / name)
    return str(tmp_path / "kms-s3")


def test_evaluate_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path, kms_s3_rules: str) -> None:
    rules = ["--rules", kms_s3_rules]
    code, out, _ = run(["evaluate", str(FIXTURES / "ccme-compliant.json"), *rules], capsys)
    # The one FAIL is the advisory (info) confused-deputy finding on the seed's own CloudWatch key policy.
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert code == 0 and "1 fail" in out and len(fails) == 1 and "CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH" in fails[0]
    code, out, _ = run(["evaluate", str(FIXTURES / "ccme-broken.json"), *rules], capsys)
    assert code == 1 and "FAIL" in out
    code, _, _ = run(["evaluate", str(FIXTURES / "ccme-broken.json"), "--fail-on", "critical", *rules], capsys)
    assert code == 0
    # ERROR fails closed: the denied snapshot exits 1 even though nothing FAILs.
    code, _, _ = run(["evaluate", str(FIXTURES / "ccme-denied.json"), "--fail-on", "high", *rules], capsys)
    assert code == 1
    report = tmp_path / "r.json"
    code, out, _ = run(["evaluate", str(FIXTURES / "ccme-broken.json"), "-f", "json", "-o", str(report), *rules],
                       capsys)
    assert code == 1 and out == ""
    doc = json.loads(report.read_text())
    assert doc["summary"]["by_status"]["FAIL"] > 0


def test_json_report_follows_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema

    _, out, _ = run(["evaluate", str(FIXTURES / "ccme-broken.json"), "-f", "json"], capsys)
    schema = json.loads((Path(__file__).parents[1] / "schemas" / "report.json").read_text())
    jsonschema.validate(json.loads(out), schema)


def _bad_rule_dir(tmp_path: Path, text: str, extra: str | None = None) -> Path:
    pack = tmp_path / "policies" / "t"
    pack.mkdir(parents=True)
    (pack / "a.yaml").write_text(text)
    if extra is not None:
        (pack / "b.yaml").write_text(extra)
    return tmp_path / "policies"


BAD_RULES = {
    "malformed-yaml": ("rules:\n  - id: T-ONE\n    title: [unclosed\n", None, ["a.yaml", "line", "invalid YAML"]),
    "unknown-operator": (GOOD_RULE.replace("equals:", "equal:"), None,
                         ["rule T-ONE", "line 2", "'equal'", "use one of the operators"]),
    "duplicate-id": (GOOD_RULE, GOOD_RULE, ["duplicate rule id T-ONE", "b.yaml"]),
    "unknown-type": (GOOD_RULE.replace("s3.bucket", "s3.bukket"), None,
                     ["rule T-ONE", "unknown resource type 's3.bukket'", "s3.bucket"]),
    "unknown-key": (GOOD_RULE.replace("    severity: high", "    severity: high\n    sevrity: x"), None,
                    ["rule T-ONE", "sevrity", "remove the unknown key"]),
    "missing-source": (GOOD_RULE.replace("    source: {document: test, section: s}\n", ""), None,
                       ["rule T-ONE", "'source' is a required property"]),
    "bad-severity": (GOOD_RULE.replace("severity: high", "severity: urgent"), None,
                     ["rule T-ONE", "severity 'urgent'", "critical, high"]),
    "unknown-parameter": (GOOD_RULE.replace("value: Enabled", 'value: "{kms_prefx}"'), None,
                          ["rule T-ONE", "unknown parameter '{kms_prefx}'"]),
    "bad-regex": (GOOD_RULE.replace("equals: {path: versioning, value: Enabled}",
                                    "regex: {path: versioning, pattern: '(['}"), None,
                  ["rule T-ONE", "does not compile"]),
    "bad-path": (GOOD_RULE.replace("path: versioning", "path: 'a[?'"), None, ["rule T-ONE", "path 'a[?'"]),
    "not-a-mapping": ("- just\n- a list\n", None, ["a.yaml", "must be a mapping"]),
    "alias-bomb": ("a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9)), None,
        ["a.yaml", "alias bomb"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_bad_rule_files(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, extra, needles = BAD_RULES[case]
    code, _, err = run(["rules", "validate", str(_bad_rule_dir(tmp_path, text, extra))], capsys)
    assert code == 2, err
    assert err.startswith("ccme-audit: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def test_good_rule_dir_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "validate", str(_bad_rule_dir(tmp_path, GOOD_RULE))], capsys)
    assert code == 0 and "1 rules" in out


def _snapshot_variant(tmp_path: Path, change: str) -> Path:
    doc = json.loads((FIXTURES / "ccme-compliant.json").read_text())
    if change == "version":
        doc["schema_version"] = 7
    elif change == "attribute-type":
        doc["resources"][0]["attributes"]["multi_region"] = "yes"
    elif change == "unknown-type":
        doc["resources"][0]["type"] = "kms.kee"
    elif change == "missing-errors":
        del doc["errors"]
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(("change", "needles"), [
    ("version", ["schema version 7", "/schema_version", "collect it again"]),
    ("attribute-type", ["/resources/0/attributes/multi_region", "kms.key"]),
    ("unknown-type", ["unknown resource type 'kms.kee'", "/resources/0/type"]),
    ("missing-errors", ["'errors' is a required property"]),
])
def test_bad_snapshots(change: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["evaluate", str(_snapshot_variant(tmp_path, change))], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize(("content", "needles"), [
    ("regions: eu-west-1\n", ["/regions", "is not of type 'array'"]),
    ("kms_prefix: 12\n", ["/kms_prefix", "is not of type 'string'"]),
    ("bukets: {}\n", ["'bukets' was unexpected"]),
    ("waivers: [{rule: X, resource: '*', reason: why, expires: tomorrow}]\n", ["/waivers/0/expires"]),
    ("regions: [eu-west-1\n", ["invalid YAML", "line"]),
])
def test_bad_configs(content: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ccme-audit.yaml"
    path.write_text(content)
    code, _, err = run(["evaluate", str(FIXTURES / "ccme-compliant.json"), "--config", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err
    for needle in needles:
        assert needle in err, (needle, err)


def test_missing_and_binary_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["evaluate", str(tmp_path / "nope.json")], capsys)
    assert code == 2 and "file not found" in err
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run(["evaluate", str(binary)], capsys)
    assert code == 2 and "not UTF-8" in err
    code, _, err = run(["evaluate", str(FIXTURES / "ccme-compliant.json"), "--format", "pdf"], capsys)
    assert code == 2 and "unknown format 'pdf'" in err
    code, _, err = run(["evaluate"], capsys)
    assert code == 2 and "Missing argument" in err
    code, _, err = run(["rules", "list", "--bogus"], capsys)
    assert code == 2 and "No such option: --bogus" in err and err.count("\n") == 1


def test_set_flags_override_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["evaluate", str(FIXTURES / "ccme-compliant.json"), "--set", "kms_prefix=hpc"], capsys)
    assert code == 1 and "alias/hpc/cmh_ebs" in out
    code, _, err = run(["evaluate", str(FIXTURES / "ccme-compliant.json"), "--set", "kms_prefix"], capsys)
    assert code == 2 and "--set" in err


def test_output_is_written_atomically(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.report import jsonfmt

    target = tmp_path / "out" / "r.json"
    target.parent.mkdir()
    target.write_text("previous")

    def boom(*args: object, **kwargs: object) -> str:
        raise InterruptedError("disk gone")

    monkeypatch.setattr(jsonfmt, "render", boom)
    # A failing formatter leaves the previous file untouched and no temporary file behind.
    code = main(["evaluate", str(FIXTURES / "ccme-compliant.json"), "-f", "json", "-o", str(target)])
    assert code == 3
    assert target.read_text() == "previous"
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.json"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("ccme-audit ")


def test_shipped_policies_copy_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(Path(__file__).parents[1] / "policies", tmp_path / "policies")
    code, _, _ = run(["rules", "validate", str(tmp_path / "policies")], capsys)
    assert code == 0


def test_the_cli_runs_on_the_core_dependencies_alone(tmp_path: Path) -> None:
    """A plain `pip install ccme-audit` has no click (typer vendors its own), no moto, no python-hcl2:
    every door that needs no extra still runs, and the ones that do say which extra on one line."""
    import subprocess
    import sys

    blocked = ["click", "moto", "hcl2", "lark", "cfnlint"]
    script = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from auditor.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    tf = tmp_path / "tf"
    tf.mkdir()
    (tf / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n', encoding="utf-8")
    root = Path(__file__).resolve().parents[1]

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, cwd=tmp_path,
                              check=False, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})

    assert cli("rules", "validate").returncode == 0
    # --complete: the account the policy rules need is not set, an ERROR there (outside it they are SKIPPED).
    cfn = cli("iac", str(root / "examples" / "cloudformation" / "ccme-prerequisites.yaml"), "--complete", "-f",
              "json", "-o", str(tmp_path / "r.json"))
    assert cfn.returncode == 1 and (tmp_path / "r.json").exists(), cfn.stderr
    many = tmp_path / "many"  # enough templates for the parallel loader (its workers warm the parsers)
    many.mkdir()
    example = (root / "examples" / "cloudformation" / "ccme-prerequisites.yaml").read_text(encoding="utf-8")
    for i in range(17):
        (many / f"t{i}.yaml").write_text(example, encoding="utf-8")
    parallel = cli("iac", str(many), "--complete", "-f", "json", "-o", str(tmp_path / "many.json"))
    assert parallel.returncode == 1 and (tmp_path / "many.json").exists(), parallel.stderr
    hcl = cli("iac", str(tf))
    assert hcl.returncode == 2 and hcl.stderr.count("\n") == 1 and "ccme-audit[iac]" in hcl.stderr, hcl.stderr
    demo = cli("demo")
    assert demo.returncode == 2 and "ccme-audit[demo]" in demo.stderr, demo.stderr
