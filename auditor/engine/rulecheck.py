"""`ccme-audit rules validate`: every problem of every rule file, in file order (files as listed, then rules
as written, then the place inside a rule), not only the first one. Loading rules for a run still stops at the
first problem (auditor.engine.rules.load_rules); the checks are the same."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema

from auditor.data import data_dir
from auditor.engine.rules import (
    _expand,
    _file_validator,
    _place,
    _schema_error_fix,
    _semantic_problems,
    pack_files,
)
from auditor.errors import InputError
from auditor.fileio import load_document, read_text


def _file_problems(path: Path, seen: dict[str, str]) -> list[InputError]:
    file = str(path)
    try:
        text = read_text(path)
        doc = load_document(path)
    except InputError as exc:
        return [exc]
    if not isinstance(doc, dict):
        return [InputError("a rule file must be a mapping with a 'rules' list", file=file, place="/",
                           fix="start the file with 'rules:'")]
    found: list[tuple[tuple[Any, ...], InputError]] = []
    raw_rules = doc.get("rules") if isinstance(doc.get("rules"), list) else None
    broken: set[int] = set()
    for error in _file_validator().iter_errors(doc):
        best = jsonschema.exceptions.best_match([error])
        pointer = list(best.absolute_path)
        index = pointer[1] if raw_rules is not None and len(pointer) > 1 and pointer[0] == "rules" else -1
        raw = raw_rules[index] if raw_rules is not None and index >= 0 else None
        if index >= 0:
            broken.add(index)
        place = _place(text, raw if isinstance(raw, dict) else None, pointer[2:] if raw is not None else pointer)
        found.append(((index, 0, [str(p) for p in pointer]),
                      InputError(best.message, file=file, place=place, fix=_schema_error_fix(best))))
    for index, raw_rule in enumerate(raw_rules or []):
        if index in broken or not isinstance(raw_rule, dict):
            continue
        try:
            expanded = _expand(raw_rule)
        except InputError as exc:
            found.append(((index, 1, []), exc))
            continue
        for raw in expanded:
            for place, problem, fix in _semantic_problems(raw):
                found.append(((index, 1, [place]),
                              InputError(problem, file=file, place=_place(text, raw_rule, [place.strip("/")]),
                                         fix=fix)))
            rule_id = raw.get("id")
            if isinstance(rule_id, str):
                if rule_id in seen:
                    found.append(((index, 2, []), InputError(
                        f"duplicate rule id {rule_id} (first in {seen[rule_id]})", file=file,
                        place=f"rule {rule_id}", fix="give each rule a unique id")))
                else:
                    seen[rule_id] = file
    found.sort(key=lambda item: item[0])
    unique: list[InputError] = []
    for _, reported in found:
        if all(reported.line() != kept.line() for kept in unique):
            unique.append(reported)
    return unique


def rule_problems(root: Path | None = None) -> tuple[list[InputError], int]:
    """Every problem of the rule files under root (default: the shipped policies/), in file order, and the
    number of files read."""
    root = root or data_dir("policies")
    seen: dict[str, str] = {}
    problems: list[InputError] = []
    files: Sequence[tuple[str, Path]] = list(pack_files(root))
    for _, path in files:
        problems.extend(_file_problems(path, seen))
    return problems, len(files)
