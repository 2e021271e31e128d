"""The layering contract of docs/architecture.md: no import upward, none between independent parts, no circle.

The layers are named in one place, the ```layers blocks of docs/architecture.md; this test reads them, reads
every import of auditor/ with ast (function-level and TYPE_CHECKING imports included: an import hidden in a
function is still a dependency) and reports every violation.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "auditor"
DOC = ROOT / "docs" / "architecture.md"
_BLOCK = re.compile(r"^```layers (?P<package>[\w.]+)\n(?P<body>.*?)^```", re.M | re.S)
_LINE = re.compile(r"^(?P<name>[\w-]+)(?P<independent> \(independent\))?:(?P<members>.*)$")


@dataclass(frozen=True)
class Layer:
    name: str
    rank: int
    independent: bool


@dataclass
class Block:
    """One ```layers block: the modules of `package`, each placed in a layer, by the part that names it."""

    package: str
    parts: dict[str, Layer]  # the block's names (package-relative, "__init__" for the package itself)
    wildcard: Layer | None = None

    def part_of(self, module: str) -> str | None:
        """The name of the block that covers `module` (the longest match), "*" for the wildcard, None outside."""
        if module != self.package and not module.startswith(self.package + "."):
            return None
        rest = module[len(self.package) + 1:] if module != self.package else "__init__"
        pieces = rest.split(".")
        for size in range(len(pieces), 0, -1):
            name = ".".join(pieces[:size])
            if name in self.parts and (size == len(pieces) or name != "__init__"):
                return name
        return "*" if self.wildcard is not None else ""

    def layer(self, part: str) -> Layer:
        return self.wildcard if part == "*" and self.wildcard is not None else self.parts[part]


def parse_blocks(text: str) -> list[Block]:
    blocks = []
    for match in _BLOCK.finditer(text):
        block = Block(match["package"], {})
        for rank, raw in enumerate(line for line in match["body"].splitlines() if line.strip()
                                   and not line.lstrip().startswith("#")):
            line = _LINE.match(raw.strip())
            assert line, f"docs/architecture.md: bad layer line {raw!r} (write `name: module, module`)"
            layer = Layer(line["name"], rank, bool(line["independent"]))
            for member in (m.strip() for m in line["members"].split(",") if m.strip()):
                if member == "*":
                    block.wildcard = layer
                else:
                    assert member not in block.parts, f"docs/architecture.md: {member} is in two layers"
                    block.parts[member] = layer
        blocks.append(block)
    return blocks


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of `root`'s package it imports (anywhere in the file)."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    top = root.name
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                while target and target not in files:  # `import auditor.x.y` of a name inside a module
                    target = target.rpartition(".")[0]
                if target.split(".")[0] == top and target != module:
                    graph[module].add(target)
    return graph


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One circle of the graph (its nodes, the first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def violations(graph: Mapping[str, set[str]], blocks: list[Block]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        for module in graph:
            if block.part_of(module) == "":
                out.append(f"{module} is in no layer of `layers {block.package}` (docs/architecture.md)")
        for module, targets in graph.items():
            mine = block.part_of(module)
            for target in sorted(targets):
                theirs = block.part_of(target)
                if not mine or not theirs or (mine == theirs and mine != "*") or module == target:
                    continue
                low, high = block.layer(theirs), block.layer(mine)
                if low.rank > high.rank:
                    out.append(f"{module} ({high.name}) imports {target} ({low.name}): a lower layer imports a "
                               "higher one")
                elif low.rank == high.rank and low.independent:
                    out.append(f"{module} imports {target}: parts of the independent layer {low.name} import "
                               "each other")
    cycle = find_cycle(graph)
    if cycle:
        out.append("import circle: " + " -> ".join(cycle))
    top = blocks[0]
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        mine = top.part_of(module) or module
        packages.setdefault(mine, set()).update(t for t in (top.part_of(x) or x for x in targets) if t != mine)
    cycle = find_cycle(packages)
    if cycle:
        out.append(f"import circle between the packages of {top.package}: " + " -> ".join(cycle))
    return out


@pytest.fixture(scope="module")
def blocks() -> list[Block]:
    found = parse_blocks(DOC.read_text(encoding="utf-8"))
    assert found and found[0].package == "auditor", "docs/architecture.md must open with ```layers auditor"
    return found


def test_auditor_keeps_its_layers(blocks: list[Block]) -> None:
    problems = violations(import_graph(PACKAGE), blocks)
    assert not problems, "\n".join(problems)


def test_every_layer_names_an_existing_module(blocks: list[Block]) -> None:
    graph = import_graph(PACKAGE)
    for block in blocks:
        for part in block.parts:
            name = block.package if part == "__init__" else f"{block.package}.{part}"
            assert name in graph, f"docs/architecture.md names {name}, which does not exist"


# The checker itself, on a package written for the purpose: each wrong import is caught.
_LAYERS = """```layers pkg
low: __init__, base
mid (independent): a, b
high: top
```
```layers pkg.a
core: __init__, core
rest: *
```
"""


def _package(tmp_path: Path, files: Mapping[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, body in {"__init__.py": "", "base.py": "", "a/__init__.py": "", "a/core.py": "",
                       "b.py": "", "top.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    return root


def _check(tmp_path: Path, files: Mapping[str, str]) -> list[str]:
    return violations(import_graph(_package(tmp_path, files)), parse_blocks(_LAYERS))


def test_a_clean_package_passes(tmp_path: Path) -> None:
    assert _check(tmp_path, {"top.py": "import pkg.a\nfrom pkg import b\n", "b.py": "from pkg.base import x\n",
                             "a/leaf.py": "from pkg.a import core\n"}) == []


@pytest.mark.parametrize(("files", "needle"), [
    ({"base.py": "def f():\n    from pkg import top\n"}, "pkg.base (low) imports pkg.top (high)"),
    ({"b.py": "from pkg.a import core\n"}, "parts of the independent layer mid import each other"),
    ({"a/core.py": "from . import leaf\n", "a/leaf.py": ""}, "pkg.a.core (core) imports pkg.a.leaf (rest)"),
    ({"base.py": "import pkg\n", "__init__.py": "from pkg import base\n"}, "import circle: pkg -> pkg.base -> pkg"),
    ({"extra.py": ""}, "pkg.extra is in no layer"),
])
def test_each_wrong_import_is_caught(tmp_path: Path, files: Mapping[str, str], needle: str) -> None:
    problems = _check(tmp_path, files)
    assert any(needle in p for p in problems), problems
