from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Finding, Severity, Source, Status
from tests.golden.regenerate import golden_evaluation


@pytest.fixture(scope="session")
def broken() -> Evaluation:
    return golden_evaluation()


HOSTILE = (
    "x\"'><img src=x onerror=\"window.__pwned=1;document.title='pwned'\">"
    "<script>window.__pwned=2</script>`$(id)`|*_[a](b)"
)


def make_finding(**changes: Any) -> Finding:
    base = dict(
        rule_id="CCME-TEST-RULE",
        title="A test rule",
        pack="ccme",
        area="s3",
        resource_type="s3.bucket",
        resource_id="bucket-a",
        status=Status.FAIL,
        severity=Severity.HIGH,
        message="it fails",
        source=Source(document="seed 000", section="S3", quote="quoted text"),
        evidence=({"check": "versioning equals 'Enabled'", "observed": None},),
        region="eu-west-1",
        account="111122223333",
    )
    base.update(changes)
    return Finding(**base)  # type: ignore[arg-type]


@pytest.fixture()
def evaluation_of() -> Callable[..., Evaluation]:
    def build(*findings: Finding, base: Evaluation | None = None) -> Evaluation:
        return Evaluation(
            findings=tuple(findings),
            account="111122223333",
            regions=("eu-west-1",),
            rules=base.rules if base else (),
            evaluated_at="2026-11-22T00:00:00+00:00",
        )

    return build


def with_status(finding: Finding, status: Status, **changes: Any) -> Finding:
    return dataclasses.replace(finding, status=status, **changes)
