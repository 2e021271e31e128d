"""Policy variables (``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``) in policy strings.

Semantics (IAM User Guide, "IAM policy elements: Variables and tags"):

* ``${key}`` is replaced by the request's value of the condition key (key names are
  case-insensitive). Wildcard characters inside the substituted value are literal.
* ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters ``*``, ``?`` and ``$``.
* ``${key, 'text'}`` uses ``text`` when the key cannot be substituted; ``''`` in the default
  is one quote. Spaces around the key name and the quoted default are ignored.
* A key that is absent from the request, or holds more than one value (a multi-valued
  key), cannot be substituted; without a default the substitution fails and the element
  holding it does not match: in a Resource / NotResource element the whole statement does not
  apply, whatever its other values say (the guide: "this might cause the entire statement to be
  invalid"); a condition is false (negated operator or not).
* Substitution happens once: a default that looks like a variable stays literal text.
* Text that opens ``${`` but is not a well-formed variable stays literal text.

A template is compiled for one matching family into pieces: regular expressions (the policy's
own text, with its wildcards) and :class:`VarRef` (a substituted value, matched literally).
The concrete evaluator substitutes and matches (:func:`matches`); the solver links the
symbolic value of the key to the string (auditor/policy/solver.py).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from auditor.policy import strings as _s

Family = Literal["glob", "exact", "arn"]
"""How the policy's own text is read: wildcards over the whole string (StringLike, Resource),
no wildcards (StringEquals), or an ARN's six parts (ArnLike / ArnEquals)."""

_SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class VarRef:
    """``${key}`` or ``${key, 'default'}`` (key in lower case)."""

    key: str
    default: str | None
    text: str
    name: str = ""
    """The key as written."""

    def show(self) -> str:
        """As written in the policy."""
        return self.text


Token = tuple[Literal["text"], str] | tuple[Literal["char"], str] | tuple[Literal["var"], VarRef]


def has_variable(text: str) -> bool:
    """True when the text holds at least one well-formed policy variable (special characters included)."""
    return any(t[0] != "text" for t in tokens(text))


def uses_keys(text: str) -> tuple[str, ...]:
    """The condition keys (lower case) the text's variables read."""
    return tuple(t[1].key for t in tokens(text) if t[0] == "var")


def _parse_var(text: str, start: int) -> tuple[Token, int] | None:
    """The variable opening at ``text[start:]`` (``${``) and the index after it; None when malformed."""
    i = start + 2
    close = text.find("}", i)
    comma = text.find(",", i)
    if close < 0:
        return None
    if comma < 0 or comma > close:
        name = text[i:close].strip()
        if not name:
            return None
        if name in _SPECIAL:
            return ("char", _SPECIAL[name]), close + 1
        if "'" in name or "$" in name or "{" in name:
            return None
        return ("var", VarRef(name.lower(), None, text[start : close + 1], name)), close + 1
    name = text[i:comma].strip()
    if not name or "'" in name or "$" in name or "{" in name:
        return None
    j = comma + 1
    while j < len(text) and text[j] == " ":
        j += 1
    if j >= len(text) or text[j] != "'":
        return None
    j += 1
    out: list[str] = []
    while j < len(text):
        ch = text[j]
        if ch == "'":
            if j + 1 < len(text) and text[j + 1] == "'":
                out.append("'")
                j += 2
                continue
            break
        out.append(ch)
        j += 1
    else:
        return None
    j += 1
    while j < len(text) and text[j] == " ":
        j += 1
    if j >= len(text) or text[j] != "}":
        return None
    return ("var", VarRef(name.lower(), "".join(out), text[start : j + 1], name)), j + 1


@functools.lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[Token, ...]:
    """The text cut into policy text, literal characters from ``${*}``-style escapes, and variables."""
    out: list[Token] = []
    run: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            found = _parse_var(text, i)
            if found is not None:
                if run:
                    out.append(("text", "".join(run)))
                    run = []
                out.append(found[0])
                i = found[1]
                continue
        run.append(text[i])
        i += 1
    if run:
        out.append(("text", "".join(run)))
    return tuple(out)


Piece = _s.Re | VarRef


@functools.lru_cache(maxsize=4096)
def compile_template(text: str, family: Family) -> tuple[Piece, ...]:
    """Regular expressions for the policy's own text and :class:`VarRef` for the values, in order.

    ``arn``: the six colon-separated parts of an ARN are matched apart (``*`` and ``?`` do not span
    a colon in the first five); the colons counted are those of the policy's own text.
    """
    out: list[Piece] = []
    colons = 0
    for tok in tokens(text):
        if tok[0] == "var":
            out.append(tok[1])
            continue
        body = tok[1]
        if tok[0] == "char" or family == "exact":
            out.append(_s.lit(body))
            continue
        if family == "glob":
            out.append(_s.glob(body))
            continue
        # arn: wildcards of the first five parts stop at a colon.
        chunk: list[_s.Re] = []
        for k, seg in enumerate(body.split(":")):
            if k:
                colons += 1
                chunk.append(_s.lit(":"))
            chunk.append(_s.glob(seg, any_char=_s.NOT_COLON if colons < 5 else _s.ANY))
        out.append(_s.cat(*chunk))
    return tuple(out)


def arn_shaped(text: str) -> bool:
    """An ArnLike / ArnEquals value with six parts (else it is matched as a plain wildcard pattern)."""
    colons = sum(t[1].count(":") for t in tokens(text) if t[0] == "text")
    return text == "*" or colons >= 5


class Unresolved(Exception):
    """A variable could not be substituted and has no default."""


def resolve(ref: VarRef, context: Mapping[str, tuple[str, ...]]) -> str:
    """The value substituted for ``ref`` (raises :class:`Unresolved`)."""
    vals = context.get(ref.key)
    if vals is not None and len(vals) == 1:
        return vals[0]
    if ref.default is not None:
        return ref.default
    raise Unresolved(ref.key)


def substituted(pieces: tuple[Piece, ...], context: Mapping[str, tuple[str, ...]]) -> _s.Re:
    """The template with every variable replaced by its value, matched literally (raises :class:`Unresolved`)."""
    parts: list[_s.Re] = []
    for piece in pieces:
        if isinstance(piece, VarRef):
            parts.append(_s.lit(resolve(piece, context)))
        else:
            parts.append(piece)
    return _s.cat(*parts)


def matches(pieces: tuple[Piece, ...], text: str, context: Mapping[str, tuple[str, ...]]) -> bool | None:
    """Whether ``text`` matches the substituted template; None when a substitution fails."""
    try:
        expr = substituted(pieces, context)
    except Unresolved:
        return None
    return _s.matches(expr, text)


def literal_text(expr: _s.Re) -> str | None:
    """The one string a wildcard-free expression stands for; None when it has a wildcard."""
    kind = expr[0]
    if kind == "lit":
        return str(expr[1])
    if kind == "cat":
        parts = expr[1]
        assert isinstance(parts, tuple)
        out = []
        for part in parts:
            found = literal_text(part)
            if found is None:
                return None
            out.append(found)
        return "".join(out)
    return None
