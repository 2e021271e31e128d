"""Terraform: HCL directories (python-hcl2's parse tree, evaluated here) and plan JSON.

HCL: variables (defaults, `--param`, terraform.tfvars, *.auto.tfvars), locals, references to
other resources (`aws_kms_key.x.arn`), modules (local sources, and registry/git sources that
terraform init downloaded, found through .terraform/modules/modules.json) with their variables,
outputs, count and for_each, a set of functions (the table in _call and _COLLECTION_FUNCTIONS),
try/can, for expressions, splats, dynamic blocks, conditionals, count and for_each. Plan JSON
(`terraform show -json`): planned values, with references taken from the configuration section
for values known after apply. Anything else (data sources other than caller identity / region /
partition / aws_iam_policy_document, template directives, functions not in the tables, a module not downloaded) is
unknown(reason), never guessed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import MAX_EXPANDED_NODES, check_depth, expanded_size, read_text
from auditor.iac import canonical as C
from auditor.iac.model import Link, ParseProblem, TemplateResource, text_or_unknown
from auditor.iac.suppress import inline_suppressions
from auditor.partitions import partition_of
from auditor.snapshot import Location, is_unknown, unknown

try:
    from lark import Token, Tree
except ModuleNotFoundError:  # the `iac` extra is absent: plan JSON still loads, HCL cannot be parsed
    Token = Tree = type("_NotInstalled", (), {})  # type: ignore[assignment,misc]  # no tree exists to match


def require_hcl(directory: Path) -> None:
    """Terraform HCL needs python-hcl2 (the `iac` extra): bad input, one line, when it is absent."""
    import importlib.util

    if importlib.util.find_spec("hcl2") is None:
        raise InputError(
            "reading Terraform HCL needs python-hcl2, which is not installed", file=str(directory),
            fix="pip install 'ccme-audit[iac]' (plan JSON from terraform show -json needs nothing more)",
        )


class _Unresolved(Exception):
    def __init__(self, reason: str):
        self.reason = reason


class _ModuleProblem(_Unresolved):
    """A module call Terraform itself would refuse (no such directory, a loop, a computed source): a
    parse problem at the call, so that its resources are never silently left out."""

    def __init__(self, reason: str, file: str, line: int | None):
        super().__init__(reason)
        self.problem = ParseProblem(file, reason, line)


class _Missing(_Unresolved):
    """An error Terraform itself raises on known values (no such key, index out of range): try() falls back."""


MAX_HCL_DEPTH = 200
MAX_MODULE_DEPTH = 16  # module calls nested deeper than this are refused (a call cycle through copies)
MAX_MODULE_INSTANCES = 5000  # module instances under one root module
MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})


def _children(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _local_reference(tree: Any) -> str | None:
    """NAME when `tree` is `local.NAME` written alone, else None."""
    if not isinstance(tree, Tree) or tree.data != "get_attr_expr_term":
        return None
    base, *rest = _children(tree)
    if len(rest) != 1 or rest[0].data != "get_attr" or _token_text(Module._unwrap(base)) != "local":
        return None
    names = [c for c in _children(rest[0]) if c.data == "identifier"]
    return _token_text(names[0]) if len(names) == 1 else None


def _token_text(tree: Tree) -> str:
    return "".join(str(c) for c in tree.children if isinstance(c, Token))


def _unescape(text: str) -> str:
    return re.sub(
        r'\\(["\\nrt]|u[0-9a-fA-F]{4})',
        lambda m: (
            {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}.get(m.group(1)) or chr(int(m.group(1)[1:], 16))
        ),
        text,
    )


class Body:
    """A block body: attributes (expression trees) and nested blocks, with the block's line."""

    def __init__(self, tree: Tree, line: int | None):
        self.line = line
        self.attributes: dict[str, Tree] = {}
        self.blocks: list[tuple[str, list[str], Body]] = []
        for child in _children(tree):
            if child.data == "attribute":
                name_tree, expr = _children(child)[0], _children(child)[-1]
                self.attributes[_token_text(name_tree)] = expr
            elif child.data == "block":
                parts = _children(child)
                kind = _token_text(parts[0])
                labels = [_string_literal(p) for p in parts[1:-1]]
                self.blocks.append((kind, labels, Body(parts[-1], getattr(child.meta, "line", None))))


def _string_literal(tree: Tree) -> str:
    if tree.data == "identifier":
        return _token_text(tree)
    out = []
    for part in _children(tree):
        if part.data == "string_part":
            out.append(_unescape(_token_text(part)))
    return "".join(out)


class _Evaluated:
    """The value of a traversal's base that is an expression, not a name (zipmap(...)["k"])."""

    def __init__(self, value: Any):
        self.value = value


class _Dir:
    """One parsed directory of .tf files, shared by every instance of the module it holds."""

    def __init__(self, directory: Path):
        self.files: list[tuple[Path, Body, list[str]]] = []
        self.problems: list[ParseProblem] = []
        for path in sorted(directory.glob("*.tf")):
            tree, problem = _parse(path)
            if tree is None:
                if problem:
                    self.problems.append(problem)
                continue
            self.files.append((path, Body(_children(tree)[0], None), read_text(path).splitlines()))


_DIR_CACHE: dict[tuple[Any, ...], _Dir] = {}
_DIR_CACHE_SIZE = 256


def _parsed_directory(directory: Path) -> _Dir:
    """A directory's parse, shared by every root module one process loads that calls the same module
    (the examples of a repository all call its root module): keyed by the files' names, sizes and
    modification times, so an edited file is parsed again. The parse is read-only once made."""
    try:
        stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.glob("*.tf")))
    except OSError:
        return _Dir(directory)
    key = (str(directory), stamp)  # as spelled: findings name the files the way the caller reached them
    cached = _DIR_CACHE.get(key)
    if cached is None:
        if len(_DIR_CACHE) >= _DIR_CACHE_SIZE:
            _DIR_CACHE.clear()
        cached = _DIR_CACHE[key] = _Dir(directory)
    return cached


class _Run:
    """What the modules of one root module share: parsed directories, the modules.json manifest, notes."""

    def __init__(self, root: Path):
        self.root = root
        self.parsed: dict[Path, _Dir] = {}
        self.problems: list[ParseProblem] = []
        self.not_downloaded: list[str] = []
        self.stack: set[Any] = set()
        self.instances = 0
        self._manifest: dict[str, Path] | None = None

    def directory(self, directory: Path) -> _Dir:
        key = directory.resolve()
        if key not in self.parsed:
            self.parsed[key] = parsed = _parsed_directory(directory)
            self.problems.extend(parsed.problems)
        return self.parsed[key]

    def manifest(self) -> dict[str, Path]:
        """terraform init's .terraform/modules/modules.json: module key (a.b for nested calls) -> directory."""
        if self._manifest is None:
            self._manifest = {}
            path = self.root / ".terraform" / "modules" / "modules.json"
            if path.is_file():
                try:
                    doc = json.loads(read_text(path))
                except (InputError, json.JSONDecodeError) as exc:
                    self.problems.append(ParseProblem(str(path), f"invalid modules.json: {exc}"[:300]))
                    doc = {}
                for entry in (doc.get("Modules") if isinstance(doc, dict) else None) or []:
                    if isinstance(entry, dict) and isinstance(entry.get("Key"), str) and entry.get("Key"):
                        where = entry.get("Dir")
                        if isinstance(where, str) and where:
                            self._manifest[entry["Key"]] = Path(os.path.normpath(self.root / where))
        return self._manifest


def _is_local_source(source: str) -> bool:
    return source in (".", "..") or source.startswith(("./", "../", ".\\", "..\\"))


class Module:
    """One instance of a module: a directory of .tf files with its variables, locals, resources, outputs, calls.

    The root module takes its variables from --param, tfvars and defaults; a called module from the
    arguments of its `module` block (evaluated in the caller, with the instance's count.index or
    each.key/each.value) and its own defaults. `prefix` is the instance's address (`module.a["k"].`),
    put before every resource address, as Terraform writes them.
    """

    def __init__(
        self,
        directory: Path,
        *,
        region: str | None,
        account: str | None,
        overrides: Mapping[str, str],
        run: _Run | None = None,
        prefix: str = "",
        call_path: tuple[str, ...] = (),
        caller: Module | None = None,
        inputs: Mapping[str, Tree] | None = None,
        input_scope: Mapping[str, Any] | None = None,
        ancestors: tuple[Path, ...] = (),
        errors: tuple[str, ...] = (),
    ):
        self.directory = directory
        self.region = region
        self.account = account
        self.overrides = overrides
        self.run = run or _Run(directory)
        self.prefix = prefix
        self.call_path = call_path
        self.caller = caller
        self.inputs = dict(inputs or {})
        self.input_scope = dict(input_scope or {})
        self.ancestors = (*ancestors, directory.resolve())
        self.errors = errors
        self.variables: dict[str, Any] = {}
        self.non_nullable: set[str] = set()
        self.locals: dict[str, Tree] = {}
        self.resources: dict[str, tuple[str, str, Body, str]] = {}  # address -> (type, name, body, file)
        self.outputs: dict[str, Tree] = {}
        self.data: dict[str, Body] = {}  # data sources, by type.name
        self.calls: dict[str, tuple[Body, str]] = {}  # module call name -> (block body, file)
        self.tfvars: dict[str, Any] = {}
        self._local_cache: dict[str, Any] = {}
        self._attr_cache: dict[tuple[str, str], Any] = {}
        self._input_cache: dict[str, Any] = {}
        self._output_cache: dict[str, Any] = {}
        self._instances: dict[str, dict[Any, Module] | _Unresolved] = {}
        self._stack = self.run.stack

    @property
    def name(self) -> str:
        return self.prefix[:-1] if self.prefix else "the root module"

    def read(self) -> list[tuple[Path, Body, list[str]]]:
        """Index the directory's blocks (parsed once per directory); the files, for the resource walk."""
        files = self.run.directory(self.directory).files
        for path, body, _lines in files:
            for kind, labels, inner in body.blocks:
                if kind == "variable" and labels:
                    if "default" in inner.attributes:
                        self.variables[labels[0]] = self.eval(inner.attributes["default"])
                    if "nullable" in inner.attributes and self.eval(inner.attributes["nullable"]) is False:
                        self.non_nullable.add(labels[0])
                elif kind == "locals":
                    self.locals.update(inner.attributes)
                elif kind == "resource" and len(labels) == 2:
                    self.resources[f"{labels[0]}.{labels[1]}"] = (labels[0], labels[1], inner, str(path))
                elif kind == "data" and len(labels) == 2:
                    self.data[f"{labels[0]}.{labels[1]}"] = inner
                elif kind == "output" and labels and "value" in inner.attributes:
                    self.outputs[labels[0]] = inner.attributes["value"]
                elif kind == "module" and labels:
                    self.calls[labels[0]] = (inner, str(path))
        return files

    # -- evaluation ----------------------------------------------------------------------
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

    def _string(self, parts: list[Tree], scope: Mapping[str, Any], depth: int) -> Any:
        pieces: list[Any] = []
        for part in parts:
            if part.data != "string_part":
                continue
            inner = _children(part)
            if inner and inner[0].data == "interpolation":
                pieces.append(self._eval(_children(inner[0])[0], scope, depth + 1))
            elif inner:
                raise _Unresolved("template directives (%{...}) are not evaluated by ccme-audit")
            else:
                pieces.append(_unescape(_token_text(part)))
        if len(pieces) == 1 and len(parts) == 1 and not isinstance(pieces[0], str):
            return pieces[0]
        return "".join(_text(p, "string template") for p in pieces)

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

    def _traversal(self, tree: Tree, scope: Mapping[str, Any], depth: int) -> tuple[str | None, list[Any]]:
        steps: list[Any] = []
        node: Tree = tree
        while True:
            if node.data == "expr_term":
                node = _children(node)[0]
                continue
            if node.data == "get_attr_expr_term":
                base, attr = _children(node)
                steps.insert(0, _token_text(_children(attr)[0]))
                node = base
                continue
            if node.data == "index_expr_term":
                base, index = _children(node)
                index_tree = _children(index)[0] if _children(index) else None
                if index.data != "braces_index" or index_tree is None:
                    raise _Unresolved("splat and legacy index expressions are not evaluated by ccme-audit")
                steps.insert(0, self._eval(index_tree, scope, depth + 1))
                node = base
                continue
            if node.data == "identifier":
                return _token_text(node), steps
            if node.data in ("function_call", "tuple", "object", "for_tuple_expr", "for_object_expr", "conditional"):
                base_value = self._eval(node, scope, depth + 1)  # e.g. zipmap(...)["k"], [for ...][0]
                return None, [_Evaluated(base_value), *steps]
            raise _Unresolved(f"the {node.data.replace('_', ' ')} expression is not evaluated by ccme-audit")

    def _reference(self, root: str, steps: list[Any], scope: Mapping[str, Any]) -> Any:
        if root == "var" and steps:
            value = self.variable(str(steps[0]))
            return _index(value, steps[1:], f"var.{steps[0]}")
        if root == "local" and steps:
            return _index(self.local(str(steps[0])), steps[1:], f"local.{steps[0]}")
        if root in ("each", "count") and steps and f"{root}.{steps[0]}" in scope:
            return _index(scope[f"{root}.{steps[0]}"], steps[1:], f"{root}.{steps[0]}")
        if root in scope:
            return _index(scope[root], steps, root)
        if root == "data" and len(steps) >= 3 and steps[0] == "aws_iam_policy_document":
            return self._policy_document(str(steps[1]), steps[2:])
        if root == "data" and len(steps) >= 3:
            dtype, attr = steps[0], steps[2]
            if dtype == "aws_caller_identity" and attr == "account_id":
                if self.account:
                    return self.account
                raise _Unresolved("data.aws_caller_identity: the account is not set (set account in the config)")
            if dtype == "aws_region" and attr in ("name", "id", "region") and self.region:
                return self.region
            if dtype == "aws_partition" and attr in ("partition", "id"):
                return partition_of(self.region).name
            if dtype == "aws_partition" and attr == "dns_suffix":
                return partition_of(self.region).dns_suffix
            raise _Unresolved(f"data.{dtype}.{steps[1]} is read from the account at plan time")
        if root == "module" and steps:
            return self._module_reference(str(steps[0]), steps[1:])
        if root == "path":
            raise _Unresolved("path.* values depend on where Terraform runs")
        if steps:
            address = f"{root}.{steps[0]}"
            rest = steps[1:]
            if address in self.resources:
                body = self.resources[address][2]
                if rest and ("count" in body.attributes or "for_each" in body.attributes):
                    index = rest[0]
                    if isinstance(index, bool) or not isinstance(index, int | str):
                        raise _Unresolved(_why(index, f"index of {address}"))
                    instance = f"{address}[{index}]" if isinstance(index, int) else f'{address}["{index}"]'
                    instance_scope = self._instance_scope(address, body, index)
                    if len(rest) == 1:
                        return Link(self.prefix + instance)
                    attr = str(rest[1])
                    value = self.resource_attribute(address, attr, instance_scope, instance)
                    return _index(value, rest[2:], f"{instance}.{attr}")
                if not rest:
                    return self._whole_resource(address, body)
                return _index(self.resource_attribute(address, str(rest[0])), rest[1:], f"{address}.{rest[0]}")
        raise _Unresolved(f"reference {'.'.join([root, *map(str, steps)])} is not in {self.where()}")

    def _whole_resource(self, address: str, body: Body) -> Any:
        """A resource named without an index: itself, the list of its count instances, or the map of its
        for_each instances (each a Link, attributes read through _index)."""
        if "count" in body.attributes:
            count = self.eval(body.attributes["count"])
            if not isinstance(count, int) or isinstance(count, bool):
                raise _Unresolved(f"count of {self.prefix}{address}: {_why(count, 'count')}")
            return [Link(f"{self.prefix}{address}[{i}]") for i in range(count)]
        if "for_each" in body.attributes:
            pairs = _each_pairs(self.eval(body.attributes["for_each"]))
            if pairs is None:
                raise _Unresolved(f"for_each of {self.prefix}{address} cannot be evaluated")
            return {k: Link(f'{self.prefix}{address}["{k}"]') for k, _v in pairs}
        return Link(self.prefix + address)

    def _policy_document(self, name: str, steps: list[Any]) -> Any:
        """data.aws_iam_policy_document.x[.json]: the document the AWS provider renders from the blocks."""
        address = f"aws_iam_policy_document.{name}"
        body = self.data.get(address)
        if body is None:
            raise _Unresolved(f"data.{address} is not in {self.where()}")
        scope: dict[str, Any] = {}
        if "count" in body.attributes or "for_each" in body.attributes:
            if not steps:
                raise _Unresolved(f"data.{address} without an index")
            scope = self._instance_scope(address, body, steps[0])
            steps = steps[1:]
        marker = ("data", self.prefix, address, json.dumps(scope, default=str, sort_keys=True))
        if marker in self._stack:
            raise _Unresolved(f"data.{address} refers to itself")
        self._stack.add(marker)
        try:
            document = _render_policy_document(self.block_values(body, scope))
        finally:
            self._stack.discard(marker)
        if not steps or steps[0] not in ("json", "minified_json"):
            raise _Unresolved(f"data.{address}: only .json is evaluated by ccme-audit")
        return _index(document, steps[1:], f"data.{address}.json")

    def where(self) -> str:
        return "this directory" if not self.prefix else f"{self.name} ({self.directory})"

    def _instance_scope(self, address: str, body: Body, index: int | str) -> dict[str, Any]:
        """count.index / each.* of one instance; an index Terraform would reject is an error try() can catch."""
        if "count" in body.attributes:
            count = self.eval(body.attributes["count"])
            if (isinstance(count, int) and not isinstance(count, bool)) and (
                not isinstance(index, int) or not 0 <= index < count
            ):
                raise _Missing(f"{self.prefix}{address}[{index!r}] does not exist (count = {count})")
            return {"count.index": index}
        each = self.eval(body.attributes["for_each"])
        keys = _each_pairs(each)
        if keys is None:
            raise _Unresolved(f"for_each of {self.prefix}{address} cannot be evaluated: {_why(each, 'for_each')}")
        found = dict(keys)
        if str(index) not in found:
            raise _Missing(f'{self.prefix}{address}["{index}"] does not exist')
        return {"each.key": str(index), "each.value": found[str(index)]}

    # -- modules ---------------------------------------------------------------------------
    def instances(self, name: str) -> dict[Any, Module]:
        """The instances of `module "name"` (key None, a count index or a for_each key), created once."""
        cached = self._instances.get(name)
        if isinstance(cached, _Unresolved):
            raise cached
        if cached is not None:
            return cached
        marker = ("module", self.prefix, name)
        if marker in self._stack:
            body, file = self.calls[name]
            raise _ModuleProblem(f"module.{name}: its count, for_each or source depends on itself", file, body.line)
        self._stack.add(marker)
        try:
            made: dict[Any, Module] | _Unresolved = self._make_instances(name)
        except _Unresolved as exc:
            made = exc
        finally:
            self._stack.discard(marker)
        self._instances[name] = made
        if isinstance(made, _Unresolved):
            raise made
        return made

    def _make_instances(self, name: str) -> dict[Any, Module]:
        body, file = self.calls[name]
        where = f"{self.prefix}module.{name}"
        source = self.eval(body.attributes["source"]) if "source" in body.attributes else None
        if not isinstance(source, str):
            raise _ModuleProblem(f"{where}: the module source is not a literal string", file, body.line)
        call_path = (*self.call_path, name)
        if _is_local_source(source):
            directory = Path(os.path.normpath(self.directory / source))
        else:
            found = self.run.manifest().get(".".join(call_path))
            if found is None or not found.is_dir():  # never initialised, or .terraform was cleaned since
                self.run.not_downloaded.append(f"{where} ({source})")
                raise _Unresolved(
                    f"{where} comes from {source}, not downloaded: run terraform init, or scan the plan JSON"
                )
            directory = found
        if not directory.is_dir() or not any(directory.glob("*.tf")):
            raise _ModuleProblem(f"{where}: the module source {source} is not a directory of .tf files", file,
                                 body.line)
        if directory.resolve() in self.ancestors or len(self.ancestors) > MAX_MODULE_DEPTH:
            raise _ModuleProblem(f"{where}: module calls loop or nest deeper than {MAX_MODULE_DEPTH}", file,
                                 body.line)
        keys: list[tuple[Any, str, dict[str, Any]]]
        errors: tuple[str, ...] = self.errors
        if "count" in body.attributes:
            count = self.eval(body.attributes["count"])
            if isinstance(count, int) and not isinstance(count, bool):
                keys = [(i, f"{where}[{i}]", {"count.index": i}) for i in range(max(count, 0))]
            else:
                keys = [(None, where, {})]
                errors = (*errors, f"{where}: count cannot be evaluated: {_why(count, 'count')}")
        elif "for_each" in body.attributes:
            each = self.eval(body.attributes["for_each"])
            pairs = _each_pairs(each)
            if pairs is None:
                keys = [(None, where, {})]
                errors = (*errors, f"{where}: for_each cannot be evaluated: {_why(each, 'for_each')}")
            else:
                keys = [(k, f'{where}["{k}"]', {"each.key": k, "each.value": v}) for k, v in pairs]
        else:
            keys = [(None, where, {})]
        self.run.instances += len(keys)
        if self.run.instances > MAX_MODULE_INSTANCES:
            raise _ModuleProblem(f"{where}: more than {MAX_MODULE_INSTANCES} module instances, the rest are not read",
                                 file, body.line)
        out: dict[Any, Module] = {}
        inputs = {k: v for k, v in body.attributes.items() if k not in MODULE_META}
        for key, address, scope in keys:
            child = Module(
                directory, region=self.region, account=self.account, overrides={}, run=self.run,
                prefix=f"{address}.", call_path=call_path, caller=self, inputs=inputs, input_scope=scope,
                ancestors=self.ancestors, errors=errors,
            )
            child.read()
            out[key] = child
        return out

    def _module_reference(self, name: str, steps: list[Any]) -> Any:
        if name not in self.calls:
            raise _Unresolved(f"module.{name} is not called in {self.where()}")
        instances = self.instances(name)
        body = self.calls[name][0]
        if "count" in body.attributes or "for_each" in body.attributes:
            if None in instances:  # count / for_each unknown
                raise _Unresolved(instances[None].errors[-1])
            if not steps:
                objects = {k: instances[k].output_object() for k in instances}
                return list(objects.values()) if "count" in body.attributes else {str(k): v for k, v in
                                                                                 objects.items()}
            index = steps[0]
            if index not in instances:
                raise _Missing(f"module.{name}[{index!r}] does not exist")
            child, rest = instances[index], steps[1:]
        else:
            child, rest = instances[None], steps
        if child.errors:
            raise _Unresolved(child.errors[-1])
        if not rest:
            return child.output_object()
        output = str(rest[0])
        if output not in child.outputs:
            raise _Missing(f"{child.name} has no output {output}")
        return _index(child.output(output), rest[1:], f"{child.name}.{output}")

    def output(self, name: str) -> Any:
        if name in self._output_cache:
            return self._output_cache[name]
        marker = ("output", self.prefix, name)
        if marker in self._stack:
            raise _Unresolved(f"{self.name}.{name} refers to itself")
        self._stack.add(marker)
        try:
            value = self._value(self.outputs[name], {}, 0)
        finally:
            self._stack.discard(marker)
        self._output_cache[name] = value
        return value

    def output_object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.outputs:
            try:
                out[name] = self.output(name)
            except _Missing as exc:
                out[name] = unknown(exc.reason)
        return out

    def variable(self, name: str) -> Any:
        if self.caller is not None:
            return self._input(name)
        if name in self.overrides:
            return self.overrides[name]
        if name in self.tfvars:
            return self.tfvars[name]
        if name in self.variables:
            return self.variables[name]
        raise _Unresolved(f"variable {name} has no default, no tfvars value and no --param value")

    def _input(self, name: str) -> Any:
        """A called module's variable: the module block's argument (in the caller's scope), else its default."""
        if name in self._input_cache:
            return self._input_cache[name]
        if name in self.inputs and self.caller is not None:
            marker = ("input", self.prefix, name)
            if marker in self._stack:
                raise _Unresolved(f"var.{name} of {self.name} refers to itself")
            self._stack.add(marker)
            try:
                value = self.caller.eval(self.inputs[name], self.input_scope)
            finally:
                self._stack.discard(marker)
            if value is None and name in self.non_nullable and name in self.variables:
                value = self.variables[name]
        elif name in self.variables:
            value = self.variables[name]
        else:
            raise _Unresolved(f"variable {name} of {self.name} is not set by the module call and has no default")
        self._input_cache[name] = value
        return value

    def local(self, name: str) -> Any:
        if name in self._local_cache:
            return self._local_cache[name]
        if name not in self.locals:
            raise _Unresolved(f"local.{name} is not defined")
        marker = ("local", self.prefix, name)
        if marker in self._stack:
            raise _Unresolved(f"local.{name} refers to itself")
        self._stack.add(marker)
        try:
            value = self.eval(self.locals[name])
        finally:
            self._stack.discard(marker)
        self._local_cache[name] = value
        return value

    def resource_attribute(
        self, address: str, attr: str, scope: Mapping[str, Any] | None = None, instance: str | None = None
    ) -> Any:
        """An attribute of a resource (of one count/for_each instance, with its scope): its argument, a
        value known from its arguments (a bucket's name and ARN, an alias's name), else a Link."""
        instance = instance or address
        key = (instance, attr)
        if key in self._attr_cache:
            return self._attr_cache[key]
        rtype, _name, body, _file = self.resources[address]
        value: Any
        marker = ("attr", self.prefix, instance, attr)
        if marker in self._stack:
            raise _Unresolved(f"{instance}.{attr} refers to itself")
        self._stack.add(marker)
        try:
            if attr in body.attributes:
                value = self.eval(body.attributes[attr], scope)
            elif rtype == "aws_s3_bucket" and attr in ("id", "bucket", "arn") and "bucket" in body.attributes:
                name = self.eval(body.attributes["bucket"], scope)
                if name is None:  # bucket = null: Terraform generates the name
                    value = Link(self.prefix + instance, attr)
                else:
                    arn = f"arn:{partition_of(self.region).name}:s3:::{name}"
                    value = (arn if isinstance(name, str) else name) if attr == "arn" else name
            elif rtype == "aws_kms_alias" and attr in ("id", "name") and "name" in body.attributes:
                value = self.eval(body.attributes["name"], scope)
            else:
                value = Link(self.prefix + instance, attr)
        finally:
            self._stack.discard(marker)
        self._attr_cache[key] = value
        return value

    def shape_names(self, rtype: str, body: Body, scope: Mapping[str, Any], values: dict[str, Any]) -> None:
        """A name argument written as fixed text around values known only at apply (`"logs-${random_pet.x.id}"`,
        `"${var.prefix}-data"` without a value) keeps the shape of its fixed text: a configured name that does
        not fit it is not this resource. Nothing fixed left: it stays unknown."""
        attr = NAME_ARGUMENT.get(rtype)
        if attr is None or not is_unknown(values.get(attr)) or attr not in body.attributes:
            return
        tree = self._unwrap(body.attributes[attr])
        seen: set[str] = set()
        while (name := _local_reference(tree)) is not None and name in self.locals and name not in seen:
            seen.add(name)  # `bucket = local.name`, the local holding the template (a module's scope only)
            tree, scope = self._unwrap(self.locals[name]), {}
        if not isinstance(tree, Tree) or tree.data != "string":
            return
        pieces: list[str | None] = []
        for part in _children(tree):
            if part.data != "string_part":
                continue
            inner = _children(part)
            if not inner:
                pieces.append(_unescape(_token_text(part)))
            elif inner[0].data == "interpolation":
                value = self.eval(_children(inner[0])[0], scope)
                known = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
                pieces.append(known)
            else:
                return  # a template directive: no shape read here
        values[attr] = C.shaped_name(values[attr]["$unknown"], pieces)

    @staticmethod
    def _unwrap(tree: Any) -> Any:
        while isinstance(tree, Tree) and tree.data == "expr_term" and len(_children(tree)) == 1:
            tree = _children(tree)[0]
        return tree

    def block_values(self, body: Body, scope: Mapping[str, Any]) -> dict[str, Any]:
        """A body as Terraform's JSON shape: attributes as values, nested blocks as lists of objects."""
        out: dict[str, Any] = {k: self.eval(v, scope) for k, v in body.attributes.items()}
        for kind, labels, inner in body.blocks:
            if kind == "dynamic":
                self._dynamic(labels, inner, scope, out)
            elif kind not in ("lifecycle", "provisioner", "connection"):
                out.setdefault(kind, []).append(self.block_values(inner, scope))
        return out

    def _dynamic(self, labels: list[str], body: Body, scope: Mapping[str, Any], out: dict[str, Any]) -> None:
        """dynamic "x" { for_each = ...; iterator = it; content { ... } }: one x block per element."""
        label = labels[0] if labels else "dynamic"
        iterator = label
        if "iterator" in body.attributes:
            named = _children(body.attributes["iterator"])
            if named and named[0].data == "identifier":
                iterator = _token_text(named[0])
        content = next((inner for kind, _l, inner in body.blocks if kind == "content"), None)
        collection = self.eval(body.attributes["for_each"], scope) if "for_each" in body.attributes else None
        if content is None:
            return
        if isinstance(collection, dict) and not is_unknown(collection):
            pairs: list[tuple[Any, Any]] = list(collection.items())
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        else:
            out.setdefault(label, []).append(
                unknown(f"dynamic {label}: {_why(collection, 'for_each')}" if collection is not None
                        else f"dynamic {label} has no for_each")
            )
            return
        for key, value in pairs:
            out.setdefault(label, []).append(self.block_values(content, {**scope, iterator: {"key": key,
                                                                                            "value": value}}))


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


def _call(name: str, args: list[Any]) -> Any:
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


def _parse(path: Path) -> tuple[Tree | None, ParseProblem | None]:
    import hcl2

    try:
        text = read_text(path)
    except InputError as exc:
        return None, ParseProblem(str(path), exc.what)
    try:
        return hcl2.parses_to_tree(text), None
    except RecursionError:
        return None, ParseProblem(str(path), "HCL nested too deeply")
    except Exception as exc:  # noqa: BLE001 - lark's errors vary; each becomes one parse problem
        line = getattr(exc, "line", None)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, ParseProblem(str(path), f"invalid HCL: {first}"[:300], line if isinstance(line, int) else None)


def _tfvars(path: Path, module: Module) -> ParseProblem | None:
    if path.name.endswith(".json"):
        try:
            data = json.loads(read_text(path))
        except (InputError, json.JSONDecodeError) as exc:
            return ParseProblem(str(path), f"invalid tfvars JSON: {exc}"[:300])
        if isinstance(data, dict):
            module.tfvars.update(data)
        return None
    tree, problem = _parse(path)
    if tree is None:
        return problem
    body = Body(_children(tree)[0], None)
    for name, expr in body.attributes.items():
        module.tfvars[name] = module.eval(expr)
    return None


_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|/\*.*?\*/|(?:#|//)[^\n]*', re.S)
_MODULE_OPEN = re.compile(r'^[^\S\n]*module\s+"[^"]*"\s*\{', re.M)
_SOURCE = re.compile(r'^[^\S\n]*source\s*=\s*"([^"]*)"', re.M)


def local_module_calls(directory: Path) -> list[Path]:
    """The directories that `module` blocks of this directory call by a local source ("./x", "../../").

    A light text scan (comments dropped, braces counted), not a parse: it runs on every directory of
    a scanned tree to decide which directories are root modules, before any directory is parsed.
    """
    called: list[Path] = []
    for path in sorted(directory.glob("*.tf")):
        try:
            text = read_text(path)
        except InputError:
            continue  # reported when the directory itself is loaded
        text = _COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
        for match in _MODULE_OPEN.finditer(text):
            depth, end = 1, match.end()
            while depth and end < len(text):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            block = text[match.end():end]
            nested = block.find("{")
            source = _SOURCE.search(block if nested < 0 else block[:nested] + _top_level(block[nested:]))
            if source and _is_local_source(source.group(1)):
                called.append(Path(os.path.normpath(directory / source.group(1))))
    return called


def _top_level(text: str) -> str:
    """The part of a block's text outside nested braces (a nested block's own `source` is not the call's)."""
    out, depth = [], 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and char not in "{}":
            out.append(char)
        elif char == "\n":
            out.append("\n")
    return "".join(out)


def root_modules(directories: list[Path]) -> list[Path]:
    """Which scanned Terraform directories are root modules (in the given order).

    A directory that another scanned directory calls as a local module is evaluated through its
    caller, with the caller's arguments, and is not also a root of its own (its variables would be
    unset: unknowns everywhere). A directory nobody calls is a root. Directories that only call each
    other (a cycle with no outside caller) stay roots, so that nothing scanned is silently dropped.
    """
    resolved = {d.resolve(): d for d in directories}
    calls = {key: {c.resolve() for c in local_module_calls(d)} - {key} for key, d in resolved.items()}
    called = set().union(*calls.values()) if calls else set()
    roots = {key for key in resolved if key not in called}
    reached, todo = set(roots), list(roots)
    while todo:
        for target in calls.get(todo.pop(), set()):
            if target in resolved and target not in reached:
                reached.add(target)
                todo.append(target)
    keep = roots | {key for key in resolved if key not in reached}
    return [d for d in directories if d.resolve() in keep]


def load_directory(
    directory: Path,
    *,
    region: str | None,
    account: str | None,
    overrides: Mapping[str, str],
    read_secret_values: bool = False,
    var_files: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[list[TemplateResource], list[ParseProblem]]:
    """A root module and the modules it calls (local sources, and registry/git ones terraform init downloaded).
    Variables, as Terraform: `overrides` (--param) > `var_files` (--var-file, later wins) > *.auto.tfvars >
    terraform.tfvars > `env` (TF_VAR_name, without the prefix; a value starting with [ or { is read as JSON) >
    the default."""
    module = Module(directory, region=region, account=account, overrides=overrides)
    module.read()
    problems = module.run.problems
    for name, raw in (env or {}).items():
        value: Any = raw
        if raw.lstrip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        module.tfvars[name] = value
    for path in sorted(
        [
            *directory.glob("*.auto.tfvars"),
            *directory.glob("*.auto.tfvars.json"),
            *directory.glob("terraform.tfvars"),
            *directory.glob("terraform.tfvars.json"),
        ]
    ):
        problem = _tfvars(path, module)
        if problem:
            problems.append(problem)
    for path in var_files:
        problem = _tfvars(path, module)
        if problem:
            problems.append(problem)
    out: list[TemplateResource] = []
    _collect(module, out, region, account, read_secret_values)
    if module.run.not_downloaded:
        calls = ", ".join(module.run.not_downloaded[:5]) + (" ..." if len(module.run.not_downloaded) > 5 else "")
        sys.stderr.write(
            f"ccme-audit: warning: {directory}: {calls} not downloaded, its resources are not checked and its "
            "outputs are unknown: run terraform init there, or scan the plan JSON (terraform show -json)\n"
        )
    from auditor.iac.joins import join

    join(out, region)
    return out, list(problems)


def _collect(
    module: Module, out: list[TemplateResource], region: str | None, account: str | None, read_secret_values: bool
) -> None:
    """The resources of one module instance, then those of the modules it calls, depth first."""
    for path, body, lines in module.run.directory(module.directory).files:
        for kind, labels, inner in body.blocks:
            if kind != "resource" or len(labels) != 2:
                continue
            address = f"{labels[0]}.{labels[1]}"
            suppressions = inline_suppressions(lines, inner.line)
            instances: list[tuple[str, dict[str, Any], list[str]]] = []
            if "count" in inner.attributes:
                count = module.eval(inner.attributes["count"])
                if isinstance(count, int) and not isinstance(count, bool):
                    instances = [(f"{address}[{i}]", {"count.index": i}, []) for i in range(count)]
                else:
                    instances = [(address, {}, [f"count cannot be evaluated: {_why(count, 'count')}"])]
            elif "for_each" in inner.attributes:
                each = module.eval(inner.attributes["for_each"])
                pairs = _each_pairs(each)
                if pairs is not None:
                    instances = [(f'{address}["{k}"]', {"each.key": k, "each.value": v}, []) for k, v in pairs]
                else:
                    instances = [(address, {}, [f"for_each cannot be evaluated: {_why(each, 'for_each')}"])]
            else:
                instances = [(address, {}, [])]
            for instance, scope, errors in instances:
                key = module.prefix + instance
                location = Location(file=str(path), line=inner.line, logical_id=key)
                values = module.block_values(inner, scope)
                module.shape_names(labels[0], inner, scope, values)
                for item in map_resource(labels[0], key, values, location, region, read_secret_values):
                    item.suppressions.extend(suppressions)
                    item.errors.extend([*module.errors, *errors])
                    item.region, item.account = region, account
                    out.append(item)
    for name in module.calls:
        try:
            children = module.instances(name)
        except _ModuleProblem as exc:
            if exc.problem not in module.run.problems:
                module.run.problems.append(exc.problem)
            continue
        except _Unresolved:
            continue  # a module not downloaded: one stderr line for the run
        for child in children.values():
            _collect(child, out, region, account, read_secret_values)


def is_plan(doc: Any) -> bool:
    return isinstance(doc, dict) and "planned_values" in doc and "format_version" in doc


# The argument that names a resource the rules may pick by name.
NAME_ARGUMENT = {
    "aws_s3_bucket": "bucket",
    "aws_kms_alias": "name",
    "aws_secretsmanager_secret": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_lambda_function": "function_name",
    "aws_db_instance": "identifier",
    "aws_key_pair": "key_name",
    "aws_ssm_parameter": "name",
}
# Name arguments Terraform fills at apply when the configuration omits them (with their *_prefix).
GENERATED_NAME_ARGUMENTS = frozenset({
    "bucket", "bucket_prefix", "name", "name_prefix", "identifier", "identifier_prefix", "key_name",
    "key_name_prefix",
})


def load_plan(
    path: Path,
    doc: Mapping[str, Any],
    *,
    region: str | None,
    account: str | None,
    read_secret_values: bool = False,
) -> tuple[list[TemplateResource], list[ParseProblem]]:
    try:
        check_depth(doc, file=str(path))
    except InputError as exc:
        return [], [ParseProblem(str(path), exc.what)]
    if expanded_size(doc) > MAX_EXPANDED_NODES:
        return [], [ParseProblem(str(path), "plan too large")]
    unknowns: dict[str, Any] = {}
    for change in doc.get("resource_changes") or []:
        if isinstance(change, dict) and isinstance(change.get("change"), dict):
            unknowns[str(change.get("address"))] = change["change"].get("after_unknown") or {}
    # The configuration's references, per resource address without instance keys
    # (module.a.aws_s3_bucket.this), module calls followed; they are relative to their module.
    references: dict[str, dict[str, list[str]]] = {}
    configured: dict[str, set[str]] = {}  # the arguments each resource's configuration sets
    configs: list[tuple[Any, str, int]] = [((doc.get("configuration") or {}).get("root_module") or {}, "", 0)]
    while configs:
        config, prefix, level = configs.pop()
        if not isinstance(config, dict) or level > MAX_MODULE_DEPTH:
            continue
        for res in config.get("resources") or []:
            if isinstance(res, dict):
                configured[prefix + str(res.get("address"))] = set(res.get("expressions") or {})
                by_attr: dict[str, list[str]] = {}
                for attr, expr in (res.get("expressions") or {}).items():
                    if isinstance(expr, dict) and expr.get("references"):
                        by_attr[attr] = [str(r) for r in expr["references"]]
                references[prefix + str(res.get("address"))] = by_attr
        for name, call in (config.get("module_calls") or {}).items():
            if isinstance(call, dict):
                configs.append((call.get("module") or {}, f"{prefix}module.{name}.", level + 1))
    out: list[TemplateResource] = []
    stack = [(doc.get("planned_values") or {}).get("root_module") or {}]
    while stack:
        module = stack.pop()
        if not isinstance(module, dict):
            continue
        stack.extend(module.get("child_modules") or [])
        for res in module.get("resources") or []:
            if not isinstance(res, dict) or res.get("mode", "managed") != "managed":
                continue
            address = str(res.get("address"))
            values = dict(res.get("values") or {})
            base_address = re.sub(r"\[[^\]]*\]", "", address)
            module_address = str(module.get("address") or "")
            for attr, flag in (unknowns.get(address) or {}).items():
                if attr in GENERATED_NAME_ARGUMENTS and attr not in configured.get(base_address, {attr}):
                    continue  # a name the configuration leaves out: generated at apply (map_resource)
                if flag is True and values.get(attr) is None:
                    refs: list[str] = (references.get(base_address) or {}).get(attr) or []
                    target = next(
                        (r for r in refs if r.count(".") >= 2 and not r.startswith(("module.", "var.", "local."))),
                        None,
                    )
                    if target:
                        target_address, target_attr = target.rsplit(".", 1)
                        if module_address:  # a reference inside a module names a resource of that instance
                            target_address = f"{module_address}.{target_address}"
                        values[attr] = Link(target_address, target_attr)
                    else:
                        values[attr] = unknown(f"{attr} is known only after apply")
            location = Location(file=str(path), line=None, logical_id=address)
            out.extend(map_resource(str(res.get("type")), address, values, location, region, read_secret_values))
    for item in out:
        item.region, item.account = region, account
    from auditor.iac.joins import join

    join(out, region)
    return out, []


# --- mapping (shared by HCL and plan JSON) -----------------------------------------------------


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


def map_resource(
    rtype: str,
    address: str,
    v: Mapping[str, Any],
    location: Location,
    region: str | None,
    read_secret_values: bool,
) -> list[TemplateResource]:
    def res(t: str, attrs: dict[str, Any], name: Any = None, rid: str | None = None) -> TemplateResource:
        return TemplateResource(type=t, key=address, attributes=attrs, location=location, name=name, id=rid)

    tag_map = C.tags(v.get("tags"))
    name_tag = tag_map.get("Name")
    if rtype in ("aws_kms_key", "aws_kms_external_key"):
        return [
            res(
                "kms.key",
                C.kms_key(
                    key_id=address,
                    description=v.get("description"),
                    key_spec=v.get("customer_master_key_spec"),
                    key_usage=v.get("key_usage"),
                    enabled=v.get("is_enabled", v.get("enabled")),
                    multi_region=v.get("multi_region"),
                    origin="EXTERNAL" if rtype == "aws_kms_external_key" else None,
                    policy=v.get("policy"),
                    rotation=v.get("enable_key_rotation"),
                    aliases=[],
                    tag_map=tag_map,
                ),
            )
        ]
    if rtype == "aws_kms_key_policy":
        return [
            res(
                "iac.kms_key_policy",
                {"key": v.get("key_id"), "policy": C.policy_document(v.get("policy"), "policy")},
            )
        ]
    if rtype == "aws_kms_alias":
        name = text_or_unknown(v.get("name"), "name")
        return [
            res(
                "kms.alias",
                {
                    "name": name,
                    "arn": unknown("the alias ARN is assigned at apply"),
                    "target_key_id": v.get("target_key_id"),
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_s3_bucket":
        name = _named(v, "bucket", "bucket")
        versioning = None
        legacy = _first(v.get("versioning"))
        if isinstance(legacy, _UnknownBlock):
            versioning = legacy.get("enabled")
        elif legacy:
            versioning = "Enabled" if legacy.get("enabled") is True else None
        return [
            res(
                "s3.bucket",
                C.s3_bucket(
                    name=name,
                    region=region,
                    versioning=versioning,
                    logging=None,
                    encryption=None,
                    pab=None,
                    policy=None,
                    ownership=None,
                    tag_map=tag_map,
                ),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_s3_bucket_versioning":
        status = _first(v.get("versioning_configuration")).get("status")
        return [
            res(
                "iac.s3_setting",
                {"bucket": v.get("bucket"), "setting": "versioning", "value": C.versioning_status(status)},
            )
        ]
    if rtype == "aws_s3_bucket_logging":
        return [
            res(
                "iac.s3_setting",
                {
                    "bucket": v.get("bucket"),
                    "setting": "logging",
                    "value": {
                        "target_bucket": v.get("target_bucket"),
                        "target_prefix": v.get("target_prefix", ""),
                    },
                },
            )
        ]
    if rtype == "aws_s3_bucket_public_access_block":
        return [
            res(
                "iac.s3_setting",
                {
                    "bucket": v.get("bucket"),
                    "setting": "public_access_block",
                    "value": {k: v.get(k) for k in C.NEW_BUCKET_PUBLIC_ACCESS_BLOCK},
                },
            )
        ]
    if rtype == "aws_s3_bucket_server_side_encryption_configuration":
        rules: list[Any] = []
        for rule in _tf_list(v.get("rule")):
            by_default = rule.get("apply_server_side_encryption_by_default") if isinstance(rule, dict) else None
            if isinstance(by_default, list) and by_default:
                by_default = by_default[0]
            part = next((p for p in (rule, by_default) if is_unknown(p) or isinstance(p, Link)), None)
            if part is not None:  # a dynamic block over an unknown collection: the rule is unknown, not absent
                rules.append(part if is_unknown(part) else unknown("the encryption rule is known only after apply"))
                continue
            if not isinstance(rule, dict):
                continue
            default = _first(rule.get("apply_server_side_encryption_by_default"))
            rules.append(
                C.encryption_rule(
                    default.get("sse_algorithm"),
                    default.get("kms_master_key_id"),
                    rule.get("bucket_key_enabled"),
                )
            )
        return [
            res(
                "iac.s3_setting",
                {"bucket": v.get("bucket"), "setting": "encryption", "value": {"rules": rules}},
            )
        ]
    if rtype == "aws_s3_bucket_ownership_controls":
        owner = _first(v.get("rule")).get("object_ownership")
        return [res("iac.s3_setting", {"bucket": v.get("bucket"), "setting": "ownership", "value": owner})]
    if rtype == "aws_s3_bucket_policy":
        return [
            res(
                "iac.s3_bucket_policy",
                {"bucket": v.get("bucket"), "policy": C.policy_document(v.get("policy"), "policy")},
            )
        ]
    if rtype == "aws_vpc":
        cidr = v.get("cidr_block")
        ipv6 = C.bool_or_unknown(v.get("assign_generated_ipv6_cidr_block"), False, "assign_generated_ipv6_cidr_block")
        return [
            res(
                "ec2.vpc",
                {
                    "vpc_id": address,
                    "name": name_tag,
                    "cidr_block": cidr,
                    "cidr_blocks": [cidr] if cidr else [],
                    "ipv6_cidr_blocks": [unknown("the IPv6 block is assigned at apply")] if ipv6 is True else [],
                    "instance_tenancy": v.get("instance_tenancy") or "default",
                    "enable_dns_support": C.bool_or_unknown(v.get("enable_dns_support"), True, "enable_dns_support"),
                    "enable_dns_hostnames": C.bool_or_unknown(
                        v.get("enable_dns_hostnames"), False, "enable_dns_hostnames"
                    ),
                    "dhcp_options_id": unknown(
                        "no DHCP options association in the configuration: the VPC gets the "
                        "account's default options set"
                    ),
                    "is_default": False,
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_ipv4_cidr_block_association":
        return [res("iac.vpc_cidr", {"vpc": v.get("vpc_id"), "cidr": v.get("cidr_block"), "ipv6": False})]
    if rtype == "aws_vpc_ipv6_cidr_block_association":
        return [res("iac.vpc_cidr", {"vpc": v.get("vpc_id"), "ipv6": True, "ipv6_cidr": v.get("ipv6_cidr_block")})]
    if rtype == "aws_vpc_dhcp_options":
        return [
            res(
                "ec2.dhcp_options",
                {
                    "dhcp_options_id": address,
                    "domain_name": C.split_names(v.get("domain_name")),
                    "domain_name_servers": C.split_names(v.get("domain_name_servers")),
                    "ntp_servers": C.split_names(v.get("ntp_servers")),
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_dhcp_options_association":
        return [res("iac.dhcp_association", {"vpc": v.get("vpc_id"), "dhcp": v.get("dhcp_options_id")})]
    if rtype == "aws_subnet":
        az = v.get("availability_zone")
        return [
            res(
                "ec2.subnet",
                {
                    "subnet_id": address,
                    "vpc_id": v.get("vpc_id"),
                    "name": name_tag,
                    "cidr_block": v.get("cidr_block"),
                    "availability_zone": az
                    if az is not None
                    else unknown("no availability_zone: AWS picks one at apply"),
                    "availability_zone_id": v.get("availability_zone_id"),
                    "map_public_ip_on_launch": C.bool_or_unknown(
                        v.get("map_public_ip_on_launch"), False, "map_public_ip_on_launch"
                    ),
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype in ("aws_route_table", "aws_default_route_table"):
        out = [
            res(
                "ec2.route_table",
                {
                    "route_table_id": address,
                    "vpc_id": v.get("vpc_id"),
                    "main": rtype == "aws_default_route_table",
                    "name": name_tag,
                    "associations": [{"subnet_id": None, "main": True}] if rtype == "aws_default_route_table" else [],
                    "routes": [],
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
        for index, entry in enumerate(v.get("route") or []):
            if isinstance(entry, dict):
                out.append(
                    TemplateResource(
                        type="iac.route",
                        key=f"{address}#route{index}",
                        location=location,
                        attributes={"table": Link(address), "route": _tf_route(entry)},
                    )
                )
        return out
    if rtype == "aws_route":
        return [res("iac.route", {"table": v.get("route_table_id"), "route": _tf_route(v)})]
    if rtype == "aws_route_table_association":
        return [res("iac.rt_association", {"table": v.get("route_table_id"), "subnet": v.get("subnet_id")})]
    if rtype == "aws_main_route_table_association":
        return [res("iac.main_rt_association", {"table": v.get("route_table_id"), "vpc": v.get("vpc_id")})]
    if rtype == "aws_internet_gateway":
        attachments = [{"vpc_id": v["vpc_id"], "state": "available"}] if v.get("vpc_id") is not None else []
        return [
            res(
                "ec2.internet_gateway",
                {"internet_gateway_id": address, "attachments": attachments, "tags": tag_map},
                name=name_tag,
            )
        ]
    if rtype == "aws_internet_gateway_attachment":
        return [res("iac.igw_attachment", {"igw": v.get("internet_gateway_id"), "vpc": v.get("vpc_id")})]
    if rtype == "aws_nat_gateway":
        return [
            res(
                "ec2.nat_gateway",
                {
                    "nat_gateway_id": address,
                    "vpc_id": None,
                    "subnet_id": v.get("subnet_id"),
                    "state": "available",
                    "connectivity_type": v.get("connectivity_type") or "public",
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_endpoint":
        return [
            res(
                "ec2.vpc_endpoint",
                {
                    "vpc_endpoint_id": address,
                    "vpc_id": v.get("vpc_id"),
                    "service_name": v.get("service_name"),
                    "vpc_endpoint_type": v.get("vpc_endpoint_type") or "Gateway",
                    "state": "available",
                    "route_table_ids": list(v.get("route_table_ids") or []),
                    "subnet_ids": list(v.get("subnet_ids") or []),
                    "private_dns_enabled": C.bool_or_unknown(
                        v.get("private_dns_enabled"), False, "private_dns_enabled"
                    ),
                    "security_group_ids": list(v.get("security_group_ids") or []),
                    "policy": C.policy_document(v.get("policy"), "policy"),
                    "tags": tag_map,
                },
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_endpoint_route_table_association":
        return [res("iac.endpoint_rt", {"endpoint": v.get("vpc_endpoint_id"), "table": v.get("route_table_id")})]
    if rtype == "aws_secretsmanager_secret":
        name = _named(v, "name", "secret")
        return [
            res(
                "secretsmanager.secret",
                {
                    "name": name,
                    "arn": unknown("the secret ARN is assigned at apply"),
                    "kms_key_id": v.get("kms_key_id"),
                    "deleted_date": None,
                    "value_format": unknown("the secret's format is read only with --read-secret-values"),
                    "tags": tag_map,
                },
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_acm_certificate":
        domain = v.get("domain_name")
        return [
            res(
                "acm.certificate",
                {
                    "arn": address,
                    "domain_name": domain,
                    "subject_alternative_names": list(v.get("subject_alternative_names") or []),
                    "status": unknown("a requested certificate is issued only after validation, at apply"),
                    "cert_type": "IMPORTED" if v.get("certificate_body") is not None else "AMAZON_ISSUED",
                    "key_algorithm": v.get("key_algorithm") or "RSA_2048",
                    "not_after": unknown("the expiry is set when the certificate is issued"),
                    "in_use_by": [],
                    "tags": tag_map,
                },
                name=domain if isinstance(domain, str) else None,
            )
        ]
    return _map_provisioner(rtype, address, v, res, tag_map, region, location)


def _tf_rules(blocks: Any, owner: str) -> Any:
    """Inline ingress/egress blocks of aws_security_group, one entry per source (as DescribeSecurityGroups)."""
    if blocks is None:
        return []
    if is_unknown(blocks) or not isinstance(blocks, list):
        return blocks if is_unknown(blocks) else unknown("the security group rules are not a list")
    out: list[Any] = []
    for block in blocks:
        if is_unknown(block) or not isinstance(block, dict):
            out.append(block if is_unknown(block) else unknown("a security group rule is not a block"))
            continue
        out.extend(_tf_rule_sources(block, owner))
    return out


def _tf_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]  # an unknown or a Link stands for the whole list


def _tf_rule_sources(b: Mapping[str, Any], owner: str) -> list[Any]:
    base = {"protocol_value": b.get("protocol"), "from_port": b.get("from_port"), "to_port": b.get("to_port"),
            "description": b.get("description")}
    out: list[Any] = []
    for cidr in _tf_list(b.get("cidr_blocks")):
        out.append(C.sg_rule(**base, cidr_ipv4=cidr))
    for cidr in _tf_list(b.get("ipv6_cidr_blocks")):
        out.append(C.sg_rule(**base, cidr_ipv6=cidr))
    for group in _tf_list(b.get("security_groups")):
        out.append(C.sg_rule(**base, referenced_group_id=group))
    for group in _tf_list(b.get("source_security_group_id")):
        out.append(C.sg_rule(**base, referenced_group_id=group))
    if b.get("self") is True:
        out.append(C.sg_rule(**base, referenced_group_id=Link(owner) if owner else "$self"))
    for prefix in _tf_list(b.get("prefix_list_ids")):
        out.append(C.sg_rule(**base, prefix_list_id=prefix))
    return out


def _ids(value: Any) -> Any:
    """A list of resource ids; a plan's reference to one resource for a whole list is that resource's id."""
    if isinstance(value, Link):
        return [value]
    if isinstance(value, tuple):
        return list(value)
    return value


def _named(v: Mapping[str, Any], attr: str, what: str) -> Any:
    name = v.get(attr)
    if name is None:
        return C.tf_generated_name(what, attr, v.get(f"{attr}_prefix"))
    return text_or_unknown(name, attr)


def _map_provisioner(
    rtype: str, address: str, v: Mapping[str, Any], res: Any, tag_map: dict[str, str], region: str | None,
    location: Location,
) -> list[TemplateResource]:
    """Seed 003 provisioner resources (pack bbp), HCL and plan JSON alike."""
    name_tag = tag_map.get("Name")
    if rtype == "aws_security_group":
        name = v.get("name")
        return [
            res(
                "ec2.security_group",
                C.security_group(
                    name=name if name is not None else (None if v.get("name_prefix") is None else unknown(
                        "the group name is generated by Terraform at apply (name_prefix)")),
                    vpc_id=v.get("vpc_id") if v.get("vpc_id") is not None else unknown("no vpc_id: the default VPC"),
                    description=v.get("description", "Managed by Terraform"),
                    ingress=_tf_rules(v.get("ingress"), address),
                    # Terraform removes the default allow-all egress rule of a new group (aws_security_group).
                    egress=_tf_rules(v.get("egress"), address),
                    tag_map=tag_map,
                ),
                name=name if isinstance(name, str) else name_tag,
            )
        ]
    if rtype == "aws_security_group_rule":
        egress = v.get("type") == "egress"
        return [
            TemplateResource(type="iac.sg_rule", key=f"{address}#{i}", location=location,
                             attributes={"group": v.get("security_group_id"), "egress": egress, "rule": rule})
            for i, rule in enumerate(_tf_rule_sources(v, ""))
        ]
    if rtype in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        rule = C.sg_rule(
            protocol_value=v.get("ip_protocol"),
            from_port=v.get("from_port"),
            to_port=v.get("to_port"),
            cidr_ipv4=v.get("cidr_ipv4"),
            cidr_ipv6=v.get("cidr_ipv6"),
            referenced_group_id=v.get("referenced_security_group_id"),
            prefix_list_id=v.get("prefix_list_id"),
            description=v.get("description"),
        )
        return [res("iac.sg_rule", {"group": v.get("security_group_id"), "egress": rtype.endswith("egress_rule"),
                                    "rule": rule})]
    if rtype == "aws_vpc_peering_connection":
        owner, peer_region = v.get("peer_owner_id"), v.get("peer_region")
        accept = C.bool_or_unknown(v.get("auto_accept"), False, "auto_accept")
        status: Any = "active" if accept is True else (accept if is_unknown(accept) else "pending-acceptance")
        return [
            res(
                "ec2.vpc_peering_connection",
                C.peering_connection(
                    requester_vpc=v.get("vpc_id"),
                    accepter_vpc=v.get("peer_vpc_id"),
                    status=status,
                    account=None,
                    region=region,
                    peer_owner=owner,
                    peer_region=peer_region,
                    tag_map=tag_map,
                ),
                name=name_tag,
            )
        ]
    if rtype == "aws_vpc_peering_connection_accepter":
        accept = C.bool_or_unknown(v.get("auto_accept"), False, "auto_accept")
        return [res("iac.peering_accept", {"peering": v.get("vpc_peering_connection_id"), "accept": accept})]
    if rtype == "aws_key_pair":
        name = _named(v, "key_name", "key pair")
        return [
            res(
                "ec2.key_pair",
                C.key_pair(name=name, key_type=C.key_type_of(None, v.get("public_key")), tag_map=tag_map),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_efs_file_system":
        return [
            res(
                "efs.file_system",
                C.efs_file_system(
                    name=name_tag,
                    encrypted=v.get("encrypted"),
                    kms_key_id=v.get("kms_key_id"),
                    performance_mode=v.get("performance_mode"),
                    throughput_mode=v.get("throughput_mode"),
                    tag_map=tag_map,
                ),
                name=name_tag,
            )
        ]
    if rtype == "aws_fsx_lustre_file_system":
        return [
            res(
                "fsx.file_system",
                C.fsx_file_system(
                    name=name_tag,
                    file_system_type="LUSTRE",
                    deployment_type=v.get("deployment_type") or "SCRATCH_1",
                    kms_key_id=v.get("kms_key_id"),
                    subnet_ids=_ids(v.get("subnet_ids")),
                    import_path=v.get("import_path"),
                    export_path=v.get("export_path"),
                    tag_map=tag_map,
                ),
                name=name_tag,
            )
        ]
    if rtype == "aws_fsx_data_repository_association":
        s3 = _first(v.get("s3"))
        return [
            res(
                "iac.fsx_dra",
                {
                    "file_system": v.get("file_system_id"),
                    "association": C.data_repository_association(
                        file_system_path=v.get("file_system_path"),
                        data_repository_path=v.get("data_repository_path"),
                        import_events=_first(s3.get("auto_import_policy")).get("events"),
                        export_events=_first(s3.get("auto_export_policy")).get("events"),
                    ),
                },
            )
        ]
    if rtype == "aws_db_subnet_group":
        name = v.get("name")
        return [res("iac.db_subnet_group", {"name": name, "subnet_ids": _ids(v.get("subnet_ids")) or []},
                    name=name if isinstance(name, str) else None)]
    if rtype == "aws_db_instance":
        name = _named(v, "identifier", "DB instance")
        groups = v.get("vpc_security_group_ids")
        return [
            res(
                "rds.db_instance",
                C.db_instance(
                    identifier=name,
                    engine=v.get("engine"),
                    engine_version=v.get("engine_version"),
                    # The provider sends publicly_accessible=false unless set (aws_db_instance).
                    publicly_accessible=C.bool_or_unknown(v.get("publicly_accessible"), False, "publicly_accessible"),
                    storage_encrypted=v.get("storage_encrypted"),
                    kms_key_id=v.get("kms_key_id"),
                    port=v.get("port"),
                    subnet_group=v.get("db_subnet_group_name"),
                    master_username=v.get("username"),
                    managed_secret=v.get("manage_master_user_password"),
                    security_groups=_ids(groups),
                    multi_az=v.get("multi_az"),
                    tag_map=tag_map,
                ),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_cloudwatch_log_group":
        name = _named(v, "name", "log group")
        return [
            res(
                "logs.log_group",
                C.log_group(name=name, retention=v.get("retention_in_days"), kms_key_id=v.get("kms_key_id")),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_lambda_function":
        name = _named(v, "function_name", "function")
        return [
            res(
                "lambda.function",
                C.lambda_function(
                    name=name,
                    package_type=v.get("package_type"),
                    runtime=v.get("runtime"),
                    role=v.get("role"),
                    image_uri=v.get("image_uri"),
                    vpc=bool(v.get("vpc_config")),
                    tag_map=tag_map,
                ),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    if rtype == "aws_lambda_permission":
        return [
            res(
                "iac.lambda_permission",
                {
                    "function": v.get("function_name"),
                    "statement": C.permission_statement(
                        sid=v.get("statement_id") if v.get("statement_id") is not None else address,
                        principal=v.get("principal"),
                        action=v.get("action"),
                        source_arn=v.get("source_arn"),
                        source_account=v.get("source_account"),
                    ),
                },
            )
        ]
    if rtype == "aws_api_gateway_rest_api":
        name = v.get("name")
        attrs = C.rest_api(
            name=name,
            policy=v.get("policy") if v.get("policy") != "" else None,
            endpoint_types=_first(v.get("endpoint_configuration")).get("types"),
            disable_execute=v.get("disable_execute_api_endpoint"),
            tag_map=tag_map,
        )
        if v.get("body") not in (None, ""):
            attrs["methods"] = unknown("the methods come from an OpenAPI body, not evaluated by ccme-audit")
        return [res("apigateway.rest_api", attrs, name=name if isinstance(name, str) else None)]
    if rtype == "aws_api_gateway_rest_api_policy":
        return [res("iac.api_policy", {"api": v.get("rest_api_id"),
                                       "policy": C.policy_document(v.get("policy"), "policy")})]
    if rtype == "aws_api_gateway_resource":
        return [res("iac.api_resource", {"api": v.get("rest_api_id"), "parent": v.get("parent_id"),
                                         "part": v.get("path_part")})]
    if rtype == "aws_api_gateway_method":
        return [
            res(
                "iac.api_method",
                {
                    "api": v.get("rest_api_id"),
                    "resource": v.get("resource_id"),
                    "method": C.api_method(
                        http_method=v.get("http_method"),
                        authorization=v.get("authorization"),
                        authorizer_id=v.get("authorizer_id"),
                        api_key_required=v.get("api_key_required"),
                    ),
                },
            )
        ]
    if rtype == "aws_ssm_parameter":
        name = _named(v, "name", "parameter")
        return [
            res(
                "ssm.parameter",
                C.ssm_parameter(name=name, type_=v.get("type"), key_id=v.get("key_id"), tier=v.get("tier")),
                name=name,
                rid=name if isinstance(name, str) else None,
            )
        ]
    return []


def _tf_route(entry: Mapping[str, Any]) -> dict[str, Any]:
    target_field, target = None, None
    for tf, field in (
        ("gateway_id", "gateway_id"),
        ("nat_gateway_id", "nat_gateway_id"),
        ("transit_gateway_id", "transit_gateway_id"),
        ("network_interface_id", "network_interface_id"),
        ("vpc_peering_connection_id", "vpc_peering_connection_id"),
        ("egress_only_gateway_id", "egress_only_internet_gateway_id"),
        ("vpc_endpoint_id", "gateway_id"),
        ("carrier_gateway_id", "carrier_gateway_id"),
        ("local_gateway_id", "local_gateway_id"),
        ("core_network_arn", "core_network_arn"),
    ):
        if entry.get(tf) not in (None, ""):
            target_field, target = field, entry[tf]
    cidr = entry.get("destination_cidr_block", entry.get("cidr_block"))
    ipv6 = entry.get("destination_ipv6_cidr_block", entry.get("ipv6_cidr_block"))
    return C.route(cidr if cidr != "" else None, target_field, target, ipv6 if ipv6 not in ("", None) else None)
