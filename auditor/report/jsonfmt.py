"""JSON report, following schemas/report.json."""

from __future__ import annotations

import json
from typing import Any

from auditor import __version__
from auditor.engine.evaluate import Evaluation

REPORT_VERSION = 1


def document(evaluation: Evaluation, *, tool_version: str | None = None) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "tool": {"name": "ccme-audit", "version": tool_version or __version__},
        "evaluated_at": evaluation.evaluated_at,
        "account": evaluation.account,
        "regions": list(evaluation.regions),
        "summary": evaluation.summary,
        "rules": [
            {
                "id": r.id,
                "title": r.title,
                "severity": r.severity.value,
                "pack": r.pack,
                "area": r.area,
                "resource_type": r.resource_type,
                "source": r.source.to_json(),
                "description": r.description,
            }
            for r in evaluation.rules
        ],
        "findings": [f.to_json() for f in evaluation.findings],
    }


def render(evaluation: Evaluation, *, tool_version: str | None = None) -> str:
    return json.dumps(document(evaluation, tool_version=tool_version), indent=1, default=str) + "\n"
