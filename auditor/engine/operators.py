"""The operator table: each operator is a small function with its own schema fragment.

An assertion is a mapping with exactly one key, the operator name, whose value holds its
arguments. Paths are read from the current object (the resource's attributes, or a list
element inside `each`/`count`); a path starting with `@` reads the resource envelope
(`@id`, `@name`, `@region`, `@account`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from auditor.engine.values import UnknownValue, check_path, read
from auditor.snapshot import GENERATED_KEY, generated_clash, is_generated

if TYPE_CHECKING:
    from auditor.snapshot import Resource


class Context(Protocol):
    """What an operator may use besides its arguments and the current value."""

    resource: Resource

    def lookup(self, rtype: str) -> Sequence[Resource]: ...

    def matching(self, rtype: str, wanted: Mapping[str, Any]) -> Sequence[Resource]:
        """The resources of `rtype` for which `matches(resource, wanted)` holds (an index may find them)."""
        ...

    def render(self, value: Any) -> Any: ...


@dataclass(frozen=True)
class Outcome:
    ok: bool
    evidence: tuple[Mapping[str, Any], ...] = ()


Evaluate = Callable[[Any, Context, Any], Outcome]


@dataclass(frozen=True)
class Operator:
    name: str
    doc: str
    schema: Mapping[str, Any]
    evaluate: Evaluate
    children: Callable[[Any], list[Any]] = field(default=lambda args: [])
    check: Callable[[Any], list[str]] = field(default=lambda args: [])
    paths: Callable[[Any], list[str]] = field(default=lambda args: [])


ASSERTION_REF = {"$ref": "#/$defs/assertion"}
PATH = {"type": "string", "minLength": 1}
OPERATORS: dict[str, Operator] = {}


def register(op: Operator) -> Operator:
    if op.name in OPERATORS:
        raise ValueError(f"operator {op.name} registered twice")
    OPERATORS[op.name] = op
    return op


def get(value: Any, path: str, ctx: Context) -> Any:
    if path.startswith("@"):
        attr = path[1:]
        resource = ctx.resource
        if attr not in ("id", "name", "region", "account", "type"):
            raise UnknownValue(f"unknown envelope field {path}", path)
        return getattr(resource, attr)
    return read(value, path)


def _ev(check: str, path: str | None, observed: Any, expected: Any = None) -> dict[str, Any]:
    item: dict[str, Any] = {"check": check, "observed": observed}
    if path is not None:
        item["path"] = path
    if expected is not None:
        item["expected"] = expected
    return item


def _path_only(args: Mapping[str, Any]) -> list[str]:
    return [args["path"]]


def _check_path_arg(args: Mapping[str, Any]) -> list[str]:
    error = check_path(args["path"]) if not args["path"].startswith("@") else None
    return [f"path '{args['path']}': {error}"] if error else []


def _norm(value: Any, ignore_case: bool) -> Any:
    return value.lower() if ignore_case and isinstance(value, str) else value


# --- comparisons on one value -------------------------------------------------------------

def _same(observed: Any, expected: Any, ic: bool, path: str) -> bool:
    """Equality as rules mean it (same type; case folded on request).

    A name generated at deployment equals no configured value, unless the value has the generated
    shape: then it cannot be told (UnknownValue), never a PASS and never a FAIL on a guess.
    """
    if is_generated(observed):
        clash = generated_clash(observed, expected, ignore_case=ic)
        if clash is not None:
            raise UnknownValue(clash, path)
        return False
    return bool(_norm(observed, ic) == _norm(expected, ic) and type(observed) is type(expected))


def _equals(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    expected = ctx.render(args["value"])
    ok = _same(observed, expected, bool(args.get("ignore_case")), args["path"])
    return Outcome(ok, (_ev(f"{args['path']} equals {expected!r}", args["path"], observed, expected),))


def _not_equals(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    unexpected = ctx.render(args["value"])
    ok = not _same(observed, unexpected, bool(args.get("ignore_case")), args["path"])
    return Outcome(ok, (_ev(f"{args['path']} is not {unexpected!r}", args["path"], observed),))


def _in(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    values = ctx.render(args["values"])
    if not isinstance(values, list):
        values = [values]
    ic = bool(args.get("ignore_case"))
    ok = any([_same(observed, v, ic, args["path"]) for v in values])  # every value: one may be undecidable
    return Outcome(ok, (_ev(f"{args['path']} is one of {values!r}", args["path"], observed, values),))


def _contains(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    expected = ctx.render(args["value"])
    ok = isinstance(observed, list) and expected in observed
    if not ok and isinstance(observed, list):
        for item in observed:
            clash = generated_clash(item, expected) if is_generated(item) else None
            if clash is not None:
                raise UnknownValue(clash, args["path"])
    return Outcome(ok, (_ev(f"{args['path']} contains {expected!r}", args["path"], observed, expected),))


def _exists(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    ok = observed is not None and observed != [] and observed != {}
    return Outcome(ok, (_ev(f"{args['path']} is set", args["path"], observed),))


def _absent(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    ok = observed is None or observed == [] or observed == {}
    return Outcome(ok, (_ev(f"{args['path']} is not set", args["path"], observed),))


def _regex(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    pattern = ctx.render(args["pattern"])
    flags = re.IGNORECASE if args.get("ignore_case") else 0
    if is_generated(observed):
        if _shape_misses(observed, pattern, flags):
            return Outcome(False, (_ev(f"{args['path']} matches /{pattern}/", args["path"], observed, pattern),))
        raise UnknownValue(f"{observed[GENERATED_KEY]}: cannot tell whether it will match /{pattern}/", args["path"])
    ok = isinstance(observed, str) and re.fullmatch(pattern, observed, flags) is not None
    return Outcome(ok, (_ev(f"{args['path']} matches /{pattern}/", args["path"], observed, pattern),))


_LANGUAGE_LIMIT = 4096


def _shape_misses(value: Mapping[str, Any], pattern: str, flags: int) -> bool:
    """True when no name of the generated value's shape can match pattern (False: it may, or it is not known).

    Decided only for a pattern with a finite language (alternatives of literal text, as the alias naming
    rule writes): every string of it is tried against the shape; anything else is undecided."""
    words = _finite_language(pattern)
    if words is None:
        return False
    try:
        shape = re.compile(str(value["shape"]), flags)
    except re.error:
        return False
    return not any(shape.fullmatch(word) for word in words)


def _finite_language(pattern: str) -> list[str] | None:
    """Every string `pattern` fully matches, when they are few (else None)."""
    import importlib

    if "(?" in pattern:
        return None  # inline flags, lookarounds: not read here
    parser: Any = importlib.import_module("re._parser")
    try:
        tree = parser.parse(pattern)
    except (re.error, RecursionError):
        return None
    constants: Any = importlib.import_module("re._constants")

    def seq(items: Any) -> list[str] | None:
        words = [""]
        for op, arg in items:
            options = node(op, arg)
            if options is None or len(words) * len(options) > _LANGUAGE_LIMIT:
                return None
            words = [w + o for w in words for o in options]
        return words

    def node(op: Any, arg: Any) -> list[str] | None:
        if op is constants.LITERAL:
            return [chr(arg)]
        if op is constants.AT:
            return [""] if arg in (constants.AT_BEGINNING, constants.AT_END, constants.AT_BEGINNING_STRING,
                                   constants.AT_END_STRING) else None
        if op is constants.SUBPATTERN:
            return seq(arg[-1])
        if op is constants.BRANCH:
            out: list[str] = []
            for branch in arg[1]:
                words = seq(branch)
                if words is None or len(out) + len(words) > _LANGUAGE_LIMIT:
                    return None
                out.extend(words)
            return out
        if op is constants.IN:
            chars: list[str] = []
            for item_op, item in arg:
                if item_op is constants.LITERAL:
                    chars.append(chr(item))
                elif item_op is constants.RANGE and item[1] - item[0] < 256:
                    chars.extend(chr(c) for c in range(item[0], item[1] + 1))
                else:
                    return None
            return chars
        if op in (constants.MAX_REPEAT, constants.MIN_REPEAT):
            low, high, body = arg
            if high is constants.MAXREPEAT or high > 16:
                return None
            once = seq(body)
            if once is None:
                return None
            out, layer = ([""] if low == 0 else []), [""]
            for count in range(1, high + 1):
                layer = [w + o for w in layer for o in once]
                if len(layer) + len(out) > _LANGUAGE_LIMIT:
                    return None
                if count >= low:
                    out.extend(layer)
            return out
        return None

    return seq(tree)


def _check_regex(args: Mapping[str, Any]) -> list[str]:
    problems = _check_path_arg(args)
    if "{" in args["pattern"] and re.search(r"\{[A-Za-z_]", args["pattern"]):
        return problems  # rendered later; checked when the parameters are known
    try:
        re.compile(args["pattern"])
    except re.error as exc:
        problems.append(f"pattern /{args['pattern']}/ does not compile: {exc}")
    return problems


_COMPARE = {
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
}


def _compare(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    observed = get(current, args["path"], ctx)
    bound = ctx.render(args["value"])
    op = args["op"]
    ok = (isinstance(observed, int | float) and not isinstance(observed, bool)
          and isinstance(bound, int | float) and _COMPARE[op](observed, bound))
    return Outcome(ok, (_ev(f"{args['path']} {op} {bound}", args["path"], observed, bound),))


# --- combinators ------------------------------------------------------------------------

def _run_all(children: Sequence[Any], ctx: Context, current: Any) -> tuple[list[Outcome], UnknownValue | None]:
    outcomes: list[Outcome] = []
    first_unknown: UnknownValue | None = None
    for child in children:
        try:
            outcomes.append(evaluate(child, ctx, current))
        except UnknownValue as exc:
            if first_unknown is None:
                first_unknown = exc
    return outcomes, first_unknown


def _all(args: Sequence[Any], ctx: Context, current: Any) -> Outcome:
    outcomes, unknown = _run_all(args, ctx, current)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        return Outcome(False, tuple(e for o in failed for e in o.evidence))
    if unknown is not None:
        raise unknown
    return Outcome(True, tuple(e for o in outcomes for e in o.evidence))


def _any(args: Sequence[Any], ctx: Context, current: Any) -> Outcome:
    outcomes, unknown = _run_all(args, ctx, current)
    passed = [o for o in outcomes if o.ok]
    if passed:
        return Outcome(True, passed[0].evidence)
    if unknown is not None:
        raise unknown
    return Outcome(False, tuple(e for o in outcomes for e in o.evidence))


def _none(args: Sequence[Any], ctx: Context, current: Any) -> Outcome:
    outcomes, unknown = _run_all(args, ctx, current)
    passed = [o for o in outcomes if o.ok]
    if passed:
        return Outcome(False, tuple({**e, "check": f"not ({e['check']})"} for o in passed for e in o.evidence))
    if unknown is not None:
        raise unknown
    return Outcome(True, tuple({**e, "check": f"not ({e['check']})"} for o in outcomes for e in o.evidence))


# --- lists --------------------------------------------------------------------------------

def _list_at(args: Mapping[str, Any], ctx: Context, current: Any) -> list[Any]:
    value = get(current, args["path"], ctx)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnknownValue(f"expected a list, found {type(value).__name__}", args["path"])
    return value


def _count(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    items = _list_at(args, ctx, current)
    where = args.get("where")
    matched = 0
    unknown: UnknownValue | None = None
    for item in items:
        if where is None:
            matched += 1
            continue
        try:
            if evaluate(where, ctx, item).ok:
                matched += 1
        except UnknownValue as exc:
            unknown = unknown or exc
    low, high = ctx.render(args.get("min", 0)), ctx.render(args.get("max"))
    ok = matched >= low and (high is None or matched <= high)
    if unknown is not None and not (high is not None and matched > high):
        # Unknown items could change the count: only a count already over the maximum is certain.
        raise unknown
    bounds = f">= {low}" + (f" and <= {high}" if high is not None else "")
    return Outcome(ok, (_ev(f"count of {args['path']}{' matching the condition' if where else ''} {bounds}",
                            args["path"], matched),))


def _each(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    items = _list_at(args, ctx, current)
    failures: list[Mapping[str, Any]] = []
    unknown: UnknownValue | None = None
    for position, item in enumerate(items):
        try:
            outcome = evaluate(args["assert"], ctx, item)
        except UnknownValue as exc:
            unknown = unknown or exc
            continue
        if not outcome.ok:
            failures.extend({**e, "path": f"{args['path']}[{position}].{e.get('path', '')}".rstrip(".")}
                            for e in outcome.evidence)
    if failures:
        return Outcome(False, tuple(failures))
    if unknown is not None:
        raise unknown
    return Outcome(True, (_ev(f"every element of {args['path']} satisfies the condition", args["path"],
                              len(items)),))


# --- cross-resource -----------------------------------------------------------------------

def _lookup(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    """Find resources of another type whose `match` paths equal this resource's values."""
    wanted: dict[str, Any] = {}
    for their_path, mine in args["match"].items():
        wanted[their_path] = get(current, mine[1:], ctx) if isinstance(mine, str) and mine.startswith("=") \
            else ctx.render(mine)
    candidates = ctx.matching(args["type"], wanted)
    expect = args.get("expect", "any")
    label = f"{args['type']} where " + ", ".join(f"{k} = {v!r}" for k, v in wanted.items())
    if not candidates:
        return Outcome(expect == "none", (_ev(f"a {label} exists", None, None),))
    if expect == "none":
        return Outcome(False, (_ev(f"no {label}", None, [c.id for c in candidates]),))
    check = args.get("assert")
    if check is None:
        return Outcome(True, (_ev(f"a {label} exists", None, [c.id for c in candidates]),))
    outcomes = []
    unknown: UnknownValue | None = None
    for other in candidates:
        try:
            outcomes.append((other, evaluate(check, _Rebound(ctx, other), other.attributes)))
        except UnknownValue as exc:
            unknown = unknown or exc
    if expect == "all":
        bad = [(o, out) for o, out in outcomes if not out.ok]
        if bad:
            return Outcome(False, tuple({**e, "resource": o.id} for o, out in bad for e in out.evidence))
        if unknown is not None:
            raise unknown
        return Outcome(True, tuple({**e, "resource": o.id} for o, out in outcomes for e in out.evidence))
    good = [(o, out) for o, out in outcomes if out.ok]
    if good:
        return Outcome(True, tuple({**e, "resource": good[0][0].id} for e in good[0][1].evidence))
    if unknown is not None:
        raise unknown
    return Outcome(False, tuple({**e, "resource": o.id} for o, out in outcomes for e in out.evidence))


def lookup_value(resource: Resource, path: str) -> Any:
    """The value `lookup` compares at a path: an envelope field (`@name`), or an attribute (None if unknown)."""
    if path.startswith("@"):
        return getattr(resource, path[1:], None)
    try:
        return read(resource.attributes, path)
    except UnknownValue:
        return None


def matches(resource: Resource, wanted: Mapping[str, Any]) -> bool:
    """Whether a resource has every wanted value (`lookup`'s `match`, rendered) at its path.

    A generated name matches only the same generated name (the same marker): like an unknown
    value, it matches no literal here.
    """
    return all(lookup_value(resource, path) == value for path, value in wanted.items())


class _Rebound:
    """The context seen from another resource (inside `lookup`)."""

    def __init__(self, ctx: Context, resource: Resource):
        self._ctx = ctx
        self.resource = resource

    def lookup(self, rtype: str) -> Sequence[Resource]:
        return self._ctx.lookup(rtype)

    def matching(self, rtype: str, wanted: Mapping[str, Any]) -> Sequence[Resource]:
        return self._ctx.matching(rtype, wanted)

    def render(self, value: Any) -> Any:
        return self._ctx.render(value)


def _check_lookup(args: Mapping[str, Any]) -> list[str]:
    from auditor.resources import resource_types

    if args["type"] not in resource_types():
        return [f"lookup names unknown resource type '{args['type']}'"]
    return []


# --- the table ----------------------------------------------------------------------------

def _scalar_schema(extra: Mapping[str, Any] | None = None, required: Sequence[str] = ("path",)) -> dict[str, Any]:
    props: dict[str, Any] = {"path": PATH}
    props.update(extra or {})
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


ANY_VALUE: dict[str, Any] = {}
register(Operator("equals", "The value at path equals value (same type).",
                  _scalar_schema({"value": ANY_VALUE, "ignore_case": {"type": "boolean"}}, ("path", "value")),
                  _equals, check=_check_path_arg, paths=_path_only))
register(Operator("not_equals", "The value at path differs from value.",
                  _scalar_schema({"value": ANY_VALUE, "ignore_case": {"type": "boolean"}}, ("path", "value")),
                  _not_equals, check=_check_path_arg, paths=_path_only))
register(Operator("in", "The value at path is one of values (a list, or a parameter holding one).",
                  _scalar_schema({"values": {"type": ["array", "string"]}, "ignore_case": {"type": "boolean"}},
                                 ("path", "values")),
                  _in, check=_check_path_arg, paths=_path_only))
register(Operator("contains", "The list at path contains value.",
                  _scalar_schema({"value": ANY_VALUE}, ("path", "value")),
                  _contains, check=_check_path_arg, paths=_path_only))
register(Operator("exists", "The value at path is set (not null, not empty).", _scalar_schema(),
                  _exists, check=_check_path_arg, paths=_path_only))
register(Operator("absent", "The value at path is not set (null or empty).", _scalar_schema(),
                  _absent, check=_check_path_arg, paths=_path_only))
register(Operator("regex", "The string at path fully matches pattern.",
                  _scalar_schema({"pattern": {"type": "string"}, "ignore_case": {"type": "boolean"}},
                                 ("path", "pattern")),
                  _regex, check=_check_regex, paths=_path_only))
register(Operator("compare", "The number at path compares to value with op (lt, le, gt, ge).",
                  _scalar_schema({"op": {"enum": list(_COMPARE)}, "value": {"type": ["number", "string"]}},
                                 ("path", "op", "value")),
                  _compare, check=_check_path_arg, paths=_path_only))
_LIST_OF_ASSERTIONS = {"type": "array", "items": ASSERTION_REF, "minItems": 1}
register(Operator("all", "Every nested assertion holds.", _LIST_OF_ASSERTIONS, _all, children=lambda a: list(a)))
register(Operator("any", "At least one nested assertion holds.", _LIST_OF_ASSERTIONS, _any,
                  children=lambda a: list(a)))
register(Operator("none", "No nested assertion holds.", _LIST_OF_ASSERTIONS, _none, children=lambda a: list(a)))
register(Operator("count", "The number of list elements at path (matching where) is within min..max.",
                  _scalar_schema({"where": ASSERTION_REF, "min": {"type": ["integer", "string"]},
                                  "max": {"type": ["integer", "string"]}}),
                  _count, children=lambda a: [a["where"]] if "where" in a else [], check=_check_path_arg,
                  paths=_path_only))
register(Operator("each", "Every element of the list at path satisfies assert.",
                  _scalar_schema({"assert": ASSERTION_REF}, ("path", "assert")),
                  _each, children=lambda a: [a["assert"]], check=_check_path_arg, paths=_path_only))
register(Operator(
    "lookup",
    "Resources of another type whose match paths equal values here ('=path' reads this resource, "
    "anything else is a literal or parameter); expect any (default), all or none of them to satisfy assert.",
    {"type": "object", "additionalProperties": False, "required": ["type", "match"],
     "properties": {"type": {"type": "string"},
                    "match": {"type": "object", "minProperties": 1, "additionalProperties": ANY_VALUE},
                    "assert": ASSERTION_REF, "expect": {"enum": ["any", "all", "none"]}}},
    _lookup, children=lambda a: [a["assert"]] if "assert" in a else [], check=_check_lookup,
))


# --- resource policies (judged by the requests they allow and deny) ---------------------------

def _policy(args: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    """A resource policy at path meets a requirement of auditor.policy (see `ccme-audit policy requirements`)."""
    document = get(current, args["path"], ctx)
    requirement = args["requirement"]
    if document is None or document == "":
        if args.get("no_policy") == "holds":
            # e.g. "no statement is over-strict": a bucket without a policy has no statement at all
            return Outcome(True, (_ev(f"no policy attached: nothing for {requirement} to judge", args["path"], None),))
        return Outcome(False, (_ev(f"a policy meeting {requirement} is attached", args["path"], None),))
    context: dict[str, Any] = {name: ctx.render(args[name])
                               for name in ("account", "region", "bucket", "key_arn", "log_group_prefix")
                               if name in args}
    if "log_sources" in args:
        sources = ctx.render(args["log_sources"])
        context["log_sources"] = tuple(sources if isinstance(sources, list) else [sources])
    for name, value in list(context.items()):
        if isinstance(value, str) and value.startswith("="):
            try:
                context[name] = get(current, value[1:], ctx)
            except UnknownValue:
                context[name] = None
            if context[name] is None and name == "key_arn":
                del context[name]  # optional: the requirement then speaks of "this key"
    result = _check_cached(document, requirement, tuple(sorted(context.items())))
    if result.error is not None:
        # A malformed policy, or one that cannot be judged, is missing evidence: ERROR, never PASS.
        raise UnknownValue(f"the policy cannot be evaluated: {result.error}", args["path"])
    judged = result.warnings if args.get("judge") == "warnings" else result.violations
    if judged:
        # A violation (or a warning about one request) carries its witness as data: the request and the
        # statements that decided it. The reports render from it.
        witnesses = result.warning_witnesses if args.get("judge") == "warnings" else result.witnesses
        return Outcome(False, tuple(
            {"check": requirement, "path": args["path"], "violation": line,
             **({"witness": copy.deepcopy(dict(witnesses[n]))} if n < len(witnesses) and witnesses[n] else {})}
            for n, line in enumerate(judged[:5])))
    summary = f"{requirement} holds for every request (proved by the solver)"
    return Outcome(True, (_ev(summary, args["path"], "met"),))


_POLICY_CACHE: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Any] = {}


def _check_cached(document: Any, requirement: str, context: tuple[tuple[str, Any], ...]) -> Any:
    """check_document, memoised: accounts repeat the same policy (the KMS default) on many resources."""
    from auditor.policy import RequirementContext, check_document

    text = document if isinstance(document, str) else json.dumps(document, sort_keys=True, default=str)
    key = (text, requirement, context)
    result = _POLICY_CACHE.get(key)
    if result is None:
        if len(_POLICY_CACHE) > 4096:
            _POLICY_CACHE.clear()
        result = check_document(document, requirement, RequirementContext(**dict(context)))
        _POLICY_CACHE[key] = result
    return result


def _check_policy(args: Mapping[str, Any]) -> list[str]:
    from auditor.policy import REQUIREMENTS

    problems = _check_path_arg(args)
    if args["requirement"] not in REQUIREMENTS:
        problems.append(f"unknown requirement '{args['requirement']}' (known: {', '.join(sorted(REQUIREMENTS))})")
    return problems


register(Operator(
    "policy",
    "The resource policy at path meets a requirement on every request (auditor.policy REQUIREMENTS, decided by z3); "
    "account, region, bucket, key_arn give its context ('=path' reads this resource); judge: warnings "
    "fails on harmful over-strictness instead of violations. No policy fails (no_policy: holds makes it pass, "
    "for a rule that only judges what the statements refuse); a malformed one is ERROR.",
    {"type": "object", "additionalProperties": False, "required": ["path", "requirement", "account", "region"],
     "properties": {"path": PATH, "requirement": {"type": "string"}, "account": {"type": "string"},
                    "region": {"type": "string"}, "bucket": {"type": "string"}, "key_arn": {"type": "string"},
                    "log_sources": {"type": ["string", "array"], "items": {"type": "string"}},
                    "log_group_prefix": {"type": "string"},
                    "judge": {"enum": ["violations", "warnings"]},
                    "no_policy": {"enum": ["fails", "holds"]}}},
    _policy, check=_check_policy, paths=_path_only,
))


def evaluate(assertion: Mapping[str, Any], ctx: Context, current: Any) -> Outcome:
    """Evaluate one (already validated) assertion; raises UnknownValue when evidence is missing."""
    ((name, args),) = assertion.items()
    return OPERATORS[name].evaluate(args, ctx, current)


def assertion_schema() -> dict[str, Any]:
    """The assertion schema, composed from the operators' fragments."""
    return {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "propertyNames": {"enum": sorted(OPERATORS)},
        "properties": {name: op.schema for name, op in sorted(OPERATORS.items())},
    }


def walk(assertion: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every (operator, args) pair in an assertion tree."""
    out: list[tuple[str, Any]] = []
    stack = [assertion]
    while stack:
        node = stack.pop()
        ((name, args),) = node.items()
        out.append((name, args))
        stack.extend(OPERATORS[name].children(args))
    return out
