"""The file names of --output-dir: `report.<ext>` by default, or `--output-name PATTERN` so that scheduled runs
(one per account, one per day) do not overwrite each other: {account}, {date} (YYYY-MM-DD), {time}
(YYYYMMDDTHHMMSSZ), {regions} (joined by '+'), taken from the evaluation."""

from __future__ import annotations

import datetime as dt
import re
import string

from auditor.engine.evaluate import Evaluation
from auditor.errors import InputError

FIELDS = ("account", "date", "time", "regions")
_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


def check_pattern(pattern: str) -> None:
    """Bad input: an unknown field, a path separator, or nothing but fields that may be empty."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(pattern) if field is not None]
    except ValueError as exc:
        raise InputError(f"--output-name '{pattern}': {exc}", place="--output-name",
                         fix="write fields in braces: {account}-{date}") from None
    unknown = [n for n in names if n not in FIELDS]
    if unknown or "/" in pattern or "\\" in pattern or not pattern.strip():
        raise InputError(f"--output-name '{pattern}' is not a file name pattern", place="--output-name",
                         fix=f"use a name without '/' and the fields {', '.join('{' + f + '}' for f in FIELDS)}")


def file_stem(pattern: str, evaluation: Evaluation) -> str:
    check_pattern(pattern)
    try:
        when = dt.datetime.fromisoformat(evaluation.evaluated_at).astimezone(dt.UTC)
    except ValueError:
        when = dt.datetime.now(dt.UTC)
    values = {
        "account": evaluation.account or "no-account",
        "date": when.strftime("%Y-%m-%d"),
        "time": when.strftime("%Y%m%dT%H%M%SZ"),
        "regions": "+".join(evaluation.regions) or "no-region",
    }
    return _SAFE.sub("_", pattern.format(**values))
