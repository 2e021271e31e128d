"""Every report format and remediation bundle matches its golden file (python -m tests.golden.regenerate)."""

from __future__ import annotations

import pytest

from tests.golden.regenerate import EXPECTED, outputs

RENDERED = outputs()


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_matches_golden(name: str) -> None:
    path = EXPECTED / name
    assert path.is_file(), f"missing golden file {path}: run python -m tests.golden.regenerate"
    expected = path.read_bytes().decode("utf-8")  # as written: the CSV's CRLF line ends are part of the format
    assert RENDERED[name] == expected, f"{name} differs from its golden file: review, then regenerate"


def test_every_golden_file_is_produced() -> None:
    assert {p.name for p in EXPECTED.iterdir()} == set(RENDERED)
