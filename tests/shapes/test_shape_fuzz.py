"""Shape fuzzing: every collector fed answers generated from botocore's own service models.

For every operation a scan can call (the list `ccme-audit iam-policy` derives), hypothesis draws an
answer from the operation's output shape (optional members present or absent, empty lists, unknown
enum values, several pages with the paginator's tokens) or one of its documented error codes, and
every collector of a ccme + bbp scan runs on those answers (tests/shapes/harness.py). Properties:
no collector crashes and no rule crashes; the snapshot reads back through the snapshot and resource
schemas; every page of a paginated listing is read; every error code ends as the table below says
(ERROR through a collection error on that IAM action, a probe status, or a documented
"not configured" state).

Default run: a few hundred scans, derandomized (reproducible in CI); `--runslow` runs more.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from auditor.collect import probes, probes_pcluster, registry
from auditor.collect.base import Failed
from auditor.collect.contract import contract, missing_members
from auditor.snapshot import is_unknown, unknown_reason
from tests.shapes.harness import (
    OPERATIONS,
    OPT_IN_REGION,
    Answer,
    Endless,
    Error,
    Pages,
    Run,
    World,
    answers,
    error_codes,
    fake_credentials,
    operation_model,
    paginator,
    result_key,
    validated,
)

# Codes an operation answers when the thing is simply not configured: the attribute's documented
# "not configured" value, no collection error. Every other code of every operation is ERROR (a
# collection error naming the operation's IAM action), except the probes' (below).
NOT_CONFIGURED: dict[tuple[str, str], tuple[str, str, Any]] = {
    ("s3:GetPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration"): ("s3.bucket", "public_access_block", None),
    ("s3:GetBucketEncryption", "ServerSideEncryptionConfigurationNotFoundError"): ("s3.bucket", "encryption", None),
    ("s3:GetBucketPolicy", "NoSuchBucketPolicy"): ("s3.bucket", "policy", None),
    ("s3:GetBucketOwnershipControls", "OwnershipControlsNotFoundError"): ("s3.bucket", "ownership", None),
    ("s3control:GetPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration"): (
        "s3.account_public_access_block", "configured", False),
    ("lambda:GetPolicy", "ResourceNotFoundException"): ("lambda.function", "policy", None),
    ("secretsmanager:GetSecretValue", "ResourceNotFoundException"): ("secretsmanager.secret", "value_format", "empty"),
    ("iam:GetRole", "NoSuchEntity"): ("iam.role", "", None),  # the service-linked role does not exist
}
PROBES = {p.call.key: p for p in (*probes.PROBES, *probes_pcluster.PROBES)}  # both probe collectors
# Operations a probe calls once (no pagination: one page answers "is the service usable").
SINGLE_CALL = set(PROBES)


def expected(key: str, code: str) -> str:
    """The table: what one error code of one operation must become."""
    if (key, code) in NOT_CONFIGURED:
        return "not-configured"
    if key in PROBES:
        status = probes.status_of(Failed(code, "answered by the shape fuzzer", OPERATIONS[key].action,
                                         _status(code)))
        return f"probe:{status[0] if status else 'ERROR'}"
    return "ERROR"


def _status(code: str) -> int:
    from tests.shapes.harness import error_status

    return error_status(code)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with fake_credentials():
        yield World()


def scenarios(world: World, *, errors: bool = True) -> st.SearchStrategy[dict[str, Answer]]:
    return st.fixed_dictionaries({key: answers(key, world.strategies, errors=errors) for key in OPERATIONS})


# No shrinking: a scan's scenario is large and shrinking it takes minutes; the failing example is printed whole.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
# derandomize and no example database: the same examples on every run, on every machine.
FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck), phases=PHASES)
SLOW = settings(max_examples=1500, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck),
                phases=PHASES)


# --- coverage ---------------------------------------------------------------------------------------

def test_every_operation_a_collector_declares_is_fuzzed(world: World) -> None:
    declared = {c.key for collector in registry.COLLECTORS for c in collector.CALLS}
    # ec2:DescribeRegions is the scan's own call (which opt-in regions are enabled), not a collector's
    assert declared | {"ec2:DescribeRegions"} == set(OPERATIONS), "an operation no answer is generated for"
    assert set(world.calls) - {"sts:GetCallerIdentity"} == set(OPERATIONS), "the fuzzed scan plans every call"
    assert {c.__name__ for c, _ in world.tasks} == {c.__name__ for c in registry.COLLECTORS}
    for key in OPERATIONS:
        assert operation_model(key).output_shape is not None or key.startswith("s3:Get"), key
        assert error_codes(key), key
        for code in error_codes(key):
            assert expected(key, code)  # every (operation, code) has its line in the table


def test_the_table_names_real_codes() -> None:
    for key, code in NOT_CONFIGURED:
        assert key in OPERATIONS and code in error_codes(key), (key, code)


@given(data=st.data())
@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck),
          phases=PHASES)
def test_generated_answers_follow_the_model(world: World, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(OPERATIONS)))
    answer = data.draw(answers(key, world.strategies, errors=False))
    assert isinstance(answer, Pages)
    shape = operation_model(key).output_shape
    paging = paginator(key)
    for index, page in enumerate(answer.pages):
        if shape is not None:
            report = ParamValidator().validate(dict(page), shape)
            assert not report.has_errors(), report.generate_report()
        if paging and index < len(answer.pages) - 1:
            token = paging["output_token"]
            first = token if isinstance(token, str) else token[0]
            assert _get(page, first) == f"token-{index + 1}"


def _get(doc: Mapping[str, Any], path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) or {}
    return doc


# --- the properties ---------------------------------------------------------------------------------

def check(world: World, scenario: Mapping[str, Answer], run: Run) -> None:
    # (a) nothing escapes a collector, nothing goes unanswered, no rule crashes on what was collected
    assert not run.crashed, [e.message for e in run.crashed]
    assert not run.served.unanswered
    evaluation = world.evaluate(validated(run.snapshot))  # (b) the snapshot reads back through the schemas
    crashed = [f"{f.rule_id}: {f.message}" for f in evaluation.findings if "the rule crashed" in f.message]
    assert not crashed
    regions(scenario.get(REGIONS), run)
    for key, answer in scenario.items():
        if key not in run.served.calls:
            continue
        action = OPERATIONS[key].action
        refused = {e.code for e in run.errors_on(action)}
        if isinstance(answer, Pages) and key not in SINGLE_CALL and not refused & INCOMPLETE:
            # every page is read: a listing that stops after page one misses resources silently
            assert run.served.pages.get(key, set()) >= set(range(len(answer.pages))), (
                f"{key}: pages {sorted(run.served.pages.get(key, set()))} of {len(answer.pages)} read")
        if isinstance(answer, Pages) and key not in PROBES:
            # an answer without a member the contract requires is a collection error, never "none exist"
            requires = contract(key).requires
            if any(missing_members(page, requires) for page in answer.pages[:1]):
                assert "IncompleteResponse" in refused, f"{key}: {answer.pages[0]} read as an answer"
            ident, listed = contract(key).identifier, result_key(key)
            first = answer.pages[0].get(listed) if listed else None
            if ident and isinstance(first, list) and any(isinstance(i, dict) and not i.get(ident) for i in first):
                assert refused & {"UnidentifiedItem", "IncompleteResponse", "PaginationError"}, key
        if isinstance(answer, Endless) and key not in SINGLE_CALL:
            assert "PaginationError" in refused, f"{key}: an endless listing did not end as an error"
        if isinstance(answer, Error):
            outcome(world, run, key, answer.code)


REGIONS = "ec2:DescribeRegions"
INCOMPLETE = {"IncompleteResponse", "PaginationError"}


def regions(answer: Answer | None, run: Run) -> None:
    """The opt-in region is dropped from the scan only when DescribeRegions says so: not listed, or
    listed not-opted-in. Any other status, a missing one, or an unknown one keeps it (its calls then
    fail or succeed on their own); a failed DescribeRegions drops nothing (the calls fail fast with
    the hint), and never stops the scan."""
    assert set(run.disabled) <= {OPT_IN_REGION}, run.disabled
    if not isinstance(answer, Pages):
        assert run.disabled == {}, run.disabled
        return
    listed = {str(r.get("RegionName")): r.get("OptInStatus") for page in answer.pages
              for r in page.get("Regions") or ()}
    want = OPT_IN_REGION not in listed or listed[OPT_IN_REGION] == "not-opted-in"
    assert (OPT_IN_REGION in run.disabled) == want, (listed.get(OPT_IN_REGION, "absent"), run.disabled)
    if want:
        assert "enable" in run.disabled[OPT_IN_REGION] or "not a region" in run.disabled[OPT_IN_REGION]


def outcome(world: World, run: Run, key: str, code: str) -> None:
    """An error code of an operation that was called ends as the table says."""
    if key == REGIONS:
        return  # regions() above: a failed DescribeRegions drops no region and reports nothing
    want = expected(key, code)
    action = OPERATIONS[key].action
    errors = run.errors_on(action)
    if want == "ERROR":
        assert errors, f"{key} answered {code}: no collection error names {action} (missing evidence unreported)"
        for error in errors:
            assert error.code == code or (code in ("403",) and error.code == "AccessDenied")
    elif want == "not-configured":
        rtype, attribute, value = NOT_CONFIGURED[(key, code)]
        assert not errors, f"{key} answered {code} (not configured), yet a collection error: {errors}"
        if attribute:
            for resource in run.resources(rtype):
                got = resource.attributes.get(attribute)
                if is_unknown(got) and "not collected" in unknown_reason(got):
                    continue  # not selected by any rule: no detail call was made
                assert got == value, (key, code, resource.id, attribute, got)
    else:
        status = want.split(":", 1)[1]
        probe = PROBES[key]
        found = [r for r in run.resources("service.probe") if r.id == probe.service]
        assert found, f"{key}: no probe result for {probe.service}"
        if key in _collector_keys():
            return  # also a collector's listing: its own errors decide, the probe reads the same answer
        for resource in found:
            if status == "ERROR":
                assert resource.attributes["status"] == "not-probed" and errors, (key, code, resource.attributes)
            else:
                assert resource.attributes["status"] == status, (key, code, resource.attributes)


def _collector_keys() -> set[str]:
    return {c.key for collector in registry.COLLECTORS if collector is not probes for c in collector.CALLS}


def test_fuzzed_answers(world: World) -> None:
    @FAST
    @given(scenarios(world))
    def run(scenario: dict[str, Answer]) -> None:
        check(world, scenario, world.run(scenario))

    run()


@pytest.mark.slow
def test_fuzzed_answers_long(world: World) -> None:
    @SLOW
    @given(scenarios(world))
    def run(scenario: dict[str, Answer]) -> None:
        check(world, scenario, world.run(scenario))

    run()


@pytest.mark.parametrize("key", sorted(OPERATIONS))
def test_each_error_code_of_each_operation(world: World, key: str) -> None:
    """Per operation: each documented code, the other operations answering from their shapes; the
    operation must be reached (its listing answered something selected) in at least one example."""
    reached: set[str] = set()

    @settings(max_examples=3, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=PHASES)
    @given(scenarios(world, errors=False), st.sampled_from(error_codes(key)))
    def run(scenario: dict[str, Answer], code: str) -> None:
        scenario = {**scenario, key: Error(code, _status(code))}
        result = world.run(scenario)
        check(world, scenario, result)
        if key in result.served.calls:
            reached.add(code)

    run()
    if key not in DETAIL:
        assert reached, f"{key} was never called"


# Detail calls, made only for a listed resource some rule selects (a configured name): three random
# listings rarely name one, so these are reached in test_fuzzed_answers' scans instead (not always).
DETAIL = {
    "fsx:DescribeDataRepositoryAssociations", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "lambda:GetFunction", "lambda:GetPolicy", "network-firewall:DescribeFirewall",
    "network-firewall:DescribeFirewallPolicy", "network-firewall:DescribeRuleGroup",
    *(f"s3:{op}" for op in ("GetBucketAcl", "GetBucketEncryption", "GetBucketLocation", "GetBucketLogging",
                            "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketVersioning",
                            "GetPublicAccessBlock")),
    "secretsmanager:GetSecretValue", "ec2:DescribeVpcAttribute", "elbv2:DescribeListeners",
    "acm:DescribeCertificate", "apigateway:GetResources", "route53resolver:ListFirewallRules",
    "ec2:DescribeImages", "sns:GetTopicAttributes", "lambda:GetFunctionConfiguration", "secretsmanager:DescribeSecret",
    "route53resolver:ListFirewallDomains", "route53resolver:ListFirewallDomainLists",
    "ec2:DescribeVolumes",  # the volumes of CCME's instances: only when an instance of a named stack is found
    "ec2:DescribeInstanceTypes",  # only for the types of the cluster nodes found
}


def test_the_fuzz_gives_the_same_examples_on_every_run(world: World) -> None:
    """Fixed seed, no example database, nothing drawn in set or dict order: two runs, the same scans."""

    def record() -> list[str]:
        seen: list[str] = []

        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=PHASES)
        @given(scenarios(world))
        def run(scenario: dict[str, Answer]) -> None:
            result = world.run(scenario)
            seen.append(repr(sorted(scenario.items())))
            seen.append(json.dumps(result.snapshot.to_json(), sort_keys=True, default=str))

        run()
        return seen

    first = record()
    assert len(first) == 12 and first == record()
