"""Terraform HCL as python-hcl2 parses it: trees, bodies, parsed directories, tfvars, and the
errors, limits and name arguments the evaluator shares."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import read_text
from auditor.iac.model import (
    ParseProblem,
)
from auditor.iac.suppress import comment_lines

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


def _unwrap(tree: Any) -> Any:
    """The expression inside single-child expr_term wrappers."""
    while isinstance(tree, Tree) and tree.data == "expr_term" and len(_children(tree)) == 1:
        tree = _children(tree)[0]
    return tree


def _local_reference(tree: Any) -> str | None:
    """NAME when `tree` is `local.NAME` written alone, else None."""
    if not isinstance(tree, Tree) or tree.data != "get_attr_expr_term":
        return None
    base, *rest = _children(tree)
    if len(rest) != 1 or rest[0].data != "get_attr" or _token_text(_unwrap(base)) != "local":
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
            self.files.append((path, Body(_children(tree)[0], None), comment_lines(read_text(path), "hcl")))


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
