"""Requirements on resource policies, decided for every request by an SMT solver.

Each requirement is a question "is there a request of this shape that the policy treats
badly?" put to :mod:`auditor.policy.solver`: the principal, the action (from the
requirement's catalogue), the resource (the bucket, or *any* object key; the key) and
every condition key the policy names are symbolic, except the keys the requirement is
about (``aws:SecureTransport``, ``s3:TlsVersion``, ``kms:GrantIsForAWSResource``, ...)
and those the user states as known (``--context KEY=VALUE``, :attr:`RequirementContext.pinned`),
which narrow the claim and are printed with the verdict.

* No such request (unsat): the requirement holds, for every request (PASS).
* A request (sat): it is replayed through the concrete evaluator, which names the
  statement that decides it; it is shown as the evidence (FAIL).
* The solver cannot say, or the policy uses a construct that is not encoded:
  :attr:`RequirementResult.error` is set (ERROR), never a PASS.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from auditor.partitions import partition_of
from auditor.policy.actions import KMS_KEY_ACTIONS, S3_ACTIONS
from auditor.policy.evaluate import PolicyKind, Principal
from auditor.policy.model import Policy, PolicyError, parse_policy
from auditor.policy.solver import (
    DERIVED_KEYS,
    Answer,
    Linked,
    PrincipalKindName,
    Query,
    Resources,
    Undecided,
    Witness,
    solve,
)

AppliesTo = Literal["s3", "kms", "vpce"]
MAX_LISTED = 8
_OTHER_ACCOUNTS = ("999999999999", "111111111111")
_ACCOUNT_RE = re.compile(r"\d{12}")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_BUCKET_RE = re.compile(r"[A-Za-z0-9._-]{1,255}")
_LOG_GROUP_PREFIX_RE = re.compile(r"[A-Za-z0-9._/#-]{1,511}")


class RequirementParamError(ValueError):
    """A parameter the requirement needs is missing or malformed."""


@dataclass(frozen=True)
class RequirementContext:
    """The environment a requirement is checked for.

    ``pinned`` holds request-context values known for this environment: stated
    assumptions that narrow the claim ("PASS, assuming aws:SourceVpce = vpce-1").
    A pinned key derived from the caller (aws:PrincipalAccount, ...) limits the callers.
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
    log_group_prefix: str = ""
    """kms-cloudwatch-logs: the log groups (name prefix) CloudWatch Logs must be able to encrypt; '' = all."""

    def __post_init__(self) -> None:
        if not self.partition:
            object.__setattr__(self, "partition", partition_of(self.region).name)


@dataclass(frozen=True)
class RequirementResult:
    """Outcome of one requirement on one policy.

    ``error`` set means the policy could not be judged (malformed, a parameter missing, a
    construct the solver does not encode, or a solver timeout): ``ok`` is then False and the
    caller reports an ERROR, never a PASS. ``violations`` describe witness requests (also in
    ``witnesses`` as data). ``assumptions`` are the stated context values the verdict rests on.
    ``notes`` are the parser's notes on parts of the policy that have no effect.
    """

    ok: bool
    violations: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    requirement: str = ""
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    witnesses: tuple[Mapping[str, Any], ...] = ()
    solver_checks: int = 0
    warning_witnesses: tuple[Mapping[str, Any] | None, ...] = ()
    """One per warning: the request it is about, as data, or None when it is about the policy as a whole."""

    @property
    def verdict(self) -> str:
        """PASS, FAIL or ERROR."""
        if self.error is not None:
            return "ERROR"
        return "PASS" if self.ok else "FAIL"

    def claim(self) -> str:
        """What the verdict says, with its assumptions: ``PASS, assuming aws:SourceVpce = vpce-1``."""
        text = self.verdict
        if self.assumptions:
            text += ", assuming " + " and ".join(self.assumptions)
        return text

    def to_json_value(self) -> dict[str, Any]:
        """The result as JSON data."""
        return {
            "requirement": self.requirement,
            "verdict": self.verdict,
            "ok": self.ok,
            "error": self.error,
            "violations": list(self.violations),
            "warnings": list(self.warnings),
            "assumptions": list(self.assumptions),
            "witnesses": [dict(w) for w in self.witnesses],
            "warning_witnesses": [dict(w) if w is not None else None for w in self.warning_witnesses],
            "decided_by": "z3",
            "solver_checks": self.solver_checks,
            "notes": list(self.notes),
        }


CheckFn = Callable[[Policy, RequirementContext], RequirementResult]


@dataclass(frozen=True)
class Requirement:
    """A named check of a resource policy, decided for every request."""

    id: str
    title: str
    applies_to: AppliesTo
    params: tuple[str, ...]
    source: str
    run: CheckFn = field(repr=False, compare=False)

    def param_problems(self, ctx: RequirementContext) -> list[str]:
        """What is missing or malformed among the parameters this requirement needs."""
        problems = list(_param_problems(self.params, ctx))
        if ctx.log_group_prefix and not _LOG_GROUP_PREFIX_RE.fullmatch(ctx.log_group_prefix):
            problems.append(
                f"log group prefix {ctx.log_group_prefix!r} is not a log group name prefix "
                "(letters, digits, '._/#-', at most 511)"
            )
        return problems

    def check(self, policy: Policy, ctx: RequirementContext) -> RequirementResult:
        """Run the check; raise :class:`RequirementParamError` if a parameter is missing or malformed."""
        for problem in self.param_problems(ctx):
            raise RequirementParamError(f"{self.id}: {problem}")
        assumptions = tuple(f"{k} = {v}" for k, v in ctx.pinned.items())
        try:
            result = self.run(policy, ctx)
        except Undecided as exc:
            result = RequirementResult(ok=False, requirement=self.id, error=f"cannot be decided: {exc}")
        return dataclasses.replace(result, notes=policy.notes, assumptions=assumptions)


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


# --------------------------------------------------------------------------- asking the solver


class _Run:
    """One requirement on one policy: asks the solver, collects violations and warnings."""

    def __init__(
        self, requirement: str, policy: Policy, ctx: RequirementContext, kind: PolicyKind, resource_account: str | None
    ) -> None:
        self.requirement = requirement
        self.policy = policy
        self.ctx = ctx
        self.kind = kind
        self.resource_account = resource_account
        self.violations: list[str] = []
        self.warnings: list[str] = []
        self.witnesses: list[Mapping[str, Any]] = []
        self.warning_witnesses: list[Mapping[str, Any] | None] = []
        self.checks = 0
        self.fixed = {k: v for k, v in ctx.pinned.items() if k.lower() not in DERIVED_KEYS}
        self.assume = {k: v for k, v in ctx.pinned.items() if k.lower() in DERIVED_KEYS}

    def ask(self, query: Query, limit: int = 1) -> Answer:
        """Witnesses of ``query`` (none: proved), with the stated context applied."""
        fixed = {**query.fixed, **self.fixed}
        query = dataclasses.replace(query, fixed=fixed, assume={**query.assume, **self.assume})
        answer = solve(
            self.policy,
            query,
            kind=self.kind,
            resource_account=self.resource_account,
            partition=self.ctx.partition,
            limit=limit,
        )
        self.checks += answer.checks
        return answer

    def room(self) -> int:
        return max(0, MAX_LISTED - len(self.violations))

    def fail(self, answer: Answer, describe: Callable[[Witness, str], str]) -> None:
        for witness in answer.witnesses:
            if len(self.violations) >= MAX_LISTED:
                break
            text = describe(witness, witness.context_text(answer.displays))
            if witness.alike:
                names = ", ".join(a.removeprefix("s3:") for a in witness.alike[:3])
                more = ", ..." if len(witness.alike) > 3 else ""
                text += f" (so are {len(witness.alike)} more actions alike: {names}{more})"
            self.violations.append(text)
            self.witnesses.append(witness.to_json_value())

    def warn(self, message: str, witness: Witness | None = None) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            self.warning_witnesses.append(witness.to_json_value() if witness is not None else None)

    def result(self) -> RequirementResult:
        return RequirementResult(
            requirement=self.requirement,
            ok=not self.violations,
            violations=tuple(self.violations),
            warnings=tuple(self.warnings),
            witnesses=tuple(self.witnesses),
            solver_checks=self.checks,
            warning_witnesses=tuple(self.warning_witnesses),
        )


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


def _why(witness: Witness) -> str:
    return witness.decision.describe()


# --------------------------------------------------------------------------- S3 bucket policy

_S3_ACTIONS = tuple(a for a in S3_ACTIONS if a.level in ("bucket", "object"))
_S3_NAMES = tuple(a.full for a in _S3_ACTIONS)


def _s3_groups() -> tuple[int, ...]:
    seen: dict[tuple[str, str], int] = {}
    return tuple(seen.setdefault((a.level, a.access), len(seen)) for a in _S3_ACTIONS)


def _s3_resources(ctx: RequirementContext) -> tuple[Resources, ...]:
    bucket_arn = f"arn:{ctx.partition}:s3:::{ctx.bucket}"
    bucket_acts = tuple(i for i, a in enumerate(_S3_ACTIONS) if a.level == "bucket")
    object_acts = tuple(i for i, a in enumerate(_S3_ACTIONS) if a.level == "object")
    return (Resources(bucket_arn, bucket_acts), Resources(bucket_arn + "/", object_acts, any_suffix=True))


def _s3_deny_all(run: _Run, fixed: Mapping[str, str | None], words: str) -> None:
    """Every S3 action on the bucket and any of its objects, by any caller, must be explicitly denied."""
    if not run.room():
        return
    query = Query(
        actions=_S3_NAMES,
        resources=_s3_resources(run.ctx),
        bad="not_denied",
        fixed=fixed,
        groups=_s3_groups(),
    )

    def describe(w: Witness, ctx_text: str) -> str:
        return (
            f"{w.action.removeprefix('s3:')} on {w.resource} {words} by {_who(w.principal, run.ctx.account)}"
            f"{ctx_text} is not denied ({_why(w)})"
        )

    run.fail(run.ask(query, limit=run.room()), describe)


def _check_s3_insecure_transport(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("s3-deny-insecure-transport", policy, ctx, "s3", ctx.account)
    fixed = {"aws:SecureTransport": "false", "s3:TlsVersion": None}
    _s3_deny_all(run, fixed, "over plain HTTP (aws:SecureTransport=false)")
    return run.result()


def _check_s3_tls(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("s3-deny-tls-below-1.2", policy, ctx, "s3", ctx.account)
    for version in ("1.0", "1.1"):
        fixed = {"aws:SecureTransport": "true", "s3:TlsVersion": version}
        _s3_deny_all(run, fixed, f"over TLS {version} (s3:TlsVersion={version}, aws:SecureTransport=true)")
    # Over-strictness (judged by a rule of its own): TLS 1.2+ callers of the account denied by a TLS condition.
    bucket_arn = f"arn:{ctx.partition}:s3:::{ctx.bucket}"
    for version in ("1.2", "1.3"):
        query = Query(
            actions=("s3:GetObject", "s3:ListBucket"),
            resources=(Resources(bucket_arn + "/", (0,), any_suffix=True), Resources(bucket_arn, (1,))),
            bad="denied_by_tls",
            kinds=("aws",),
            account=ctx.account,
            aws_shapes=("role", "session"),
            fixed={"aws:SecureTransport": "true", "s3:TlsVersion": version},
        )
        answer = run.ask(query)
        if answer.witnesses:
            w = answer.witnesses[0]
            labels = ", ".join(r.label for r in w.decision.statements)
            run.warn(
                f"{w.action.removeprefix('s3:')} on {w.resource} over TLS {version} by "
                f"{_who(w.principal, ctx.account)}{w.context_text(answer.displays)} is denied by {labels}: the TLS "
                "condition also blocks TLS 1.2+ clients; deny only s3:TlsVersion below 1.2 "
                '(NumericLessThan "1.2")',
                w,
            )
            break
    return run.result()


def _check_s3_log_delivery(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    """S3 server access logging (logging.s3.amazonaws.com) may put any object under each source's prefix."""
    run = _Run("s3-allow-log-delivery", policy, ctx, "s3", ctx.account)
    service = Principal.service("logging.s3.amazonaws.com")
    for source in ctx.log_sources or ("source-bucket",):
        fixed = {
            "aws:SecureTransport": "true",
            "s3:TlsVersion": "1.2",
            "aws:SourceAccount": ctx.account,
            "aws:SourceArn": f"arn:{ctx.partition}:s3:::{source}",
        }
        query = Query(
            actions=("s3:PutObject",),
            resources=(Resources(f"arn:{ctx.partition}:s3:::{ctx.bucket}/{source}/", (0,), any_suffix=True),),
            bad="not_granted",
            principal=service,
            fixed=fixed,
        )
        def describe(w: Witness, c: str, source: str = source) -> str:
            return f"PutObject on {w.resource} by S3 server access logging for {source}{c} is {_not_granted(w)}"

        run.fail(run.ask(query), describe)
    return run.result()


def _not_granted(w: Witness) -> str:
    decision = w.decision
    if decision.allowed:
        labels = ", ".join(ref.label for ref in decision.statements)
        return (
            f"allowed only by the account statement ({labels}), a delegation to IAM policies that a "
            "service or service-linked role does not get: name the principal in the policy"
        )
    if decision.explicitly_denied:
        return decision.describe()
    return f"not allowed ({decision.describe()})"


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


def _require_granted(
    run: _Run,
    principal: Principal,
    who: str,
    actions: Sequence[str],
    fixed: Mapping[str, str | None],
    *,
    linked: Linked | None = None,
    extra: str = "",
) -> None:
    """Every action is allowed to the principal (by a statement naming it), whatever the other keys."""
    if not run.room():
        return
    shown = "".join(f" {k}={v}" for k, v in fixed.items() if k.startswith("kms:GrantIs") and v is not None)
    query = Query(
        actions=tuple(actions),
        resources=(Resources(_key_arn(run.ctx), tuple(range(len(actions)))),),
        bad="not_granted",
        principal=principal,
        fixed=fixed,
        linked=linked,
        groups=tuple(range(len(actions))),
    )

    def describe(w: Witness, ctx_text: str) -> str:
        where = f"{w.action} on {w.resource} by {who}"
        if linked is not None:
            where += f" for log group {w.context.get(linked.keys[0].lower(), ('?',))[0]}"
        if shown:
            where += f" with{shown}"
        return f"{where}{ctx_text} is {_not_granted(w)}{extra}"

    run.fail(run.ask(query, limit=run.room()), describe)


def _check_kms_root(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("kms-root-full-access", policy, ctx, "kms", ctx.account)
    root = Principal.aws(f"arn:{ctx.partition}:iam::{ctx.account}:root")
    fixed = {"aws:SecureTransport": "true", "kms:CallerAccount": ctx.account}
    _require_granted(run, root, f"the account root {root.identifier}", KMS_KEY_ACTIONS, fixed)
    return run.result()


AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def _check_kms_dcv(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("kms-dcv-proxy-autoscaling", policy, ctx, "kms", ctx.account)
    role = Principal.aws(f"arn:{ctx.partition}:iam::{ctx.account}:{AUTOSCALING_ROLE}")
    who = f"the AutoScaling service-linked role {role.identifier}"
    key = _key_arn(ctx)
    base = {"aws:SecureTransport": "true", "kms:CallerAccount": ctx.account}
    _require_granted(run, role, who, KMS_USE_ACTIONS, {**base, "kms:GrantIsForAWSResource": None})
    _require_granted(run, role, who, KMS_GRANT_ACTIONS, {**base, "kms:GrantIsForAWSResource": "true"})
    for value in ("false", None):
        shown = f"kms:GrantIsForAWSResource={value}" if value else "kms:GrantIsForAWSResource absent"
        query = Query(
            actions=("kms:CreateGrant",),
            resources=(Resources(key, (0,)),),
            bad="granted",
            principal=role,
            fixed={**base, "kms:GrantIsForAWSResource": value},
        )
        answer = run.ask(query)
        if answer.witnesses and run.room():
            def grant(w: Witness, c: str, shown: str = shown) -> str:
                return (
                    f"kms:CreateGrant on {key} by {who} with {shown}{c} is {w.decision.describe()}: "
                    'grants are unrestricted; add the condition Bool "kms:GrantIsForAWSResource": "true"'
                )

            run.fail(answer, grant)
            break
    return run.result()


_LOGS_SERVICE = re.compile(r"logs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?")
_LOG_GROUP_CHARS = "A-Za-z0-9._/#-"


def _check_kms_logs(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    """CloudWatch Logs of the Region may use the key for every log group of the account in the Region
    (or, with ``log_group_prefix``, for every one whose name starts with it)."""
    run = _Run("kms-cloudwatch-logs", policy, ctx, "kms", ctx.account)
    service = f"logs.{ctx.region}.amazonaws.com"
    principal = Principal.service(service)
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
    linked = Linked(
        ("kms:EncryptionContext:aws:logs:arn", "aws:SourceArn"),
        f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account}:log-group:{ctx.log_group_prefix}",
        _LOG_GROUP_CHARS,
    )
    fixed = {"aws:SecureTransport": "true", "aws:SourceAccount": ctx.account}
    _require_granted(run, principal, service, KMS_USE_ACTIONS, fixed, linked=linked, extra=extra)
    if not run.violations:
        query = Query(
            actions=KMS_PAIR_ACTIONS,
            resources=(Resources(_key_arn(ctx), (0, 1)),),
            bad="not_granted",
            principal=principal,
            fixed=fixed,
            linked=linked,
            groups=(0, 1),
        )
        for w in run.ask(query, limit=2).witnesses:
            run.warn(f"{w.action} is not allowed to {service}: narrower than the seed's kms:GenerateDataKey*", w)
    if wrong and not run.violations:
        run.warn(f"the policy also names {', '.join(wrong)}, the CloudWatch Logs principal of another Region")
    return run.result()


# --------------------------------------------------------------------------- access from outside the account

_OUTSIDE_FIXED: Mapping[str, str | None] = {
    # A caller of another account, in no organization, calling directly (not through an AWS service for us).
    "aws:PrincipalOrgID": None,
    "aws:PrincipalOrgPaths": None,
    "aws:SourceAccount": None,
    "aws:SourceArn": None,
    "aws:SourceOrgID": None,
    "aws:SourceOrgPaths": None,
}


def _check_kms_outside(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    """No AWS principal of another account (or "*") may use or administer the key, unless limited to the
    account or an organization. Service principals are judged by their own requirements."""
    run = _Run("kms-no-outside-access", policy, ctx, "kms", ctx.account)
    query = Query(
        actions=KMS_KEY_ACTIONS,
        resources=(Resources(_key_arn(ctx), tuple(range(len(KMS_KEY_ACTIONS)))),),
        bad="allowed",
        kinds=("aws",),
        outside_account=ctx.account,
        fixed=_OUTSIDE_FIXED,
        groups=tuple(range(len(KMS_KEY_ACTIONS))),
    )

    def describe(w: Witness, c: str) -> str:
        return (
            f"{w.action} on {w.resource} by {_who(w.principal, ctx.account)}{c} is {w.decision.describe()}: "
            "limit the statement to the account (aws:PrincipalAccount, kms:CallerAccount) or the organization "
            "(aws:PrincipalOrgID)"
        )

    run.fail(run.ask(query, limit=run.room()), describe)
    return run.result()


def _check_kms_service_confused_deputy(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    """No service principal the key policy names may use the key for another account: a condition on
    aws:SourceAccount, aws:SourceArn or (CloudWatch Logs) kms:EncryptionContext:aws:logs:arn limits it
    to this account (the confused deputy problem). Decided by the solver for every request the service
    makes on behalf of another account, by each service principal named and by any other (a "*" principal
    matches every service)."""
    run = _Run("kms-service-confused-deputy", policy, ctx, "kms", ctx.account)
    other = _other_account(ctx.account)
    services = sorted(
        {
            val
            for stmt in policy.statements
            if stmt.effect == "Allow" and stmt.principal is not None
            for val in stmt.principal.service
        }
    )
    # A service no statement names stands for every other one (a "*" principal covers them all).
    for service in [*services, _PROBE_SERVICE]:
        for sourced in (True, False):  # aws:SourceAccount / aws:SourceArn sent (another account's) or not
            if not run.room():
                break
            _deputy_query(run, service, other, sourced)
    return run.result()


_PROBE_SERVICE = "ccme-audit-probe.amazonaws.com"


def _deputy_query(run: _Run, service: str, other: str, sourced: bool) -> None:
    ctx = run.ctx
    fixed: dict[str, str | None] = {
        "aws:SecureTransport": "true",
        "aws:SourceAccount": other if sourced else None,
        "aws:SourceOrgID": None,
        "aws:SourceOrgPaths": None,
    }
    linked = None
    if _LOGS_SERVICE.fullmatch(service):
        # CloudWatch Logs always names the log group in the encryption context.
        region = service.split(".")[1]
        keys: tuple[str, ...] = ("kms:EncryptionContext:aws:logs:arn",)
        if sourced:
            keys += ("aws:SourceArn",)
        linked = Linked(keys, f"arn:{ctx.partition}:logs:{region}:{other}:log-group:", _LOG_GROUP_CHARS)
        if not sourced:
            fixed["aws:SourceArn"] = None
    else:
        name = service.split(".")[0]
        probe = f"arn:{ctx.partition}:{name}:{ctx.region}:{other}:ccme-audit-probe"
        fixed["aws:SourceArn"] = probe if sourced else None
    query = Query(
        actions=KMS_KEY_ACTIONS,
        resources=(Resources(_key_arn(ctx), tuple(range(len(KMS_KEY_ACTIONS)))),),
        bad="allowed",
        principal=Principal.service(service),
        fixed=fixed,
        linked=linked,
    )

    def describe(w: Witness, c: str) -> str:
        where = f"aws:SourceAccount={other}" if sourced else "no aws:SourceAccount or aws:SourceArn"
        if linked is not None:
            where += f", {linked.keys[0]}={w.context.get(linked.keys[0].lower(), ('?',))[0]}"
        return (
            f"{w.action} on {w.resource} by service principal {service} on behalf of account {other} "
            f"({where}){c} is {w.decision.describe()}: no confused-deputy condition limits it to the account "
            "(aws:SourceAccount, aws:SourceArn, or kms:EncryptionContext:aws:logs:arn for CloudWatch Logs)"
        )

    run.fail(run.ask(query), describe)


def _check_s3_outside(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    """No anonymous caller and no AWS principal of another account may be allowed on the bucket or its
    objects, unless limited to the organization. Service principals are judged by their own requirements."""
    run = _Run("s3-no-outside-access", policy, ctx, "s3", ctx.account)
    query = Query(
        actions=_S3_NAMES,
        resources=_s3_resources(ctx),
        bad="allowed",
        kinds=("anonymous", "aws", "federated"),
        outside_account=ctx.account,
        fixed=_OUTSIDE_FIXED,
        groups=_s3_groups(),
    )

    def describe(w: Witness, c: str) -> str:
        return (
            f"{w.action.removeprefix('s3:')} on {w.resource} by {_who(w.principal, ctx.account)}{c} is "
            f"{w.decision.describe()}: the bucket is reachable from outside the account"
        )

    run.fail(run.ask(query, limit=run.room()), describe)
    return run.result()


# --------------------------------------------------------------------------- VPC endpoint policy


def _check_vpce(policy: Policy, ctx: RequirementContext) -> RequirementResult:
    run = _Run("vpce-s3-parallelcluster", policy, ctx, "vpce", None)
    p, region = ctx.partition, ctx.region
    fixed: dict[str, str | None] = {"aws:SecureTransport": "true"}
    kinds: tuple[PrincipalKindName, ...] = ("aws",)
    needs = (
        ("s3:PutObject", f"arn:{p}:s3:::cloudformation-waitcondition-{region}/"),
        ("s3:GetObject", f"arn:{p}:s3:::{region}-aws-parallelcluster/"),
        ("s3:GetObject", f"arn:{p}:s3:::dcv-license.{region}/"),
    )
    for action, prefix in needs:
        query = Query(
            actions=(action,),
            resources=(Resources(prefix, (0,), any_suffix=True),),
            bad="not_allowed",
            kinds=kinds,
            account=ctx.account,
            aws_shapes=("role", "session"),
            fixed=fixed,
        )
        run.fail(
            run.ask(query),
            lambda w, c: (
                f"{w.action} on {w.resource} by {_who(w.principal, ctx.account)}{c} is not allowed "
                f"({w.decision.describe()})"
            ),
        )
    stranger = Principal.aws(f"arn:{p}:iam::{_other_account(ctx.account)}:role/ccme-audit-probe")
    query = Query(
        actions=("s3:DeleteBucket", "ec2:TerminateInstances"),
        resources=(
            Resources(f"arn:{p}:s3:::ccme-audit-unrelated-bucket", (0,)),
            Resources(f"arn:{p}:ec2:{region}:{ctx.account}:instance/i-0123456789abcdef0", (1,)),
        ),
        bad="not_allowed",
        principal=stranger,
        fixed=fixed,
    )
    if not run.ask(query).witnesses:
        run.warn(
            "the endpoint policy allows every action on every resource to every principal: it is not "
            "restrictive (the default full-access policy)"
        )
    return run.result()


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
            "s3-no-outside-access",
            "Bucket policy allows no anonymous caller and no principal of another account (unless limited to the "
            "organization)",
            "s3",
            ("account", "region", "bucket"),
            f"{_SEED}, S3 Storage (BlockPublicPolicy: True; the buckets hold the account's cluster data); "
            "S3 User Guide, blocking public access (what makes a bucket policy public)",
            _check_s3_outside,
        ),
        Requirement(
            "kms-no-outside-access",
            "Key policy lets no AWS principal of another account (or *) use or administer the key without a "
            "condition limiting it to the account or the organization",
            "kms",
            ("account", "region"),
            f"{_SEED}, KMS key policies (only the account root and named roles or services of the account); "
            "KMS Developer Guide, allowing users in other accounts to use a KMS key",
            _check_kms_outside,
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
            "kms-service-confused-deputy",
            "Key policy lets no service principal use the key on behalf of another account (confused deputy)",
            "kms",
            ("account", "region"),
            "IAM User Guide, the confused deputy problem; CloudWatch Logs guide, encrypt log data using AWS KMS",
            _check_kms_service_confused_deputy,
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
