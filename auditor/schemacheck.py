"""A fast yes/no check for the JSON Schema subset our schemas use.

jsonschema spends ~300 µs on one resource; snapshots hold 100,000 of them. This compiles a
schema into closures for the keywords below and answers only valid/invalid; when it says
invalid (or meets a keyword it does not know) the caller asks jsonschema for the precise error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]
IGNORED = {"$schema", "$id", "title", "description", "$defs", "format", "default", "examples"}


class Unsupported(Exception):
    """The schema uses a keyword this checker does not implement."""


def _is_type(value: Any, name: str) -> bool:
    match name:
        case "string":
            return isinstance(value, str)
        case "object":
            return isinstance(value, dict)
        case "array":
            return isinstance(value, list)
        case "boolean":
            return isinstance(value, bool)
        case "null":
            return value is None
        case "integer":
            return (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, float) and value.is_integer())
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
    raise Unsupported(f"type {name}")


def _same(a: Any, b: Any) -> bool:
    """JSON equality (enum/const): booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _keyword(key: str, arg: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> Check | None:
    """The check for one keyword (None when it constrains nothing)."""
    if key == "type":
        names = arg if isinstance(arg, list) else [arg]
        for name in names:
            _is_type(None, name)  # raises Unsupported for unknown names
        return lambda v: any(_is_type(v, n) for n in names)
    if key == "enum":
        return lambda v: any(_same(v, o) for o in arg)
    if key == "const":
        return lambda v: _same(v, arg)
    if key == "properties":
        props = {name: compile_schema(sub, root) for name, sub in arg.items()}
        return lambda v: not isinstance(v, dict) or all(check(v[n]) for n, check in props.items() if n in v)
    if key == "required":
        return lambda v: not isinstance(v, dict) or all(n in v for n in arg)
    if key == "additionalProperties":
        known = set(schema.get("properties", {}))
        if arg is True:
            return None
        if arg is False:
            return lambda v: not isinstance(v, dict) or set(v) <= known
        extra = compile_schema(arg, root)
        return lambda v: not isinstance(v, dict) or all(extra(x) for n, x in v.items() if n not in known)
    if key == "items":
        item = compile_schema(arg, root)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if key == "anyOf":
        options = [compile_schema(sub, root) for sub in arg]
        return lambda v: any(o(v) for o in options)
    if key == "pattern":
        rx = re.compile(arg)
        return lambda v: not isinstance(v, str) or rx.search(v) is not None
    if key == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= arg
    if key == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= arg
    if key == "minimum":
        return lambda v: not _is_type(v, "number") or v >= arg
    if key == "maximum":
        return lambda v: not _is_type(v, "number") or v <= arg
    if key == "$ref":
        return _ref(arg, root)
    raise Unsupported(key)


def _ref(ref: str, root: Mapping[str, Any]) -> Check:
    if not ref.startswith("#/"):
        raise Unsupported(f"$ref {ref}")
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    resolved: list[Check] = []

    def by_ref(v: Any) -> bool:
        if not resolved:  # compiled on first use: recursive references terminate
            resolved.append(compile_schema(target, root))
        return resolved[0](v)

    return by_ref


def compile_schema(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Check:
    root = root or schema
    checks: list[Check] = []
    for key, arg in schema.items():
        if key in IGNORED or key.startswith("x-"):
            continue
        check = _keyword(key, arg, schema, root)
        if check is not None:
            checks.append(check)
    return lambda v: all(check(v) for check in checks)
