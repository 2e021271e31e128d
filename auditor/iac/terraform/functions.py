"""The Terraform function library ccme-audit evaluates, and the value helpers expressions share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from auditor.fileio import MAX_EXPANDED_NODES
from auditor.iac.model import (
    Link,
    Pattern,
    ShapedUnknown,
    shape_pieces,
)
from auditor.iac.terraform.hcl import _Missing, _Unresolved
from auditor.snapshot import is_unknown, unknown

try:
    from lark import Token, Tree
except ModuleNotFoundError:  # the `iac` extra is absent: plan JSON still loads, HCL cannot be parsed
    Token = Tree = type("_NotInstalled", (), {})  # type: ignore[assignment,misc]  # no tree exists to match


def _index(value: Any, steps: list[Any], what: str) -> Any:
    for step in steps:
        if is_unknown(value):
            return value
        if isinstance(value, Link):
            return (
                Link(value.target, str(step))
                if value.attribute is None
                else unknown(f"{what} is known only after deployment")
            )
        if isinstance(value, list) and isinstance(step, str) and step.isdigit():
            step = int(step)
        if (isinstance(value, dict) and isinstance(step, str) and step in value) or (
            isinstance(value, list) and isinstance(step, int) and not isinstance(step, bool) and 0 <= step < len(value)
        ):
            value = value[step]  # type: ignore[index]
        elif is_unknown(step) or isinstance(step, Link):
            raise _Unresolved(_why(step, f"index of {what}"))
        else:
            raise _Missing(f"{what} has no element {step!r}"[:200])
    return value


def _render_policy_document(v: Mapping[str, Any]) -> str:
    """aws_iam_policy_document's JSON: source documents' statements, then this one's, then the override
    documents' (a statement whose Sid is already there replaces it). Any unknown part: unknown."""
    _known(dict(v), "aws_iam_policy_document")

    def statements_of(documents: Any, what: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for text in documents or []:
            try:
                doc = json.loads(_text(text, what))
            except json.JSONDecodeError:
                raise _Missing(f"{what}: not a JSON policy") from None
            found = doc.get("Statement") if isinstance(doc, dict) else None
            out.extend(found if isinstance(found, list) else [found] if isinstance(found, dict) else [])
        return out

    def merge(into: list[dict[str, Any]], extra: list[dict[str, Any]]) -> None:
        for statement in extra:
            sid = statement.get("Sid") if isinstance(statement, dict) else None
            same = next((i for i, s in enumerate(into) if sid and isinstance(s, dict) and s.get("Sid") == sid), None)
            if same is None:
                into.append(statement)
            else:
                into[same] = statement

    def principals(blocks: Any) -> Any:
        out: dict[str, list[Any]] = {}
        for block in blocks or []:
            kind, ids = block.get("type"), block.get("identifiers") or []
            if kind == "*" and ids == ["*"]:
                return "*"
            out.setdefault(str(kind), []).extend(ids if isinstance(ids, list) else [ids])
        return out

    mine: list[dict[str, Any]] = []
    for block in v.get("statement") or []:
        statement: dict[str, Any] = {}
        if block.get("sid") not in (None, ""):
            statement["Sid"] = block["sid"]
        statement["Effect"] = block.get("effect") or "Allow"
        for field, key in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                           ("not_resources", "NotResource")):
            if block.get(field):
                statement[key] = list(block[field])
        for field, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            if block.get(field):
                statement[key] = principals(block[field])
        conditions: dict[str, dict[str, list[Any]]] = {}
        for cond in block.get("condition") or []:
            values = cond.get("values")
            conditions.setdefault(str(cond.get("test")), {}).setdefault(str(cond.get("variable")), []).extend(
                values if isinstance(values, list) else [values]
            )
        if conditions:
            statement["Condition"] = conditions
        mine.append(statement)
    result = statements_of(v.get("source_policy_documents"), "source_policy_documents")
    merge(result, mine)
    merge(result, statements_of(v.get("override_policy_documents"), "override_policy_documents"))
    document: dict[str, Any] = {"Version": v.get("version") or "2012-10-17"}
    if v.get("policy_id"):
        document["Id"] = v["policy_id"]
    document["Statement"] = result
    return json.dumps(document)


def _each_pairs(each: Any) -> list[tuple[str, Any]] | None:
    """for_each's (each.key, each.value) pairs: a known map, or a known set/list of strings; else None."""
    if isinstance(each, dict) and not is_unknown(each):
        return [(str(k), v) for k, v in each.items()]
    if isinstance(each, list) and all(isinstance(v, str) for v in each):
        return [(v, v) for v in dict.fromkeys(each)]
    return None


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise _Unresolved(_why(value, what))


def _why(value: Any, what: str) -> str:
    if is_unknown(value):
        return str(value["$unknown"])
    if isinstance(value, Link):
        return f"{what}: {value.describe()} is known only after apply"
    return f"{what}: cannot use a {type(value).__name__} here"


def _known(value: Any, what: str) -> Any:
    from auditor.iac.model import contains_unknown

    reason = contains_unknown(value)
    if reason:
        raise _Unresolved(f"{what}: {reason}")
    return value


def _binary(op: str, left: Any, right: Any) -> Any:
    for side in (left, right):
        if is_unknown(side) or isinstance(side, Link):
            raise _Unresolved(_why(side, f"operator {op}"))
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("&&", "||") and isinstance(left, bool) and isinstance(right, bool):
        return (left and right) if op == "&&" else (left or right)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if numbers:
        ops: dict[str, Callable[[Any, Any], Any]] = {
            "+": lambda a, b: a + b,
            "-": lambda a, b: a - b,
            "*": lambda a, b: a * b,
            "/": lambda a, b: a / b if b else None,
            "%": lambda a, b: a % b if b else None,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        if op in ops and ops[op](left, right) is not None:
            return ops[op](left, right)
    raise _Unresolved(f"operator {op} on {type(left).__name__} and {type(right).__name__}")


def _shaped_format(args: list[Any]) -> Any:
    """format() with arguments known only at apply: unknown, keeping the format's fixed text (a name's shape);
    None when the format is not one read here (then the call is unknown as a whole)."""
    if not isinstance(args[0], str) or not any(is_unknown(a) or isinstance(a, Link) for a in args[1:]):
        return None
    parts = re.split(r"(%[sdv])", args[0].replace("%%", "\0"))
    if len(parts) // 2 != len(args) - 1 or "%" in "".join(parts[0::2]):
        return None
    pieces: list[str | Pattern | None] = []
    for position, part in enumerate(parts):
        if position % 2 == 0:
            pieces.append(part.replace("\0", "%"))
            continue
        value = args[1 + position // 2]
        if isinstance(value, int | float) and not isinstance(value, bool):
            pieces.append(str(value))
        else:
            pieces.extend(shape_pieces(value) or [None])
    reason = next(_why(a, "format") for a in args[1:] if is_unknown(a) or isinstance(a, Link))
    return ShapedUnknown(reason, pieces)


def _call(name: str, args: list[Any]) -> Any:
    if name == "format" and args:
        shaped = _shaped_format(args)
        if shaped is not None:
            return shaped
    for arg in args:
        if is_unknown(arg):
            raise _Unresolved(str(arg["$unknown"]))
    more = _COLLECTION_FUNCTIONS.get(name)
    if more is not None:
        try:
            return more(args)
        except (IndexError, TypeError, ValueError):
            raise _Unresolved(f"{name}(): arguments not understood") from None
    if name == "jsonencode" and len(args) == 1:
        return json.dumps(_known(args[0], "jsonencode"))
    if name == "jsondecode" and len(args) == 1:
        try:
            return json.loads(_text(args[0], "jsondecode"))
        except json.JSONDecodeError:
            raise _Unresolved("jsondecode of invalid JSON") from None
    if name == "format" and args:
        fmt = _text(args[0], "format")
        values = [_text(a, "format") for a in args[1:]]
        try:
            return re.sub(r"%[sdv]", "{}", fmt.replace("%%", "\0")).format(*values).replace("\0", "%")
        except (IndexError, ValueError):
            raise _Unresolved("format arguments do not match") from None
    if name == "join" and len(args) == 2:
        items = _known(args[1], "join")
        return _text(args[0], "join").join(_text(i, "join") for i in items)
    if name in ("lower", "upper", "trimspace") and len(args) == 1:
        text = _text(args[0], name)
        return text.lower() if name == "lower" else text.upper() if name == "upper" else text.strip()
    if name == "replace" and len(args) == 3:
        return _text(args[0], name).replace(_text(args[1], name), _text(args[2], name))
    if name in ("tostring",) and len(args) == 1:
        return _text(args[0], name)
    if name == "concat":
        out: list[Any] = []
        for arg in args:
            if not isinstance(arg, list):
                raise _Unresolved(_why(arg, "concat"))
            out.extend(arg)
        return out
    if name == "merge":
        merged: dict[str, Any] = {}
        for arg in args:
            if not isinstance(arg, dict) or is_unknown(arg):
                raise _Unresolved(_why(arg, "merge"))
            merged.update(arg)
        return merged
    if name == "lookup" and len(args) in (2, 3):
        table, key = args[0], _text(args[1], "lookup")
        if isinstance(table, dict) and not is_unknown(table):
            if key in table:
                return table[key]
            if len(args) == 3:
                return args[2]
        raise _Unresolved(_why(table, "lookup"))
    if name == "element" and len(args) == 2 and isinstance(args[0], list) and isinstance(args[1], int):
        return args[0][args[1] % len(args[0])] if args[0] else None
    if name == "length" and len(args) == 1 and isinstance(args[0], list | str | dict) and not is_unknown(args[0]):
        return len(args[0])
    if name == "coalesce":
        for arg in args:
            if is_unknown(arg) or isinstance(arg, Link):
                raise _Unresolved(_why(arg, "coalesce"))
            if arg not in (None, ""):
                return arg
        raise _Unresolved("coalesce: no non-empty argument")
    raise _Unresolved(f"function {name}() is not evaluated by ccme-audit")


def _list_arg(args: list[Any], i: int, what: str) -> list[Any]:
    value = args[i] if i < len(args) else None
    if isinstance(value, list):
        return value
    raise _Unresolved(_why(value, what) if value is not None else f"{what}: argument missing")


def _map_arg(args: list[Any], i: int, what: str) -> dict[str, Any]:
    value = args[i] if i < len(args) else None
    if isinstance(value, dict) and not is_unknown(value):
        return value
    raise _Unresolved(_why(value, what) if value is not None else f"{what}: argument missing")


def _primitives(items: list[Any], what: str) -> list[Any]:
    for item in items:
        if is_unknown(item) or isinstance(item, Link):
            raise _Unresolved(_why(item, what))
    return items


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flatten(item))
        elif is_unknown(item) or isinstance(item, Link):
            raise _Unresolved(_why(item, "flatten"))  # an unknown element may be a list: the length is unknown
        else:
            out.append(item)
    return out


def _toset(args: list[Any]) -> list[Any]:
    items = _primitives(_list_arg(args, 0, "toset"), "toset")
    if any(isinstance(i, dict | list) for i in items):
        raise _Unresolved("toset of structured values is not evaluated by ccme-audit")
    unique = list(dict.fromkeys(items))
    return sorted(unique) if all(isinstance(i, str) for i in unique) else unique  # Terraform orders string sets


def _one(args: list[Any]) -> Any:
    items = _list_arg(args, 0, "one")
    if len(items) > 1:
        raise _Missing("one(): more than one element")
    return items[0] if items else None


def _tobool(args: list[Any]) -> Any:
    value = args[0] if args else None
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if isinstance(value, Link):
        raise _Unresolved(_why(value, "tobool"))
    raise _Missing(f"tobool: cannot convert {value!r}"[:200])


def _tonumber(args: list[Any]) -> Any:
    value = args[0] if args else None
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _Missing(f"tonumber: cannot convert {value!r}"[:200]) from None
        return int(number) if number.is_integer() and "." not in value else number
    raise _Unresolved(_why(value, "tonumber")) if isinstance(value, Link) else _Missing("tonumber: not a number")


def _contains(args: list[Any]) -> bool:
    items = _primitives(_list_arg(args, 0, "contains"), "contains")
    if len(args) != 2 or is_unknown(args[1]) or isinstance(args[1], Link):
        raise _Unresolved(_why(args[1] if len(args) > 1 else None, "contains"))
    return args[1] in items


def _zipmap(args: list[Any]) -> dict[str, Any]:
    keys = [_text(k, "zipmap") for k in _list_arg(args, 0, "zipmap")]
    values = _list_arg(args, 1, "zipmap")
    if len(keys) != len(values):
        raise _Missing("zipmap: the lists differ in length")
    return dict(zip(keys, values, strict=True))


def _cidrsubnet(args: list[Any]) -> str:
    import ipaddress

    if len(args) != 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args[1:]):
        raise _Unresolved("cidrsubnet: arguments not known")
    try:
        network = ipaddress.ip_network(_text(args[0], "cidrsubnet"), strict=False)
        subnets = network.subnets(prefixlen_diff=args[1])
        size = 2 ** args[1]
        if not 0 <= args[2] < size:
            raise _Missing("cidrsubnet: network number out of range")
        for i, subnet in enumerate(subnets):
            if i == args[2]:
                return str(subnet)
    except ValueError as exc:
        raise _Missing(f"cidrsubnet: {exc}"[:200]) from None
    raise _Missing("cidrsubnet: network number out of range")


def _slice(args: list[Any]) -> list[Any]:
    items = _list_arg(args, 0, "slice")
    if len(args) != 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args[1:]):
        raise _Unresolved("slice: indexes not known")
    if not 0 <= args[1] <= args[2] <= len(items):
        raise _Missing("slice: index out of range")
    return items[args[1]:args[2]]


def _range(args: list[Any]) -> list[Any]:
    if not 1 <= len(args) <= 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise _Unresolved("range: arguments not known integers")
    out = list(range(*args)) if len(args) < 3 or args[2] else None
    if out is None or len(out) > MAX_EXPANDED_NODES:
        raise _Missing("range: bad step or too many elements")
    return out


def _numbers(args: list[Any], what: str) -> list[Any]:
    items = _flatten(list(args))
    if not items or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in items):
        raise _Unresolved(f"{what}: arguments not known numbers")
    return items


def _regex(args: list[Any], every: bool) -> Any:
    """regex()/regexall() for patterns without capture groups (RE2 syntax is, there, Python's); a pattern
    with groups returns lists or maps in Terraform: unknown here."""
    pattern, text = _text(args[0], "regex"), _text(args[1], "regex")
    try:
        compiled = re.compile(pattern)
    except re.error:
        raise _Missing(f"regex: invalid pattern {pattern!r}"[:200]) from None
    if compiled.groups:
        raise _Unresolved("regex with capture groups is not evaluated by ccme-audit")
    if every:
        return [m.group(0) for m in compiled.finditer(text)]
    found = compiled.search(text)
    if found is None:
        raise _Missing("regex: no match")
    return found.group(0)


def _coalescelist(args: list[Any]) -> list[Any]:
    for i in range(len(args)):
        items = _list_arg(args, i, "coalescelist")
        if items:
            return items
    raise _Missing("coalescelist: every list is empty")


_COLLECTION_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "keys": lambda a: sorted(_map_arg(a, 0, "keys")),
    "values": lambda a: [_map_arg(a, 0, "values")[k] for k in sorted(_map_arg(a, 0, "values"))],
    "tomap": lambda a: dict(_map_arg(a, 0, "tomap")),
    "toset": _toset,
    "tolist": lambda a: list(_list_arg(a, 0, "tolist")),
    "flatten": lambda a: _flatten(_list_arg(a, 0, "flatten")),
    "distinct": lambda a: list(dict.fromkeys(_primitives(_list_arg(a, 0, "distinct"), "distinct"))),
    "contains": _contains,
    "compact": lambda a: [i for i in _primitives(_list_arg(a, 0, "compact"), "compact") if i not in (None, "")],
    "one": _one,
    "zipmap": _zipmap,
    "tobool": _tobool,
    "tonumber": _tonumber,
    "coalescelist": _coalescelist,
    "regex": lambda a: _regex(a, every=False),
    "regexall": lambda a: _regex(a, every=True),
    "split": lambda a: _text(a[1], "split").split(_text(a[0], "split")),
    "sort": lambda a: sorted(_text(i, "sort") for i in _list_arg(a, 0, "sort")),
    "startswith": lambda a: _text(a[0], "startswith").startswith(_text(a[1], "startswith")),
    "endswith": lambda a: _text(a[0], "endswith").endswith(_text(a[1], "endswith")),
    "trimprefix": lambda a: _text(a[0], "trimprefix").removeprefix(_text(a[1], "trimprefix")),
    "trimsuffix": lambda a: _text(a[0], "trimsuffix").removesuffix(_text(a[1], "trimsuffix")),
    "reverse": lambda a: list(reversed(_list_arg(a, 0, "reverse"))),
    "slice": _slice,
    "range": _range,
    "min": lambda a: min(_numbers(a, "min")),
    "max": lambda a: max(_numbers(a, "max")),
    "cidrsubnet": _cidrsubnet,
}


# --- loading ---------------------------------------------------------------------------------
