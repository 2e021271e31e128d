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

class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader (libyaml's parser where available) that keeps timestamps as strings:
    `Version: 2012-10-17` must stay a string."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
MAX_EXPANDED_NODES = 2_000_000


def expanded_size(value: Any, *, limit: int = MAX_EXPANDED_NODES) -> int:
    """Node count with aliases expanded, computed over shared nodes once (defeats alias bombs).

    A value containing itself (YAML `a: &a [*a]`, which the safe loader builds) expands without
    end: past any limit."""
    memo: dict[int, int] = {}
    open_: set[int] = set()  # containers whose children are being counted (the current path)
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, dict | list) or (id(node) in memo and not done):
            continue
        children = list(node.values() if isinstance(node, dict) else node)
        if done:
            memo[id(node)] = min(1 + sum(memo.get(id(c), 1) for c in children), limit + 1)
            open_.discard(id(node))
            continue
        if id(node) in open_ or any(id(c) in open_ or c is node for c in children):
            return limit + 1
        open_.add(id(node))
        stack.append((node, True))
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

    libyaml's composer (used by the YAML loaders) recurses in C on flow collections: fifty
    thousand `[` overflow the C stack and kill the process (SIGSEGV) before Python can raise a
    RecursionError. Brackets inside strings count too, so the limit is far above any real document.
    """
    depth = 0
    for match in _FLOW.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return True
    return False


# Each nesting level of a YAML document needs an indicator: `key:`, `- `, `[`, `{` or `?`.
_INDICATORS = "-:[{?"
# libyaml's composer recursion fits the C stack far beyond this depth (measured: 20,000 levels of
# `- - - x` compose, 40,000 crash), and Python's constructor stops far below it (RecursionError).
_CHEAP_DEPTH_BOUND = 10_000


def yaml_depth_exceeds(text: str, limit: int = MAX_FLOW_DEPTH) -> bool:
    """Whether a YAML text nests collections deeper than `limit`, before libyaml composes it.

    Flow brackets are counted in the text (flow_depth_exceeds). Block nesting (`- - - x` on one
    line, indented mappings) is bounded by the count of indicator characters: a text with few of
    them cannot nest deep enough to matter; a text with many is measured on libyaml's event stream,
    which is iterative."""
    if flow_depth_exceeds(text, limit):
        return True
    if sum(text.count(c) for c in _INDICATORS) <= _CHEAP_DEPTH_BOUND:
        return False
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError:
        # Newer libyaml builds (PyYAML 6.0.4's wheels) refuse to nest past a limit of their own, close to ours, with
        # an error in their own words. An error met that deep (no real template nests half as deep) is that refusal,
        # reported in ours; any other error is reported by the parser that follows, with its line.
        return depth > limit // 2
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
    if yaml_depth_exceeds(text):
        raise InputError(f"YAML nested deeper than {MAX_FLOW_DEPTH} levels", file=file, fix="flatten the document")
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
        raise InputError(f"YAML expands to more than {MAX_EXPANDED_NODES} nodes (an alias bomb, or an alias "
                         "inside its own anchor?)", file=file, fix="remove the repeated or recursive aliases")
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


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


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
        # mkstemp makes the file 0600; the file written gets the mode a plain open() would (0666 less the umask),
        # so that a CI step reading the report as another user, or a web server, can.
        Path(tmp).chmod(0o666 & ~_umask())
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
