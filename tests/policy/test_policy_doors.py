"""The solver corpus (tests/policy/test_policy_solver.py CASES) through the three doors a policy comes in by:
`ccme-audit policy check` (the CLI, JSON output and exit code), a live scan (in-process moto: one account,
one bucket or key per case, collected by the scan's own collectors) and a CloudFormation template (loaded
by the loader of `ccme-audit iac`: an AWS::S3::BucketPolicy or an AWS::KMS::Key KeyPolicy per case). Every
door must give the corpus verdict and a witness that the concrete evaluator confirms.

Each case gets its own bucket name (the policy's bucket ARN is rewritten to it); keys keep their policies
as written. No corpus case is left out of a door: moto accepts every bucket and key policy of the corpus,
and the template loader reads every one (policy variables such as ``${aws:username}`` are plain text in a
template: CloudFormation substitutes only inside Fn::Sub).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli.policy import app
from auditor.engine.rules import load_rules
from auditor.policy import Request, RequirementContext, check_document, decide, parse_policy
from auditor.policy.requirements import REQUIREMENTS
from tests.collect.helpers import config, moto_account, run_scan
from tests.policy.test_policy_solver import ACCOUNT, BUCKET, CASES, REGION, Case, principal_of

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
DECIDED = [c for c in CASES if c.verdict in ("PASS", "FAIL")]
LOCKED_OUT = ("ip-contradiction", "ip-overlap", "dcv-not-principal-account-root")
"""Key policies with a Deny on every principal and every key action that moto (like AWS) applies to the
scanner's own kms:DescribeKey: a live scan cannot read these keys, so the door gives ERROR (fail closed),
never the corpus verdict; a scan also stops asking KMS after such denials, so they get their own account."""
LIVE = [c for c in DECIDED if c.name not in LOCKED_OUT]


def kind_of(case: Case) -> str:
    return REQUIREMENTS[case.requirement].applies_to


def bucket_for(case: Case) -> str:
    return f"ccme-corpus-{CASES.index(case):03d}"


def policy_for(case: Case) -> dict[str, Any]:
    """The case's policy, its bucket renamed to the case's own (keys: as written)."""
    if kind_of(case) != "s3":
        return case.policy
    text = json.dumps(case.policy).replace(BUCKET, bucket_for(case))
    return dict(json.loads(text))


def expect(case: Case, result: Mapping[str, Any], *, key_arn: str | None) -> None:
    """The corpus verdict, the evidence fragment, and every witness replayed by the concrete evaluator."""
    verdict = "ERROR" if result["error"] else ("PASS" if result["ok"] else "FAIL")
    assert verdict == case.verdict, (result["violations"], result["error"])
    if case.verdict != "FAIL":
        return
    fragment = case.evidence.replace(BUCKET, bucket_for(case)) if kind_of(case) == "s3" else case.evidence
    assert fragment in result["violations"][0], result["violations"]
    policy = parse_policy(policy_for(case))
    assert result["witnesses"]
    for w in result["witnesses"]:
        request = Request(principal_of(w["principal"]), w["action"], w["resource"], w["context"])
        decision = decide(policy, request, policy_kind=kind_of(case), resource_account=ACCOUNT)  # type: ignore[arg-type]
        assert decision.effect == w["decision"]
        assert [r.label for r in decision.statements] == w["statements"]
        if key_arn is not None:
            assert w["resource"] == key_arn


def context_for(case: Case, key_arn: str | None) -> RequirementContext:
    if kind_of(case) == "s3":
        return RequirementContext(ACCOUNT, REGION, bucket=bucket_for(case))
    return RequirementContext(ACCOUNT, REGION, key_arn=key_arn)


# --------------------------------------------------------------------------- door 1: ccme-audit policy check


@pytest.mark.parametrize("case", DECIDED, ids=str)
def test_policy_check_cli(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy_for(case)))
    args = ["check", str(path), "-r", case.requirement, "--account", ACCOUNT, "--region", REGION, "-f", "json"]
    args += ["--bucket", bucket_for(case)] if kind_of(case) == "s3" else ["--key-arn", KEY_ARN]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == {"PASS": 0, "FAIL": 1}[case.verdict], result.stdout + result.stderr
    expect(case, json.loads(result.stdout), key_arn=KEY_ARN if kind_of(case) == "kms" else None)


# --------------------------------------------------------------------------- rules, one per case


def _rule_id(case: Case) -> str:
    return f"CORPUS-{CASES.index(case):03d}"


@pytest.fixture(scope="module")
def corpus_rules(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """A rule per case, scoped to that case's bucket or key, asserting its requirement (the `policy`
    operator the shipped rules use): the verdict then comes from the engine, as in a scan or an IaC run."""
    rules = []
    for case in DECIDED:
        s3 = kind_of(case) == "s3"
        where = ({"equals": {"path": "name", "value": bucket_for(case)}} if s3
                 else {"equals": {"path": "description", "value": case.name}})
        args = {"path": "policy", "requirement": case.requirement, "account": "{account}", "region": "{region}"}
        args.update({"bucket": "{resource.name}"} if s3 else {"key_arn": "=arn"})
        rules.append({
            "id": _rule_id(case), "title": f"corpus case {case.name}", "severity": "high",
            "source": {"document": "tests/policy/test_policy_solver.py", "section": case.name},
            "resource_type": "s3.bucket" if s3 else "kms.key",
            "scope": {"where": where},
            "assert": {"policy": args},
            "message": f"corpus case {case.name}",
        })
    root = tmp_path_factory.mktemp("rules")
    (root / "corpus").mkdir()
    (root / "corpus" / "corpus.yaml").write_text(yaml.safe_dump({"rules": rules}))
    return list(load_rules(root, ["corpus"]))


def _statuses(findings: Any) -> dict[str, Any]:
    return {f.rule_id: f for f in findings if f.rule_id.startswith("CORPUS-")}


# --------------------------------------------------------------------------- door 2: a live scan (moto)


def _scan(cases: list[Case], rules: list[Any]) -> tuple[dict[int, tuple[Any, str | None]], dict[str, Any]]:
    """One moto account: a bucket per S3 case and a key per KMS case; one scan collects them all.
    Returns case index -> (collected policy, key ARN), and the findings by rule id."""
    from auditor.app.pipeline import evaluate

    corpus_rules = [r for r in rules if r.id in {_rule_id(c) for c in cases}]
    with moto_account() as session:
        s3, kms = session.client("s3"), session.client("kms")
        keys: dict[int, str] = {}
        for case in cases:
            index = CASES.index(case)
            if kind_of(case) == "s3":
                s3.create_bucket(Bucket=bucket_for(case), CreateBucketConfiguration={"LocationConstraint": REGION})
                s3.put_bucket_policy(Bucket=bucket_for(case), Policy=json.dumps(policy_for(case)))
            else:
                meta = kms.create_key(Policy=json.dumps(policy_for(case)), Description=case.name)["KeyMetadata"]
                keys[index] = meta["Arn"]
        cfg = config()
        result = run_scan(session, cfg, corpus_rules)
    findings = _statuses(evaluate(result.snapshot, corpus_rules, cfg).findings)
    by_name = {r.name: r for r in result.snapshot.resources if r.type == "s3.bucket"}
    by_arn = {r.attributes.get("arn"): r for r in result.snapshot.resources if r.type == "kms.key"}
    out: dict[int, tuple[Any, str | None]] = {}
    for case in cases:
        index = CASES.index(case)
        if kind_of(case) == "s3":
            out[index] = (by_name[bucket_for(case)].attributes["policy"], None)
        else:
            out[index] = (by_arn[keys[index]].attributes["policy"], keys[index])
    return out, findings


@pytest.fixture(scope="module")
def scanned(corpus_rules: list[Any]) -> tuple[dict[int, tuple[Any, str | None]], dict[str, Any]]:
    return _scan(LIVE, corpus_rules)


def _engine_verdict(case: Case, findings: Mapping[str, Any]) -> None:
    finding = findings[_rule_id(case)]
    assert finding.status.value == case.verdict, finding.message
    if case.verdict == "FAIL":
        fragment = case.evidence.replace(BUCKET, bucket_for(case)) if kind_of(case) == "s3" else case.evidence
        assert fragment in json.dumps(finding.evidence, default=str) + finding.message, finding.evidence


@pytest.mark.parametrize("case", LIVE, ids=str)
def test_live_scan(case: Case, scanned: tuple[dict[int, tuple[Any, str | None]], dict[str, Any]]) -> None:
    policies, findings = scanned
    _engine_verdict(case, findings)
    policy, key_arn = policies[CASES.index(case)]
    result = check_document(policy, case.requirement, context_for(case, key_arn))
    expect(case, result.to_json_value(), key_arn=key_arn)


def test_live_scan_of_keys_whose_policy_denies_the_scanner_is_an_error(corpus_rules: list[Any]) -> None:
    locked = [c for c in DECIDED if c.name in LOCKED_OUT]
    _policies, findings = _scan(locked, corpus_rules)
    for case in locked:
        finding = findings[_rule_id(case)]
        assert finding.status.value == "ERROR" and "AccessDenied" in finding.message, finding.message


# --------------------------------------------------------------------------- door 3: a CloudFormation template


def _logical(case: Case) -> str:
    return "Case" + "".join(part.capitalize() for part in case.name.split("-"))


@pytest.fixture(scope="module")
def templated(
    tmp_path_factory: pytest.TempPathFactory, corpus_rules: list[Any]
) -> tuple[dict[int, tuple[Any, str | None]], dict[str, Any]]:
    """One template: a bucket and its AWS::S3::BucketPolicy per S3 case, an AWS::KMS::Key per KMS case,
    run through the `ccme-audit iac` pipeline (audit_paths) with the corpus rules."""
    from auditor.app.iac import audit_paths
    from auditor.iac import load_paths

    resources: dict[str, Any] = {}
    for case in DECIDED:
        name = _logical(case)
        if kind_of(case) == "s3":
            resources[name] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket_for(case)}}
            resources[name + "Policy"] = {"Type": "AWS::S3::BucketPolicy",
                                          "Properties": {"Bucket": {"Ref": name}, "PolicyDocument": policy_for(case)}}
        else:
            resources[name] = {"Type": "AWS::KMS::Key", "Properties": {"Description": case.name,
                                                                         "KeyPolicy": policy_for(case)}}
    path = tmp_path_factory.mktemp("cfn") / "corpus.yaml"
    path.write_text(yaml.safe_dump({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}))
    cfg = config({"account": ACCOUNT})
    evaluation, problems = audit_paths([path], cfg, corpus_rules)
    assert not [p for p in problems if not p.warning], problems
    findings = _statuses(evaluation.findings)
    loaded = load_paths([path], region=REGION, account=ACCOUNT)
    buckets = {r.name: r for r in loaded.snapshot.resources if r.type == "s3.bucket"}
    keys = {r.attributes.get("description"): r for r in loaded.snapshot.resources if r.type == "kms.key"}
    out: dict[int, tuple[Any, str | None]] = {}
    for case in DECIDED:
        if kind_of(case) == "s3":
            out[CASES.index(case)] = (buckets[bucket_for(case)].attributes["policy"], None)
        else:
            key = keys[case.name]
            arn = key.attributes.get("arn")
            out[CASES.index(case)] = (key.attributes["policy"], arn if isinstance(arn, str) else None)
    return out, findings


@pytest.mark.parametrize("case", DECIDED, ids=str)
def test_cloudformation_template(
    case: Case, templated: tuple[dict[int, tuple[Any, str | None]], dict[str, Any]]
) -> None:
    policies, findings = templated
    _engine_verdict(case, findings)
    policy, key_arn = policies[CASES.index(case)]
    result = check_document(policy, case.requirement, context_for(case, key_arn))
    expect(case, result.to_json_value(), key_arn=key_arn)


def test_every_corpus_case_goes_through_every_door() -> None:
    assert DECIDED == CASES  # the corpus has no ERROR case (test_the_corpus_has_no_error_case)
    assert {c.name for c in DECIDED} - {c.name for c in LIVE} == set(LOCKED_OUT)
