"""Decide one request against one resource policy, as AWS does.

Semantics (IAM User Guide, "Policy evaluation logic" and the element references):

* Any matching Deny gives ``explicit_deny``; else any matching Allow gives ``allow``;
  else ``implicit_deny``. A statement matches when Principal, Action, Resource and
  every Condition match.
* Action/NotAction: case-insensitive, ``*`` and ``?`` wildcards. Resource/NotResource:
  case-sensitive wildcards over the whole ARN (``*`` spans ``/`` and ``:``). In a key
  policy ``"Resource": "*"`` therefore covers the key. No Resource: no match.
* Principal: ``"*"`` equals ``{"AWS": "*"}`` and matches every caller, anonymous and
  services included. An account id equals ``arn:aws:iam::<id>:root`` and matches every
  identity of that account. In a key policy (and a bucket policy) such a statement only
  delegates to the account's IAM policies; it is evaluated as allowing the account's
  principals and the :class:`Decision` says so with ``delegated=True``. Principal ARNs
  are compared literally (no partial wildcards); a role ARN also matches that role's
  sessions (``arn:aws:sts::<id>:assumed-role/<name>/...``). NotPrincipal matches every
  caller that its list does not name directly: an account listed there exempts the
  account root, not the account's roles and sessions. A statement without Principal or NotPrincipal
  matches nobody in a resource policy (``s3``, ``kms``, ``vpce``) and everybody in a
  ``generic`` (identity) policy.
* Conditions: operators AND'd, keys AND'd, values OR'd (NOR'd under a negated
  operator). Key names are case-insensitive. An absent key fails a condition, except
  under a negated operator, ``...IfExists``, ``Null`` and ``ForAllValues``.
  A request value that cannot be read as a number, a date or an IP address makes a
  Numeric*/Date*/IpAddress/NotIpAddress condition false, negated or not.
  Without ForAnyValue/ForAllValues a multi-valued request key matches a positive
  operator when any of its values matches, a negated one when none does.
* BinaryEquals compares the base64 text as given (a string comparison).
* Policy variables (``${aws:username}``, ``${key, 'default'}``, ``${*}``) in Resource / NotResource and
  in String* / Arn* condition values are substituted from the request (auditor/policy/variables.py):
  the value is matched literally (its wildcards too). A Resource value whose variable cannot be
  substituted matches no resource; such a NotResource value, or condition value, makes the
  NotResource element, or the condition, not match.
* Context keys derived from the principal (aws:PrincipalArn, aws:PrincipalAccount,
  aws:PrincipalType, aws:PrincipalServiceName, aws:PrincipalIsAWSService) and
  aws:ResourceAccount (from ``resource_account``) are filled in unless the request
  context sets them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from auditor.partitions import arn_partition
from auditor.policy import strings as _s
from auditor.policy import values as _v
from auditor.policy import variables as _pv
from auditor.policy.model import Condition, OperatorSpec, Policy, PrincipalSpec, Statement, statement_label

DecisionEffect = Literal["explicit_deny", "allow", "implicit_deny"]
PolicyKind = Literal["s3", "kms", "vpce", "generic"]
PrincipalKind = Literal["anonymous", "aws", "service", "federated"]
POLICY_KINDS: tuple[PolicyKind, ...] = ("s3", "kms", "vpce", "generic")

ContextValue = str | Sequence[str]


@dataclass(frozen=True)
class Principal:
    """The caller of a request. For ``aws`` the identifier is an IAM/STS ARN."""

    kind: PrincipalKind
    identifier: str | None = None
    account: str | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        """An unauthenticated caller."""
        return cls("anonymous")

    @classmethod
    def aws(cls, arn_or_account: str, partition: str = "aws") -> Principal:
        """An IAM identity; a bare 12-digit account id means the account root (in `partition`)."""
        if len(arn_or_account) == 12 and arn_or_account.isdigit():
            return cls("aws", f"arn:{partition}:iam::{arn_or_account}:root", arn_or_account)
        parts = arn_or_account.split(":", 5)
        account = parts[4] if len(parts) == 6 and parts[4] else None
        return cls("aws", arn_or_account, account)

    @classmethod
    def service(cls, name: str) -> Principal:
        """An AWS service principal such as ``logs.eu-west-1.amazonaws.com``."""
        return cls("service", name)

    @classmethod
    def federated(cls, provider: str) -> Principal:
        """A web-identity or SAML federated caller."""
        return cls("federated", provider)

    @property
    def arn(self) -> str | None:
        """The ARN of an ``aws`` principal."""
        return self.identifier if self.kind == "aws" else None

    @property
    def is_account_root(self) -> bool:
        """True for ``arn:<partition>:iam::<account>:root``."""
        return self.kind == "aws" and bool(self.identifier) and _root_account(self.identifier or "") is not None

    def describe(self) -> str:
        """Words for messages."""
        if self.kind == "anonymous":
            return "anonymous principal"
        if self.kind == "service":
            return f"service principal {self.identifier}"
        if self.kind == "federated":
            return f"federated principal {self.identifier}"
        return f"{self.identifier}"


@dataclass(frozen=True)
class Request:
    """One request: who, which action, on which resource ARN, with which context."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class StatementRef:
    """Points at a statement: 0-based ``index`` and its Sid."""

    index: int
    sid: str | None

    @property
    def label(self) -> str:
        """``statement 2 ("sid")``, numbered from 1."""
        return statement_label(self.index, self.sid)


@dataclass(frozen=True)
class Decision:
    """The outcome and the statements that decided it (all matching Denies, or all matching Allows).

    ``delegated`` is True when the allow comes only from statements that name the
    caller's account (not the caller): AWS then also requires the caller's IAM policy.
    """

    effect: DecisionEffect
    statements: tuple[StatementRef, ...] = ()
    delegated: bool = False

    @property
    def allowed(self) -> bool:
        """True for ``allow``."""
        return self.effect == "allow"

    @property
    def explicitly_denied(self) -> bool:
        """True for ``explicit_deny``."""
        return self.effect == "explicit_deny"

    def describe(self) -> str:
        """Words for messages, e.g. ``allowed by statement 1 ("a")``."""
        labels = ", ".join(ref.label for ref in self.statements)
        if self.effect == "explicit_deny":
            return f"denied by {labels}"
        if self.effect == "allow":
            how = " (delegated to IAM policies)" if self.delegated else ""
            return f"allowed by {labels}{how}"
        return "no statement allows or denies it"


# --------------------------------------------------------------------------- principals

_NO, _ACCOUNT, _DIRECT = 0, 1, 2


def _root_account(arn: str) -> str | None:
    parts = arn.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5] == "root" and parts[4]:
        return parts[4]
    return None


def _role_session(arn: str) -> tuple[str, str, str] | None:
    """``(partition, account, role name)`` of an ``assumed-role`` session ARN."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        bits = parts[5].split("/")
        if len(bits) >= 3:
            return parts[1], parts[4], bits[1]
    return None


def _role_name(arn: str) -> tuple[str, str, str] | None:
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        return parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
    return None


@dataclass(frozen=True)
class _PrincipalMatcher:
    star: bool
    accounts: frozenset[tuple[str | None, str]]  # (partition, account); None: a bare id, any partition
    arns: frozenset[str]
    roles: frozenset[tuple[str, str, str]]
    services: frozenset[str]
    federated: frozenset[str]

    @classmethod
    def build(cls, spec: PrincipalSpec) -> _PrincipalMatcher:
        star = spec.star or "*" in spec.aws
        accounts: set[tuple[str | None, str]] = set()
        arns: set[str] = set()
        roles: set[tuple[str, str, str]] = set()
        for val in spec.aws:
            if val == "*":
                continue
            if len(val) == 12 and val.isdigit():
                accounts.add((None, val))
            elif (acct := _root_account(val)) is not None:
                accounts.add((arn_partition(val), acct))
            elif not _v.has_wildcard(val):
                arns.add(val)
                if (role := _role_name(val)) is not None:
                    roles.add(role)
        return cls(
            star=star,
            accounts=frozenset(accounts),
            arns=frozenset(arns),
            roles=frozenset(roles),
            services=frozenset(spec.service),
            federated=frozenset(spec.federated),
        )

    def strength(self, principal: Principal) -> int:
        if self.star:
            return _DIRECT
        ident = principal.identifier or ""
        if principal.kind == "aws":
            if ident in self.arns:
                return _DIRECT
            session = _role_session(ident)
            if session is not None and session in self.roles:
                return _DIRECT
            if principal.account is not None and (
                (None, principal.account) in self.accounts or (arn_partition(ident), principal.account) in self.accounts
            ):
                return _DIRECT if principal.is_account_root else _ACCOUNT
            return _NO
        if principal.kind == "service":
            return _DIRECT if ident in self.services else _NO
        if principal.kind == "federated":
            return _DIRECT if ident in self.federated else _NO
        return _NO


# --------------------------------------------------------------------------- conditions

_Values = tuple[str, ...] | None


def _value_test(spec: OperatorSpec, literals: tuple[str, ...]) -> Callable[[str], bool | None]:
    """A test of one request value against the OR of the literals (positive form); None = unreadable."""
    fam = spec.family
    if fam == "string":
        lits = frozenset(literals)
        return lambda val: val in lits
    if fam == "string_ic":
        folded = frozenset(lit.casefold() for lit in literals)
        return lambda val: val.casefold() in folded
    if fam == "like":
        globs = [_v.glob_matcher(lit) for lit in literals]
        return lambda val: any(g(val) for g in globs)
    if fam == "arn":
        arns = [_v.arn_matcher(lit) for lit in literals]
        return lambda val: any(m(val) for m in arns)
    if fam == "bool":
        want = {_v.parse_bool(lit) for lit in literals}

        def test_bool(val: str) -> bool | None:
            got = _v.parse_bool(val)
            return None if got is None else got in want

        return test_bool
    if fam == "binary":
        # The base64 text as given, compared as a string (the policy's literals are valid base64).
        texts = frozenset(literals)
        return lambda val: val in texts
    if fam == "ip":
        nets = [n for n in (_v.parse_network(lit) for lit in literals) if n is not None]

        def test_ip(val: str) -> bool | None:
            addr = _v.parse_address(val)
            if addr is None:
                return None
            return any(addr.version == net.version and addr in net for net in nets)

        return test_ip
    parse: Callable[[str], Any] = _v.parse_number if fam == "numeric" else _v.parse_date
    points = [p for p in (parse(lit) for lit in literals) if p is not None]
    cmp = _COMPARE[spec.compare]

    def test_ordered(val: str) -> bool | None:
        got = parse(val)
        if got is None:
            return None
        return any(cmp(got, p) for p in points)

    return test_ordered


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
}


_TEMPLATE_FAMILIES = {"string": "exact", "string_ic": "exact", "like": "glob", "arn": "arn"}


def _templates(cond: Condition) -> tuple[tuple[_pv.Piece, ...], ...] | None:
    """Compiled values of a String*/Arn* condition that uses policy variables (None: it uses none)."""
    fam = _TEMPLATE_FAMILIES.get(cond.spec.family)
    if fam is None or not any(_pv.has_variable(v) for v in cond.values):
        return None
    out = []
    for val in cond.values:
        use = fam if fam != "arn" or _pv.arn_shaped(val) else "glob"
        out.append(_pv.compile_template(val, use))
    return tuple(out)


def _template_test(spec: OperatorSpec, exprs: list[_s.Re]) -> Callable[[str], bool | None]:
    """A test of one request value against substituted templates (positive form)."""
    if spec.family == "string_ic":
        folded = frozenset((_pv.literal_text(e) or "").casefold() for e in exprs)
        return lambda val: val.casefold() in folded
    return lambda val: any(_s.matches(e, val) for e in exprs)


@dataclass(frozen=True)
class _CondMatcher:
    cond: Condition
    key: str
    test: Callable[[str], bool | None]
    null_wants_absent: frozenset[bool]
    templates: tuple[tuple[_pv.Piece, ...], ...] | None = None
    var_keys: tuple[str, ...] = ()

    @classmethod
    def build(cls, cond: Condition) -> _CondMatcher:
        wants = frozenset(bool(_v.parse_bool(v)) for v in cond.values) if cond.base == "Null" else frozenset()
        templates = _templates(cond)
        var_keys = tuple(dict.fromkeys(k for v in cond.values for k in _pv.uses_keys(v))) if templates else ()
        return cls(cond, cond.key.lower(), _value_test(cond.spec, cond.values), wants, templates, var_keys)

    def matches(self, values: _Values, context: Mapping[str, tuple[str, ...]] | None = None) -> bool:
        cond = self.cond
        test = self.test
        if self.templates is not None:
            # A variable that cannot be substituted (absent, multi-valued, no default): the condition is false.
            try:
                exprs = [_pv.substituted(t, context or {}) for t in self.templates]
            except _pv.Unresolved:
                return False
            test = _template_test(cond.spec, exprs)
        present = values is not None and len(values) > 0
        if cond.base == "Null":
            return (not present) in self.null_wants_absent
        negated = cond.spec.negated
        if values is None or (not values and cond.qualifier is None):
            if cond.if_exists or cond.qualifier == "ForAllValues":
                return True
            if cond.qualifier == "ForAnyValue":
                return False
            return negated
        results = []
        for val in values:
            hit = test(val)
            results.append(False if hit is None else (not hit if negated else hit))
        if cond.qualifier == "ForAllValues":
            return all(results)
        if cond.qualifier == "ForAnyValue":
            return any(results)
        return all(results) if negated else any(results)


# --------------------------------------------------------------------------- statements


def _lit_matcher(patterns: tuple[str, ...], *, ignore_case: bool) -> Callable[[str], bool]:
    globs = [_v.glob_matcher(p, ignore_case=ignore_case) for p in patterns]
    return lambda text: any(g(text) for g in globs)


class _CompiledStatement:
    """A statement with precompiled matchers and per-value caches."""

    __slots__ = (
        "_action",
        "_action_cache",
        "_cond_cache",
        "_principal",
        "_principal_cache",
        "_resource",
        "_resource_cache",
        "cond_keys",
        "conds",
        "deny",
        "not_principal",
        "ref",
        "res_templates",
    )

    def __init__(self, stmt: Statement, kind: PolicyKind) -> None:
        self.ref = StatementRef(stmt.index, stmt.sid)
        self.deny = stmt.effect == "Deny"
        self.not_principal = stmt.not_principal is not None
        spec = stmt.principal if stmt.principal is not None else stmt.not_principal
        self._principal: _PrincipalMatcher | None = _PrincipalMatcher.build(spec) if spec is not None else None
        if stmt.principal is None and stmt.not_principal is None and kind == "generic":
            self._principal = _PrincipalMatcher.build(PrincipalSpec(star=True))
        self._action = self._pair(stmt.action, stmt.not_action, ignore_case=True)
        self._resource = self._pair(stmt.resource, stmt.not_resource, ignore_case=False)
        pats = stmt.resource if stmt.resource is not None else stmt.not_resource
        # Resource / NotResource with policy variables: decided with the request context (conditions_match).
        self.res_templates: tuple[tuple[tuple[_pv.Piece, ...], ...], bool] | None = None
        res_keys: tuple[str, ...] = ()
        if pats is not None and any(_pv.has_variable(p) for p in pats):
            self.res_templates = (tuple(_pv.compile_template(p, "glob") for p in pats), stmt.resource is None)
            res_keys = tuple(k for p in pats for k in _pv.uses_keys(p))
        self.conds = tuple(_CondMatcher.build(c) for c in stmt.conditions)
        self.cond_keys = tuple(
            dict.fromkeys([*(c.key for c in self.conds), *(k for c in self.conds for k in c.var_keys), *res_keys])
        )
        self._action_cache: dict[str, bool] = {}
        self._resource_cache: dict[str, bool] = {}
        self._principal_cache: dict[Principal, int] = {}
        self._cond_cache: dict[tuple[_Values, ...], bool] = {}

    @staticmethod
    def _pair(pos: tuple[str, ...] | None, neg: tuple[str, ...] | None, *, ignore_case: bool) -> Callable[[str], bool]:
        if pos is not None:
            return _lit_matcher(pos, ignore_case=ignore_case)
        if neg is not None:
            inner = _lit_matcher(neg, ignore_case=ignore_case)
            return lambda text: not inner(text)
        return lambda _text: False

    def principal_strength(self, principal: Principal) -> int:
        cached = self._principal_cache.get(principal)
        if cached is None:
            if self._principal is None:
                cached = _NO
            elif self.not_principal:
                # Listing an account in NotPrincipal exempts the account root, not its roles and sessions.
                cached = _DIRECT if self._principal.strength(principal) != _DIRECT else _NO
            else:
                cached = self._principal.strength(principal)
            if len(self._principal_cache) < 4096:
                self._principal_cache[principal] = cached
        return cached

    def action_matches(self, action: str) -> bool:
        cached = self._action_cache.get(action)
        if cached is None:
            cached = self._action(action.lower())
            if len(self._action_cache) < 4096:
                self._action_cache[action] = cached
        return cached

    def resource_matches(self, resource: str) -> bool:
        """Whether Resource / NotResource matches (with policy variables: True, decided by conditions_match)."""
        if self.res_templates is not None:
            return True
        cached = self._resource_cache.get(resource)
        if cached is None:
            cached = self._resource(resource)
            if len(self._resource_cache) < 4096:
                self._resource_cache[resource] = cached
        return cached

    def templated_resource_matches(self, resource: str, context: Mapping[str, tuple[str, ...]]) -> bool:
        """Resource / NotResource with policy variables. A value whose substitution fails makes the whole
        statement not apply, whatever the other values say ("If AWS cannot resolve a variable this might cause
        the entire statement to be invalid", IAM User Guide, "IAM policy elements: Variables and tags")."""
        assert self.res_templates is not None
        templates, negate = self.res_templates
        hits = [_pv.matches(t, resource, context) for t in templates]
        if any(h is None for h in hits):
            return False
        return not any(hits) if negate else any(hits)

    def conditions_match(self, context: Mapping[str, tuple[str, ...]], resource: str = "") -> bool:
        if self.res_templates is not None and not self.templated_resource_matches(resource, context):
            return False
        if not self.conds:
            return True
        key = tuple(context.get(k) for k in self.cond_keys)
        cached = self._cond_cache.get(key)
        if cached is None:
            cached = all(c.matches(context.get(c.key), context) for c in self.conds)
            if len(self._cond_cache) < 4096:
                self._cond_cache[key] = cached
        return cached


class _CompiledPolicy:
    """A policy compiled for one kind, with caches of decisions by candidate statements and context."""

    __slots__ = ("_cands", "_derived", "_keys", "_verdicts", "statements")

    def __init__(self, policy: Policy, kind: PolicyKind) -> None:
        self.statements = tuple(_CompiledStatement(s, kind) for s in policy.statements)
        self._cands: dict[tuple[Principal, str, str], tuple[tuple[int, int], ...]] = {}
        self._keys: dict[tuple[tuple[int, int], ...], tuple[str, ...]] = {}
        self._verdicts: dict[tuple[Any, ...], Decision] = {}
        self._derived: dict[tuple[Principal, str | None], dict[str, tuple[str, ...]]] = {}

    def candidates(self, principal: Principal, action: str, resource: str) -> tuple[tuple[int, int], ...]:
        """(statement position, principal strength) of statements whose Principal, Action, Resource match."""
        slot = (principal, action, resource)
        found = self._cands.get(slot)
        if found is None:
            out = []
            for pos, stmt in enumerate(self.statements):
                strength = stmt.principal_strength(principal)
                if strength != _NO and stmt.action_matches(action) and stmt.resource_matches(resource):
                    out.append((pos, strength))
            found = tuple(out)
            if len(self._cands) < 16384:
                self._cands[slot] = found
        return found

    def derived(self, principal: Principal, resource_account: str | None) -> dict[str, tuple[str, ...]]:
        """The principal-derived context (cached)."""
        slot = (principal, resource_account)
        found = self._derived.get(slot)
        if found is None:
            found = _derived_context(principal, resource_account)
            if len(self._derived) < 1024:
                self._derived[slot] = found
        return found

    def decide(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, tuple[str, ...]]
    ) -> Decision:
        """Decide with a normalized context (lower-case keys, tuple values)."""
        cands = self.candidates(principal, action, resource)
        if not cands:
            return _IMPLICIT
        keys = self._keys.get(cands)
        if keys is None:
            keys = tuple(dict.fromkeys(k for pos, _strength in cands for k in self.statements[pos].cond_keys))
            self._keys[cands] = keys
        templated = any(self.statements[pos].res_templates is not None for pos, _strength in cands)
        slot = (cands, tuple(context.get(k) for k in keys), resource if templated else None)
        verdict = self._verdicts.get(slot)
        if verdict is None:
            verdict = self._decide(cands, context, resource)
            if len(self._verdicts) < 65536:
                self._verdicts[slot] = verdict
        return verdict

    def _decide(
        self, cands: tuple[tuple[int, int], ...], context: Mapping[str, tuple[str, ...]], resource: str
    ) -> Decision:
        denies: list[StatementRef] = []
        allows: list[StatementRef] = []
        delegated = True
        for pos, strength in cands:
            stmt = self.statements[pos]
            if (not stmt.deny and denies) or not stmt.conditions_match(context, resource):
                continue
            if stmt.deny:
                denies.append(stmt.ref)
            else:
                allows.append(stmt.ref)
                delegated = delegated and strength == _ACCOUNT
        if denies:
            return Decision("explicit_deny", tuple(denies))
        if allows:
            return Decision("allow", tuple(allows), delegated=delegated)
        return _IMPLICIT


_IMPLICIT = Decision("implicit_deny")
_COMPILED: dict[tuple[int, PolicyKind], tuple[weakref.ref[Policy], _CompiledPolicy]] = {}
_COMPILED_MAX = 64


def _check_kind(kind: str) -> None:
    if kind not in POLICY_KINDS:
        raise ValueError(f"policy_kind {kind!r} is not one of {', '.join(POLICY_KINDS)}")


def _compiled(policy: Policy, kind: PolicyKind) -> _CompiledPolicy:
    _check_kind(kind)
    slot = (id(policy), kind)
    entry = _COMPILED.get(slot)
    if entry is not None and entry[0]() is policy:
        return entry[1]
    compiled = _CompiledPolicy(policy, kind)
    if len(_COMPILED) >= _COMPILED_MAX:
        stale = [k for k, (ref, _c) in _COMPILED.items() if ref() is None] or list(_COMPILED)[: _COMPILED_MAX // 2]
        for k in stale:
            _COMPILED.pop(k, None)
    _COMPILED[slot] = (weakref.ref(policy), compiled)
    return compiled


class Evaluator:
    """Decides many requests against one policy; same answers as :func:`decide`, with caches."""

    def __init__(self, policy: Policy, *, policy_kind: PolicyKind, resource_account: str | None = None) -> None:
        _check_kind(policy_kind)
        self.policy = policy
        self.policy_kind = policy_kind
        self.resource_account = resource_account
        self._compiled = _CompiledPolicy(policy, policy_kind)

    def signature(self, principal: Principal, action: str, resource: str) -> Hashable:
        """Requests with equal signatures (and equal contexts) get equal decisions."""
        cands = self._compiled.candidates(principal, action, resource)
        if any(self._compiled.statements[pos].res_templates is not None for pos, _strength in cands):
            return (cands, resource)
        return cands

    def decide(self, request: Request) -> Decision:
        """Decide one request."""
        return self.decide_normalized(
            request.principal, request.action, request.resource, normalize_context(request.context)
        )

    def decide_normalized(
        self, principal: Principal, action: str, resource: str, context: Mapping[str, tuple[str, ...]]
    ) -> Decision:
        """Decide with a context already passed through :func:`normalize_context`."""
        full = dict(self._compiled.derived(principal, self.resource_account))
        full.update(context)
        return self._compiled.decide(principal, action, resource, full)


def normalize_context(context: Mapping[str, ContextValue]) -> dict[str, tuple[str, ...]]:
    """Lower-cased key names, every value as a tuple of strings."""
    out: dict[str, tuple[str, ...]] = {}
    for key, val in context.items():
        out[key.lower()] = (val,) if isinstance(val, str) else tuple(val)
    return out


def _derived_context(principal: Principal, resource_account: str | None) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    if principal.kind == "aws":
        if principal.identifier:
            out["aws:principalarn"] = (principal.identifier,)
        if principal.account:
            out["aws:principalaccount"] = (principal.account,)
        if principal.is_account_root:
            ptype = "Account"
        elif _role_name(principal.identifier or "") or _role_session(principal.identifier or ""):
            ptype = "AssumedRole"
        else:
            ptype = "User"
        out["aws:principaltype"] = (ptype,)
        out["aws:principalisawsservice"] = ("false",)
    elif principal.kind == "service":
        out["aws:principalservicename"] = (principal.identifier or "",)
        out["aws:principalisawsservice"] = ("true",)
    elif principal.kind == "anonymous":
        out["aws:principaltype"] = ("Anonymous",)
        out["aws:principalisawsservice"] = ("false",)
    else:
        out["aws:principaltype"] = ("FederatedUser",)
        out["aws:principalisawsservice"] = ("false",)
    if resource_account:
        out["aws:resourceaccount"] = (resource_account,)
    return out


def decide(
    policy: Policy,
    request: Request,
    *,
    policy_kind: PolicyKind,
    resource_account: str | None = None,
) -> Decision:
    """Evaluate one request against one resource policy (explicit Deny, else Allow, else implicit deny)."""
    compiled = _compiled(policy, policy_kind)
    context = dict(compiled.derived(request.principal, resource_account))
    context.update(normalize_context(request.context))
    return compiled.decide(request.principal, request.action, request.resource, context)
