"""Decide a property of *every* request against a resource policy with an SMT solver (z3).

A requirement asks "is there a request, of this shape, that the policy treats badly?". The
request is symbolic: principal (kind, ARN built from account, shape and names, service
name, federated provider), action (an index into a finite catalogue), resource ARN (a
bucket, any object key under a prefix, a key ARN) and every condition key a statement
names. The policy's decision becomes a formula over those variables; the solver answers:

* ``unsat``: no request breaks the requirement, a proof over all of them (PASS);
* ``sat``: the model is turned into a concrete :class:`~auditor.policy.evaluate.Request`
  (a *witness*), replayed through the concrete evaluator, which must agree (FAIL with that
  request as evidence; if it disagrees the answer is an error, never a PASS);
* ``unknown``, a timeout, or a construct that is not encoded: :class:`Undecided` (ERROR).

What is encoded, exactly as :mod:`auditor.policy.evaluate` decides a request:

* Principal / NotPrincipal (``*``, account ids and roots, IAM user / role ARNs, role
  sessions of a listed role, services, federated providers); a NotPrincipal that lists an
  account exempts the account root only, not its roles and sessions.
* Action / NotAction over the requirement's finite action catalogue; Resource / NotResource
  wildcards as regular languages over the resource ARN (any object key).
* Every condition operator family: String* (IgnoreCase by Unicode
  simple case folding), StringLike, Arn* (six parts), Numeric* and Date* (integers at a
  resolution finer than every literal, so every position relative to the literals has a
  value), Bool, BinaryEquals (the base64 text as given), Null, IpAddress / NotIpAddress
  (integer ranges), ``...IfExists`` and ``ForAnyValue`` / ``ForAllValues``. A multi-valued key
  gets as many value slots as conditions name it, which is enough: each condition needs at
  most one value to witness it.
* Policy variables in Resource / NotResource and String* / Arn* values: a template
  ``text ${key} text`` is an atom linking the key's symbolic value to the string; strings tied
  this way are found together (a direct search first, then z3's theory of strings, exact for
  the atoms the model chose).
* The keys derived from the principal (aws:PrincipalArn, aws:PrincipalAccount,
  aws:PrincipalType, aws:PrincipalServiceName, aws:PrincipalIsAWSService) are functions of
  the symbolic principal, absent for an anonymous caller; aws:SecureTransport is always
  present (true or false); s3:TlsVersion is present only over TLS and is one of 1.0-1.3;
  aws:CurrentTime and aws:EpochTime, when present, are dates. Every other key may be
  absent, or hold any string (numbers, dates and addresses that do not parse included).

Not encoded (ERROR naming the construct): multi-character case folds under ``...IgnoreCase``,
a policy variable under ``...IgnoreCase`` or naming a multi-valued key, a template with wildcards
on both sides of its variables (or between two of them).

z3 is imported on first use, so commands that decide no policy never load it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from auditor.policy import strings as _s
from auditor.policy import values as _v
from auditor.policy import variables as _pv
from auditor.policy.evaluate import (
    Decision,
    Evaluator,
    PolicyKind,
    Principal,
    StatementRef,
    _CompiledStatement,
    _role_name,
    _root_account,
    normalize_context,
)
from auditor.policy.model import Condition, Policy, PrincipalSpec, Statement

Bad = Literal["not_denied", "not_granted", "not_allowed", "granted", "allowed", "denied_by_tls"]
PrincipalKindName = Literal["anonymous", "aws", "service", "federated"]
_KINDS: tuple[PrincipalKindName, ...] = ("anonymous", "aws", "service", "federated")
_SHAPES = ("root", "user", "role", "session")
TIMEOUT_MS = 20_000
MAX_REFINEMENTS = 5_000
GUESSES = 12
"""Values tried for the substituted keys before the strings tied by policy variables go to z3's string theory."""
DERIVED_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalservicename",
        "aws:principalisawsservice",
        "aws:resourceaccount",
    }
)
MULTI_VALUED_KEYS = frozenset(
    {
        "aws:tagkeys",
        "aws:calledvia",
        "aws:principalorgpaths",
        "aws:principalservicenameslist",
        "kms:encryptioncontextkeys",
    }
)
KEY_DOMAINS: Mapping[str, tuple[str, ...]] = {
    "aws:securetransport": ("true", "false"),
    "s3:tlsversion": ("1.0", "1.1", "1.2", "1.3"),
}
CALLER_KEYS = frozenset({"kms:calleraccount"})
"""Keys that hold the caller's account (when the question is about callers of other accounts)."""
DATE_KEYS = frozenset({"aws:currenttime", "aws:epochtime"})
"""Keys AWS always fills with a date (present or not, never unreadable)."""
UNREADABLE = "ccme-audit-unreadable"
_NAME_CHARS = "A-Za-z0-9+=,.@_-"


class Undecided(Exception):
    """The solver could not decide: a construct is not encoded, or it answered unknown."""


# --------------------------------------------------------------------------- the question


@dataclass(frozen=True)
class Resources:
    """One resource option: an exact ARN, or any ARN ``prefix + k`` with non-empty ``k`` (``prefix`` set)."""

    arn: str
    actions: tuple[int, ...]
    any_suffix: bool = False


@dataclass(frozen=True)
class Linked:
    """Condition keys that all hold one symbolic ARN: ``prefix`` then a name from ``name_regex``."""

    keys: tuple[str, ...]
    prefix: str
    name_chars: str = _NAME_CHARS + "/#"


@dataclass(frozen=True)
class Query:
    """Is there a request of this shape for which ``bad`` holds?

    ``principal`` fixes the caller; else ``kinds`` (and ``account`` for ``aws``) bound it.
    ``fixed`` maps condition keys (any case) to a value or None (absent). ``groups`` set: more
    than one witness is wanted, each about other actions than the previous ones.
    """

    actions: tuple[str, ...]
    resources: tuple[Resources, ...]
    bad: Bad
    principal: Principal | None = None
    kinds: tuple[PrincipalKindName, ...] = _KINDS
    account: str | None = None
    aws_shapes: tuple[str, ...] = _SHAPES
    fixed: Mapping[str, str | None] = field(default_factory=dict)
    linked: Linked | None = None
    groups: tuple[int, ...] | None = None
    assume: Mapping[str, str] = field(default_factory=dict)
    """Values of keys derived from the caller that the caller must have (a stated assumption)."""
    outside_account: str | None = None
    """An ``aws`` caller must belong to another account than this one."""


@dataclass(frozen=True)
class Witness:
    """A concrete request that breaks the requirement, and the evaluator's decision on it."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]]
    decision: Decision
    shown_keys: tuple[str, ...]
    alike: tuple[str, ...] = ()
    """Other actions the same statements match: the same request with any of them is decided alike."""

    def context_text(self, displays: Mapping[str, str]) -> str:
        """`` with k=v, ...`` for the keys not fixed by the requirement (absent ones omitted)."""
        parts = []
        for key in self.shown_keys:
            vals = self.context.get(key)
            if vals:
                shown = vals[0] if len(vals) == 1 else "[" + ", ".join(vals) + "]"
                parts.append(f"{displays.get(key, key)}={shown}")
        return " with " + ", ".join(parts) if parts else ""

    def transport(self) -> str | None:
        """``plain HTTP``, ``TLS 1.0``, ...: how the request travels, when its context says."""
        context = {k.lower(): v for k, v in self.context.items()}
        secure, tls = context.get("aws:securetransport"), context.get("s3:tlsversion")
        if secure and secure[0].lower() == "false":
            return "plain HTTP"
        return f"TLS {tls[0]}" if tls else None

    def to_json_value(self) -> dict[str, Any]:
        """The request as JSON data: who, what, on which resource, how it travels, its condition values, and
        the statements that decided it (numbered from 1, with their Sid)."""
        return {
            "principal": {"kind": self.principal.kind, "id": self.principal.identifier,
                          "description": self.principal.describe()},
            "action": self.action,
            "resource": self.resource,
            "transport": self.transport(),
            "context": {k: list(v) for k, v in self.context.items()},
            "decision": self.decision.effect,
            "alike": list(self.alike),
            "statements": [ref.label for ref in self.decision.statements],
            "deciding_statements": [{"number": ref.index + 1, "sid": ref.sid} for ref in self.decision.statements],
        }


def concrete_bad(bad: Bad, decision: Decision, policy: Policy) -> bool:
    """The same predicate as the solver's, on a concrete decision."""
    if bad == "not_denied":
        return not decision.explicitly_denied
    if bad == "not_granted":
        return not (decision.allowed and not decision.delegated)
    if bad == "not_allowed":
        return not decision.allowed
    if bad == "granted":
        return decision.allowed and not decision.delegated
    if bad == "allowed":
        return decision.allowed
    return decision.explicitly_denied and any(_mentions_tls(policy.statements[r.index]) for r in decision.statements)


def _mentions_tls(stmt: Statement) -> bool:
    return any(c.key.lower() == "s3:tlsversion" for c in stmt.conditions)


# --------------------------------------------------------------------------- z3 helpers


@functools.cache
def _z3() -> Any:
    import z3

    return z3


_CASED_END = 0x1F000
"""No character at or above this code point has a case mapping (Unicode 15: the last cased letters are Adlam's)."""


@functools.cache
def _fold_tables() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """Single-character case-fold classes, and every multi-character fold."""
    classes: dict[str, set[str]] = {}
    multi: set[str] = set()
    for cp in range(_CASED_END):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        folded = ch.casefold()
        if len(folded) == 1:
            if folded != ch or ch.lower() != ch or ch.upper() != ch:
                classes.setdefault(folded, {folded}).add(ch)
        else:
            multi.add(folded)
    return {k: frozenset(v) for k, v in classes.items()}, frozenset(multi)


def _ci_re(literal: str) -> _s.Re:
    """Strings whose casefold equals ``literal.casefold()``."""
    classes, multi = _fold_tables()
    folded = literal.casefold()
    for m in multi:
        if m in folded:
            raise Undecided(
                f"a ...IgnoreCase value {literal!r} contains {m!r}, the case fold of another character: not encoded"
            )
    return _s.cat(*[_s.cset(_s.CharSet(classes.get(ch, frozenset({ch})))) for ch in folded])


def _ascii_ci(word: str) -> _s.Re:
    """Strings whose ``.lower()`` is this ASCII word (how Bool reads a value)."""
    return _s.cat(*[_s.cset(_s.CharSet(frozenset({c, c.upper()}))) for c in word])


def _class(spec: str) -> _s.CharSet:
    """A character class written like ``A-Za-z0-9+=``."""
    out: set[str] = set()
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out |= _s.char_range(spec[i], spec[i + 2])
            i += 3
        else:
            out.add(spec[i])
            i += 1
    return _s.CharSet(frozenset(out))


def _decimal_places(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


# --------------------------------------------------------------------------- values of one key


class _Var:
    """A symbolic string: the solver sees only which languages it is in (atoms), :func:`strings.find` the rest."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.atoms: dict[_s.Re, Any] = {}


@dataclass
class _Choice:
    """A string that is one of some constants, by conditions (e.g. aws:PrincipalType by the caller's shape)."""

    options: list[tuple[Any, str]]


@dataclass
class _Acct:
    """The account field of the caller's ARN."""

    parn: _Var


Term = str | _Var | _Choice | _Acct


class _Value:
    """One value of a condition key: a term and its typed readings."""

    def __init__(self, enc: _Encoder, key: str, expr: Any, const: str | None) -> None:
        self.enc = enc
        self.key = key
        self.expr = expr
        self.const = const
        self._views: dict[str, tuple[Any, Any]] = {}

    def view(self, family: str) -> tuple[Any, Any]:
        """(readable, number) for numeric, date or ip (``ip`` number: (is_v4, int))."""
        found = self._views.get(family)
        if found is not None:
            return found
        z3 = self.enc.z3
        if self.const is not None:
            found = self._const_view(family, self.const)
        else:
            ok = z3.Bool(self.enc.fresh(f"{self.key}.{family}.ok"))
            if family == "ip":
                v4 = z3.Bool(self.enc.fresh(f"{self.key}.ip.v4"))
                num = z3.Int(self.enc.fresh(f"{self.key}.ip"))
                self.enc.add(num >= 0, z3.If(v4, num < 2**32, num < 2**128))
                found = (ok, (v4, num))
            else:
                found = (ok, z3.Int(self.enc.fresh(f"{self.key}.{family}")))
            if family == "date" and self.key in DATE_KEYS:
                self.enc.add(ok)
            for lit in self.enc.link_literals.get(self.key, ()):
                lit_ok, lit_num = self._const_view(family, lit)
                same = [ok == lit_ok]
                if z3.is_true(lit_ok):
                    if family == "ip":
                        same += [found[1][0] == lit_num[0], found[1][1] == lit_num[1]]
                    else:
                        same.append(found[1] == lit_num)
                self.enc.add(z3.Implies(self.enc.member(self.expr, _s.lit(lit)), z3.And(*same)))
        self._views[family] = found
        return found

    def _const_view(self, family: str, text: str) -> tuple[Any, Any]:
        z3 = self.enc.z3
        if family == "numeric":
            num = _v.parse_number(text)
            if num is None:
                return z3.BoolVal(False), z3.IntVal(0)
            return z3.BoolVal(True), z3.IntVal(self.enc.scaled(self.key, num))
        if family == "date":
            date = _v.parse_date(text)
            if date is None:
                return z3.BoolVal(False), z3.IntVal(0)
            return z3.BoolVal(True), z3.IntVal(_micros(date))
        addr = _v.parse_address(text)
        if addr is None:
            return z3.BoolVal(False), (z3.BoolVal(False), z3.IntVal(0))
        return z3.BoolVal(True), (z3.BoolVal(addr.version == 4), z3.IntVal(int(addr)))


@dataclass
class _Slot:
    """A condition key: its values (slot i present when ``i < count``)."""

    key: str
    values: list[_Value]
    count: Any  # z3 Int (or constant) of present values; 0 means absent
    symbolic: bool


# --------------------------------------------------------------------------- the encoder


class _Encoder:
    def __init__(self, policy: Policy, kind: PolicyKind, resource_account: str | None, partition: str, q: Query):
        self.z3 = _z3()
        self.policy = policy
        self.kind = kind
        self.resource_account = resource_account
        self.partition = partition
        self.q = q
        self.constraints: list[Any] = []
        self._n = 0
        self.compiled = [_CompiledStatement(s, kind) for s in policy.statements]
        self.slots: dict[str, _Slot] = {}
        self.vars: list[_Var] = []
        self.link_literals: dict[str, tuple[str, ...]] = {}
        self.scales: dict[str, int] = {}
        self.displays: dict[str, str] = {}
        self.families: dict[str, set[str]] = {}
        self.var_atoms: list[tuple[Any, Term, list[Any]]] = []
        self.var_atom_index: dict[Any, Any] = {}
        self._z3_res: dict[_s.Re, Any] = {}
        self._check_encodable()
        self._prepare_keys()
        self._principal()
        self._request()
        if q.outside_account is not None and q.principal is None:
            self.use_arn()
        for key in [*self.fixed, *(k.lower() for k in (q.linked.keys if q.linked else ()))]:
            self.slot(key)
        for key, val in q.assume.items():
            slot = self.slot(key.lower())
            self.add(slot.count > 0, self.member(slot.values[0].expr, _s.lit(val)))

    # -- bookkeeping --------------------------------------------------------------
    def fresh(self, name: str) -> str:
        self._n += 1
        return f"{name}#{self._n}"

    def add(self, *exprs: Any) -> None:
        self.constraints.extend(exprs)

    def scaled(self, key: str, num: Decimal) -> int:
        return int(num * self.scales.get(key, 1))

    # -- what cannot be encoded ---------------------------------------------------
    def _check_encodable(self) -> None:
        for stmt in self.policy.statements:
            for cond in stmt.conditions:
                if cond.spec.family == "string_ic":
                    for val in cond.values:
                        if _pv.has_variable(val):
                            raise Undecided(
                                f"{stmt.label}: {cond.operator} {cond.key} {val!r}: a policy variable under "
                                "...IgnoreCase is not encoded"
                            )

    def _prepare_keys(self) -> None:
        counts: dict[str, int] = {}
        multi: set[str] = set()
        literals: dict[str, list[str]] = {}
        numbers: dict[str, list[Decimal]] = {}
        for stmt in self.policy.statements:
            for cond in stmt.conditions:
                key = cond.key.lower()
                self.displays.setdefault(key, cond.key)
                counts[key] = counts.get(key, 0) + 1
                self.families.setdefault(key, set()).add(cond.spec.family)
                if cond.qualifier is not None or key in MULTI_VALUED_KEYS:
                    multi.add(key)
                for val in cond.values:
                    literals.setdefault(key, []).append(val)
        fixed = {k.lower(): v for k, v in self.q.fixed.items()}
        for key, fval in fixed.items():
            if fval is not None:
                literals.setdefault(key, []).append(fval)
        for key, dom in KEY_DOMAINS.items():
            literals.setdefault(key, []).extend(dom)
        for key, vals in literals.items():
            self.link_literals[key] = tuple(dict.fromkeys(vals))
            for val in vals:
                num = _v.parse_number(val)
                if num is not None:
                    numbers.setdefault(key, []).append(num)
        for key, nums in numbers.items():
            self.scales[key] = 10 ** (max(_decimal_places(n) for n in nums) + 1)
        self.counts = counts
        self.multi = multi
        self.fixed = fixed

    # -- principal ----------------------------------------------------------------
    def _principal(self) -> None:
        z3, q = self.z3, self.q
        self.fixed_principal = q.principal
        if q.principal is not None:
            return
        self.pk = z3.Int("principal.kind")
        self.add(z3.Or(*[self.pk == _KINDS.index(k) for k in q.kinds]))
        self.shape = z3.Int("principal.shape")
        self.add(z3.Or(*[self.shape == _SHAPES.index(s) for s in q.aws_shapes]))
        self.parn = self.var("principal.arn")
        self.svc = self.var("principal.service")
        self.fed = self.var("principal.federated")
        self.arn_used = False
        self.names_used = False
        self.acct = _Acct(self.parn)

    def use_arn(self) -> None:
        """The formula reads the caller's ARN: it has one of the four shapes (root, user, role, session)."""
        if self.arn_used:
            return
        self.arn_used = True
        z3, q, p = self.z3, self.q, self.partition
        digits = _s.cset(_s.CharSet(_s.char_range("0", "9")))
        acct = _s.lit(q.account) if q.account is not None else _s.repeat(digits, 12)
        one = _s.cset(_class(_NAME_CHARS))
        path = _s.cat(_s.plus(one), _s.star(_s.cat(_s.lit("/"), _s.plus(one))))
        iam, sts = _s.lit(f"arn:{p}:iam::"), _s.lit(f"arn:{p}:sts::")
        shapes = {
            "root": _s.cat(iam, acct, _s.lit(":root")),
            "user": _s.cat(iam, acct, _s.lit(":user/"), path),
            "role": _s.cat(iam, acct, _s.lit(":role/"), path),
            "session": _s.cat(sts, acct, _s.lit(":assumed-role/"), _s.plus(one), _s.lit("/"), _s.plus(one)),
        }
        for name in q.aws_shapes:
            self.add(z3.Implies(self.shape == _SHAPES.index(name), self.member(self.parn, shapes[name])))
        if q.outside_account is not None:
            own = _s.alt(_s.lit(f"arn:{p}:iam::{q.outside_account}:"), _s.lit(f"arn:{p}:sts::{q.outside_account}:"))
            self.add(z3.Not(self.member(self.parn, _s.cat(own, _s.star(_s.cset(_s.ANY))))))

    def _default_arn(self, shape: str) -> str:
        p, acct = self.partition, self.q.account or "999999999999"
        return {
            "root": f"arn:{p}:iam::{acct}:root",
            "user": f"arn:{p}:iam::{acct}:user/ccme-audit-probe",
            "role": f"arn:{p}:iam::{acct}:role/ccme-audit-probe",
            "session": f"arn:{p}:sts::{acct}:assumed-role/ccme-audit-probe/ccme-audit-session",
        }[shape]

    def use_names(self) -> None:
        """The formula reads service or federated names: they are non-empty."""
        if not self.names_used:
            self.names_used = True
            some = _s.plus(_s.cset(_s.ANY))
            self.add(self.member(self.svc, some), self.member(self.fed, some))

    def _is(self, kind: PrincipalKindName) -> Any:
        return self.pk == _KINDS.index(kind)

    def _spec_match(self, spec: PrincipalSpec) -> tuple[Any, Any]:
        """(matches, matches directly) of a Principal element for the symbolic principal."""
        z3 = self.z3
        anything = _s.star(_s.cset(_s.ANY))
        if spec.star or "*" in spec.aws:
            return z3.BoolVal(True), z3.BoolVal(True)
        direct: list[Any] = []
        delegated: list[Any] = []
        aws = self._is("aws")
        if spec.aws:
            self.use_arn()
        if spec.service or spec.federated:
            self.use_names()
        for val in spec.aws:
            if _v.has_wildcard(val):
                continue
            if len(val) == 12 and val.isdigit():
                part, acct = None, val
            elif (acct_ := _root_account(val)) is not None:
                part, acct = val.split(":")[1], acct_
            else:
                direct.append(z3.And(aws, self.member(self.parn, _s.lit(val))))
                role = _role_name(val)
                if role is not None and role[0] == self.partition:
                    session = f"arn:{self.partition}:sts::{role[1]}:assumed-role/{role[2]}/"
                    direct.append(
                        z3.And(aws, self.shape == 3, self.member(self.parn, _s.cat(_s.lit(session), anything)))
                    )
                continue
            if part is not None and part != self.partition:
                continue
            heads = _s.alt(_s.lit(f"arn:{self.partition}:iam::{acct}:"), _s.lit(f"arn:{self.partition}:sts::{acct}:"))
            on = z3.And(aws, self.member(self.parn, _s.cat(heads, anything)))
            direct.append(z3.And(on, self.shape == 0))
            delegated.append(z3.And(on, self.shape != 0))
        for val in spec.service:
            direct.append(z3.And(self._is("service"), self.member(self.svc, _s.lit(val))))
        for val in spec.federated:
            direct.append(z3.And(self._is("federated"), self.member(self.fed, _s.lit(val))))
        d = z3.Or(*direct) if direct else z3.BoolVal(False)
        a = z3.Or(*delegated) if delegated else z3.BoolVal(False)
        return z3.Or(d, a), d

    def _stmt_principal(self, i: int, stmt: Statement) -> tuple[Any, Any]:
        z3 = self.z3
        if self.fixed_principal is not None:
            strength = self.compiled[i].principal_strength(self.fixed_principal)
            return z3.BoolVal(strength > 0), z3.BoolVal(strength == 2)
        if stmt.principal is not None:
            return self._spec_match(stmt.principal)
        if stmt.not_principal is not None:
            _m, direct = self._spec_match(stmt.not_principal)
            return z3.Not(direct), z3.Not(direct)
        if self.kind == "generic":
            return z3.BoolVal(True), z3.BoolVal(True)
        return z3.BoolVal(False), z3.BoolVal(False)

    # -- request: action, resource, keys -------------------------------------------
    def _request(self) -> None:
        z3, q = self.z3, self.q
        # Actions that the same statements match, on the same resources, are one class: decided once.
        sigs: dict[tuple[Any, ...], list[int]] = {}
        for a, name in enumerate(q.actions):
            sig = (
                None,
                tuple(j for j, opt in enumerate(q.resources) if a in opt.actions),
                tuple(c.action_matches(name) for c in self.compiled),
            )
            sigs.setdefault(sig, []).append(a)
        self.classes = list(sigs.values())
        self.class_sigs = list(sigs)
        self.act = z3.Int("action")
        self.add(self.act >= 0, self.act < len(self.classes))
        self.res = self.var("resource")
        options = []
        for j, opt in enumerate(q.resources):
            members = [c for c, sig in enumerate(self.class_sigs) if j in sig[1]]
            acts = z3.Or(*[self.act == c for c in members]) if members else z3.BoolVal(False)
            if opt.any_suffix:
                where = self.member(self.res, _s.cat(_s.lit(opt.arn), _s.plus(_s.cset(_s.ANY))))
            else:
                where = self.member(self.res, _s.lit(opt.arn))
            options.append(z3.And(where, acts))
        self.add(z3.Or(*options))
        self.link_var = None
        if q.linked is not None:
            link = self.var("linked")
            self.add(self.member(link, _s.cat(_s.lit(q.linked.prefix), _s.plus(_s.cset(_class(q.linked.name_chars))))))
            self.link_var = link
            self.link_expr = link

    def slot(self, key: str) -> _Slot:
        found = self.slots.get(key)
        if found is None:
            found = self._make_slot(key)
            self.slots[key] = found
        return found

    def _make_slot(self, key: str) -> _Slot:
        z3 = self.z3
        linked = self.q.linked
        if linked is not None and key in {k.lower() for k in linked.keys}:
            return _Slot(key, [_Value(self, key, self.link_expr, None)], z3.IntVal(1), False)
        if key in self.fixed and key not in DERIVED_KEYS:
            val = self.fixed[key]
            if val is None:
                return _Slot(key, [_Value(self, key, "", "")], z3.IntVal(0), False)
            return _Slot(key, [_Value(self, key, val, val)], z3.IntVal(1), False)
        if key in CALLER_KEYS and self.fixed_principal is None and self.q.outside_account is not None:
            self.use_arn()
            return _Slot(key, [_Value(self, key, self.acct, None)], z3.If(self._is("aws"), 1, 0), False)
        if key in DERIVED_KEYS:
            present, term = self._derived(key)
            const = term if isinstance(term, str) else None
            return _Slot(key, [_Value(self, key, term, const)], z3.If(present, 1, 0), False)
        size = max(1, self.counts.get(key, 1)) if key in self.multi else 1
        values = [_Value(self, key, self.var(f"ctx.{key}.{i}"), None) for i in range(size)]
        count = z3.Int(self.fresh(f"ctx.{key}.n"))
        self.add(count >= 0, count <= size)
        slot = _Slot(key, values, count, True)
        dom = KEY_DOMAINS.get(key)
        if dom is not None:
            for one in values:
                self.add(self.member(one.expr, _s.alt(*[_s.lit(d) for d in dom])))
            if key == "aws:securetransport":
                self.add(count == 1)
            if key == "s3:tlsversion":
                secure = self.slot("aws:securetransport")
                over_tls = z3.And(secure.count > 0, self.member(secure.values[0].expr, _s.lit("true")))
                self.add((count > 0) == over_tls)
        return slot

    def _derived(self, key: str) -> tuple[Any, Term]:
        """(present, value) of a key derived from the principal."""
        z3 = self.z3
        fp = self.fixed_principal
        if key == "aws:resourceaccount":
            if self.resource_account:
                return z3.BoolVal(True), self.resource_account
            return z3.BoolVal(False), ""
        if fp is not None:
            from auditor.policy.evaluate import _derived_context

            vals = _derived_context(fp, None).get(key)
            if vals:
                return z3.BoolVal(True), vals[0]
            return z3.BoolVal(False), ""
        aws = self._is("aws")
        if key == "aws:principalarn":
            self.use_arn()
            return aws, self.parn
        if key == "aws:principalaccount":
            self.use_arn()
            return aws, self.acct
        if key == "aws:principaltype":
            return z3.Not(self._is("service")), _Choice(
                [
                    (z3.And(aws, self.shape == 0), "Account"),
                    (z3.And(aws, self.shape == 1), "User"),
                    (z3.And(aws, self.shape >= 2), "AssumedRole"),
                    (self._is("anonymous"), "Anonymous"),
                    (self._is("federated"), "FederatedUser"),
                ]
            )
        if key == "aws:principalservicename":
            self.use_names()
            return self._is("service"), self.svc
        return z3.BoolVal(True), _Choice([(self._is("service"), "true"), (z3.Not(self._is("service")), "false")])

    # -- strings ---------------------------------------------------------------------
    def var(self, name: str) -> _Var:
        v = _Var(name)
        self.vars.append(v)
        return v

    def member(self, term: Term, expr: _s.Re) -> Any:
        """The proposition "term is in the language of expr"."""
        z3 = self.z3
        if isinstance(term, str):
            return z3.BoolVal(_s.matches(expr, term))
        if isinstance(term, _Var):
            atom = term.atoms.get(expr)
            if atom is None:
                atom = z3.Bool(self.fresh(f"{term.name}.in"))
                term.atoms[expr] = atom
            return atom
        if isinstance(term, _Choice):
            hits = [cond for cond, val in term.options if _s.matches(expr, val)]
            return z3.Or(*hits) if hits else z3.BoolVal(False)
        p = self.partition
        heads = _s.alt(_s.lit(f"arn:{p}:iam::"), _s.lit(f"arn:{p}:sts::"))
        return self.member(term.parn, _s.cat(heads, expr, _s.lit(":"), _s.star(_s.cset(_s.NOT_COLON))))

    def literal_facts(self) -> list[Any]:
        """What a literal atom implies for the other atoms of its string (saves most refinements)."""
        z3 = self.z3
        facts = []
        for v in self.vars:
            atoms = list(v.atoms.items())
            for expr, atom in atoms:
                if expr[0] == "lit":
                    text = str(expr[1])
                    for other, b in atoms:
                        if other is not expr:
                            facts.append(z3.Implies(atom, b if _s.matches(other, text) else z3.Not(b)))
            # Fixed leading text: atoms whose strings must start with incompatible text exclude each other,
            # and "starts with one of these" follows from a longer fixed start.
            heads = [(_s.heads(expr), _s.prefix_only(expr), atom) for expr, atom in atoms]
            for i, (pa, _only_a, a) in enumerate(heads):
                for j, (pb, only_b, b) in enumerate(heads):
                    if i == j or pa is None or pb is None:
                        continue
                    if i < j and all(not (x.startswith(y) or y.startswith(x)) for x in pa for y in pb):
                        facts.append(z3.Not(z3.And(a, b)))
                    if only_b and all(any(x.startswith(y) for y in pb) for x in pa):
                        facts.append(z3.Implies(a, b))
        return facts

    def strings(self, model: Any) -> dict[int, str] | Any:
        """A string for every variable (by id), or a clause that excludes this combination of atoms."""
        z3 = self.z3
        out: dict[int, str] = {}
        linked = self._linked_vars()
        for v in self.vars:
            values = {e: z3_true(model.eval(b, model_completion=True)) for e, b in v.atoms.items()}
            try:
                found = _s.find([e for e, t in values.items() if t], [e for e, t in values.items() if not t])
            except _s.TooLarge as exc:
                raise Undecided(f"the strings of {v.name} are too complex to decide ({exc})") from None
            if found is None:
                # Its own languages already exclude each other (policy variables or not).
                return z3.Or(*[b != z3.BoolVal(values[e]) for e, b in v.atoms.items()])
            if id(v) not in linked:
                out[id(v)] = found
        if linked:
            joint = self._joint_strings(model, [v for v in self.vars if id(v) in linked])
            if not isinstance(joint, dict):
                return joint
            out.update(joint)
        return out

    # -- policy variables: strings linked by templates, solved together -------------------
    def _linked_vars(self) -> set[int]:
        found: set[int] = set()
        for _atom, term, merged in self.var_atoms:
            for t in [term, *[m for m in merged if not isinstance(m, tuple)]]:
                if isinstance(t, _Var):
                    found.add(id(t))
                elif isinstance(t, _Acct):
                    found.add(id(t.parn))
        return found

    def _joint_strings(self, model: Any, linked: list[_Var]) -> dict[int, str] | Any:
        """Strings for variables tied by policy variables, from z3's theory of strings (exact for the
        combination of atoms the model chose); else a clause that excludes that combination."""
        z3 = self.z3
        guess = self._guess_strings(model, linked)
        if guess is _UNSAT:
            clause = [b != z3.BoolVal(z3_true(model.eval(b, model_completion=True))) for v in linked
                      for b in v.atoms.values()]
            clause += [a != z3.BoolVal(z3_true(model.eval(a, model_completion=True))) for a, _t, _m in self.var_atoms]
            return z3.Or(*clause)
        if isinstance(guess, dict):
            return guess
        names = {id(v): z3.String(self.fresh(f"str.{v.name}")) for v in linked}
        sub = z3.Solver()
        sub.set("timeout", max(1000, TIMEOUT_MS // 4))
        chosen = []
        # (constraint, concrete check) pairs: the positive ones are added at once, the negative ones
        # only when a candidate breaks them (most never do; complements are costly for z3).
        pending: list[tuple[Any, Callable[[Mapping[int, str]], bool]]] = []
        for v in linked:
            for expr, atom in v.atoms.items():
                val = z3_true(model.eval(atom, model_completion=True))
                inside = z3.InRe(names[id(v)], self._z3_re(expr))
                chosen.append(atom != z3.BoolVal(val))
                if val:
                    sub.add(inside)
                else:
                    pending.append((z3.Not(inside), functools.partial(_outside, expr, id(v))))
        for atom, term, merged in self.var_atoms:
            val = z3_true(model.eval(atom, model_completion=True))
            hit = self._z3_seq_member(self._z3_term(term, names), merged, names)
            chosen.append(atom != z3.BoolVal(val))
            if val:
                sub.add(hit)
            else:
                pending.append((z3.Not(hit), functools.partial(self._seq_outside, term, merged)))
        while True:
            verdict = sub.check()
            if verdict == z3.unsat:
                return z3.Or(*chosen) if chosen else z3.BoolVal(False)
            if verdict != z3.sat:
                raise Undecided(f"the strings tied by policy variables could not be decided ({sub.reason_unknown()})")
            m = sub.model()
            out = {id(v): _z3_text(m.eval(names[id(v)], model_completion=True)) for v in linked}
            broken = [c for c, ok in pending if not ok(out)]
            if not broken:
                return out
            sub.add(*broken)
            pending = [(c, ok) for c, ok in pending if ok(out)]

    def _guess_strings(self, model: Any, linked: list[_Var]) -> Any:
        """Strings found without z3's string theory: the substituted values first (each in its own
        languages), then the strings tested against the templates they fill. Checked in full; None
        when this order does not find strings (the exact search decides then)."""

        def base(t: Any) -> int | None:
            if isinstance(t, _Var):
                return id(t)
            if isinstance(t, _Acct):
                return id(t.parn)
            return None

        values = {base(m) for _a, _t, merged in self.var_atoms for m in merged if not isinstance(m, tuple)}
        by_id = {id(v): v for v in linked}
        p = self.partition
        heads = _s.alt(_s.lit(f"arn:{p}:iam::"), _s.lit(f"arn:{p}:sts::"))

        def acct_re(acct: _s.Re) -> _s.Re:
            return _s.cat(heads, acct, _s.lit(":"), _s.star(_s.cset(_s.ANY)))

        # A tested string fixed to a literal by the model (a true StringEquals atom, or a constant): the
        # values that make the template match it are finitely many, read off the literal.
        known_in: dict[int, list[_s.Re]] = {}
        known_out: dict[int, list[_s.Re]] = {}
        exact = True
        for atom, term, merged in self.var_atoms:
            syms = [m for m in merged if not isinstance(m, tuple)]
            fixed_text = term if isinstance(term, str) else self._literal_of(term, model)
            values_text = self._literal_values(syms, model)
            if values_text is not None:
                # Every value substituted is fixed to a literal: the template is a plain language.
                truth = z3_true(model.eval(atom, model_completion=True))
                expr = _s.cat(*[m if isinstance(m, tuple) else _s.lit(values_text[id(m)]) for m in merged])
                if isinstance(term, str):
                    if _s.matches(expr, term) != truth:
                        return _UNSAT
                    continue
                if isinstance(term, _Acct):
                    expr = _s.cat(heads, expr, _s.lit(":"), _s.star(_s.cset(_s.NOT_COLON)))
                target = base(term)
                assert target is not None
                (known_in if truth else known_out).setdefault(target, []).append(expr)
                continue
            if fixed_text is None or len(syms) != 1:
                exact = False
                continue
            sym = syms[0]
            cands = _split_candidates(merged, fixed_text)
            ident = base(sym)
            assert ident is not None
            wrap: Callable[[str], _s.Re] = (lambda c: acct_re(_s.lit(c))) if isinstance(sym, _Acct) else _s.lit
            if z3_true(model.eval(atom, model_completion=True)):
                known_in.setdefault(ident, []).append(_s.alt(*[wrap(c) for c in cands]))
            else:
                known_out.setdefault(ident, []).extend(wrap(c) for c in cands)

        def own(v: _Var) -> tuple[list[_s.Re], list[_s.Re]]:
            got = {e: z3_true(model.eval(b, model_completion=True)) for e, b in v.atoms.items()}
            inside = [e for e, t in got.items() if t] + known_in.get(id(v), [])
            return inside, [e for e, t in got.items() if not t] + known_out.get(id(v), [])

        if exact:
            try:
                if any(_s.find(*own(v)) is None for v in by_id.values()):
                    return _UNSAT
            except _s.TooLarge:
                return None
        order = self._guess_order(by_id, base)
        if order is None:
            return None  # values that depend on each other in a cycle: the exact search decides

        as_acct = {id(m.parn) for _a, _t, merged in self.var_atoms for m in merged if isinstance(m, _Acct)}
        avoid: dict[int, list[_s.Re]] = {}
        for _attempt in range(GUESSES):
            try:
                out = self._guess_once(model, order, base, own, avoid, heads)
            except _s.TooLarge:
                return None
            if out is None:
                return None
            if isinstance(out, dict):
                return out
            # The strings tested did not fit these values: try other values (different substituted text).
            for ident in values:
                if ident is None or ident not in out[1]:
                    continue
                text = out[1][ident]
                if ident in as_acct:
                    parts = text.split(":")
                    acct = parts[4] if len(parts) > 4 else ""
                    avoid.setdefault(ident, []).append(
                        _s.cat(heads, _s.lit(acct), _s.lit(":"), _s.star(_s.cset(_s.ANY)))
                    )
                else:
                    avoid.setdefault(ident, []).append(_s.lit(text))
        return None

    def _guess_order(self, by_id: Mapping[int, _Var], base: Callable[[Any], int | None]) -> list[_Var] | None:
        """The variables, each after the values substituted into the templates it is tested against;
        None when they depend on each other in a cycle."""
        deps: dict[int, set[int]] = {i: set() for i in by_id}
        for _atom, term, merged in self.var_atoms:
            target = base(term)
            if target is None:
                continue
            for m in merged:
                if not isinstance(m, tuple):
                    value = base(m)
                    if value is not None and value != target:
                        deps[target].add(value)
                    elif value == target:
                        return None
        order: list[_Var] = []
        done: set[int] = set()
        while len(order) < len(by_id):
            ready = [i for i in by_id if i not in done and deps[i] <= done]
            if not ready:
                return None
            for i in ready:
                done.add(i)
                order.append(by_id[i])
        return order

    def _guess_once(
        self,
        model: Any,
        order: list[_Var],
        base: Callable[[Any], int | None],
        own: Callable[[_Var], tuple[list[_s.Re], list[_s.Re]]],
        avoid: Mapping[int, list[_s.Re]],
        heads: _s.Re,
    ) -> dict[int, str] | tuple[None, dict[int, str]] | None:
        """Strings for one choice of values, in dependency order; ``(None, values so far)`` when a tested
        string does not fit the values chosen before it."""
        out: dict[int, str] = {}
        tests: dict[int, list[tuple[bool, list[Any], bool]]] = {}
        constants = []
        for atom, term, merged in self.var_atoms:
            val = z3_true(model.eval(atom, model_completion=True))
            if isinstance(term, str):
                constants.append((val, term, merged))
                continue
            ident = base(term)
            assert ident is not None
            tests.setdefault(ident, []).append((val, merged, isinstance(term, _Acct)))
        for v in order:
            inside, outside = own(v)
            outside = [*outside, *avoid.get(id(v), ())]
            for val, merged, acct in tests.get(id(v), []):
                expr = _s.cat(*[m if isinstance(m, tuple) else _s.lit(self._guess_text(m, out)) for m in merged])
                if acct:
                    expr = _s.cat(heads, expr, _s.lit(":"), _s.star(_s.cset(_s.NOT_COLON)))
                (inside if val else outside).append(expr)
            found = _s.find(inside, outside)
            if found is None:
                return (None, dict(out)) if id(v) in tests else None
            out[id(v)] = found
        for val, term, merged in constants:
            expr = _s.cat(*[m if isinstance(m, tuple) else _s.lit(self._guess_text(m, out)) for m in merged])
            if _s.matches(expr, term) != val:
                return None, dict(out)
        return out

    def _literal_values(self, syms: list[Any], model: Any) -> dict[int, str] | None:
        """The text each symbolic value holds when the model fixes all of them to literals; else None."""
        out: dict[int, str] = {}
        for m in syms:
            if isinstance(m, _Acct):
                text = self._literal_of(m.parn, model)
                if text is None:
                    return None
                parts = text.split(":")
                out[id(m)] = parts[4] if len(parts) > 4 else ""
            else:
                text = self._literal_of(m, model)
                if text is None:
                    return None
                out[id(m)] = text
        return out

    def _literal_of(self, term: Any, model: Any) -> str | None:
        """The literal a string variable equals in this model (a true literal atom), if any."""
        if not isinstance(term, _Var):
            return None
        for expr, atom in term.atoms.items():
            text = _pv.literal_text(expr)
            if text is not None and z3_true(model.eval(atom, model_completion=True)):
                return text
        return None

    @staticmethod
    def _guess_text(t: Any, texts: Mapping[int, str]) -> str:
        if isinstance(t, _Var):
            return texts[id(t)]
        parts = texts[id(t.parn)].split(":")
        return parts[4] if len(parts) > 4 else ""

    def _seq_outside(self, term: Any, merged: list[Any], texts: Mapping[int, str]) -> bool:
        """The concrete reading of a template atom is false for these strings."""

        def text(t: Any) -> str:
            if isinstance(t, str):
                return t
            if isinstance(t, _Var):
                return texts.get(id(t), "")
            parts = texts.get(id(t.parn), "").split(":")
            return parts[4] if len(parts) > 4 else ""

        expr = _s.cat(*[m if isinstance(m, tuple) else _s.lit(text(m)) for m in merged])
        return not _s.matches(expr, text(term))

    def _z3_term(self, term: Any, names: Mapping[int, Any]) -> Any:
        z3 = self.z3
        if isinstance(term, str):
            return z3.StringVal(term)
        if isinstance(term, _Var):
            return names[id(term)]
        if isinstance(term, _Acct):
            head = len(f"arn:{self.partition}:iam::")
            return z3.SubString(names[id(term.parn)], head, 12)
        raise Undecided("a policy variable over a value of this kind is not encoded")

    def _z3_seq_member(self, target: Any, merged: list[Any], names: Mapping[int, Any]) -> Any:
        z3 = self.z3
        symbolic = [i for i, item in enumerate(merged) if not isinstance(item, tuple)]
        first, last = symbolic[0], symbolic[-1]

        def word(items: list[Any]) -> Any:
            parts = [
                z3.StringVal(_pv.literal_text(m) or "") if isinstance(m, tuple) else self._z3_term(m, names)
                for m in items
            ]
            return parts[0] if len(parts) == 1 else z3.Concat(*parts)

        before, after = merged[:first], merged[last + 1 :]
        if all(_pv.literal_text(m) is not None for m in before):
            w = word(merged[: last + 1])
            tail = self._z3_re(_s.cat(*after)) if after else z3.Re(z3.StringVal(""))
            rest = z3.SubString(target, z3.Length(w), z3.Length(target) - z3.Length(w))
            return z3.And(z3.PrefixOf(w, target), z3.InRe(rest, tail))
        w = word(merged[first:])
        head = self._z3_re(_s.cat(*before))
        rest = z3.SubString(target, 0, z3.Length(target) - z3.Length(w))
        return z3.And(z3.SuffixOf(w, target), z3.InRe(rest, head))

    def _z3_re(self, expr: _s.Re) -> Any:
        found = self._z3_res.get(expr)
        if found is None:
            found = self._build_z3_re(expr)
            self._z3_res[expr] = found
        return found

    def _build_z3_re(self, expr: _s.Re) -> Any:
        z3 = self.z3
        kind = expr[0]
        rs = z3.ReSort(z3.StringSort())
        if kind == "lit":
            return z3.Re(z3.StringVal(str(expr[1])))
        if kind == "set":
            cs = expr[1]
            assert isinstance(cs, _s.CharSet)
            codes = sorted(ord(c) for c in cs.chars)
            ranges: list[Any] = []
            i = 0
            while i < len(codes):
                j = i
                while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
                    j += 1
                lo, hi = chr(codes[i]), chr(codes[j])
                ranges.append(z3.Re(z3.StringVal(lo)) if lo == hi else z3.Range(lo, hi))
                i = j + 1
            union = ranges[0] if len(ranges) == 1 else (z3.Union(*ranges) if ranges else z3.Empty(rs))
            if cs.negated:
                return z3.AllChar(rs) if not ranges else z3.Intersect(z3.AllChar(rs), z3.Complement(union))
            return union
        if kind in ("cat", "alt"):
            items = expr[1]
            assert isinstance(items, tuple)
            parts = [self._z3_re(p) for p in items]
            if not parts:
                return z3.Re(z3.StringVal("")) if kind == "cat" else z3.Empty(rs)
            if len(parts) == 1:
                return parts[0]
            return z3.Concat(*parts) if kind == "cat" else z3.Union(*parts)
        inner = expr[1]
        assert isinstance(inner, tuple)
        return z3.Star(self._z3_re(inner)) if kind == "star" else z3.Plus(self._z3_re(inner))

    def text(self, term: Term, model: Any, strings: Mapping[int, str]) -> str:
        """The string a term holds in a model."""
        if isinstance(term, str):
            return term
        if isinstance(term, _Var):
            return strings[id(term)]
        if isinstance(term, _Choice):
            for cond, val in term.options:
                if z3_true(model.eval(cond, model_completion=True)):
                    return val
            return ""
        arn = strings[id(term.parn)]
        parts = arn.split(":")
        return parts[4] if len(parts) > 4 else ""

    # -- conditions -----------------------------------------------------------------
    def _templated(self, cond: Condition) -> tuple[tuple[_pv.Piece, ...], ...] | None:
        from auditor.policy.evaluate import _templates

        return _templates(cond)

    def resolvable(self, templates: Sequence[tuple[_pv.Piece, ...]]) -> Any:
        """Every variable of these templates can be substituted (present, or with a default)."""
        z3 = self.z3
        need = []
        for pieces in templates:
            for piece in pieces:
                if isinstance(piece, _pv.VarRef):
                    slot = self._var_slot(piece)
                    if piece.default is None:
                        need.append(slot.count > 0)
        return z3.And(*need) if need else z3.BoolVal(True)

    def _var_slot(self, ref: _pv.VarRef) -> _Slot:
        if ref.key in MULTI_VALUED_KEYS or ref.key in self.multi:
            raise Undecided(f"the policy variable {ref.text} names a multi-valued key: not encoded")
        slot = self.slot(ref.key)
        self.displays.setdefault(ref.key, ref.name or ref.key)
        if len(slot.values) > 1:
            raise Undecided(f"the policy variable {ref.text} names a multi-valued key: not encoded")
        return slot

    def template_member(self, term: Term, pieces: tuple[_pv.Piece, ...]) -> Any:
        """The proposition "term matches the template with the request's values substituted"."""
        z3 = self.z3
        options: list[tuple[Any, list[Any]]] = [(z3.BoolVal(True), [])]
        for piece in pieces:
            if not isinstance(piece, _pv.VarRef):
                options = [(c, [*seq, piece]) for c, seq in options]
                continue
            slot = self._var_slot(piece)
            present = slot.count > 0
            value = slot.values[0].expr
            alts: list[tuple[Any, Any]] = []
            if isinstance(value, str):
                alts.append((present, _s.lit(value)))
            elif isinstance(value, _Choice):
                alts += [(z3.And(present, c), _s.lit(v)) for c, v in value.options]
            else:
                alts.append((present, value))
            if piece.default is not None:
                alts.append((z3.Not(present), _s.lit(piece.default)))
            options = [(z3.And(c, c2), [*seq, p]) for c, seq in options for c2, p in alts]
        hits = [z3.And(c, self._seq_member(term, seq)) for c, seq in options]
        return z3.Or(*hits) if hits else z3.BoolVal(False)

    def _seq_member(self, term: Term, seq: list[Any]) -> Any:
        """Membership of a term in a concatenation of expressions and symbolic values."""
        z3 = self.z3
        merged: list[Any] = []
        for item in seq:
            if isinstance(item, tuple) and merged and isinstance(merged[-1], tuple):
                merged[-1] = _s.cat(merged[-1], item)
            else:
                merged.append(item)
        symbolic = [i for i, item in enumerate(merged) if not isinstance(item, tuple)]
        if not symbolic:
            return self.member(term, _s.cat(*merged))
        if isinstance(term, _Choice):
            return z3.Or(*[z3.And(c, self._seq_member(v, seq)) for c, v in term.options])
        first, last = symbolic[0], symbolic[-1]
        inner = [m for m in merged[first:last] if isinstance(m, tuple)]
        before = [m for m in merged[:first]]
        after = [m for m in merged[last + 1 :]]
        lit_ok = all(_pv.literal_text(m) is not None for m in inner)
        if not lit_ok or not (
            all(_pv.literal_text(m) is not None for m in before) or all(_pv.literal_text(m) is not None for m in after)
        ):
            raise Undecided("a wildcard on both sides of a policy variable (or between two) is not encoded")
        key = (term if isinstance(term, str) else id(term), tuple(m if isinstance(m, tuple) else id(m) for m in merged))
        found = self.var_atom_index.get(key)
        if found is not None:
            return found
        atom = z3.Bool(self.fresh("template.in"))
        self.var_atom_index[key] = atom
        self.var_atoms.append((atom, term, merged))
        return atom

    def condition(self, cond: Condition) -> Any:
        z3 = self.z3
        slot = self.slot(cond.key.lower())
        present = slot.count > 0
        if cond.base == "Null":
            wants = {bool(_v.parse_bool(v)) for v in cond.values}
            return z3.Or(*[z3.Not(present) if w else present for w in wants])
        negated = cond.spec.negated
        templates = self._templated(cond) if cond.spec.family in ("string", "like", "arn") else None
        if templates is not None:
            # A variable that cannot be substituted makes the condition false (negated or not).
            ok = self.resolvable(templates)
            return z3.And(ok, self._condition_body(cond, slot, negated, present))
        return self._condition_body(cond, slot, negated, present)

    def _condition_body(self, cond: Condition, slot: _Slot, negated: bool, present: Any) -> Any:
        z3 = self.z3
        results = [self._result(cond, val, negated) for val in slot.values]
        active = [slot.count > i for i in range(len(slot.values))]
        if cond.qualifier == "ForAllValues" or (cond.qualifier is None and negated):
            body = z3.And(*[z3.Implies(a, r) for a, r in zip(active, results, strict=True)])
        else:
            body = z3.Or(*[z3.And(a, r) for a, r in zip(active, results, strict=True)])
        if cond.if_exists or cond.qualifier == "ForAllValues":
            absent_value = z3.BoolVal(True)
        elif cond.qualifier == "ForAnyValue":
            absent_value = z3.BoolVal(False)
        else:
            absent_value = z3.BoolVal(negated)
        return z3.If(present, body, absent_value)

    def _result(self, cond: Condition, val: _Value, negated: bool) -> Any:
        z3 = self.z3
        readable, hit = self._test(cond, val)
        return z3.And(readable, z3.Not(hit) if negated else hit)

    def _test(self, cond: Condition, val: _Value) -> tuple[Any, Any]:
        z3 = self.z3
        fam = cond.spec.family
        true = z3.BoolVal(True)
        x = val.expr
        m = self.member
        if fam in ("string", "like", "arn") and self._templated(cond) is not None:
            return true, z3.Or(*[self.template_member(x, t) for t in self._templated(cond) or ()])
        if fam in ("string", "binary"):
            # BinaryEquals compares the base64 text as given.
            return true, z3.Or(*[m(x, _s.lit(lit)) for lit in cond.values])
        if fam == "string_ic":
            return true, z3.Or(*[m(x, _ci_re(lit)) for lit in cond.values])
        if fam == "like":
            return true, z3.Or(*[m(x, _s.glob(lit)) for lit in cond.values])
        if fam == "arn":
            return true, z3.Or(*[true if lit == "*" else m(x, _s.arn_glob(lit)) for lit in cond.values])
        if fam == "bool":
            is_true, is_false = m(x, _ascii_ci("true")), m(x, _ascii_ci("false"))
            wants = {_v.parse_bool(lit) for lit in cond.values}
            hits = ([is_true] if True in wants else []) + ([is_false] if False in wants else [])
            return z3.Or(is_true, is_false), z3.Or(*hits) if hits else z3.BoolVal(False)
        if fam == "ip":
            ok, (v4, num) = val.view("ip")
            nets = [n for n in (_v.parse_network(lit) for lit in cond.values) if n is not None]
            terms = []
            for net in nets:
                lo, hi = int(net.network_address), int(net.broadcast_address)
                terms.append(z3.And(v4 if net.version == 4 else z3.Not(v4), num >= lo, num <= hi))
            return ok, z3.Or(*terms) if terms else z3.BoolVal(False)
        ok, num = val.view(fam)
        key = val.key
        points: list[int] = []
        for lit in cond.values:
            if fam == "numeric":
                n = _v.parse_number(lit)
                if n is not None:
                    points.append(self.scaled(key, n))
            else:
                d = _v.parse_date(lit)
                if d is not None:
                    points.append(_micros(d))
        ops: dict[str, Callable[[Any, int], Any]] = {
            "eq": lambda a, b: a == b,
            "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b,
            "gt": lambda a, b: a > b,
            "ge": lambda a, b: a >= b,
        }
        cmp = ops[cond.spec.compare]
        return ok, z3.Or(*[cmp(num, p) for p in points]) if points else z3.BoolVal(False)

    # -- statements and decision -------------------------------------------------------
    def decision_parts(self) -> tuple[Any, Any, Any, Any]:
        """(explicit deny, some allow, some direct allow, deny by a statement naming s3:TlsVersion)."""
        z3 = self.z3
        denies, allows, directs, tls = [], [], [], []
        for i, stmt in enumerate(self.policy.statements):
            match, direct = self._stmt_principal(i, stmt)
            if z3.is_false(match):
                continue
            acts = [c for c, sig in enumerate(self.class_sigs) if sig[2][i]]
            if not acts:
                continue
            parts = [match, z3.Or(*[self.act == a for a in acts])]
            parts.append(self._resource_match(i, stmt))
            parts += [self.condition(c) for c in stmt.conditions]
            m = z3.And(*parts)
            if stmt.effect == "Deny":
                denies.append(m)
                if _mentions_tls(stmt):
                    tls.append(m)
            else:
                allows.append(m)
                directs.append(z3.And(m, direct))

        def any_of(xs: list[Any]) -> Any:
            return z3.Or(*xs) if xs else z3.BoolVal(False)

        return any_of(denies), any_of(allows), any_of(directs), any_of(tls)

    def _resource_match(self, i: int, stmt: Statement) -> Any:
        z3 = self.z3
        templated = self.compiled[i].res_templates
        if templated is not None:
            templates, negate = templated
            if negate:
                hit = z3.Or(*[self.template_member(self.res, t) for t in templates])
                return z3.And(self.resolvable(templates), z3.Not(hit))
            # A value whose variable cannot be substituted makes the whole statement not apply (as evaluate.py).
            return z3.And(self.resolvable(templates), z3.Or(*[self.template_member(self.res, t) for t in templates]))
        if len(self.q.resources) == 1 and not self.q.resources[0].any_suffix:
            return z3.BoolVal(self.compiled[i].resource_matches(self.q.resources[0].arn))
        pats, negate = (stmt.resource, False) if stmt.resource is not None else (stmt.not_resource, True)
        if pats is None:
            return z3.BoolVal(False)
        hit = z3.Or(*[self.member(self.res, _s.glob(p)) for p in pats])
        return z3.Not(hit) if negate else hit

    def bad(self) -> Any:
        z3 = self.z3
        deny, allow, direct, tls = self.decision_parts()
        b = self.q.bad
        if b == "not_denied":
            return z3.Not(deny)
        if b == "not_granted":
            return z3.Not(z3.And(z3.Not(deny), allow, direct))
        if b == "not_allowed":
            return z3.Not(z3.And(z3.Not(deny), allow))
        if b == "granted":
            return z3.And(z3.Not(deny), allow, direct)
        if b == "allowed":
            return z3.And(z3.Not(deny), allow)
        return tls

    # -- models to requests ------------------------------------------------------------
    def principal_of(self, model: Any, strings: Mapping[int, str]) -> Principal:
        if self.fixed_principal is not None:
            return self.fixed_principal
        kind = _KINDS[model.eval(self.pk, model_completion=True).as_long()]
        if kind == "anonymous":
            return Principal.anonymous()
        if kind == "service":
            name = strings[id(self.svc)] if self.names_used else ""
            return Principal.service(name or "ccme-audit-probe.amazonaws.com")
        if kind == "federated":
            name = strings[id(self.fed)] if self.names_used else ""
            return Principal.federated(name or "ccme-audit-probe-idp")
        if not self.arn_used:
            shape = model.eval(self.shape, model_completion=True).as_long()
            return Principal.aws(self._default_arn(_SHAPES[shape]))
        return Principal.aws(strings[id(self.parn)])

    def contexts_of(self, model: Any, strings: Mapping[int, str]) -> list[dict[str, tuple[str, ...]]]:
        """Candidate request contexts (without derived keys): typed renderings first, then the model's strings."""
        plain: dict[str, tuple[str, ...]] = {}
        typed: dict[str, tuple[str, ...]] = {}
        for key, slot in self.slots.items():
            if key in DERIVED_KEYS and key not in self.fixed:
                continue
            n = model.eval(slot.count, model_completion=True).as_long()
            if n <= 0:
                continue
            a, b = [], []
            for val in slot.values[:n]:
                text = val.const if val.const is not None else self.text(val.expr, model, strings)
                a.append(text)
                b.append(self._typed_text(model, val, text))
            plain[key] = tuple(a)
            typed[key] = tuple(b)
        return [typed] if plain == typed else [typed, plain]

    def _typed_text(self, model: Any, val: _Value, text: str) -> str:
        if val.const is not None or not val._views:
            return text
        fams = self.families.get(val.key, set())
        if fams & {"string", "string_ic", "like", "arn"}:
            return text
        for family, (ok, num) in val._views.items():
            if not z3_true(model.eval(ok, model_completion=True)):
                continue
            if family == "numeric":
                scaled = model.eval(num, model_completion=True).as_long()
                return _plain_decimal(Decimal(scaled) / self.scales.get(val.key, 1))
            if family == "date":
                micros = model.eval(num, model_completion=True).as_long()
                return (_EPOCH + timedelta(microseconds=micros)).isoformat().replace("+00:00", "Z")
            import ipaddress

            v4 = z3_true(model.eval(num[0], model_completion=True))
            n = model.eval(num[1], model_completion=True).as_long()
            return str(ipaddress.IPv4Address(n) if v4 else ipaddress.IPv6Address(n))
        return UNREADABLE

    def action_of(self, model: Any) -> int:
        """The class of the model's action; its first member is the action shown."""
        return int(model.eval(self.act, model_completion=True).as_long())


def z3_true(value: Any) -> bool:
    """A z3 boolean value as a Python bool."""
    return bool(_z3().is_true(value))


_UNSAT: Any = object()
"""The strings tied by policy variables cannot take the languages the model chose (proved)."""


def _split_candidates(merged: list[Any], text: str) -> list[str]:
    """The values of the one symbolic piece of a template that make it match ``text``."""
    i = next(k for k, m in enumerate(merged) if not isinstance(m, tuple))
    before, after = merged[:i], merged[i + 1 :]
    out = []
    for start in range(len(text) + 1):
        if before and not _s.matches(_s.cat(*before), text[:start]):
            continue
        if not before and start:
            break
        for end in range(start, len(text) + 1):
            rest = text[end:]
            if (_s.matches(_s.cat(*after), rest) if after else rest == ""):
                out.append(text[start:end])
    return sorted(set(out))


def _outside(expr: _s.Re, ident: int, texts: Mapping[int, str]) -> bool:
    return not _s.matches(expr, texts.get(ident, ""))


def _z3_text(value: Any) -> str:
    """A z3 string value as Python text (z3 writes characters outside printable ASCII as \\u{...})."""
    raw = value.as_string()
    return re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), raw)


def _plain_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


# --------------------------------------------------------------------------- solving


@dataclass
class Answer:
    """Witnesses found (none: the property is proved) and solver statistics."""

    witnesses: list[Witness]
    displays: Mapping[str, str]
    checks: int = 0


def solve(
    policy: Policy,
    query: Query,
    *,
    kind: PolicyKind,
    resource_account: str | None,
    partition: str,
    evaluator: Evaluator | None = None,
    limit: int = 1,
    timeout_ms: int = TIMEOUT_MS,
) -> Answer:
    """Find up to ``limit`` witnesses (one per action group); raise :class:`Undecided` when the solver cannot say."""
    z3 = _z3()
    enc = _Encoder(policy, kind, resource_account, partition, query)
    formula = enc.bad()
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*enc.constraints)
    solver.add(*enc.literal_facts())
    solver.add(formula)
    evaluator = evaluator or Evaluator(policy, policy_kind=kind, resource_account=resource_account)
    shown = tuple(k for k in dict.fromkeys([*enc.displays, *enc.slots]) if k not in enc.fixed)
    shown = tuple(k for k in shown if k not in DERIVED_KEYS)
    if enc.q.linked is not None:
        shown = tuple(k for k in shown if k not in {x.lower() for x in enc.q.linked.keys})
    answer = Answer([], {**enc.displays, **{k.lower(): k for k in query.fixed}})
    refinements = 0
    deadline = time.monotonic() + timeout_ms / 1000
    while len(answer.witnesses) < limit:
        answer.checks += 1
        if time.monotonic() > deadline:
            raise Undecided(f"the decision took longer than {timeout_ms / 1000:.0f} s")
        verdict = solver.check()
        if verdict == z3.unsat:
            break
        if verdict != z3.sat:
            raise Undecided(f"the solver could not decide ({solver.reason_unknown()})")
        model = solver.model()
        strings = enc.strings(model)
        if not isinstance(strings, dict):
            refinements += 1
            if refinements > MAX_REFINEMENTS:
                raise Undecided(f"more than {MAX_REFINEMENTS} string refinements")
            solver.add(strings)
            answer.checks -= 1
            continue
        principal = enc.principal_of(model, strings)
        cls = enc.action_of(model)
        index = enc.classes[cls][0]
        action = query.actions[index]
        resource = enc.text(enc.res, model, strings)
        witness = None
        for context in enc.contexts_of(model, strings):
            full = dict(context)
            decision = evaluator.decide_normalized(principal, action, resource, normalize_context(full))
            if concrete_bad(query.bad, decision, policy):
                alike = tuple(query.actions[a] for a in enc.classes[cls][1:])
                witness = Witness(principal, action, resource, full, decision, shown, alike)
                break
        if witness is None:
            raise Undecided(
                f"the solver's counterexample ({action} on {resource} by {principal.describe()}) is not confirmed "
                "by the evaluator; the policy mixes readings of one key that are not encoded exactly"
            )
        answer.witnesses.append(witness)
        if query.groups is None:
            break
        solver.add(enc.act != cls)  # the next witness is about other actions
    return answer


def statement_refs(decision: Decision) -> tuple[StatementRef, ...]:
    """The statements that decided a witness."""
    return decision.statements


def show_value(text: str) -> str:
    """A value for a one-line message: quoted when it holds spaces or is empty."""
    if not text or re.search(r"\s", text):
        return repr(text)
    return text


def group_actions(names: Sequence[str], key: Callable[[str], Any]) -> tuple[int, ...]:
    """Group index of each action (equal keys, equal group)."""
    seen: dict[Any, int] = {}
    return tuple(seen.setdefault(key(n), len(seen)) for n in names)
