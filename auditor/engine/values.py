"""Reading values by path, unknown values, and parameter templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.visitor

from auditor.snapshot import UNKNOWN_KEY, is_unknown

_SIMPLE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


class UnknownValue(Exception):
    """Evidence a rule needs is unknown (not collected, unresolvable, denied)."""

    def __init__(self, reason: str, path: str | None = None):
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


class MissingParameter(Exception):
    """A rule needs a configuration value that is not set."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(name)


class _UnknownAwareInterpreter(jmespath.visitor.TreeInterpreter):
    """JMESPath interpreter that raises UnknownValue when it reads through an unknown marker."""

    def visit_field(self, node: Any, value: Any) -> Any:
        if isinstance(value, dict) and UNKNOWN_KEY in value and len(value) == 1:
            raise UnknownValue(str(value[UNKNOWN_KEY]))
        return super().visit_field(node, value)


_INTERPRETER = _UnknownAwareInterpreter()


@lru_cache(maxsize=4096)
def compile_path(path: str) -> Any:
    """Compile a path: a tuple of keys for dotted paths, else a JMESPath AST."""
    if _SIMPLE_PATH.match(path):
        return tuple(path.split("."))
    return jmespath.compile(path).parsed


def check_path(path: str) -> str | None:
    """Return an error message if `path` is not a valid path expression."""
    try:
        compile_path(path)
    except jmespath.exceptions.JMESPathError as exc:
        return str(exc).splitlines()[0]
    return None


def read(value: Any, path: str) -> Any:
    """Read `path` from `value`; raise UnknownValue when the path meets an unknown marker."""
    compiled = compile_path(path)
    if isinstance(compiled, tuple):
        current = value
        for key in compiled:
            if isinstance(current, dict):
                if len(current) == 1 and UNKNOWN_KEY in current:
                    raise UnknownValue(str(current[UNKNOWN_KEY]), path)
                current = current.get(key)
            else:
                return None
        if is_unknown(current):
            raise UnknownValue(str(current[UNKNOWN_KEY]), path)
        return current
    try:
        result = _INTERPRETER.visit(compiled, value)
    except UnknownValue as exc:
        raise UnknownValue(exc.reason, path) from None
    if is_unknown(result):
        raise UnknownValue(str(result[UNKNOWN_KEY]), path)
    return result


def placeholders(value: Any) -> set[str]:
    """Every `{name}` placeholder inside a (nested) template value."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.update(PLACEHOLDER.findall(item))
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def render(value: Any, params: Mapping[str, Any], *, keep_prefix: str | None = None) -> Any:
    """Substitute `{name}` placeholders from `params`.

    A string that is exactly one placeholder takes the parameter's value (lists stay lists).
    Placeholders starting with `keep_prefix` are left in place for a later pass.
    """
    if isinstance(value, str):
        if "{" not in value:
            return value
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            name = whole.group(1)
            if keep_prefix and name.startswith(keep_prefix):
                return value
            if name not in params:
                raise MissingParameter(name)
            if params[name] is None:
                raise MissingParameter(name)
            return params[name]

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if keep_prefix and name.startswith(keep_prefix):
                return match.group(0)
            if name not in params or params[name] is None:
                raise MissingParameter(name)
            return str(params[name])

        return PLACEHOLDER.sub(sub, value)
    if isinstance(value, Mapping):
        return {k: render(v, params, keep_prefix=keep_prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, params, keep_prefix=keep_prefix) for v in value]
    return value
