"""checkov as a second opinion: run its CLI on the same paths and merge its failed checks.

checkov is not a dependency (it pins boto3 and packaging): it is found on PATH or at
--checkov-path, e.g. installed with `pipx install checkov`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.engine.findings import Finding, Severity, Source, Status
from auditor.errors import InputError

_SEVERITY = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "INFO": Severity.INFO,
}
DEFAULT_SEVERITY = Severity.MEDIUM  # checkov leaves severity empty without a Prisma Cloud key


def find_checkov(explicit: Path | None) -> str:
    if explicit is not None:
        if not Path(explicit).is_file():
            raise InputError(
                "checkov not found",
                file=str(explicit),
                place="--checkov-path",
                fix="name the checkov executable (pipx install checkov)",
            )
        return str(explicit)
    found = shutil.which("checkov")
    if not found:
        raise InputError(
            "checkov is not on PATH",
            place="--checkov",
            fix="install it with 'pipx install checkov' or give --checkov-path",
        )
    return found


def run(executable: str, paths: Sequence[Path], *, extra: Sequence[str] = (), timeout: float = 900) -> list[Any]:
    """Run checkov on each path; return its JSON reports (one per framework)."""
    reports: list[Any] = []
    for path in paths:
        flag = "-d" if Path(path).is_dir() else "-f"
        command = [executable, flag, str(path), "--skip-download", "-o", "json", "--quiet", *extra]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(
                f"checkov did not run: {exc}", place="--checkov", fix="check the checkov installation"
            ) from None
        if done.returncode not in (0, 1):
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise InputError(
                f"checkov failed with exit code {done.returncode}: {last}"[:300],
                place="--checkov",
                fix="run checkov by hand on the same path to see why",
            )
        text = done.stdout.strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise InputError(
                "checkov printed something that is not JSON",
                place="--checkov",
                fix="use a checkov version that supports -o json",
            ) from None
        reports.extend(data if isinstance(data, list) else [data])
    return reports


def findings(reports: Sequence[Any], base: Path | None = None) -> list[Finding]:
    """Failed checks as FAIL findings of pack `checkov` (file, line and resource kept)."""
    out: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for report in reports:
        if not isinstance(report, dict):
            continue
        for check in (report.get("results") or {}).get("failed_checks") or []:
            if not isinstance(check, dict):
                continue
            check_id = str(check.get("check_id"))
            resource = str(check.get("resource") or "*")
            file = str(check.get("repo_file_path") or check.get("file_path") or "").lstrip("/")
            if check.get("file_abs_path"):
                file = str(check["file_abs_path"])
            key = (check_id, resource, file)
            if key in seen:
                continue
            seen.add(key)
            lines = check.get("file_line_range") or [None]
            severity = _SEVERITY.get(str(check.get("severity") or "").upper(), DEFAULT_SEVERITY)
            guideline = check.get("guideline")
            source = Source(
                document=f"checkov {check_id}",
                url=guideline if isinstance(guideline, str) and guideline.startswith("https://") else None,
                section=None
                if isinstance(guideline, str) and guideline.startswith("https://")
                else "checkov built-in policy",
            )
            out.append(
                Finding(
                    rule_id=check_id,
                    title=str(check.get("check_name") or check_id),
                    pack="checkov",
                    area="checkov",
                    resource_type=str(report.get("check_type") or "checkov"),
                    resource_id=f"{file}#{resource}",
                    status=Status.FAIL,
                    severity=severity,
                    message=str(check.get("check_name") or check_id),
                    source=source,
                    resource_name=resource,
                    location={
                        "file": file,
                        "line": lines[0] if isinstance(lines[0], int) else None,
                        "logical_id": resource,
                    },
                )
            )
    return out
