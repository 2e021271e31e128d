"""One rule set, three sources: the CCME prerequisites described in CloudFormation, in Terraform,
and collected live from the (fault-free) demo account give the same verdict for every rule that
applies to both live scans and templates."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path

import pytest

from auditor.app.iac import audit_paths
from auditor.app.pipeline import evaluate
from auditor.config import load_config
from auditor.demo.gaps import EMULATOR_GAPS, probe_findings_on_gaps
from auditor.engine.evaluate import Evaluation
from auditor.engine.rules import load_rules
from tests.iac import variants

TODAY = dt.date(2026, 11, 22)
REGION = "eu-west-1"


def by_rule(result: Evaluation) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for finding in result.findings:
        out[finding.rule_id].add(finding.status.value)
    return out


def scan_demo(faults: bool) -> Evaluation:
    from auditor.collect.runner import scan
    from auditor.demo.account import seed_ccme_account
    from auditor.demo.run import _stub_not_mocked, offline_account, offline_guard

    with offline_account(REGION) as session:
        seeded = seed_ccme_account(session, REGION, faults=faults)
        config = load_config(Path(os.devnull), seeded.config_overrides())
        rules = load_rules(None, ["ccme"])
        result = scan(config, rules, session=session, client_hooks=[_stub_not_mocked, offline_guard], progress=False)
    return evaluate(result.snapshot, rules, config, today=TODAY)


@pytest.fixture(scope="module")
def live() -> Evaluation:
    return scan_demo(faults=False)


@pytest.fixture(scope="module")
def live_faulted() -> Evaluation:
    return scan_demo(faults=True)


def iac(path: Path) -> Evaluation:
    config = load_config(None, [("account", "111122223333"), ("secret_name", "ccme-directory-reader"),
                                ("certificate_domain", "ccme.example.com"),
                                ("iac.complete", True)])  # the whole account, as the live scan sees it
    result, problems = audit_paths([path], config, load_rules(None, ["ccme"]), today=TODAY)
    assert not problems
    return result


def compare(live: Evaluation, template: Evaluation, source: str) -> dict[str, tuple[list[str], list[str]]]:
    live_rules, iac_rules = by_rule(live), by_rule(template)
    both = {r.id for r in load_rules(None, ["ccme"]) if r.live and r.iac} & set(live_rules) & set(iac_rules)
    # What a template cannot know (a requested certificate's status, a secret's value) is ERROR or
    # SKIPPED there by design; every other shared rule must agree with the live account.
    undecidable = {rule for rule in both if iac_rules[rule] & {"ERROR", "SKIPPED"}}
    compared = both - undecidable
    print(f"{source}: {len(compared)} rules compared; undecidable from a template: {sorted(undecidable)}")
    assert len(compared) >= 60, sorted(compared)
    return {rule: (sorted(live_rules[rule]), sorted(iac_rules[rule])) for rule in compared
            if live_rules[rule] != iac_rules[rule]}


def replace_once(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) >= count, old
    return text.replace(old, new, count)


# The demo's four planted faults (auditor/demo/account.py FAULTS), written into each template flavour.
def faulted_cloudformation(tmp: Path) -> Path:
    text = variants.CFN_GOOD.read_text()
    head, tail = text.split("Description: CCME sns", 1)
    tail = replace_once(tail, "MultiRegion: false", "MultiRegion: true")
    text = head + "Description: CCME sns" + tail
    text = replace_once(text, 'LogFilePrefix: !Sub "ucit-${KmsPrefix}-internals-${AWS::Region}/"',
                        "LogFilePrefix: logs/")
    text = replace_once(text, '[!Sub "${UserdataBucket.Arn}/*", !GetAtt UserdataBucket.Arn]',
                        '!Sub "${UserdataBucket.Arn}/*"', count=2)
    text = replace_once(text, 'DomainName: !Sub "${AWS::Region}.compute.internal"', "DomainName: ec2.internal")
    path = tmp / "faulted.yaml"
    path.write_text(text)
    return path


def faulted_terraform(tmp: Path) -> Path:
    text = (variants.TF_GOOD.parent / "main.tf").read_text()
    head, tail = text.split('description              = "CCME sns"', 1)
    tail = replace_once(tail, "multi_region             = false", "multi_region             = true")
    text = head + 'description              = "CCME sns"' + tail
    text = replace_once(text, 'target_prefix = "${aws_s3_bucket.internals.id}/"', 'target_prefix = "logs/"')
    text = text.replace('Resource  = ["${aws_s3_bucket.userdata.arn}/*", aws_s3_bucket.userdata.arn]',
                        'Resource  = ["${aws_s3_bucket.userdata.arn}/*"]')
    text = replace_once(text, 'domain_name         = "${var.region}.compute.internal"',
                        'domain_name         = "ec2.internal"')
    directory = tmp / "tf"
    directory.mkdir()
    for other in variants.TF_GOOD.parent.iterdir():
        if other.is_file() and other.name != "main.tf":
            (directory / other.name).write_text(other.read_text())
    (directory / "main.tf").write_text(text)
    return directory


@pytest.mark.parametrize("source", ["cloudformation", "terraform"])
def test_templates_and_live_account_agree_rule_by_rule(live: Evaluation, source: str) -> None:
    template = iac(variants.CFN_GOOD if source == "cloudformation" else variants.TF_GOOD.parent)
    assert compare(live, template, source) == {}
    # Every rule passes but the advisory confused-deputy one on the seed's CloudWatch key policy (info, expected).
    advisory = "CCME-KMS-SERVICE-DEPUTY-CLOUDWATCH"
    rules = by_rule(template)
    assert rules[advisory] == {"FAIL"}
    assert all(statuses == {"PASS"} for rule, statuses in rules.items()
               if statuses <= {"PASS", "FAIL"} and rule != advisory)


@pytest.mark.parametrize("source", ["cloudformation", "terraform"])
def test_the_same_faults_give_the_same_failures(live_faulted: Evaluation, source: str, tmp_path: Path) -> None:
    path = faulted_cloudformation(tmp_path) if source == "cloudformation" else faulted_terraform(tmp_path)
    template = iac(path)
    assert compare(live_faulted, template, source) == {}
    failing = {rule for rule, statuses in by_rule(template).items() if "FAIL" in statuses}
    # a verdict on an answer the demo made up for what moto does not emulate is compared with nothing
    made_up = probe_findings_on_gaps(live_faulted.findings, EMULATOR_GAPS.answered)
    assert failing == {rule for rule, statuses in by_rule(live_faulted).items() if "FAIL" in statuses} - made_up
    assert {"CCME-KMS-REGIONALITY-SNS", "CCME-S3-ACCESS-LOGGING-INTERNALS", "CCME-S3-POLICY-SECURETRANSPORT-USERDATA",
            "CCME-S3-POLICY-TLS12-USERDATA", "CCME-VPC-DHCP"} <= failing
