"""The CI gate over a corpus of real-world shaped templates (tests/iac/corpus/<kind>/<case>/).

Each case is one run of `ccme-audit iac` over the case directory (or its expect.yaml `path`), with the
case's extra `args`. Whatever the case holds, the gate must read it (exit 0 or 1, never 2, never a
traceback, no IAC-PARSE finding), every FAIL or ERROR finding must be one the case lists in `expect`
(rule id + location.logical_id), and every listed entry must be there with its status. Most cases
hold no CCME resource at all: they list nothing, so any FAIL or ERROR is noise and fails the test.

expect.yaml:

    description: "what public construct the case models"   # required
    path: examples/complete                                # optional, relative to the case directory
    args: [--complete, --set, account=111122223333]         # optional extra CLI arguments
    refused: "did you mean 'HeadNode'?"                    # optional: bad input (exit 2, this in the one line)
    expect:                                                # optional
      - {rule: CCME-S3-VERSIONING-LOGGING, logical_id: "module.logging.aws_s3_bucket.this", status: FAIL}
      - {rule: CCME-S3-PAB-LOGGING, logical_id: "module.s3.aws_s3_bucket.this", resource: "examples/b::",
         status: PASS}

`logical_id: null` (or left out) matches a finding without a location logical id (a finding on the run,
such as a resource that is not found). `resource` (optional) is a part of the finding's resource id: it
tells apart the resources of one logical id (a module called by the same name from several Terraform
roots, whose ids hold their root directory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.fileio import parse_yaml

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]
KINDS = ("cloudformation", "terraform", "parallelcluster")
STATUSES = ("PASS", "FAIL", "ERROR", "SKIPPED", "WAIVED")
CASE_KEYS = {"description", "path", "args", "expect", "refused"}
ENTRY_KEYS = {"rule", "logical_id", "status", "resource"}


@dataclass(frozen=True)
class Entry:
    rule: str
    logical_id: str | None
    status: str
    resource: str | None = None  # a part of the resource id the finding must have


@dataclass(frozen=True)
class Case:
    directory: Path
    description: str
    target: Path
    args: tuple[str, ...]
    expect: tuple[Entry, ...]
    refused: str | None = None  # the case is bad input: exit 2, one stderr line holding this text, no report

    @property
    def name(self) -> str:
        return f"{self.directory.parent.name}/{self.directory.name}"


def _problem(file: Path, message: str) -> ValueError:
    return ValueError(f"corpus/{'/'.join(file.parts[-3:])}: {message}")


def load_case(file: Path) -> Case:
    """Read and check one expect.yaml; a malformed one is a readable error naming the file."""
    data = parse_yaml(file.read_text(encoding="utf-8"), file=str(file))
    if not isinstance(data, dict):
        raise _problem(file, "expect.yaml is not a mapping")
    unknown_keys = set(data) - CASE_KEYS
    if unknown_keys:
        raise _problem(file, f"unknown keys {sorted(unknown_keys)} (known: {sorted(CASE_KEYS)})")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise _problem(file, "description is missing: say which public construct the case models")
    target = (file.parent / str(data.get("path") or ".")).resolve()
    if not target.exists() or file.parent.resolve() not in (target, *target.parents):
        raise _problem(file, f"path {data.get('path')!r} is not inside the case directory")
    args = data.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise _problem(file, "args must be a list of strings")
    entries = []
    for position, item in enumerate(data.get("expect") or []):
        if not isinstance(item, dict) or set(item) - ENTRY_KEYS or "rule" not in item or "status" not in item:
            raise _problem(file, f"expect[{position}] must hold rule, status and optionally logical_id: {item!r}")
        if item["status"] not in STATUSES:
            raise _problem(file, f"expect[{position}] status {item['status']!r} is not one of {STATUSES}")
        logical = item.get("logical_id")
        resource = item.get("resource")
        entries.append(Entry(str(item["rule"]), None if logical is None else str(logical), str(item["status"]),
                             None if resource is None else str(resource)))
    refused = data.get("refused")
    if refused is not None and (not isinstance(refused, str) or not refused or entries):
        raise _problem(file, "refused must be the text of the one-line error (and the case then expects nothing)")
    return Case(file.parent, description.strip(), target, tuple(args), tuple(entries), refused)


def case_files() -> list[Path]:
    return sorted(CORPUS.glob("*/*/expect.yaml"))


def _logical_id(finding: dict[str, Any]) -> str | None:
    location = finding.get("location") or {}
    return location.get("logical_id")


def _show(findings: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {f['status']:7} {f['rule_id']}  logical_id={_logical_id(f)!r}  resource={f['resource_id']!r}\n"
        f"          {f['message'][:300]}"
        for f in findings
    )


def run_case(case: Case, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[dict[str, Any]]]:
    code = main(["iac", str(case.target), "--format", "json", "--output", str(out), *case.args])
    _, err = capsys.readouterr()
    findings = json.loads(out.read_text(encoding="utf-8"))["findings"] if out.exists() else []
    return code, err, findings


def check_findings(case: Case, findings: list[dict[str, Any]]) -> list[str]:
    """What is wrong with a run's findings against the case's expectations (empty: nothing)."""
    problems = []
    parse = [f for f in findings if f["rule_id"] == "IAC-PARSE"]
    if parse:
        problems.append(f"a valid template was refused (IAC-PARSE):\n{_show(parse)}")
    listed = {(e.rule, e.logical_id) for e in case.expect}
    unexpected = [f for f in findings
                  if f["status"] in ("FAIL", "ERROR") and f["rule_id"] != "IAC-PARSE"
                  and (f["rule_id"], _logical_id(f)) not in listed]
    if unexpected:
        problems.append(f"FAIL/ERROR findings the case does not expect (noise, or add them to expect.yaml):\n"
                        f"{_show(unexpected)}")
    for entry in case.expect:
        found = [f for f in findings if f["rule_id"] == entry.rule and _logical_id(f) == entry.logical_id
                 and (entry.resource is None or entry.resource in f["resource_id"])]
        where = f"logical_id={entry.logical_id!r}" + (f" resource~{entry.resource!r}" if entry.resource else "")
        if not found:
            problems.append(f"expected {entry.status} {entry.rule} on {where}: no finding")
        elif any(f["status"] != entry.status for f in found):
            problems.append(f"expected {entry.status} {entry.rule} on {where}, got:\n"
                            f"{_show(found)}")
    return problems


CASES = case_files()


@pytest.mark.parametrize("file", CASES, ids=lambda f: f"{f.parent.parent.name}/{f.parent.name}")
def test_corpus_case(file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    case = load_case(file)
    # A crash raises here with its traceback (main would turn it into exit 3 and one line).
    monkeypatch.setenv("CCME_AUDIT_DEBUG", "1")
    code, err, findings = run_case(case, tmp_path / "report.json", capsys)
    assert "Traceback" not in err, err
    if case.refused is not None:  # bad input: one line naming the file and the fix, nothing written
        assert code == 2, f"{case.name}: exit {code} (2 expected: {case.refused})\n{err}"
        assert err.count("\n") == 1 and case.refused in err, err
        assert not (tmp_path / "report.json").exists()
        return
    assert code in (0, 1), f"{case.name}: exit {code} (0 or 1 expected)\n{err}"
    problems = check_findings(case, findings)
    assert not problems, f"{case.name} ({case.description}):\n" + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("file", CASES, ids=lambda f: f"{f.parent.parent.name}/{f.parent.name}")
def test_corpus_case_as_a_new_user_runs_it(file: Path, tmp_path: Path) -> None:
    """The same run through `python -m auditor` in a fresh process: real exit code, real stderr."""
    case = load_case(file)
    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k != "CCME_AUDIT_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run([sys.executable, "-m", "auditor", "iac", str(case.target), "--format", "json",
                           "--output", str(out), *case.args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, check=False, timeout=300)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    if case.refused is not None:
        assert done.returncode == 2 and case.refused in done.stderr, done.stderr
        return
    assert done.returncode in (0, 1), f"{case.name}: exit {done.returncode}\n{done.stderr}"
    problems = check_findings(case, json.loads(out.read_text(encoding="utf-8"))["findings"])
    assert not problems, f"{case.name} ({case.description}):\n" + "\n".join(problems)


def test_every_kind_has_a_case_and_every_case_is_well_formed() -> None:
    for kind in KINDS:
        assert [f for f in CASES if f.parent.parent.name == kind], f"no corpus case under corpus/{kind}/"
    strays = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and p.name not in KINDS)
    assert not strays, f"corpus directories that are not a kind: {strays}"
    for kind in KINDS:
        for directory in sorted(p for p in (CORPUS / kind).iterdir() if p.is_dir()):
            assert (directory / "expect.yaml").is_file(), f"{directory}: a case needs an expect.yaml"
    for file in CASES:
        load_case(file)  # raises, naming the file, on a missing description or a malformed entry


def _case(tmp_path: Path, text: str) -> Case:
    directory = tmp_path / "corpus" / "cloudformation" / "c"
    directory.mkdir(parents=True)
    (directory / "expect.yaml").write_text(text, encoding="utf-8")
    return load_case(directory / "expect.yaml")


@pytest.mark.parametrize("text, message", [
    ("expect: []\n", "description is missing"),
    ("description: ''\n", "description is missing"),
    ("description: x\nexpected: []\n", "unknown keys"),
    ("description: x\nexpect: [{rule: R, status: BAD}]\n", "is not one of"),
    ("description: x\nexpect: [{rule: R}]\n", "must hold rule, status"),
    ("description: x\npath: ../..\n", "not inside the case directory"),
    ("description: x\nargs: --complete\n", "args must be a list"),
])
def test_a_malformed_expect_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        _case(tmp_path, text)
    assert "cloudformation/c/expect.yaml" in str(info.value)


def _finding(rule: str, status: str, logical_id: str | None) -> dict[str, Any]:
    location = {"file": "t.yaml", "line": 3, "logical_id": logical_id} if logical_id else None
    return {"rule_id": rule, "status": status, "resource_id": logical_id or "*", "message": "m",
            "location": location}


def test_the_harness_catches_noise_missing_and_wrong_verdicts(tmp_path: Path) -> None:
    case = _case(tmp_path, "description: x\nexpect:\n  - {rule: R1, logical_id: A, status: FAIL}\n"
                           "  - {rule: R2, logical_id: B, status: PASS}\n  - {rule: R3, status: FAIL}\n")
    good = [_finding("R1", "FAIL", "A"), _finding("R2", "PASS", "B"), _finding("R3", "FAIL", None),
            _finding("R4", "PASS", "C"), _finding("R4", "SKIPPED", None)]
    assert check_findings(case, good) == []
    noisy = [*good, _finding("R5", "ERROR", "Bucket")]
    (problem,) = check_findings(case, noisy)
    assert "does not expect" in problem and "R5" in problem and "'Bucket'" in problem
    (problem,) = check_findings(case, [f for f in good if f["rule_id"] != "R2"])
    assert "expected PASS R2 on logical_id='B': no finding" in problem
    (problem,) = check_findings(case, [*good[:1], _finding("R2", "FAIL", "B"), *good[2:]])
    assert "expected PASS R2" in problem and "FAIL" in problem
    by_root = _case(tmp_path / "r",
                    "description: x\nexpect:\n  - {rule: R1, logical_id: A, resource: root-b, status: FAIL}\n")
    a, b = _finding("R1", "PASS", "A"), _finding("R1", "FAIL", "A")
    a["resource_id"], b["resource_id"] = "root-a::m.tf#A", "root-b::m.tf#A"
    assert check_findings(by_root, [a, b]) == []
    (problem,) = check_findings(by_root, [a])
    assert "resource~'root-b'" in problem and "no finding" in problem
    (problem, *_) = check_findings(case, [*good, _finding("IAC-PARSE", "ERROR", None)])
    assert "refused (IAC-PARSE)" in problem
