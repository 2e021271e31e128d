"""Locate the data shipped with the tool: rule packs, JSON Schemas, report templates."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent
_LAYOUT = {"policies": "policies", "schemas": "schemas", "templates": "reports/templates"}


@cache
def data_dir(name: str) -> Path:
    """Return the directory of `name` (policies, schemas, templates), installed or in a checkout."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _REPO / _LAYOUT[name]
