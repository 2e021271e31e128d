"""Reading a Terraform resource's values for the mapping: nested blocks (known or not) and name arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.iac import canonical as C
from auditor.iac.model import (
    text_or_unknown,
)
from auditor.snapshot import is_unknown, unknown

try:
    from lark import Token, Tree
except ModuleNotFoundError:  # the `iac` extra is absent: plan JSON still loads, HCL cannot be parsed
    Token = Tree = type("_NotInstalled", (), {})  # type: ignore[assignment,misc]  # no tree exists to match


class _UnknownBlock(dict[str, Any]):
    """A nested block that is unknown (a dynamic block over an unknown collection): every argument
    read from it is unknown with the block's reason, never an absent (None) value."""

    def get(self, key: Any, default: Any = None) -> Any:  # the block is unknown, whatever the default
        return unknown(str(self["$unknown"]))


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list) and value and is_unknown(value[0]):
        return _UnknownBlock(value[0])
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    if is_unknown(value):
        return _UnknownBlock(value)
    if isinstance(value, dict):
        return value
    return {}


def _named(v: Mapping[str, Any], attr: str, what: str) -> Any:
    name = v.get(attr)
    if name is None:
        return C.tf_generated_name(what, attr, v.get(f"{attr}_prefix"))
    return text_or_unknown(name, attr)
