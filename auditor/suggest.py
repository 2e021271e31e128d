""""Did you mean": the known names closest to a mistyped one (edit distance, then difflib's ratio)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions; an adjacent swap counts as one)."""
    previous = list(range(len(b) + 1))
    before: list[int] = []
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]


def closest(name: str, candidates: Iterable[str], n: int = 3, *, anyway: bool = False) -> list[str]:
    """Up to `n` candidates close to `name` (at most a third of its letters changed; with `anyway`, the
    closest whatever their distance), closest first."""
    limit = max(1, len(name) // 3) if not anyway else len(name) + max((len(c) for c in candidates), default=0)
    scored = []
    for candidate in set(candidates):
        d = distance(name.lower(), candidate.lower())
        if d <= limit:
            scored.append((d, -difflib.SequenceMatcher(None, name, candidate).ratio(), candidate))
    return [candidate for _, _, candidate in sorted(scored)[:n]]


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str | None:
    """'did you mean X?' (with the runners-up), or None when nothing is close."""
    near = closest(name, candidates, n)
    if not near:
        return None
    return f"did you mean {near[0]}?" + (f" (or {', '.join(near[1:])})" if near[1:] else "")
