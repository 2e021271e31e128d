"""Fault injection on the operations only the bbp pack's scan makes (the ParallelCluster provisioner
demo account, auditor.demo.bbp): the same matrix as test_faults.py (see tests/reliability/matrix.py).

Default run: BBP_SAMPLE operations x 4 kinds; --runslow: every other operation x 4 kinds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.matrix import Account, account, cases, planned_calls, run_case

BBP_CALLS = planned_calls(["bbp"])
# The operations a bbp scan makes and a ccme scan does not (the shared ones are in test_faults.py).
KEYS = BBP_CALLS - planned_calls(["ccme"])
BBP_SAMPLE = {"lambda:GetFunction"}


@pytest.fixture(scope="module")
def bbp() -> Iterator[Account]:
    yield from account("bbp")


def test_the_sample_is_planned() -> None:
    assert BBP_SAMPLE <= KEYS and "ec2:DescribeSecurityGroups" in KEYS  # only bbp rules read security groups


@pytest.mark.parametrize(("key", "kind"), cases(KEYS, BBP_SAMPLE))
def test_a_fault_on_one_operation_errors_exactly_its_rules(bbp: Account, key: str, kind: str) -> None:
    run_case(bbp, key, kind)
