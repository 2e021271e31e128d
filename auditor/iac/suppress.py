"""Suppressions: inline template comments, JSON-template Metadata, and a baseline file.

Inline: `# ccme-audit:ignore RULE-ID reason: why` (or `//` in Terraform) on the resource's line
or in the comment lines just above it. JSON templates cannot hold comments:
`Metadata: {ccme-audit: {ignore: [{rule: RULE-ID, reason: why}]}}`. A suppression without a
reason is not honoured. Baseline: a YAML/JSON file listing rule, resource, reason, expires.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from auditor.engine.findings import Finding, Status
from auditor.errors import InputError
from auditor.fileio import load_document

_INLINE = re.compile(r"(?:#|//)\s*ccme-audit:ignore\s+([A-Z0-9*][A-Z0-9*-]*)\s+reason:\s*(\S.*?)\s*$")
_COMMENT = re.compile(r"^\s*(#|//)")


MARKER = "ccme-audit:ignore"
_NOT_A_COMMENT = "ccme-audit:(in data, not a comment)"
_HEREDOC = re.compile(r"<<-?\s*([A-Za-z_][A-Za-z0-9_-]*)\s*$")


def comment_lines(text: str, syntax: str) -> list[str]:
    """The file's lines for inline_suppressions, with every marker that is not in a real comment defused.

    A suppression lives in a comment only: a `# ccme-audit:ignore` line inside a YAML block string (`Value: |`),
    a quoted string or a Terraform heredoc is data, and data must not waive a finding. JSON holds no comments.
    syntax: "yaml", "json" or "hcl". A YAML text that cannot be scanned has every marker defused (fail closed:
    a suppression is never honoured on a guess).
    """
    lines = text.splitlines()
    if MARKER not in text:
        return lines
    if syntax == "json":
        return [line.replace(MARKER, _NOT_A_COMMENT) for line in lines]
    data = _yaml_data(text) if syntax == "yaml" else _hcl_data(lines)
    if data is None:
        return [line.replace(MARKER, _NOT_A_COMMENT) for line in lines]
    out = []
    for number, line in enumerate(lines):
        column = line.find(MARKER)
        while column >= 0:
            if data(number, column):
                line = line[:column] + _NOT_A_COMMENT + line[column + len(MARKER):]
            column = line.find(MARKER, column + 1)
        out.append(line)
    return out


def _yaml_data(text: str) -> Any:
    """Whether (line, column), 0-based, lies inside a YAML scalar (a string, not a comment)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    try:
        for token in yaml.scan(text, Loader=loader):
            if isinstance(token, yaml.ScalarToken):
                spans.append(((token.start_mark.line, token.start_mark.column),
                              (token.end_mark.line, token.end_mark.column)))
    except yaml.YAMLError:
        return None
    return lambda line, column: any(start <= (line, column) < end for start, end in spans)


def _hcl_data(lines: Sequence[str]) -> Any:
    """Whether (line, column) lies inside an HCL quoted string or heredoc (a light lexer: strings, heredocs,
    `#`, `//` and `/* */` comments; a quote inside an interpolation pairs up with its own closing quote)."""
    data: set[tuple[int, int]] = set()
    heredoc: str | None = None
    in_block_comment = False
    for number, line in enumerate(lines):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            else:
                data.update((number, c) for c in range(len(line)))
            continue
        in_string = False
        column = 0
        while column < len(line):
            char = line[column]
            if in_block_comment:
                if line.startswith("*/", column):
                    in_block_comment = False
                    column += 1
            elif in_string:
                data.add((number, column))
                if char == "\\":
                    column += 1
                    data.add((number, column))
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#" or line.startswith("//", column):
                break
            elif line.startswith("/*", column):
                in_block_comment = True
                column += 1
            column += 1
        match = _HEREDOC.search(line)
        if match and not in_block_comment:
            heredoc = match.group(1)
    return lambda line, column: (line, column) in data


def inline_suppressions(lines: Sequence[str], line: int | None) -> list[tuple[str, str]]:
    """(rule, reason) from the resource's line and the comment block just above it."""
    if not line or line > len(lines):
        return []
    found: list[tuple[str, str]] = []
    match = _INLINE.search(lines[line - 1])
    if match:
        found.append((match.group(1), match.group(2)))
    index = line - 2
    while index >= 0 and _COMMENT.match(lines[index]):
        match = _INLINE.search(lines[index])
        if match:
            found.append((match.group(1), match.group(2)))
        index -= 1
    return found


def metadata_suppressions(metadata: Any) -> list[tuple[str, str]]:
    if not isinstance(metadata, Mapping):
        return []
    block = metadata.get("ccme-audit")
    items = block.get("ignore") if isinstance(block, Mapping) else None
    out = []
    for item in items if isinstance(items, list) else []:
        if (
            isinstance(item, Mapping)
            and isinstance(item.get("rule"), str)
            and isinstance(item.get("reason"), str)
            and item["reason"].strip()
        ):
            out.append((item["rule"], item["reason"].strip()))
    return out


@dataclass(frozen=True)
class BaselineEntry:
    rule: str
    resource: str
    reason: str
    expires: dt.date

    def matches(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.rule_id, self.rule) and (
            fnmatch.fnmatchcase(finding.resource_id, self.resource)
            or (finding.resource_name is not None and fnmatch.fnmatchcase(finding.resource_name, self.resource))
        )


def load_baseline(path: Path) -> list[BaselineEntry]:
    doc = load_document(Path(path))
    items = doc.get("suppressions") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InputError(
            "a baseline is a list of {rule, resource, reason, expires}",
            file=str(path),
            place="/",
            fix="write 'suppressions:' followed by a list",
        )
    out = []
    for index, item in enumerate(items):
        place = f"/suppressions/{index}"
        if not isinstance(item, dict):
            raise InputError(
                "an entry must be a mapping",
                file=str(path),
                place=place,
                fix="write rule, resource, reason and expires",
            )
        missing = [k for k in ("rule", "resource", "reason", "expires") if not str(item.get(k) or "").strip()]
        if missing:
            raise InputError(
                f"missing {', '.join(missing)}",
                file=str(path),
                place=place,
                fix="every suppression names its rule, resource, reason and expiry",
            )
        try:
            expires = dt.date.fromisoformat(str(item["expires"]))
        except ValueError:
            raise InputError(
                f"expiry '{item['expires']}' is not a date",
                file=str(path),
                place=f"{place}/expires",
                fix="write YYYY-MM-DD",
            ) from None
        out.append(
            BaselineEntry(
                rule=str(item["rule"]),
                resource=str(item["resource"]),
                reason=str(item["reason"]),
                expires=expires,
            )
        )
    return out


def apply_suppressions(
    findings: Sequence[Finding],
    inline: Mapping[str, list[tuple[str, str]]],
    baseline: Sequence[BaselineEntry],
    today: dt.date,
) -> list[Finding]:
    """Inline suppressions and live baseline entries make FAIL/ERROR findings WAIVED with the reason.

    An expired baseline entry does not: the finding keeps its status and says the waiver expired.
    """
    out = []
    for finding in findings:
        if finding.status in (Status.FAIL, Status.ERROR):
            reason = next(
                (r for rule, r in inline.get(finding.resource_id, []) if fnmatch.fnmatchcase(finding.rule_id, rule)),
                None,
            )
            if reason is not None:
                finding = replace(
                    finding,
                    status=Status.WAIVED,
                    waiver={
                        "reason": reason,
                        "expires": None,
                        "status": finding.status.value,
                        "kind": "inline",
                    },
                )
            else:
                for entry in baseline:
                    if entry.matches(finding):
                        if entry.expires >= today:
                            finding = replace(
                                finding,
                                status=Status.WAIVED,
                                waiver={
                                    "reason": entry.reason,
                                    "expires": entry.expires.isoformat(),
                                    "status": finding.status.value,
                                    "kind": "baseline",
                                },
                            )
                        else:
                            finding = replace(
                                finding,
                                message=(
                                    f"{finding.message} [baseline waiver expired on "
                                    f"{entry.expires.isoformat()}: {entry.reason}]"
                                ),
                            )
                        break
        out.append(finding)
    return out
