"""Replay of AWS's documented example answers, read at test time from the installed botocore
(`botocore/data/<service>/<version>/examples-1.json`; nothing is copied into this repository).

Each example output of an operation the collectors call is served as that operation's answer
(every other operation answering an empty success) through the same before-call answerer as the
shape fuzz: no collector crashes, the snapshot reads back through the schemas, no rule crashes,
and no collection error is recorded (an answer AWS documents is never a failed call), except an
abbreviated example without the members the response contract requires (auditor/collect/contract.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import DataNotFoundError

from auditor.collect.contract import contract, missing_members
from tests.shapes.harness import BOTOCORE, OPERATIONS, Answer, Pages, World, fake_credentials, none_exist, validated


def examples() -> list[tuple[str, int, dict[str, Any]]]:
    loader = BOTOCORE.get_component("data_loader")
    out = []
    for key in sorted(OPERATIONS):
        service, operation = key.split(":", 1)
        try:
            data = loader.load_service_model(service, "examples-1")
        except DataNotFoundError:  # a service without documented examples
            continue
        for index, example in enumerate(data.get("examples", {}).get(operation, [])):
            if isinstance(example.get("output"), dict):
                out.append((key, index, example["output"]))
    return out


EXAMPLES = examples()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with fake_credentials():
        yield World()


def test_some_operations_have_documented_examples() -> None:
    # botocore 1.43 documents examples for ec2, kms, secretsmanager, elbv2, s3, iam, ...: if this
    # drops to none, the replay below tests nothing and the loader path changed.
    assert len({k for k, _, _ in EXAMPLES}) >= 10


def _empty(key: str) -> Answer:
    return none_exist(key)


@pytest.mark.parametrize(("key", "index", "output"), EXAMPLES, ids=[f"{k}#{i}" for k, i, _ in EXAMPLES])
def test_documented_example_answer(world: World, key: str, index: int, output: dict[str, Any]) -> None:
    run = world.run({key: Pages((output,))}, default=_empty)
    assert not run.crashed, [e.message for e in run.crashed]
    errors = [e for e in run.snapshot.errors if e.operation == OPERATIONS[key].action]
    if missing_members(output, contract(key).requires):
        # Some examples are abbreviated ({} for DescribeSecurityGroups): an answer without the
        # members the contract requires is incomplete evidence, never "none exist".
        assert errors and {e.code for e in errors} == {"IncompleteResponse"}, errors
    else:
        assert not errors, run.snapshot.errors
    evaluation = world.evaluate(validated(run.snapshot))
    assert not [f for f in evaluation.findings if "the rule crashed" in f.message]
