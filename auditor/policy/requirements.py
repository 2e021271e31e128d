"""Requirements on resource policies, checked by enumerating concrete requests.

A requirement fixes the request-context keys it is about (``aws:SecureTransport``,
``s3:TlsVersion``, ``kms:GrantIsForAWSResource``, ...) and the keys derived from the
caller. Every other condition key that any statement mentions is enumerated: absent,
each literal in the policy (wildcards instantiated), and a fresh value. The check
must hold for **every** combination, unless the key is pinned in
:attr:`RequirementContext.pinned` (a value known for this environment, such as
``aws:PrincipalOrgID``). Only CloudWatch Logs' log-group ARN is existential: a key
policy may restrict the key to some log groups of the account and Region.

A finding shows the first request that breaks the requirement.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

from auditor.partitions import arn_partition, partition_of
from auditor.policy import values as _v
from auditor.policy.actions import KMS_KEY_ACTIONS, S3Action, s3_actions
from auditor.policy.evaluate import Decision, Evaluator, PolicyKind, Principal
from auditor.policy.model import Policy, PolicyError, parse_policy

AppliesTo = Literal["s3", "kms", "vpce"]
_T = TypeVar("_T")
MAX_CONTEXTS = 512
MAX_LISTED = 8
_OTHER_ACCOUNTS = ("999999999999", "111111111111")
_ACCOUNT_RE = re.compile(r"\d{12}")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_BUCKET_RE = re.compile(r"[A-Za-z0-9._-]{1,255}")
_DERIVED_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalservicename",
        "aws:principalisawsservice",
    }
)


class RequirementParamError(ValueError):
    """A parameter the requirement needs is missing or malformed."""


@dataclass(frozen=True)
class RequirementContext:
    """The environment a requirement is checked for.

    ``pinned`` holds request-context values known for this environment; pinned keys
    are set on every request instead of being enumerated.
    """

    account: str
    region: str
    bucket: str | None = None
    key_arn: str | None = None
    partition: str = ""
    """The ARN partition of the requests; by default the region's (aws, aws-us-gov, aws-cn)."""
    pinned: Mapping[str, str] = field(default_factory=dict)
    log_sources: tuple[str, ...] = ()
    """Buckets whose server access logs are delivered here (s3-allow-log-delivery), each under '<bucket>/'."""

    def __post_init__(self) -> None:
        if not self.partition:
            object.__setattr__(self, "partition", partition_of(self.region).name)


@dataclass(frozen=True)
class RequirementResult:
    """Outcome of one requirement on one policy.

    ``error`` set means the policy could not be judged (malformed, or a parameter missing):
    ``ok`` is then False and the caller reports an ERROR, never a PASS. ``notes`` are the
    parser's notes on parts of the policy that have no effect.
    """

    ok: bool
    violations: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    requests_evaluated: int = 0
    error: str | None = None
    requirement: str = ""
    notes: tuple[str, ...] = ()

    def to_json_value(self) -> dict[str, Any]:
        """The result as JSON data."""
        return {
            "requirement": self.requirement,
            "ok": self.ok,
            "error": self.error,
            "violations": list(self.violations),
            "warnings": list(self.warnings),
            "requests_evaluated": self.requests_evaluated,
            "notes": list(self.notes),
        }


CheckFn = Callable[[Policy, RequirementContext], RequirementResult]


@dataclass(frozen=True)
class Requirement:
    """A named, quantified check of a resource policy."""

    id: str
    title: str
    applies_to: AppliesTo
    params: tuple[str, ...]
    source: str
    run: CheckFn = field(repr=False, compare=False)

    def param_problems(self, ctx: RequirementContext) -> list[str]:
        """What is missing or malformed among the parameters this requirement needs."""
        return list(_param_problems(self.params, ctx))

    def check(self, policy: Policy, ctx: RequirementContext) -> RequirementResult:
        """Run the check; raise :class:`RequirementParamError` if a parameter is missing or malformed."""
        for problem in self.param_problems(ctx):
            raise RequirementParamError(f"{self.id}: {problem}")
        return dataclasses.replace(self.run(policy, ctx), notes=policy.notes)


def _param_problems(params: Iterable[str], ctx: RequirementContext) -> Iterator[str]:
    for name in params:
        value = getattr(ctx, name)
        if value is None or value == "":
            yield f"--{name.replace('_', '-')} is required by this requirement; give it"
        elif name == "account" and not _ACCOUNT_RE.fullmatch(value):
            yield f"account {value!r} is not a 12-digit AWS account id"
        elif name == "region" and not _REGION_RE.fullmatch(value):
            yield f"region {value!r} is not an AWS Region name such as eu-west-1"
        elif name == "bucket" and not _BUCKET_RE.fullmatch(value):
            yield f"bucket {value!r} is not a bucket name"
        elif name == "key_arn" and not value.startswith("arn:"):
            yield f"key_arn {value!r} is not an ARN"


# --------------------------------------------------------------------------- context enumeration

_Combo = tuple[tuple[str, str | None], ...]


@dataclass
class _KeyInfo:
    display: str
    families: set[str] = field(default_factory=set)
    literals: list[str] = field(default_factory=list)


def _collect_keys(policy: Policy) -> dict[str, _KeyInfo]:
    keys: dict[str, _KeyInfo] = {}
    for stmt in policy.statements:
        for cond in stmt.conditions:
            info = keys.setdefault(cond.key.lower(), _KeyInfo(cond.key))
            info.families.add(cond.spec.family)
            for val in cond.values:
                if val not in info.literals:
                    info.literals.append(val)
    return keys


def _instantiate(pattern: str) -> str:
    return pattern.replace("*", "x").replace("?", "x")


def _candidates(info: _KeyInfo, partition: str) -> list[str | None]:
    out: list[str | None] = [None]

    def add(value: str) -> None:
        if value not in out and len(out) < 24:
            out.append(value)

    fams = info.families
    for lit in info.literals:
        if fams & {"string", "string_ic", "like", "arn", "binary"}:
            add(lit)
            if fams & {"like", "arn"} and _v.has_wildcard(lit):
                add(_instantiate(lit))
        if "numeric" in fams and _v.parse_number(lit) is not None:
            add(lit)
        if "date" in fams and _v.parse_date(lit) is not None:
            add(lit)
        if "ip" in fams and (net := _v.parse_network(lit)) is not None:
            add(str(net.network_address))
    if fams & {"string", "string_ic", "like", "null"}:
        add("ccme-audit-fresh-value")
    if "arn" in fams:
        add(f"arn:{partition}:iam::000000000000:role/ccme-audit-fresh")
    if "numeric" in fams:
        nums = [n for n in (_v.parse_number(lit) for lit in info.literals) if n is not None] or [Decimal(0)]
        add(str(min(nums) - 1))
        add(str(max(nums) + 1))
    if "date" in fams:
        add("1970-01-01T00:00:00Z")
        add("2100-01-01T00:00:00Z")
    if "bool" in fams:
        add("true")
        add("false")
    if "ip" in fams:
        add("198.51.100.7")
        if any((n := _v.parse_network(lit)) is not None and n.version == 6 for lit in info.literals):
            add("2001:db8::7")
    if "binary" in fams:
        add("Y2NtZS1hdWRpdC1mcmVzaA==")
    return out


@dataclass(frozen=True)
class _Contexts:
    combos: tuple[_Combo, ...]
    truncated: int


def _enumerate_contexts(policy: Policy, fixed: Iterable[str], ctx: RequirementContext) -> _Contexts:
    skip = {k.lower() for k in fixed} | {k.lower() for k in ctx.pinned} | _DERIVED_KEYS
    infos = {k: info for k, info in _collect_keys(policy).items() if k not in skip}
    names = list(infos)
    choices = [_candidates(infos[k], ctx.partition) for k in names]
    total = 1
    for c in choices:
        total *= len(c)
    if total <= MAX_CONTEXTS:
        combos = [tuple(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]
        return _Contexts(tuple(combos), 0)
    # Too many: all-absent, each key alone, then the product in order up to the cap.
    seen: dict[_Combo, None] = {}
    base: list[str | None] = [None] * len(names)
    seen[tuple(zip(names, base, strict=True))] = None
    for i, options in enumerate(choices):
        for opt in options:
            row = list(base)
            row[i] = opt
            seen.setdefault(tuple(zip(names, row, strict=True)), None)
    for combo in itertools.product(*choices):
        if len(seen) >= MAX_CONTEXTS:
            break
        seen.setdefault(tuple(zip(names, combo, strict=True)), None)
    return _Contexts(tuple(seen), total - len(seen))


def _with(base: Mapping[str, str | None], combo: _Combo, pinned: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {k.lower(): (v,) for k, v in pinned.items()}
    for key, val in (*base.items(), *combo):
        if val is None:
            out.pop(key.lower(), None)
        else:
            out[key.lower()] = (val,)
    return out


@dataclass(frozen=True)
class _Probe:
    """One request context: the enumerated values (for messages) and the full normalized context."""

    combo: _Combo
    context: Mapping[str, tuple[str, ...]]


_Fixed = Mapping[str, str | None]


class _Run:
    """Shared bookkeeping: counts requests, keeps the first failures in order."""

    def __init__(
        self,
        requirement: str,
        policy: Policy,
        ctx: RequirementContext,
        kind: PolicyKind,
        resource_account: str | None,
        evaluator: Evaluator | None = None,
    ) -> None:
        self.requirement = requirement
        self.policy = policy
        self.ctx = ctx
        self.evaluator = evaluator or Evaluator(policy, policy_kind=kind, resource_account=resource_account)
        self.count = 0
        self.failures = 0
        self.violations: list[str] = []
        self.warnings: list[str] = []
        self._groups: set[tuple[Any, ...]] = set()
        self.displays = {k: info.display for k, info in _collect_keys(policy).items()}
        self._probes: dict[tuple[tuple[str, str | None], ...], tuple[_Probe, ...]] = {}

    def probes(self, fixed: _Fixed) -> tuple[_Probe, ...]:
        """Every context to try: ``fixed`` plus pinned keys plus each enumerated combination."""
        slot = tuple(sorted(fixed.items()))
        found = self._probes.get(slot)
        if found is None:
            contexts = _enumerate_contexts(self.policy, fixed, self.ctx)
            found = tuple(_Probe(c, _with(fixed, c, self.ctx.pinned)) for c in contexts.combos)
            self._probes[slot] = found
            if contexts.truncated:
                self.warn(
                    f"{contexts.truncated} combinations of condition-key values were not tried "
                    f"(cap {MAX_CONTEXTS}); pin known keys (--context KEY=VALUE) for a complete check"
                )
        return found

    def describe(self, probe: _Probe) -> str:
        """`` with k=v, ...`` for the enumerated keys that are present."""
        parts = [f"{self.displays.get(k, k)}={v}" for k, v in probe.combo if v is not None]
        return " with " + ", ".join(parts) if parts else ""

    def decide(self, principal: Principal, action: str, resource: str, probe: _Probe) -> Decision:
        self.count += 1
        return self.evaluator.decide_normalized(principal, action, resource, probe.context)

    def sweep(
        self,
        principal: Principal,
        resource: str,
        actions: Sequence[_T],
        probes: Sequence[_Probe],
        *,
        name: Callable[[_T], str],
        bad: Callable[[Decision], bool],
        group: Callable[[_T], tuple[Any, ...]],
        report: Callable[[_T, _Probe, Decision], str],
    ) -> None:
        """Decide every (action, probe); actions matched by the same statements are decided once."""
        classes: dict[Hashable, list[_T]] = {}
        for action in actions:
            sig = self.evaluator.signature(principal, name(action), resource)
            classes.setdefault(sig, []).append(action)
        for members in classes.values():
            for probe in probes:
                decision = self.evaluator.decide_normalized(principal, name(members[0]), resource, probe.context)
                self.count += len(members)
                if bad(decision):
                    for member in members:
                        self.fail(group(member), functools.partial(report, member, probe, decision))
                    break

    def fail(self, group: tuple[Any, ...], message: str | Callable[[], str]) -> None:
        self.failures += 1
        if group in self._groups or len(self.violations) >= MAX_LISTED:
            return
        self._groups.add(group)
        self.violations.append(message if isinstance(message, str) else message())

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def result(self, noun: str) -> RequirementResult:
        violations = list(self.violations)
        if self.failures > len(violations):
            violations.append(f"{self.failures} of {self.count} evaluated {noun} in total")
        return RequirementResult(
            requirement=self.requirement,
            ok=self.failures == 0,
            violations=tuple(violations),
            warnings=tuple(self.warnings),
            requests_evaluated=self.count,
        )


# --------------------------------------------------------------------------- S3 bucket policy


def _who(principal: Principal, account: str) -> str:
    if principal.kind != "aws":
        return principal.describe()
    rel = "same-account" if principal.account == account else "other-account"
    ident = principal.identifier or ""
    if principal.is_account_root:
        what = "root"
    elif ":role/" in ident or ":assumed-role/" in ident:
        what = "role"
    elif ":user/" in ident:
        what = "user"
    else:
        what = "principal"
    return f"{rel} {what} {ident}"


def _other_account(account: str) -> str:
    return next(a for a in _OTHER_ACCOUNTS if a != account)


MAX_PROBE_PRINCIPALS = 16


def _probe_principals(policy: Policy, ctx: RequirementContext) -> tuple[list[Principal], int]:
    """Anonymous, same-account root and role, another account's role, a service; then principals the policy names."""
    p, acct = ctx.partition, ctx.account
    other = _other_account(acct)
    out: dict[Principal, None] = dict.fromkeys(
        [
            Principal.anonymous(),
            Principal.aws(f"arn:{p}:iam::{acct}:root"),
            Principal.aws(f"arn:{p}:iam::{acct}:role/ccme-audit-probe"),
            Principal.aws(f"arn:{p}:iam::{other}:role/ccme-audit-probe"),
            Principal.service("logging.s3.amazonaws.com"),
        ]
    )
    for stmt in policy.statements:
        for spec in (stmt.principal, stmt.not_principal):
            if spec is None:
                continue
            for val in spec.aws:
                if val == "*" or _v.has_wildcard(val):
                    continue
                if _ACCOUNT_RE.fullmatch(val) or val.endswith(":root"):
                    named = Principal.aws(val)
                    out.setdefault(Principal.aws(f"arn:{p}:iam::{named.account}:root"), None)
                    out.setdefault(Principal.aws(f"arn:{p}:iam::{named.account}:role/ccme-audit-probe"), None)
                elif val.startswith("arn:") and arn_partition(val) == p:
                    # An identity of another partition cannot call this partition's resources.
                    out.setdefault(Principal.aws(val), None)
            for val in spec.service:
                out.setdefault(Principal.service(val), None)
            for val in spec.federated:
                out.setdefault(Principal.federated(val), None)
    everyone = list(out)
    return everyone[:MAX_PROBE_PRINCIPALS], max(0, len(everyone) - MAX_PROBE_PRINCIPALS)


def _bucket_resources(policy: Policy, ctx: RequirementContext) -> tuple[str, list[str]]:
    """The bucket ARN, and object ARNs: ``bucket/key`` plus those the policy's Resource patterns name."""
    bucket_arn = f"arn:{ctx.partition}:s3:::{ctx.bucket}"
    objects: dict[str, None] = {f"{bucket_arn}/key": None}
    prefix = bucket_arn + "/"
    for stmt in policy.statements:
        for vals in (stmt.resource, stmt.not_resource):
            for val in vals or ():
                arn = _instantiate(val)
                if arn.startswith(prefix) and len(objects) < 8:
                    objects.setdefault(arn, None)
    return bucket_arn, list(objects)


def _s3_sweep(run: _Run, fixed: _Fixed, words: str, tag: str) -> None:
    """Every S3 action on the bucket and its objects, by every probe principal, must be explicitly denied."""
    policy, ctx = run.policy, run.ctx
    bucket_arn, objects = _bucket_resources(policy, ctx)
    probes = run.probes(fixed)
    targets = [(obj, s3_actions(level="object")) for obj in objects] + [(bucket_arn, s3_actions(level="bucket"))]
    principals, dropped = _probe_principals(policy, ctx)
    if dropped:
        run.warn(f"{dropped} principals named by the policy were not probed (cap {MAX_PROBE_PRINCIPALS})")
    for principal in principals:
        who = _who(principal, ctx.account)
        for resource, actions in targets:

            def report(
                action: S3Action, probe: _Probe, decision: Decision, resource: str = resource, who: str = who
            ) -> str:
                return (
                    f"{action.name} on {resource} {words} by {who}{run.describe(probe)} is not denied "
                    f"({decision.describe()})"
                )

            run.sweep(
                principal,
                resource,
                actions,
                probes,
                name=lambda a: a.full,
                bad=lambda d: not d.explicitly_denied,
                group=functools.partial(_s3_group, tag, principal),
                report=report,
            )


def _s3_group(tag: str, principal: Principal, action: S3Action) -> tuple[Any, ...]:
    """Violations listed: one per action class and resource level (the first request of each)."""
    del principal
    return (tag, action.level, action.access)


def _check_s3_insecure_transport(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("s3-deny-insecure-transport", policy, ctx, "s3", ctx.account)
    fixed = {"aws:SecureTransport": "false", "s3:TlsVersion": None}
    _s3_sweep(run, fixed, "over plain HTTP (aws:SecureTransport=false)", "http")
    return run.result("requests are not denied")


def _mentions_tls(policy: Policy, decision: Decision) -> str | None:
    for ref in decision.statements:
        stmt = policy.statements[ref.index]
        if any(c.key.lower() == "s3:tlsversion" for c in stmt.conditions):
            return stmt.label
    return None


def _check_s3_tls(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("s3-deny-tls-below-1.2", policy, ctx, "s3", ctx.account)
    for version in ("1.0", "1.1"):
        fixed = {"aws:SecureTransport": "true", "s3:TlsVersion": version}
        _s3_sweep(run, fixed, f"over TLS {version} (s3:TlsVersion={version}, aws:SecureTransport=true)", version)
    bucket_arn, objects = _bucket_resources(policy, ctx)
    role = Principal.aws(f"arn:{ctx.partition}:iam::{ctx.account}:role/ccme-audit-probe")
    for version in ("1.2", "1.3"):
        fixed = {"aws:SecureTransport": "true", "s3:TlsVersion": version}
        found = False
        for action, resource in (("s3:GetObject", objects[0]), ("s3:ListBucket", bucket_arn)):
            for probe in run.probes(fixed):
                decision = run.decide(role, action, resource, probe)
                label = _mentions_tls(policy, decision) if decision.explicitly_denied else None
                if label:
                    run.warn(
                        f"{action.removeprefix('s3:')} on {resource} over TLS {version} by "
                        f"{_who(role, ctx.account)}{run.describe(probe)} is denied by {label}: the TLS "
                        "condition also blocks TLS 1.2+ clients; deny only s3:TlsVersion below 1.2 "
                        '(NumericLessThan "1.2")'
                    )
                    found = True
                    break
            if found:
                break
    return run.result("requests are not denied")


# --------------------------------------------------------------------------- KMS key policy


def _key_arn(ctx: RequirementContext) -> str:
    return ctx.key_arn or f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account}:key/00000000-0000-0000-0000-000000000000"


def _kms(*names: str) -> tuple[str, ...]:
    return tuple(f"kms:{n}" for n in names)


KMS_USE_ACTIONS = _kms(
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "DescribeKey",
)
"""What the AutoScaling role and CloudWatch Logs must be allowed, whatever the other condition keys."""
KMS_PAIR_ACTIONS = _kms("GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext")
KMS_GRANT_ACTIONS = _kms("CreateGrant", "ListGrants", "RevokeGrant")


def _require_allowed(
    run: _Run,
    principal: Principal,
    who: str,
    actions: Sequence[str],
    resource: str,
    fixed: _Fixed,
    *,
    accept_delegated: bool,
    extra: str = "",
) -> None:
    """Every action allowed to the principal in every enumerated context."""
    shown = "".join(f" {k}={v}" for k, v in fixed.items() if k.startswith("kms:GrantIs") and v is not None)

    def report(action: str, probe: _Probe, decision: Decision) -> str:
        where = f"{action} on {resource} by {who}"
        if shown:
            where += f" with{shown}"
        where += run.describe(probe)
        if decision.allowed:
            labels = ", ".join(ref.label for ref in decision.statements)
            why = (
                f"is allowed only by the account statement ({labels}), a delegation to IAM policies that a "
                "service or service-linked role does not get: name the principal in the key policy"
            )
        elif decision.explicitly_denied:
            why = f"is {decision.describe()}"
        else:
            why = f"is not allowed ({decision.describe()})"
        return f"{where} {why}{extra}"

    run.sweep(
        principal,
        resource,
        actions,
        run.probes(fixed),
        name=lambda a: a,
        bad=lambda d: not (d.allowed and (accept_delegated or not d.delegated)),
        group=lambda a: (principal, resource, a),
        report=report,
    )


def _check_kms_root(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("kms-root-full-access", policy, ctx, "kms", ctx.account)
    root = Principal.aws(f"arn:{ctx.partition}:iam::{ctx.account}:root")
    fixed = {"aws:SecureTransport": "true", "kms:CallerAccount": ctx.account}
    _require_allowed(
        run,
        root,
        f"the account root {root.identifier}",
        KMS_KEY_ACTIONS,
        _key_arn(ctx),
        fixed,
        accept_delegated=False,
    )
    return run.result("requests by the account root are not allowed")


AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def _check_kms_dcv(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("kms-dcv-proxy-autoscaling", policy, ctx, "kms", ctx.account)
    role = Principal.aws(f"arn:{ctx.partition}:iam::{ctx.account}:{AUTOSCALING_ROLE}")
    who = f"the AutoScaling service-linked role {role.identifier}"
    key = _key_arn(ctx)
    base = {"aws:SecureTransport": "true", "kms:CallerAccount": ctx.account}
    _require_allowed(
        run,
        role,
        who,
        KMS_USE_ACTIONS,
        key,
        {**base, "kms:GrantIsForAWSResource": None},
        accept_delegated=False,
    )
    _require_allowed(
        run,
        role,
        who,
        KMS_GRANT_ACTIONS,
        key,
        {**base, "kms:GrantIsForAWSResource": "true"},
        accept_delegated=False,
    )
    for value in ("false", None):
        shown = f"kms:GrantIsForAWSResource={value}" if value else "kms:GrantIsForAWSResource absent"

        def report(action: str, probe: _Probe, decision: Decision, shown: str = shown) -> str:
            return (
                f"{action} on {key} by {who} with {shown}{run.describe(probe)} is {decision.describe()}: "
                'grants are unrestricted; add the condition Bool "kms:GrantIsForAWSResource": "true"'
            )

        run.sweep(
            role,
            key,
            ("kms:CreateGrant",),
            run.probes({**base, "kms:GrantIsForAWSResource": value}),
            name=lambda a: a,
            bad=lambda d: d.allowed and not d.delegated,
            group=lambda a: ("unrestricted-grant",),
            report=report,
        )
    return run.result("requests break the requirement")


_LOGS_SERVICE = re.compile(r"logs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?")


def _log_group_candidates(policy: Policy, ctx: RequirementContext) -> list[str]:
    """A probe log group of the account and Region, plus those the policy's log-group conditions name."""
    p, region, acct = ctx.partition, ctx.region, ctx.account
    out: dict[str, None] = {f"arn:{p}:logs:{region}:{acct}:log-group:ccme-audit-probe": None}
    expected = ("arn", p, "logs", region, acct)
    for stmt in policy.statements:
        for cond in stmt.conditions:
            if cond.key.lower() not in ("kms:encryptioncontext:aws:logs:arn", "aws:sourcearn"):
                continue
            for lit in cond.values:
                parts = lit.split(":", 5)
                if len(parts) != 6:
                    continue
                if not all(_v.glob_matcher(pat)(want) for pat, want in zip(parts[:5], expected, strict=True)):
                    continue
                name = _instantiate(parts[5])
                if name.startswith("log-group:") and len(out) < 8:
                    out.setdefault(":".join((*expected, name)), None)
    return list(out)


def _check_kms_logs(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("kms-cloudwatch-logs", policy, ctx, "kms", ctx.account)
    service = f"logs.{ctx.region}.amazonaws.com"
    principal = Principal.service(service)
    key = _key_arn(ctx)
    wrong = sorted(
        {
            val
            for stmt in policy.statements
            if stmt.effect == "Allow" and stmt.principal is not None
            for val in stmt.principal.service
            if (m := _LOGS_SERVICE.fullmatch(val)) and m.group(1) != ctx.region
        }
    )
    extra = ""
    if wrong:
        extra = f"; the policy names {', '.join(wrong)}, the CloudWatch Logs principal of another Region: use {service}"
    best: _Run | None = None
    for group in _log_group_candidates(policy, ctx):
        trial = _Run(run.requirement, policy, ctx, "kms", ctx.account, evaluator=run.evaluator)
        fixed = {
            "aws:SecureTransport": "true",
            "kms:EncryptionContext:aws:logs:arn": group,
            "aws:SourceArn": group,
            "aws:SourceAccount": ctx.account,
        }
        who = f"{service} for log group {group}"
        _require_allowed(trial, principal, who, KMS_USE_ACTIONS, key, fixed, accept_delegated=False, extra=extra)
        run.count += trial.count
        for message in trial.warnings:
            run.warn(message)
        if best is None or trial.failures < best.failures:
            best = trial
        if trial.failures == 0:
            for action in KMS_PAIR_ACTIONS:
                if not all(run.decide(principal, action, key, probe).allowed for probe in trial.probes(fixed)):
                    run.warn(f"{action} is not allowed to {service}: narrower than the seed's kms:GenerateDataKey*")
            break
    if best is not None:
        run.failures = best.failures
        run.violations = list(best.violations)
    if wrong and run.failures == 0:
        run.warn(f"the policy also names {', '.join(wrong)}, the CloudWatch Logs principal of another Region")
    return run.result("requests by CloudWatch Logs are not allowed")


# --------------------------------------------------------------------------- VPC endpoint policy


def _check_vpce(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("vpce-s3-parallelcluster", policy, ctx, "vpce", None)
    p, region = ctx.partition, ctx.region
    role = Principal.aws(f"arn:{p}:iam::{ctx.account}:role/ccme-audit-probe")
    who = f"same-account role {role.identifier}"
    fixed: dict[str, str | None] = {"aws:SecureTransport": "true"}
    needs = (
        ("s3:PutObject", f"arn:{p}:s3:::cloudformation-waitcondition-{region}/ccme-audit-probe"),
        ("s3:GetObject", f"arn:{p}:s3:::{region}-aws-parallelcluster/ccme-audit-probe"),
        ("s3:GetObject", f"arn:{p}:s3:::dcv-license.{region}/ccme-audit-probe"),
    )
    for action, resource in needs:
        _require_allowed(run, role, who, (action,), resource, fixed, accept_delegated=True)
    stranger = Principal.aws(f"arn:{p}:iam::{_other_account(ctx.account)}:role/ccme-audit-probe")
    first = run.probes(fixed)[:1]
    open_all = all(
        run.decide(stranger, action, resource, probe).allowed
        for action, resource in (
            ("s3:DeleteBucket", f"arn:{p}:s3:::ccme-audit-unrelated-bucket"),
            ("ec2:TerminateInstances", f"arn:{p}:ec2:{region}:{ctx.account}:instance/i-0123456789abcdef0"),
        )
        for probe in first
    )
    if open_all:
        run.warn(
            "the endpoint policy allows every action on every resource to every principal: it is not "
            "restrictive (the default full-access policy)"
        )
    return run.result("requests are not allowed")


def _check_s3_log_delivery(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    """S3 server access logging (logging.s3.amazonaws.com) may put objects under each source's prefix."""
    run = _Run("s3-allow-log-delivery", policy, ctx, "s3", ctx.account)
    service = Principal.service("logging.s3.amazonaws.com")
    sources = ctx.log_sources or ("source-bucket",)
    for source in sources:
        fixed = {
            "aws:SecureTransport": "true",
            "s3:TlsVersion": "1.2",
            "aws:SourceAccount": ctx.account,
            "aws:SourceArn": f"arn:{ctx.partition}:s3:::{source}",
        }
        _require_allowed(
            run,
            service,
            f"S3 server access logging for {source}",
            ("s3:PutObject",),
            f"arn:{ctx.partition}:s3:::{ctx.bucket}/{source}/2026-01-01-00-00-00-0123456789ABCDEF",
            fixed,
            accept_delegated=False,
        )
    return run.result("S3 server access logging cannot deliver log objects")


# --------------------------------------------------------------------------- registry

_SEED = "seed 000"
REQUIREMENTS: Mapping[str, Requirement] = {
    r.id: r
    for r in (
        Requirement(
            "s3-deny-insecure-transport",
            "Bucket policy denies every request over plain HTTP (aws:SecureTransport false), bucket and objects",
            "s3",
            ("account", "region", "bucket"),
            f"{_SEED}, S3 Bucket Policy allowing only TLS > 1.2 (enforce-tls-requests-only)",
            _check_s3_insecure_transport,
        ),
        Requirement(
            "s3-deny-tls-below-1.2",
            "Bucket policy denies every request with TLS below 1.2, bucket and objects",
            "s3",
            ("account", "region", "bucket"),
            f"{_SEED}, S3 Bucket Policy allowing only TLS > 1.2 (enforce-tls-12-requests-only)",
            _check_s3_tls,
        ),
        Requirement(
            "s3-allow-log-delivery",
            "Bucket policy lets S3 server access logging (logging.s3.amazonaws.com) put log objects under "
            "each logged bucket's prefix",
            "s3",
            ("account", "region", "bucket"),
            f"{_SEED}, S3 Storage (the logging bucket stores the access logs of the other buckets); "
            "S3 User Guide, enabling server access logging (bucket policy for the logging service principal)",
            _check_s3_log_delivery,
        ),
        Requirement(
            "kms-root-full-access",
            "Key policy allows the account root every KMS action on the key, and no Deny removes it",
            "kms",
            ("account", "region"),
            f"{_SEED}, KMS key policies (Enable IAM User Permissions)",
            _check_kms_root,
        ),
        Requirement(
            "kms-dcv-proxy-autoscaling",
            "Key policy lets the AutoScaling service-linked role use the key, and create grants only for AWS resources",
            "kms",
            ("account", "region"),
            f"{_SEED}, DCV Proxy EBS key policy; EC2 Auto Scaling guide, key policy for EBS encryption",
            _check_kms_dcv,
        ),
        Requirement(
            "kms-cloudwatch-logs",
            "Key policy lets CloudWatch Logs of the deployment Region use the key",
            "kms",
            ("account", "region"),
            f"{_SEED}, CloudWatch key policy; CloudWatch Logs guide, encrypt log data using AWS KMS",
            _check_kms_logs,
        ),
        Requirement(
            "vpce-s3-parallelcluster",
            "S3 gateway endpoint policy lets the cluster reach the ParallelCluster, wait-condition and DCV "
            "license buckets",
            "vpce",
            ("account", "region"),
            "ParallelCluster user guide, single subnet with no internet access (S3 endpoint policy)",
            _check_vpce,
        ),
    )
}


def check_document(doc: str | bytes | Mapping[str, Any], req_id: str, ctx: RequirementContext) -> RequirementResult:
    """Parse, then check. A malformed policy, an unknown id or a missing parameter gives ``error``."""
    requirement = REQUIREMENTS.get(req_id)
    if requirement is None:
        known = ", ".join(REQUIREMENTS)
        return RequirementResult(ok=False, requirement=req_id, error=f"unknown requirement {req_id!r}; known: {known}")
    problems = requirement.param_problems(ctx)
    if problems:
        return RequirementResult(ok=False, requirement=req_id, error=f"{req_id}: {problems[0]}")
    try:
        policy = parse_policy(doc)
    except PolicyError as exc:
        return RequirementResult(ok=False, requirement=req_id, error=exc.message)
    return requirement.check(policy, ctx)
