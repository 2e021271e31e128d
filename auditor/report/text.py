"""Terminal summary (colour only on a TTY)."""

from __future__ import annotations

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Status
from auditor.snapshot import location_text

_COLORS = {
    Status.PASS: "32",
    Status.FAIL: "31",
    Status.ERROR: "35",
    Status.SKIPPED: "90",
    Status.WAIVED: "36",
}


def _clean(text: str) -> str:
    """Drop control characters so resource names cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def render(evaluation: Evaluation, *, color: bool = False, show_passed: bool = False) -> str:
    def paint(status: Status) -> str:
        label = f"{status.value:<7}"
        return f"\x1b[{_COLORS[status]}m{label}\x1b[0m" if color else label

    lines = [f"ccme-audit: account {evaluation.account or 'unknown'}, regions {', '.join(evaluation.regions)}"]
    for finding in evaluation.findings:
        if finding.status is Status.PASS and not show_passed:
            continue
        where = f" [{location_text(finding.location)}]" if finding.location else ""
        lines.append(
            f"{paint(finding.status)} {finding.severity.value:<8} {finding.rule_id}  "
            f"{_clean(finding.resource_id)}{_clean(where)}"
        )
        lines.append(f"        {_clean(finding.message)}")
    summary = evaluation.summary["by_status"]
    lines.append(
        "summary: "
        + ", ".join(f"{count} {status.lower()}" for status, count in summary.items())
        + f" ({len(evaluation.findings)} findings, {len(evaluation.rules)} rules)"
    )
    return "\n".join(lines) + "\n"
