"""Value parsers and wildcard matching shared by the parser and the evaluator.

Every parser returns ``None`` for a value it cannot read; callers decide what
that means (a malformed policy literal, or a request value that matches nothing).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?")
_EPOCH = re.compile(r"-?\d{1,12}")
_BOOLS = {"true": True, "false": False}

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_number(text: str) -> Decimal | None:
    """A decimal number such as ``1.2``, ``12`` or ``1e3``; None otherwise."""
    if len(text) > 64 or not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None


def parse_date(text: str) -> datetime | None:
    """An ISO 8601 date/time (naive means UTC) or epoch seconds; None otherwise."""
    if len(text) > 64:
        return None
    try:
        if _EPOCH.fullmatch(text):
            return datetime.fromtimestamp(int(text), tz=UTC)
        value = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_bool(text: str) -> bool | None:
    """``true``/``false`` in any case; None otherwise."""
    return _BOOLS.get(text.lower())


def parse_network(text: str) -> IpNetwork | None:
    """A CIDR block or a single address (as /32 or /128); None otherwise."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def parse_address(text: str) -> IpAddr | None:
    """A single IPv4 or IPv6 address; None otherwise."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_binary(text: str) -> bytes | None:
    """Base64 text decoded; None when it is not valid base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _wildcard_match(pattern: str, text: str) -> bool:
    """Greedy ``*``/``?`` matching in O(len(pattern) * len(text)), immune to backtracking blow-ups."""
    p = t = 0
    star = -1
    mark = 0
    np_, nt = len(pattern), len(text)
    while t < nt:
        if p < np_ and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < np_ and pattern[p] == "*":
            star = p
            mark = t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < np_ and pattern[p] == "*":
        p += 1
    return p == np_


@lru_cache(maxsize=4096)
def glob_matcher(pattern: str, *, ignore_case: bool = False) -> Callable[[str], bool]:
    """A predicate for an IAM wildcard pattern: ``*`` any run (spanning ``/`` and ``:``), ``?`` one char."""
    pat = pattern.lower() if ignore_case else pattern
    if pat == "*":
        return lambda _text: True
    if "*" not in pat and "?" not in pat:
        if ignore_case:
            return lambda text: text.lower() == pat
        return lambda text: text == pat
    body = pat[:-1]
    if pat.endswith("*") and "*" not in body and "?" not in body:
        if ignore_case:
            return lambda text: text.lower().startswith(body)
        return lambda text: text.startswith(body)
    if ignore_case:
        return lambda text: _wildcard_match(pat, text.lower())
    return lambda text: _wildcard_match(pat, text)


def arn_matcher(pattern: str) -> Callable[[str], bool]:
    """ArnLike/ArnEquals: the six colon-separated ARN parts are matched separately (case-sensitive)."""
    if pattern == "*":
        return lambda _text: True
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        whole = glob_matcher(pattern)
        return whole
    part_matchers = [glob_matcher(part) for part in parts]

    def match(text: str) -> bool:
        got = text.split(":", 5)
        return len(got) == 6 and all(m(g) for m, g in zip(part_matchers, got, strict=True))

    return match


def has_wildcard(text: str) -> bool:
    """True when the text holds ``*`` or ``?``."""
    return "*" in text or "?" in text
