"""Suite-wide options: long variants (`@pytest.mark.slow`) run only with --runslow."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="also run the tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's CCME_AUDIT_* settings (the configuration keys the environment can set) and TF_VAR_* variables
    (read by ccme-audit iac) never reach a test."""
    import os

    from auditor.config import ENV_KEYS

    for name in [*ENV_KEYS, *(k for k in os.environ if k.startswith("TF_VAR_"))]:
        monkeypatch.delenv(name, raising=False)
