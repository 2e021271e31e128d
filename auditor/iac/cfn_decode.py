"""CloudFormation YAML and JSON into Python values that remember their lines.

YAML goes through PyYAML's libyaml parser (C) with a constructor for CloudFormation's short-form
intrinsics: `!Ref x` becomes `{"Ref": x}`, `!Condition c` `{"Condition": c}`, `!GetAtt A.B.C`
`{"Fn::GetAtt": ["A", "B.C"]}` and any other `!Name v` `{"Fn::Name": v}`, so that an unknown one
reaches the loader as an unknown intrinsic at its line. JSON goes through the json module (its
values exactly as JSON defines them); its lines come from the YAML composer where it can read the
text (JSON is YAML's flow style), else from the key's first occurrence in the text.

Every mapping is a `Mapping` (a dict with `line`, and `key_lines` from each key to its line);
duplicate keys are refused, as CloudFormation refuses them. Timestamps stay as YAML reads them
(`Version: 2012-10-17` unquoted is a date; the loader turns it back into the policy version).

cfn-lint's decoder does the same with a node class per string and per mapping, and takes a second
to import (its package loads the whole linter): the IaC gate is faster without it.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Mapping(dict[Any, Any]):
    """A decoded mapping with the (1-based) line it starts on and the line of each key."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class DecodeError(Exception):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


class _Loader(_BASE):
    """The safe loader (libyaml where available) with CloudFormation's tags."""


def _mapping(loader: Any, node: yaml.MappingNode) -> Mapping:
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)  # YAML merge keys, as the safe loader reads them: merged pairs first
    merged = len(node.value) - explicit
    out = Mapping(_line(node.start_mark))
    from_merge: set[Any] = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = key in out
        except TypeError:
            raise DecodeError(f"a mapping key is not a scalar ({key_node.tag})", _line(key_node.start_mark)) from None
        if position < merged:
            # A key `<<: *anchor` brings; flatten_mapping lists the mappings of `<<: [*a, *b]` last-first, so the
            # later pair overwrites and the first mapping named wins, as YAML says.
            from_merge.add(key)
        elif seen and key in from_merge:
            from_merge.discard(key)  # a key written beside the merge overrides the merged one
        elif seen:
            first = out.key_lines.get(key)
            at = f" (first at line {first})" if first else ""
            raise DecodeError(f"duplicate key {str(key)[:80]!r}{at}", _line(key_node.start_mark))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = _line(key_node.start_mark) or 0
    return out


def _intrinsic(loader: Any, suffix: str, node: yaml.Node) -> Mapping:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = _mapping(loader, node)  # type: ignore[arg-type]
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)  # `!GetAtt Res.Attr.Sub` is ["Res", "Attr.Sub"]
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    out = Mapping(_line(node.start_mark))
    out[name] = value
    out.key_lines[name] = out.line or 0
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_multi_constructor("!", _intrinsic)


def decode_yaml(text: str) -> Any:
    """Decode YAML text; DecodeError names the line. An alias is the same object as its anchor's
    value (nothing is copied): the caller counts the expanded size of what this returns."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except DecodeError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise DecodeError(f"{exc.problem or exc.context}", _line(mark)) from None
    except yaml.YAMLError as exc:
        raise DecodeError(str(exc)) from None
    finally:
        loader.dispose()


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _json_pairs(pairs: list[tuple[str, Any]]) -> Mapping:
    out = Mapping()
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _text_line(text: str, needle: str) -> int | None:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def decode_json(text: str) -> Any:
    """Decode JSON; mappings get lines from the YAML composer when it reads the text."""
    try:
        value = json.loads(text, object_pairs_hook=_json_pairs)
    except _DuplicateKey as exc:
        needle = json.dumps(exc.key)
        first = text.find(needle)
        again = text.find(needle, first + 1) if first >= 0 else -1
        line = text.count("\n", 0, again) + 1 if again >= 0 else None
        first_line = _text_line(text, needle)
        at = f" (first at line {first_line})" if first_line else ""
        raise DecodeError(f"duplicate key {exc.key[:80]!r}{at}", line) from None
    except json.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc.msg}", exc.lineno) from None
    try:
        root = yaml.compose(text, Loader=_BASE)
    except (yaml.YAMLError, RecursionError):
        root = None  # tabs and other JSON that YAML does not read: first occurrences in the text
    _json_lines(value, root, text)
    return value


def _json_lines(value: Any, root: yaml.Node | None, text: str) -> None:
    stack: list[tuple[Any, yaml.Node | None]] = [(value, root)]
    while stack:
        item, node = stack.pop()
        if isinstance(item, list):
            nodes = node.value if isinstance(node, yaml.SequenceNode) and len(node.value) == len(item) else None
            stack.extend((v, nodes[i] if nodes else None) for i, v in enumerate(item))
        elif isinstance(item, Mapping):
            pairs = {}
            if isinstance(node, yaml.MappingNode):
                pairs = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
                item.line = _line(node.start_mark)
            for key, child in item.items():
                key_node, value_node = pairs.get(key, (None, None))
                line = _line(key_node.start_mark) if key_node is not None else _text_line(text, json.dumps(key))
                item.key_lines[key] = line or 0
                if item.line is None:
                    item.line = line
                stack.append((child, value_node))
