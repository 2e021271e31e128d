"""Terraform text as the template patches read it: top-level resources, nested blocks and direct attributes,
found by line (the layout `terraform fmt` writes), never by re-writing the file."""

from __future__ import annotations

import re


def _opens(line: str) -> bool:
    return line.rstrip().endswith(("{", "({", "["))


def _closes(line: str) -> bool:
    return line.strip().startswith(("}", "]"))


def tf_resources(lines: list[str]) -> list[tuple[str, str, int, int]]:
    """(type, name, head line, closing line) of every top-level `resource "T" "N" {` ... `}`."""
    out = []
    for i, line in enumerate(lines):
        match = re.match(r'^resource\s+"([^"]+)"\s+"([^"]+)"\s*\{\s*$', line)
        if match:
            close = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "}"), None)
            if close is not None:
                out.append((match.group(1), match.group(2), i, close))
    return out


def nested(lines: list[str], start: int, end: int, name: str) -> tuple[int, int] | None:
    """(head, closing line) of the first `name {` block directly in lines[start:end]."""
    depth = 0
    for i in range(start, end):
        line = lines[i]
        if _closes(line):
            depth -= 1
        if depth == 0 and re.match(rf"^\s*{re.escape(name)}\s*\{{\s*$", line):
            inner = 0
            for j in range(i + 1, end):
                if _closes(lines[j]):
                    if inner == 0:
                        return i, j
                    inner -= 1
                if _opens(lines[j]):
                    inner += 1
            return None
        if _opens(line):
            depth += 1
    return None


def direct(lines: list[str], start: int, end: int, attr: str) -> int | None:
    """The line setting `attr =` directly in lines[start:end] (not in a nested block)."""
    depth = 0
    for i in range(start, end):
        line = lines[i]
        if _closes(line):
            depth -= 1
        if depth == 0 and re.match(rf"^\s*{re.escape(attr)}\s*=", line):
            return i
        if _opens(line):
            depth += 1
    return None
