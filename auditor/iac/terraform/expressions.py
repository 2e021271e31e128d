"""Terraform expressions: literals, templates, heredocs, for expressions, splats, conditionals,
operators and function calls, evaluated in a scope (the names are resolved by a module: references.py)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from auditor.fileio import MAX_EXPANDED_NODES
from auditor.iac.model import (
    Link,
    Pattern,
    ShapedUnknown,
    shape_pieces,
)
from auditor.iac.terraform.functions import _binary, _call, _index, _text, _why
from auditor.iac.terraform.hcl import (
    MAX_HCL_DEPTH,
    Body,
    _children,
    _Evaluated,
    _Missing,
    _token_text,
    _unescape,
    _Unresolved,
)
from auditor.snapshot import is_unknown, unknown

try:
    from lark import Token, Tree
except ModuleNotFoundError:  # the `iac` extra is absent: plan JSON still loads, HCL cannot be parsed
    Token = Tree = type("_NotInstalled", (), {})  # type: ignore[assignment,misc]  # no tree exists to match


class Expressions(ABC):
    """Expression evaluation; a subclass resolves names (`_traversal`, `_reference`)."""

    @abstractmethod
    def _traversal(self, tree: Tree, scope: Mapping[str, Any], depth: int) -> tuple[str | None, list[Any]]:
        """The root name of `a.b[c]` (None for an expression such as `(x).y`) and its evaluated steps."""

    @abstractmethod
    def _reference(self, root: str, steps: list[Any], scope: Mapping[str, Any]) -> Any:
        """The value a name (var, local, module, resource, data, each, count, path) with its steps refers to."""

    def eval(self, tree: Any, scope: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
        try:
            return self._eval(tree, scope or {}, depth)
        except _Unresolved as exc:
            return unknown(exc.reason)
        except RecursionError:
            return unknown("expression nested too deeply")
        except (StopIteration, IndexError, KeyError, AttributeError, TypeError, ValueError, ArithmeticError) as exc:
            # A parse-tree shape this evaluator does not expect: unknown (fail closed), never a traceback.
            return unknown(f"ccme-audit could not evaluate this expression ({type(exc).__name__})")

    def _eval(self, tree: Any, scope: Mapping[str, Any], depth: int) -> Any:
        if depth > MAX_HCL_DEPTH:
            raise _Unresolved("expression nested too deeply")
        if isinstance(tree, Token):
            raise _Unresolved(f"unexpected token {tree!s}"[:100])
        kind = tree.data
        kids = [k for k in _children(tree) if k.data != "new_line_or_comment"]  # expressions may span lines
        if kind == "expr_term":
            if not kids:
                raise _Unresolved("empty expression")
            return self._eval(kids[0], scope, depth + 1)
        if kind == "literal_value":
            text = _token_text(tree)
            return {"true": True, "false": False, "null": None}[text]
        if kind == "int_lit":
            return int(_token_text(tree))
        if kind == "float_lit":
            return float(_token_text(tree))
        if kind == "string":
            return self._string(kids, scope, depth)
        if kind == "heredoc_template" or kind == "heredoc_template_trim":
            return self._heredoc(_token_text(tree), scope, depth, kind.endswith("trim"))
        if kind == "tuple":
            return [self._value(k, scope, depth) for k in kids if k.data != "new_line_or_comment"]
        if kind == "object":
            out: dict[str, Any] = {}
            for elem in kids:
                if elem.data != "object_elem":
                    continue
                key_tree, value_tree = _children(elem)[0], _children(elem)[-1]
                key = self._key(key_tree, scope, depth)
                out[key] = self._value(value_tree, scope, depth)
            return out
        if kind == "identifier":
            return self._reference(_token_text(tree), [], scope)
        if kind in ("get_attr_expr_term", "index_expr_term"):
            root, steps = self._traversal(tree, scope, depth)
            if root is not None:
                return self._reference(root, steps, scope)
            if steps and isinstance(steps[0], _Evaluated):
                return _index(steps[0].value, steps[1:], "expression")
            raise _Unresolved("unsupported traversal")
        if kind == "function_call":
            name = _token_text(kids[0])
            args_tree = next((k for k in kids[1:] if k.data == "arguments"), None)
            arg_trees = [a for a in _children(args_tree) if a.data != "new_line_or_comment"] if args_tree else []
            if name in ("try", "can"):
                return self._try(name, arg_trees, scope, depth)
            if name == "format":  # an argument unknown at apply still leaves the format's fixed text
                args = [self._eval_or_unknown(a, scope, depth + 1) for a in arg_trees]
            else:
                args = [self._eval(a, scope, depth + 1) for a in arg_trees]
            return _call(name, args)
        if kind in ("for_tuple_expr", "for_object_expr"):
            return self._for(tree, kids, scope, depth)
        if kind in ("full_splat_expr_term", "attr_splat_expr_term"):
            return self._splat(kids, scope, depth)
        if kind == "conditional":
            cond = self._eval(kids[0], scope, depth + 1)
            if not isinstance(cond, bool):
                raise _Unresolved(_why(cond, "condition"))
            return self._eval(kids[1] if cond else kids[2], scope, depth + 1)
        if kind == "unary_op":
            op = str(tree.children[0])
            value = self._eval(kids[0], scope, depth + 1)
            if op == "!" and isinstance(value, bool):
                return not value
            if op == "-" and isinstance(value, int | float) and not isinstance(value, bool):
                return -value
            raise _Unresolved(_why(value, f"operator {op}"))
        if kind == "binary_op":
            left = self._eval(kids[0], scope, depth + 1)
            for term in kids[1:]:
                if term.data != "binary_term":
                    continue
                op_tree, right_tree = _children(term)[0], _children(term)[-1]
                op = _token_text(op_tree).strip()
                right = self._eval(right_tree, scope, depth + 1)
                left = _binary(op, left, right)
            return left
        raise _Unresolved(f"the {kind.replace('_', ' ')} expression is not evaluated by ccme-audit")

    def _value(self, tree: Tree, scope: Mapping[str, Any], depth: int) -> Any:
        try:
            return self._eval(tree, scope, depth + 1)
        except _Missing:
            raise  # Terraform fails the whole expression (and try() falls back past it)
        except _Unresolved as exc:
            return unknown(exc.reason)

    def _splat(self, kids: list[Tree], scope: Mapping[str, Any], depth: int) -> Any:
        """x[*].a.b / x.*.a: the steps applied to each element; a single value counts as a one-element list."""
        base = self._eval(kids[0], scope, depth + 1)
        steps: list[Any] = []
        for step in _children(kids[1]) if len(kids) > 1 else []:
            inner = _children(step)
            if step.data == "get_attr":
                steps.append(_token_text(inner[0]))
            elif step.data == "index" and inner and inner[0].data == "braces_index" and _children(inner[0]):
                steps.append(self._eval(_children(inner[0])[0], scope, depth + 1))
            else:
                raise _Unresolved("legacy index expressions in a splat are not evaluated by ccme-audit")
        if is_unknown(base):
            raise _Unresolved(str(base["$unknown"]))
        if base is None:
            return []
        items = base if isinstance(base, list) else [base]
        return [_index(item, steps, "splat") for item in items]

    def _try(self, name: str, args: list[Tree], scope: Mapping[str, Any], depth: int) -> Any:
        """try(): the first argument Terraform can evaluate; can(): whether it can. An argument
        ccme-audit cannot evaluate (unknown) stops the search: the result is unknown, never a fallback
        Terraform would not take."""
        for arg in args:
            try:
                value = self._eval(arg, scope, depth + 1)
            except _Missing:
                if name == "can":
                    return False
                continue
            if name == "can":
                if is_unknown(value) or isinstance(value, Link):
                    raise _Unresolved(_why(value, "can"))
                return True
            return value
        raise _Unresolved(f"{name}(): no argument can be evaluated")

    def _for(self, tree: Tree, kids: list[Tree], scope: Mapping[str, Any], depth: int) -> Any:
        """[for k, v in coll : expr if cond] and {for k, v in coll : key => value if cond} over known values."""
        intro = next((k for k in kids if k.data == "for_intro"), None)
        if intro is None:
            raise _Unresolved("for expression without its introduction")
        kids = [k for k in kids if k.data != "new_line_or_comment"]
        names = [_token_text(k) for k in _children(intro) if k.data == "identifier"]
        coll_tree = next(k for k in _children(intro) if k.data not in ("identifier", "new_line_or_comment"))
        collection = self._eval(coll_tree, scope, depth + 1)
        if is_unknown(collection) or isinstance(collection, Link):
            raise _Unresolved(_why(collection, "for expression"))
        if isinstance(collection, dict):
            pairs: list[tuple[Any, Any]] = list(collection.items())
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        else:
            raise _Missing(f"for expression over a {type(collection).__name__}")
        body = [k for k in kids if k.data not in ("for_intro", "for_cond")]
        cond = next((k for k in kids if k.data == "for_cond"), None)
        grouped = any(isinstance(c, Token) and str(c) == "..." for c in tree.children)
        if len(pairs) > MAX_EXPANDED_NODES:
            raise _Unresolved("for expression over too many elements")
        tuple_out: list[Any] = []
        object_out: dict[str, Any] = {}
        for key, value in pairs:
            inner = dict(scope)
            if len(names) == 2:
                inner[names[0]], inner[names[1]] = key, value
            else:
                inner[names[0]] = value
            if cond is not None:
                keep = self._eval(_children(cond)[0], inner, depth + 1)
                if not isinstance(keep, bool):
                    raise _Unresolved(_why(keep, "for expression condition"))
                if not keep:
                    continue
            if tree.data == "for_tuple_expr":
                tuple_out.append(self._value(body[0], inner, depth))
                continue
            out_key = _text(self._eval(body[0], inner, depth + 1), "for expression key")
            out_value = self._value(body[1], inner, depth)
            if grouped:
                object_out.setdefault(out_key, []).append(out_value)
            elif out_key in object_out:
                raise _Missing(f"for expression: duplicate key {out_key!r}"[:200])
            else:
                object_out[out_key] = out_value
        return tuple_out if tree.data == "for_tuple_expr" else object_out

    def _key(self, tree: Tree, scope: Mapping[str, Any], depth: int) -> str:
        inner = _children(tree)[0] if _children(tree) else tree
        if inner.data == "expr_term" and _children(inner) and _children(inner)[0].data == "identifier":
            return _token_text(_children(inner)[0])
        if inner.data == "identifier":
            return _token_text(inner)
        value = self._eval(inner, scope, depth + 1)
        if not isinstance(value, str):
            raise _Unresolved(_why(value, "object key"))
        return value

    def _eval_or_unknown(self, tree: Any, scope: Mapping[str, Any], depth: int) -> Any:
        try:
            return self._eval(tree, scope, depth)
        except _Unresolved as exc:
            return unknown(exc.reason)

    def _string(self, parts: list[Tree], scope: Mapping[str, Any], depth: int) -> Any:
        pieces: list[Any] = []
        for part in parts:
            if part.data != "string_part":
                continue
            inner = _children(part)
            if inner and inner[0].data == "interpolation":
                # unknown, but the fixed text around it still gives a shape
                pieces.append(self._eval_or_unknown(_children(inner[0])[0], scope, depth + 1))
            elif inner:
                raise _Unresolved("template directives (%{...}) are not evaluated by ccme-audit")
            else:
                pieces.append(_unescape(_token_text(part)))
        if len(pieces) == 1 and len(parts) == 1 and not isinstance(pieces[0], str):
            return pieces[0]
        if all(isinstance(p, str | int | float) for p in pieces):
            return "".join(_text(p, "string template") for p in pieces)
        if not all(isinstance(p, str | int | float | Link) or is_unknown(p) for p in pieces):
            return "".join(_text(p, "string template") for p in pieces)  # raises, naming what cannot be text
        # Parts known only at apply: unknown, keeping the fixed text around them (a name's shape).
        reason = next(_why(p, "string template") for p in pieces if not isinstance(p, str | int | float))
        shape: list[str | Pattern | None] = []
        for piece in pieces:
            if isinstance(piece, str | int | float):
                shape.append(_text(piece, "string template"))
            else:
                shape.extend(shape_pieces(piece) or [None])
        return ShapedUnknown(reason, shape)

    def _heredoc(self, raw: str, scope: Mapping[str, Any], depth: int, trim: bool) -> str:
        lines = raw.rstrip("\n").split("\n")
        body = lines[1:-1] if len(lines) >= 2 else []
        if trim or raw.startswith("<<-"):
            indents = [len(line) - len(line.lstrip()) for line in body if line.strip()]
            cut = min(indents) if indents else 0
            body = [line[cut:] for line in body]
        text = "\n".join(body) + ("\n" if body else "")
        if "%{" in text:
            raise _Unresolved("template directives (%{...}) are not evaluated by ccme-audit")

        def sub(match: re.Match[str]) -> str:
            return _text(self._expression(match.group(1), scope, depth), "heredoc interpolation")

        return re.sub(r"(?<!\$)\$\{([^}]*)\}", sub, text).replace("$${", "${")

    def _expression(self, text: str, scope: Mapping[str, Any], depth: int) -> Any:
        import hcl2

        try:
            tree = hcl2.parses_to_tree(f"x = {text}\n")
        except Exception:  # noqa: BLE001 - an interpolation the parser rejects is unresolvable
            raise _Unresolved(f"cannot parse interpolation ${{{text}}}"[:200]) from None
        body = Body(_children(tree)[0], None)
        return self._eval(body.attributes["x"], scope, depth + 1)
