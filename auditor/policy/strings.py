"""Regular languages of policy strings, and the exact question the solver asks of them.

Every string test a policy makes (``StringEquals``, ``StringLike``, ``Arn*``, ``...IgnoreCase``,
``Bool``, Resource patterns, a caller's ARN shape) is membership in a regular language. The
solver treats each membership as a propositional atom; :func:`find` then decides whether
*one* string lies in every language required and in none of those excluded, and returns the
shortest such string (printable characters first), or None. It is exact: the alphabet is cut
into the characters the languages name one by one, plus one class for all others (which no
language tells apart), and the product of the automata is explored breadth-first.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

MAX_STATES = 200_000


class TooLarge(Exception):
    """The product of the automata is too large to explore."""


@dataclass(frozen=True)
class CharSet:
    """A set of characters: ``chars``, or (``negated``) every character except ``chars``."""

    chars: frozenset[str]
    negated: bool = False

    def has(self, ch: str) -> bool:
        """Membership."""
        return (ch in self.chars) != self.negated


ANY = CharSet(frozenset(), True)
NOT_COLON = CharSet(frozenset(":"), True)


def chars(text: str) -> CharSet:
    """Exactly these characters."""
    return CharSet(frozenset(text))


def char_range(lo: str, hi: str) -> frozenset[str]:
    """Every character from ``lo`` to ``hi``."""
    return frozenset(chr(c) for c in range(ord(lo), ord(hi) + 1))


# A regular expression as a hashable tree: ("lit", text) ("set", CharSet) ("cat", (...)) ("alt", (...))
# ("star", x) ("plus", x).
Re = tuple[object, ...]


def lit(text: str) -> Re:
    """The string itself."""
    return ("lit", text)


def cset(cs: CharSet) -> Re:
    """One character of the set."""
    return ("set", cs)


def cat(*parts: Re) -> Re:
    """Concatenation."""
    return ("cat", tuple(parts))


def alt(*parts: Re) -> Re:
    """Union."""
    return ("alt", tuple(parts))


def star(x: Re) -> Re:
    """Zero or more."""
    return ("star", x)


def plus(x: Re) -> Re:
    """One or more."""
    return ("plus", x)


def repeat(x: Re, n: int) -> Re:
    """Exactly n times."""
    return cat(*([x] * n))


def glob(pattern: str, *, any_char: CharSet = ANY) -> Re:
    """An IAM wildcard pattern: ``*`` any run, ``?`` one character, everything else literal."""
    parts: list[Re] = []
    run = ""
    for ch in pattern:
        if ch in "*?":
            if run:
                parts.append(lit(run))
                run = ""
            parts.append(star(cset(any_char)) if ch == "*" else cset(any_char))
        else:
            run += ch
    if run:
        parts.append(lit(run))
    return cat(*parts)


def arn_glob(pattern: str) -> Re:
    """ArnLike/ArnEquals: six colon-separated parts, each matched on its own (the sixth may hold colons)."""
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return glob(pattern)
    pieces: list[Re] = []
    for i, part in enumerate(parts):
        if i:
            pieces.append(lit(":"))
        pieces.append(glob(part, any_char=NOT_COLON if i < 5 else ANY))
    return cat(*pieces)


def _parts(expr: Re) -> tuple[Re, ...]:
    parts = expr[1]
    assert isinstance(parts, tuple)
    return parts


def heads(expr: Re) -> frozenset[str] | None:
    """Texts one of which every string of the language starts with (None: no fixed start known)."""
    kind = expr[0]
    if kind == "lit":
        return frozenset({str(expr[1])})
    if kind == "cat":
        parts = _parts(expr)
        if not parts:
            return None
        first = heads(parts[0])
        if first is not None and parts[0][0] == "lit" and len(parts) > 1:
            rest = heads(cat(*parts[1:]))
            if rest is not None:
                return frozenset(a + b for a in first for b in rest)
        return first
    if kind == "alt":
        out: set[str] = set()
        for part in _parts(expr):
            found = heads(part)
            if found is None:
                return None
            out |= found
        return frozenset(out)
    return None


def prefix_only(expr: Re) -> bool:
    """True for "starts with one of these texts, then anything"."""
    if expr[0] != "cat":
        return False
    parts = _parts(expr)
    if len(parts) != 2 or parts[1] != star(cset(ANY)):
        return False
    first = parts[0]
    return first[0] == "lit" or (first[0] == "alt" and all(p[0] == "lit" for p in _parts(first)))


class NFA:
    """Thompson automaton of one expression: edges on character sets, epsilon moves, one accepting state."""

    def __init__(self, expr: Re) -> None:
        self.edges: list[list[tuple[CharSet, int]]] = []
        self.eps: list[list[int]] = []
        self.start, self.accept = self._build(expr)
        self.explicit: frozenset[str] = frozenset(c for out in self.edges for cs, _ in out for c in cs.chars)
        self._closures: dict[frozenset[int], frozenset[int]] = {}
        self.live = self._co_reachable()

    def _co_reachable(self) -> frozenset[int]:
        """States from which the accepting state can be reached: the others are dropped from every set."""
        back: dict[int, list[int]] = {}
        for src, out in enumerate(self.edges):
            for _cs, dst in out:
                back.setdefault(dst, []).append(src)
        for src, out_eps in enumerate(self.eps):
            for dst in out_eps:
                back.setdefault(dst, []).append(src)
        seen = {self.accept}
        stack = [self.accept]
        while stack:
            for prev in back.get(stack.pop(), ()):
                if prev not in seen:
                    seen.add(prev)
                    stack.append(prev)
        return frozenset(seen)

    def _state(self) -> int:
        self.edges.append([])
        self.eps.append([])
        return len(self.edges) - 1

    def _build(self, expr: Re) -> tuple[int, int]:
        kind = expr[0]
        s = self._state()
        if kind == "lit":
            cur = s
            for ch in str(expr[1]):
                nxt = self._state()
                self.edges[cur].append((chars(ch), nxt))
                cur = nxt
            return s, cur
        if kind == "set":
            e = self._state()
            cs = expr[1]
            assert isinstance(cs, CharSet)
            self.edges[s].append((cs, e))
            return s, e
        if kind == "cat":
            cur = s
            for part in _parts(expr):
                a, b = self._build(part)
                self.eps[cur].append(a)
                cur = b
            return s, cur
        if kind == "alt":
            e = self._state()
            for part in _parts(expr):
                a, b = self._build(part)
                self.eps[s].append(a)
                self.eps[b].append(e)
            return s, e
        inner = expr[1]
        assert isinstance(inner, tuple)
        a, b = self._build(inner)
        e = self._state()
        self.eps[s].append(a)
        self.eps[b].append(e)
        self.eps[b].append(a)
        if kind == "star":
            self.eps[s].append(e)
        return s, e

    def closure(self, states: frozenset[int]) -> frozenset[int]:
        found = self._closures.get(states)
        if found is None:
            seen = set(states)
            stack = list(states)
            while stack:
                for nxt in self.eps[stack.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
            found = frozenset(seen) & self.live
            if len(self._closures) < 100_000:
                self._closures[states] = found
        return found

    def initial(self) -> frozenset[int]:
        return self.closure(frozenset({self.start}))

    def step(self, states: frozenset[int], ch: str) -> frozenset[int]:
        out = {dst for s in states for cs, dst in self.edges[s] if cs.has(ch)}
        return self.closure(frozenset(out)) if out else frozenset()

    def accepts(self, text: str) -> bool:
        """Whether the text is in the language."""
        cur = self.initial()
        for ch in text:
            cur = self.step(cur, ch)
            if not cur:
                return False
        return self.accept in cur


@functools.lru_cache(maxsize=4096)
def nfa(expr: Re) -> NFA:
    """The automaton of an expression (cached)."""
    return NFA(expr)


def matches(expr: Re, text: str) -> bool:
    """Whether ``text`` is in the language of ``expr``."""
    return nfa(expr).accepts(text)


_PREFERRED = "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ.~!"


def _other(explicit: frozenset[str]) -> str:
    for ch in _PREFERRED:
        if ch not in explicit:
            return ch
    code = 0x4E00
    while chr(code) in explicit:
        code += 1
    return chr(code)


def find(inside: Sequence[Re], outside: Sequence[Re]) -> str | None:
    """The shortest string in every language of ``inside`` and in none of ``outside``; None if there is none."""
    autos = [nfa(e) for e in (*inside, *outside)]
    n_in = len(inside)
    explicit = frozenset().union(*(a.explicit for a in autos)) if autos else frozenset()
    printable = sorted(c for c in explicit if c.isprintable() and not c.isspace())
    others = sorted(c for c in explicit if not (c.isprintable() and not c.isspace()))
    alphabet = [*printable, _other(explicit), *others]
    # Printable characters first: the shortest witness that reads well.
    alphabet.sort(key=lambda c: (c not in _PREFERRED, _PREFERRED.find(c) if c in _PREFERRED else 0))

    def done(state: tuple[frozenset[int], ...]) -> bool:
        return all(a.accept in s for a, s in zip(autos[:n_in], state[:n_in], strict=True)) and not any(
            a.accept in s for a, s in zip(autos[n_in:], state[n_in:], strict=True)
        )

    start = tuple(a.initial() for a in autos)
    seen: dict[tuple[frozenset[int], ...], tuple[str, tuple[frozenset[int], ...] | None]] = {start: ("", None)}
    queue: deque[tuple[frozenset[int], ...]] = deque([start])
    while queue:
        state = queue.popleft()
        if done(state):
            text: list[str] = []
            cur: tuple[frozenset[int], ...] | None = state
            while cur is not None:
                ch, prev = seen[cur]
                text.append(ch)
                cur = prev
            return "".join(reversed(text))
        for ch in alphabet:
            nxt = tuple(a.step(s, ch) for a, s in zip(autos, state, strict=True))
            if any(not s for s in nxt[:n_in]):
                continue  # a required language can no longer be reached
            if nxt not in seen:
                if len(seen) >= MAX_STATES:
                    raise TooLarge(f"more than {MAX_STATES} automaton states")
                seen[nxt] = (ch, state)
                queue.append(nxt)
    return None
