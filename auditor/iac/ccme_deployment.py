"""A CCME deployment configuration file into one `ccme.deployment` resource.

Seed 000 ("Supported Operating Systems") names the file only by one of its parameters: "The CCME Management
Host supports the following OS (management_host_os parameter of deployment configuration file)". Its format
is not public: a YAML or JSON mapping whose top level holds `management_host_os` is read as one (the
parameter's value is the only fact taken from it). A value that is not text is unknown (ERROR), never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.iac.model import ParseProblem, TemplateResource
from auditor.iac.suppress import comment_lines, inline_suppressions
from auditor.snapshot import Location, unknown

KEY = "management_host_os"


def is_ccme_deployment(doc: Any) -> bool:
    return isinstance(doc, dict) and KEY in doc


def _line_of(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if stripped.startswith((f"{key}:", f'"{key}"', f"'{key}'")):
            return number
    return 1


def load(path: Path, doc: dict[str, Any], text: str, *, region: str | None,
         account: str | None) -> tuple[list[TemplateResource], list[ParseProblem]]:
    value = doc.get(KEY)
    os_value: Any = value.strip() if isinstance(value, str) else unknown(
        f"{KEY} in {path} is {str(value)[:40]!r}, not an operating system name (al2023, rhel8, rhel9)")
    lines = comment_lines(text, "yaml")
    line = _line_of(text.splitlines(), KEY)
    item = TemplateResource(
        type="ccme.deployment",
        key=str(path),
        attributes={"name": path.stem, "management_host_os": os_value},
        location=Location(file=str(path), line=line, logical_id=KEY),
        name=path.stem,
        id=f"{path}#deployment",
        region=region,
        account=account,
    )
    item.suppressions.extend(inline_suppressions(lines, 1))
    item.suppressions.extend(inline_suppressions(lines, line))
    return [item], []
