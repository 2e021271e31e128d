"""Terminal report: the most urgent first (FAIL, ERROR, then by severity, critical to info), PASS and SKIPPED
collapsed into counts unless asked for (`show`), the summary line last (`quiet`: the summary line only).
Colour only when asked (the CLI decides: --color, NO_COLOR, a terminal)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from auditor.engine.evaluate import Evaluation
from auditor.engine.findings import Status
from auditor.report.common import ordered
from auditor.snapshot import location_text

_COLORS = {
    Status.PASS: "32",
    Status.FAIL: "31",
    Status.ERROR: "35",
    Status.SKIPPED: "90",
    Status.WAIVED: "36",
}
# Listed one by one unless the caller says otherwise; the others are counted on one line.
DEFAULT_SHOW = frozenset({Status.FAIL, Status.ERROR, Status.WAIVED})


def _clean(text: str) -> str:
    """Drop control characters so resource names cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def summary_line(evaluation: Evaluation) -> str:
    """The one-line summary: counts by status, findings and rules."""
    summary = evaluation.summary["by_status"]
    return (
        "summary: "
        + ", ".join(f"{count} {status.lower()}" for status, count in summary.items())
        + f" ({len(evaluation.findings)} findings, {len(evaluation.rules)} rules)"
    )


def render(evaluation: Evaluation, *, color: bool = False, show: Collection[Status] | None = None,
           quiet: bool = False, show_passed: bool = False) -> str:
    shown = set(DEFAULT_SHOW if show is None else show)
    if show_passed:
        shown.add(Status.PASS)

    def paint(status: Status) -> str:
        label = f"{status.value:<7}"
        return f"\x1b[{_COLORS[status]}m{label}\x1b[0m" if color else label

    if quiet:
        return summary_line(evaluation) + "\n"
    lines = [f"ccme-audit: account {evaluation.account or 'unknown'}, regions {', '.join(evaluation.regions)}"]
    hidden: dict[Status, int] = {}
    for finding in ordered(evaluation.findings):
        if finding.status not in shown:
            hidden[finding.status] = hidden.get(finding.status, 0) + 1
            continue
        where = f" [{location_text(finding.location)}]" if finding.location else ""
        lines.append(
            f"{paint(finding.status)} {finding.severity.value:<8} {finding.rule_id}  "
            f"{_clean(finding.resource_id)}{_clean(where)}"
        )
        lines.append(f"        {_clean(finding.message)}")
        if finding.attribution:
            lines.append(f"        {_clean(finding.attribution.get('text', ''))}")
    if hidden:
        rows = sorted(hidden.items(), key=lambda item: list(Status).index(item[0]))
        counts = ", ".join(f"{count} {status.value.lower()}" for status, count in rows)
        names = ",".join(status.value.lower() for status, _ in rows)
        lines.append(f"not listed: {counts} (--show {names} lists them)")
    lines.append(summary_line(evaluation))
    if evaluation.retries is not None and retried(evaluation.retries):
        lines.append(_clean(waited(evaluation.retries)))
    return "\n".join(lines) + "\n"


def retried(retries: Mapping[str, Any]) -> bool:
    """Whether the scan retried anything (or gave up on a call): only then is there a retries line."""
    return any(r["retries"] or r["gave_up"] for r in retries["operations"])


def waited(retries: Mapping[str, Any], top: int = 5) -> str:
    """One line: how many retries the scan made, its time in back-off (summed over concurrent calls), and where."""
    rows = [r for r in retries["operations"] if r["retries"] or r["gave_up"]]
    count = sum(int(r["retries"]) for r in retries["operations"])
    head = f"retries: {count} retries, waited {retries['wait_seconds']:.1f} s in back-off"
    if not rows:
        return head + " (no retry)"
    parts = [
        f"{r['operation']} {r['region']} {r['seconds']:.1f} s, {r['retries']} retries"
        + (f", gave up {r['gave_up']}x (retry budget ran out)" if r["gave_up"] else "")
        for r in rows[:top]
    ]
    more = f"; +{len(rows) - top} more" if len(rows) > top else ""
    return f"{head} over concurrent calls: " + "; ".join(parts) + more
