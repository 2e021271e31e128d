"""Formatters behind one interface, chosen by the Format enum."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from auditor.engine.evaluate import Evaluation


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


def formatter(fmt: Format) -> Callable[..., str]:
    from auditor.report import jsonfmt, text

    match fmt:
        case Format.TEXT:
            return text.render
        case Format.JSON:
            return jsonfmt.render


def render(evaluation: Evaluation, fmt: Format, *, color: bool = False) -> str:
    if fmt is Format.TEXT:
        from auditor.report import text

        return text.render(evaluation, color=color)
    return formatter(fmt)(evaluation)
