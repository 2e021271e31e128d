"""Evaluate rules over a snapshot: pure, deterministic, fails closed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.config import AuditConfig
from auditor.engine import operators
from auditor.engine.findings import Finding, Status, summarize
from auditor.engine.rules import Rule
from auditor.engine.values import MissingParameter, UnknownValue, compile_path, read, render
from auditor.resources import resource_types
from auditor.snapshot import (
    CollectionError,
    Resource,
    Snapshot,
    generated_clash,
    is_generated,
    unknown,
)

WILDCARD_RESOURCE = "*"
# The start of the SKIPPED message of a rule that needs a configuration value that is not set (outside --complete).
NEEDS_VALUE = "needs the configuration value "
# Why a rule that asserts that a resource exists is SKIPPED on templates not declared complete.
INCOMPLETE_HINT = ("pass --complete (or set iac.complete: true) if these templates describe the whole CCME "
                   "prerequisite set")
CONTEXT_PARAMS = frozenset({
    "region", "account", "kms_prefix", "buckets.logging", "buckets.internals", "buckets.userdata", "buckets.logged",
    "dhcp_domain_name", "network.vpc_id", "network.vpc_name", "secret_name", "certificate_domain",
    "network.cluster_subnets",
})


class SnapshotIndex:
    """Resources and collection errors by type and region, with lazily built value indexes."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_type_region: dict[tuple[str, str | None], list[Resource]] = {}
        self._type_errors: dict[str, list[CollectionError]] = defaultdict(list)
        self._resource_errors: dict[tuple[str, str], list[CollectionError]] = defaultdict(list)
        self._value_index: dict[tuple[str, str | None, str], dict[Any, list[int]]] = {}
        self._exact_index: dict[tuple[str, str | None, str], dict[Any, list[int]]] = {}
        types = resource_types()
        self._regional = {name: t.regional for name, t in types.items()}
        for error in snapshot.errors:
            if error.resource_id is None:
                self._type_errors[error.resource_type].append(error)
            else:
                self._resource_errors[(error.resource_type, error.resource_id)].append(error)
        for resource in snapshot.resources:
            self._by_type[resource.type].append(self._with_unknowns(resource))

    def _with_unknowns(self, resource: Resource) -> Resource:
        """Make sure an attribute named by a per-resource collection error reads as unknown."""
        errors = self._resource_errors.get((resource.type, resource.id))
        if not errors:
            return resource
        attributes = dict(resource.attributes)
        for error in errors:
            attribute = _error_attribute(error)
            if attribute and not _is_marked(attributes.get(attribute)):
                attributes[attribute] = unknown(f"{error.code} on {error.operation}: {error.message}")
        return Resource(type=resource.type, id=resource.id, attributes=attributes, name=resource.name,
                        region=resource.region, account=resource.account, location=resource.location)

    def resources(self, rtype: str, region: str | None) -> list[Resource]:
        key = (rtype, region)
        cached = self._by_type_region.get(key)
        if cached is None:
            everything = self._by_type.get(rtype, [])
            if region is None or not self._regional.get(rtype, True):
                cached = everything
            else:
                cached = [r for r in everything if r.region in (region, None)]
            self._by_type_region[key] = cached
        return cached

    def type_errors(self, rtype: str, region: str | None) -> list[CollectionError]:
        return [e for e in self._type_errors.get(rtype, []) if e.region in (None, region) or region is None]

    def whole_resource_errors(self, resource: Resource) -> list[CollectionError]:
        return [e for e in self._resource_errors.get((resource.type, resource.id), []) if not _error_attribute(e)]

    def by_value(self, rtype: str, region: str | None, path: str) -> dict[Any, list[int]]:
        """Positions of a type's resources keyed by the value at path (list values indexed per element)."""
        key = (rtype, region, path)
        index = self._value_index.get(key)
        if index is None:
            index = defaultdict(list)
            for position, resource in enumerate(self.resources(rtype, region)):
                try:
                    value = _envelope_or_read(resource, path)
                except UnknownValue:
                    index[_UNKNOWN].append(position)
                    continue
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str | int | float | bool) or item is None:
                        index[item].append(position)
                    elif is_generated(item):
                        index[_GENERATED].append(position)
            self._value_index[key] = index
        return index

    def by_exact_value(self, rtype: str, region: str | None, path: str) -> dict[Any, list[int]]:
        """Positions of a type's resources keyed by the scalar `lookup` compares at path
        (operators.lookup_value: an unknown value is None); resources with a list or mapping there
        are left out, as no scalar equals them."""
        key = (rtype, region, path)
        index = self._exact_index.get(key)
        if index is None:
            index = defaultdict(list)
            for position, resource in enumerate(self.resources(rtype, region)):
                value = operators.lookup_value(resource, path)
                if _scalar(value):
                    index[value].append(position)
            self._exact_index[key] = index
        return index


_UNKNOWN = object()
_GENERATED = object()  # by_value key of the resources holding a name generated at deployment


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _is_marked(value: Any) -> bool:
    return isinstance(value, dict) and "$unknown" in value


def _error_attribute(error: CollectionError) -> str | None:
    return error.attribute


def _generated_collision(resource: Resource, path: str, values: Sequence[Any]) -> str | None:
    """Why a generated name at path could still turn out to be one of values (None: it cannot)."""
    value = _envelope_or_read(resource, path)
    for item in value if isinstance(value, list) else [value]:
        if is_generated(item):
            for wanted in values:
                reason = generated_clash(item, wanted)
                if reason is not None:
                    return reason
    return None


def _envelope_or_read(resource: Resource, path: str) -> Any:
    if path.startswith("@"):
        return getattr(resource, path[1:], None)
    return read(resource.attributes, path)


@dataclass
class _Ctx:
    resource: Resource
    index: SnapshotIndex
    region: str | None
    resource_params: dict[str, Any] = field(default_factory=dict)

    def lookup(self, rtype: str) -> Sequence[Resource]:
        errors = self.index.type_errors(rtype, self.region)
        if errors:
            raise UnknownValue(f"{rtype} could not be collected: {_describe_errors(errors)}")
        return self.index.resources(rtype, self.region)

    def matching(self, rtype: str, wanted: Mapping[str, Any]) -> Sequence[Resource]:
        """Through the exact-value index of the first scalar wanted value (linear in the matches, not
        in the type's resources), else a scan; either way every wanted value is checked."""
        everything = self.lookup(rtype)
        for path, value in wanted.items():
            if _scalar(value):
                positions = self.index.by_exact_value(rtype, self.region, path).get(value, [])
                return [r for r in (everything[p] for p in positions) if operators.matches(r, wanted)]
        return [r for r in everything if operators.matches(r, wanted)]

    def render(self, value: Any) -> Any:
        if isinstance(value, str) and "{resource." not in value:
            return value
        if isinstance(value, int | float | bool) or value is None:
            return value
        if not self.resource_params:
            r = self.resource
            self.resource_params.update({"resource.id": r.id, "resource.name": r.name or r.id,
                                         "resource.region": r.region, "resource.account": r.account})
        return render(value, self.resource_params)


def _describe_errors(errors: Sequence[CollectionError]) -> str:
    first = errors[0]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first.code} on {first.operation}: {first.message}{more}"


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    account: str | None
    regions: tuple[str, ...]
    rules: tuple[Rule, ...]
    evaluated_at: str
    # How long a live scan waited in retries, and on which operations (auditor/collect/retry.py).
    retries: Mapping[str, Any] | None = None

    @property
    def summary(self) -> dict[str, Any]:
        return summarize(self.findings)


_WAIT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "operation": str, "region": str, "retries": int, "throttled": int, "seconds": (int, float), "gave_up": int,
}


def retry_waits(value: Any) -> dict[str, Any] | None:
    """A snapshot's `options.retries`, if it has the shape the runner writes; None otherwise.

    A snapshot is input: a hand-edited or hostile one must not reach a formatter with another shape.
    """
    if not isinstance(value, Mapping):
        return None
    total, rows = value.get("wait_seconds"), value.get("operations")
    if isinstance(total, bool) or not isinstance(total, int | float) or not isinstance(rows, list):
        return None
    clean = []
    for row in rows:
        if not isinstance(row, Mapping) or not all(
            isinstance(row.get(k), kind) and not isinstance(row.get(k), bool) for k, kind in _WAIT_FIELDS.items()
        ):
            return None
        clean.append({k: row[k] for k in _WAIT_FIELDS})
    return {"wait_seconds": float(total), "operations": clean}


def merge_waits(parts: Sequence[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """The waits of several scans (accounts) together; None when none was a live scan."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    rows = [row for p in present for row in p["operations"]]
    rows.sort(key=lambda r: (-r["seconds"], r["operation"], r["region"]))
    return {"wait_seconds": round(sum(p["wait_seconds"] for p in present), 3), "operations": rows}


class _RuleRun:
    """Evaluate one rule in one region."""

    def __init__(self, rule: Rule, index: SnapshotIndex, params: Mapping[str, Any], region: str | None,
                 account: str | None, complete: bool = True):
        self.rule = rule
        self.complete = complete
        self.index = index
        self.params = params
        self.region = region
        self.account = account
        # The parameters a remediation may need: those the rule reads, and the account's identity.
        keep = CONTEXT_PARAMS | rule.parameters
        self.context_params = {k: v for k, v in params.items() if k in keep}
        self.context = {"params": self.context_params}
        try:
            self.title = str(render(rule.title, params))
        except MissingParameter:
            self.title = rule.title

    def finding(self, resource_id: str, status: Status, message: str, *, resource: Resource | None = None,
                evidence: tuple[Mapping[str, Any], ...] = (), location: Mapping[str, Any] | None = None) -> Finding:
        """`location`: where a finding on no resource points (a missing value's near miss in a template)."""
        rule = self.rule
        context: Mapping[str, Any] = self.context
        if resource is not None:
            context = {"params": self.context_params, "attributes": resource.attributes}
        return Finding(
            rule_id=rule.id, title=self.title, pack=rule.pack, area=rule.area, resource_type=rule.resource_type,
            resource_id=resource_id, status=status, severity=rule.severity, message=message, source=rule.source,
            evidence=evidence, region=(resource.region if resource is not None and resource.region else self.region),
            account=(resource.account if resource is not None and resource.account else self.account),
            resource_name=resource.name if resource is not None else None,
            location=(resource.location.to_json() if resource is not None and resource.location
                      else dict(location) if location else None),
            remediation=rule.remediation, context=context,
        )

    def run(self) -> list[Finding]:
        rule = self.rule
        missing_options = [o for o in rule.scope.options if not self.params.get(f"options.{o}")]
        if missing_options:
            flag = "--" + missing_options[0].replace("_", "-")
            return [self.finding(WILDCARD_RESOURCE, Status.SKIPPED,
                                 f"needs the opt-in option {missing_options[0]} ({flag})")]
        try:
            where = render(rule.scope.where, self.params, keep_prefix="resource.") if rule.scope.where else None
            missing_id = render(rule.scope.missing_id, self.params) if rule.scope.missing_id else None
        except MissingParameter as exc:
            return [self._missing_parameter(exc)]
        findings: list[Finding] = []
        type_errors = self.index.type_errors(rule.resource_type, self.region)
        candidates, undecided = self._in_scope(where)
        try:
            # Only a resource in scope needs the assertion's parameters: with none, an unset one is no error.
            assertion = render(rule.assertion, self.params, keep_prefix="resource.") if candidates else {}
        except MissingParameter as exc:
            return [self._missing_parameter(exc)]
        for resource, reason in undecided:
            findings.append(self.finding(resource.id, Status.ERROR,
                                         f"cannot tell whether this resource is in scope: {reason}",
                                         resource=resource))
        if type_errors:
            findings.append(self.finding(
                missing_id or WILDCARD_RESOURCE, Status.ERROR,
                f"{rule.resource_type} could not be collected: {_describe_errors(type_errors)}"))
        elif not candidates and not undecided and rule.scope.expect == "at_least_one":
            # A typo of the required value FAILs named in every mode: outside a complete run (where a missing
            # value is SKIPPED) on the typo itself; in a complete run the missing value's FAIL names it too.
            near = self._near_misses(where) if rule.scope.near_miss else []
            if near and not self.complete:
                findings.extend(self._near_miss_finding(resource, value, wanted, path)
                                for resource, value, wanted, path in near)
            elif near:
                resource, value, wanted, path = near[0]
                others = "".join(f", {v!r}" for _, v, _, _ in near[1:])
                findings.append(self.finding(
                    missing_id or WILDCARD_RESOURCE, Status.FAIL,
                    f"not found: no {rule.resource_type} matches the rule's scope ({_describe_where(where)}); "
                    f"{value!r}{others} is a near miss of {wanted!r} (a typo: a character added, dropped or "
                    "swapped, '_' for '-', or case)",
                    location=resource.location.to_json() if resource.location else None,
                    evidence=({"check": f"{path} = {wanted!r}", "observed": value, "near_miss_of": wanted,
                               "near_miss": resource.id},)))
            elif rule.scope.required_when and not any(self.params.get(p) for p in rule.scope.required_when):
                names = " or ".join(rule.scope.required_when)
                findings.append(self.finding(
                    missing_id or WILDCARD_RESOURCE, Status.SKIPPED,
                    f"not judged: no {rule.resource_type} matches the rule's scope "
                    f"({_describe_where(where)}), and the configuration does not say one must exist "
                    f"({rule.scope.not_required_hint or f'set {names} to require it'})"))
            elif self.complete:
                findings.append(self.finding(
                    missing_id or WILDCARD_RESOURCE, Status.FAIL,
                    f"not found: no {rule.resource_type} matches the rule's scope "
                    f"({_describe_where(where)})",
                    evidence=({"check": f"a {rule.resource_type} exists", "observed": None},)))
            else:
                findings.append(self.finding(
                    missing_id or WILDCARD_RESOURCE, Status.SKIPPED,
                    f"existence not judged: no {rule.resource_type} in this run matches the rule's scope "
                    f"({_describe_where(where)}); {INCOMPLETE_HINT}"))
        for resource in candidates:
            findings.append(self._evaluate_resource(resource, assertion))
        return findings

    def _near_misses(self, where: Mapping[str, Any] | None) -> list[tuple[Resource, str, str, str]]:
        """The resources whose value is a typo of the one required value nothing has: (resource, its value,
        the required value, the path read)."""
        args = (where or {}).get("equals")
        if not isinstance(args, Mapping) or not isinstance(args.get("value"), str):
            return []
        wanted, path = args["value"], args["path"]
        found = []
        for resource in self.index.resources(self.rule.resource_type, self.region):
            try:
                value = _envelope_or_read(resource, path)
            except UnknownValue:
                continue
            if isinstance(value, str) and near_miss(value, wanted):
                found.append((resource, value, wanted, path))
        return found

    def _near_miss_finding(self, resource: Resource, value: str, wanted: str, path: str) -> Finding:
        return self.finding(
            resource.id, Status.FAIL,
            f"{value!r} is a near miss of {wanted!r}, which nothing in this run is: a typo (a character "
            f"added, dropped or swapped, '_' for '-', or case) that leaves the required {wanted!r} absent",
            resource=resource,
            evidence=({"check": f"{path} = {wanted!r}", "observed": value},))

    def _missing_parameter(self, exc: MissingParameter) -> Finding:
        how = f"set it in ccme-audit.yaml or with --set {exc.name}=VALUE"
        if not self.complete:
            # Templates that are a part of the whole: a value the configuration leaves unset is an opt-out of the
            # rules that need it (the run's notes name the values that would enable them), not a failed check.
            return self.finding(WILDCARD_RESOURCE, Status.SKIPPED,
                                f"{NEEDS_VALUE}'{exc.name}', which the configuration does not set ({how})")
        return self.finding(
            WILDCARD_RESOURCE, Status.ERROR,
            f"the configuration does not set '{exc.name}', which this rule needs ({how})")

    def _in_scope(self, where: Mapping[str, Any] | None) -> tuple[list[Resource], list[tuple[Resource, str]]]:
        rtype = self.rule.resource_type
        if where is None:
            return list(self.index.resources(rtype, self.region)), []
        fast = _indexable(where)
        if fast is not None:
            path, values = fast
            table = self.index.by_value(rtype, self.region, path)
            everything = self.index.resources(rtype, self.region)
            picked = sorted({position for value in values for position in table.get(value, ())})
            undecided = [(everything[p], _unknown_reason(everything[p], path)) for p in table.get(_UNKNOWN, ())]
            for p in table.get(_GENERATED, ()):
                # Out of scope (it can never be a configured name) unless a value has the generated shape.
                reason = _generated_collision(everything[p], path, values)
                if reason is not None:
                    undecided.append((everything[p], reason))
            return [everything[p] for p in picked], undecided
        inside: list[Resource] = []
        undecided = []
        for resource in self.index.resources(rtype, self.region):
            ctx = _Ctx(resource, self.index, self.region)
            try:
                if operators.evaluate(where, ctx, resource.attributes).ok:
                    inside.append(resource)
            except UnknownValue as exc:
                undecided.append((resource, str(exc)))
        return inside, undecided

    def _evaluate_resource(self, resource: Resource, assertion: Mapping[str, Any]) -> Finding:
        errors = self.index.whole_resource_errors(resource)
        if errors:
            return self.finding(resource.id, Status.ERROR,
                                f"the resource could not be read: {_describe_errors(errors)}", resource=resource)
        ctx = _Ctx(resource, self.index, self.region)
        try:
            outcome = operators.evaluate(assertion, ctx, resource.attributes)
        except UnknownValue as exc:
            where = f" (reading {exc.path})" if exc.path else ""
            return self.finding(resource.id, Status.ERROR, f"evidence unavailable{where}: {exc.reason}",
                                resource=resource)
        except MissingParameter as exc:
            return self.finding(resource.id, Status.ERROR, f"parameter '{exc.name}' is not set", resource=resource)
        if outcome.ok:
            return self.finding(resource.id, Status.PASS, "compliant", resource=resource, evidence=outcome.evidence)
        return self.finding(resource.id, Status.FAIL, self._fail_message(ctx, outcome), resource=resource,
                            evidence=outcome.evidence)

    def _fail_message(self, ctx: _Ctx, outcome: operators.Outcome) -> str:
        violations = [e["violation"] for e in outcome.evidence if "violation" in e]
        if violations:  # a policy verdict: the first breaking request says it; the evidence lists the rest
            details = violations[0] + (f" (+{len(violations) - 1} more in the evidence)" if len(violations) > 1 else "")
        else:
            details = "; ".join(
                f"expected {e['check']}, observed {_short(e.get('observed'))}" for e in outcome.evidence[:3]
            )
        if self.rule.message:
            values = {**self.params, **{
                "resource.id": ctx.resource.id, "resource.name": ctx.resource.name or ctx.resource.id,
                "resource.region": ctx.resource.region, "resource.account": ctx.resource.account}}
            try:
                head = render(self.rule.message, values)
                if isinstance(head, str) and "{resource." in head:  # a parameter holding {resource.*}
                    head = render(head, values)
            except MissingParameter:
                head = self.rule.message
            return f"{head} ({details})" if details else str(head)
        return details or "the assertion does not hold"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def near_miss(value: str, wanted: str) -> bool:
    """Whether `value` is not `wanted` but a small edit away from it: the same once case and '_'/'-' are
    ignored, or one character added, dropped, changed or two neighbours swapped."""
    if value == wanted:
        return False
    if value.lower().replace("-", "_") == wanted.lower().replace("-", "_"):
        return True
    if abs(len(value) - len(wanted)) > 1:
        return False
    start = 0
    while start < min(len(value), len(wanted)) and value[start] == wanted[start]:
        start += 1
    a, b = value[start:], wanted[start:]
    return (a[1:] == b[1:] or a[1:] == b or a == b[1:]
            or (len(a) >= 2 and len(a) == len(b) and a[0] == b[1] and a[1] == b[0] and a[2:] == b[2:]))


def _unknown_reason(resource: Resource, path: str) -> str:
    """Why the value a scope reads is unknown (the reason the source recorded), for the ERROR's message."""
    try:
        _envelope_or_read(resource, path)
    except UnknownValue as exc:
        return f"{path} is unknown: {exc.reason}" if exc.reason else "value unknown"
    return "value unknown"


def _indexable(where: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    """A where clause answerable by a value index: equals/in/contains on a path, with literal values."""
    ((name, args),) = where.items()
    if name in ("equals", "contains") and not args.get("ignore_case"):
        value = args["value"]
        if isinstance(value, str | int | float | bool) and "{resource." not in str(value):
            return _indexable_path(args["path"], [value])
    if name == "in" and not args.get("ignore_case") and isinstance(args["values"], list):
        values = args["values"]
        if all(isinstance(v, str | int | float | bool) and "{resource." not in str(v) for v in values):
            return _indexable_path(args["path"], values)
    return None


def _indexable_path(path: str, values: list[Any]) -> tuple[str, list[Any]] | None:
    if path.startswith("@") or isinstance(compile_path(path), tuple):
        return path, values
    return None


def _describe_where(where: Mapping[str, Any] | None) -> str:
    if not where:
        return "any"
    ((name, args),) = where.items()
    if name in ("equals", "contains"):
        return f"{args['path']} {'=' if name == 'equals' else 'contains'} {args['value']!r}"
    if name == "in":
        return f"{args['path']} in {args['values']!r}"
    return name


def iac_complete(config: AuditConfig) -> bool:
    """Whether the configuration declares the templates of a run the whole CCME prerequisite set."""
    section = config.data.get("iac")
    return bool(section.get("complete")) if isinstance(section, Mapping) else False


def apply_waivers(findings: list[Finding], config: AuditConfig, today: dt.date) -> list[Finding]:
    out = []
    for finding in findings:
        if finding.status in (Status.FAIL, Status.ERROR):
            for waiver in config.waivers:
                if waiver.matches(finding.rule_id, finding.resource_id):
                    if waiver.expires >= today:
                        finding = _replace(finding, status=Status.WAIVED, waiver={
                            "reason": waiver.reason, "expires": waiver.expires.isoformat(),
                            "status": finding.status.value})
                    else:
                        finding = _replace(finding, message=(
                            f"{finding.message} [waiver expired on {waiver.expires.isoformat()}: {waiver.reason}]"))
                    break
        out.append(finding)
    return out


def _replace(finding: Finding, **changes: Any) -> Finding:
    from dataclasses import replace

    return replace(finding, **changes)


def evaluate(
    snapshot: Snapshot,
    rules: Sequence[Rule],
    config: AuditConfig,
    *,
    today: dt.date | None = None,
    mode: str | None = None,
    complete: bool | None = None,
) -> Evaluation:
    """Evaluate every rule in every configured region. A crashing rule becomes an ERROR finding.

    `snapshot` is a derived snapshot (auditor.app.pipeline.evaluate derives it first): the engine reads
    the derived facts, it never derives them.

    `complete`: whether the snapshot holds every resource there is, so that a resource a rule expects
    and does not find is missing (FAIL). An account is complete; templates are only when declared so
    (`iac.complete` in the configuration, default false): otherwise such a rule is SKIPPED and the
    rules judge only the resources that are there.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    mode = mode or ("live" if snapshot.kind in ("live", "fixture") else "iac")
    if complete is None:
        complete = mode == "live" or iac_complete(config)
    account = config.account or snapshot.account
    regions = config.regions
    index = SnapshotIndex(snapshot)
    findings: list[Finding] = []
    selected = [r for r in rules if (r.live if mode == "live" else r.iac)]
    for region in regions:
        params = config.params(region, account)
        for rule in selected:
            run = _RuleRun(rule, index, params, region, account, complete)
            try:
                findings.extend(run.run())
            except Exception as exc:  # noqa: BLE001 - a crashing rule is reported, never aborts the run
                findings.append(run.finding(WILDCARD_RESOURCE, Status.ERROR,
                                            f"the rule crashed: {type(exc).__name__}: {exc}"))
    findings = apply_waivers(findings, config, today)
    findings.sort(key=lambda f: (f.rule_id, f.region or "", f.resource_id))
    waits = retry_waits(snapshot.options.get("retries")) if mode == "live" else None
    return Evaluation(findings=tuple(findings), account=account, regions=tuple(regions), rules=tuple(selected),
                      evaluated_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(), retries=waits)
