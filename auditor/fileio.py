"""Bounded, safe reading of YAML/JSON input and atomic writing of output."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from auditor.errors import InputError

MAX_INPUT_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 64

class _Loader(yaml.SafeLoader):
    """Safe loader that keeps timestamps as strings: `Version: 2012-10-17` must stay a string."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
MAX_EXPANDED_NODES = 2_000_000


def expanded_size(value: Any, *, limit: int = MAX_EXPANDED_NODES) -> int:
    """Node count with aliases expanded, computed over shared nodes once (defeats alias bombs)."""
    memo: dict[int, int] = {}
    order: list[Any] = []
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, dict | list) or id(node) in memo:
            continue
        if done:
            children = node.values() if isinstance(node, dict) else node
            total = 1 + sum(memo.get(id(c), 1) for c in children)
            memo[id(node)] = min(total, limit + 1)
            order.append(node)
            continue
        stack.append((node, True))
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, False) for c in children if isinstance(c, dict | list) and id(c) not in memo)
    return memo.get(id(value), 1)


def read_bytes(path: Path, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("file not found", file=str(path), fix="check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None
    if path.is_dir():
        raise InputError("is a directory, expected a file", file=str(path), fix="name a file")
    if size > limit:
        raise InputError(
            f"file is {size} bytes, larger than the {limit} byte limit", file=str(path), fix="split the file"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None


def read_text(path: Path, *, limit: int = MAX_INPUT_BYTES) -> str:
    data = read_bytes(path, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start})", file=str(path), fix="save the file as UTF-8"
        ) from None


_FLOW = re.compile(r"[\[\]{}]")
MAX_FLOW_DEPTH = 1000


def flow_depth_exceeds(text: str, limit: int = MAX_FLOW_DEPTH) -> bool:
    """Whether `[`/`{` nest deeper than `limit` in the text, before any parser sees it.

    libyaml's composer (used by cfn-lint's loader) recurses in C on flow collections: fifty
    thousand `[` overflow the C stack and kill the process (SIGSEGV) before Python can raise a
    RecursionError. Brackets inside strings count too, so the limit is far above any real document.
    """
    depth = 0
    for match in _FLOW.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def check_depth(value: Any, *, file: str, limit: int = MAX_DEPTH) -> None:
    """Reject documents nested deeper than `limit` (iteratively: no recursion error)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise InputError(f"nested deeper than {limit} levels", file=file, fix="flatten the document")
        if isinstance(item, dict):  # scalars are never deeper: push containers only (bounded memory)
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))


def parse_yaml(text: str, *, file: str) -> Any:
    try:
        value = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise InputError(f"invalid YAML: {exc.problem}", file=file, place=where,
                         fix="correct the YAML syntax") from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=file, fix="correct the YAML") from None
    except RecursionError:
        raise InputError("YAML nested too deeply", file=file, fix="flatten the document") from None
    if expanded_size(value) > MAX_EXPANDED_NODES:
        raise InputError(f"YAML expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)", file=file,
                         fix="remove the repeated aliases")
    check_depth(value, file=file)
    return value


def parse_json(text: str, *, file: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg}", file=file, place=f"line {exc.lineno}, column {exc.colno}",
            fix="correct the JSON syntax",
        ) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", file=file, fix="flatten the document") from None
    check_depth(value, file=file)
    return value


def load_document(path: Path) -> Any:
    """Load a YAML or JSON file (by suffix; YAML is a superset for anything else)."""
    text = read_text(path)
    if path.suffix.lower() == ".json":
        return parse_json(text, file=str(path))
    return parse_yaml(text, file=str(path))


@contextmanager
def atomic_writer(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Write to a temporary file beside `path` and rename it into place on success."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create directory: {exc.strerror}", file=str(directory)) from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        handle: IO[Any]
        with (os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text)
