"""Strict parse of an AWS policy document into frozen dataclasses.

:func:`parse_policy` raises :class:`PolicyError` and nothing else, on any input.
Messages number statements from 1 (``statement 2`` is the second one); the
attributes of the error and of :class:`Statement` use 0-based indexes.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, NoReturn

from auditor.policy import values as _v

MAX_BYTES = 100_000
MAX_STATEMENTS = 500
MAX_VALUES = 10_000
VERSIONS = ("2012-10-17", "2008-10-17")

Effect = Literal["Allow", "Deny"]
Qualifier = Literal["ForAnyValue", "ForAllValues"]
Family = Literal["string", "string_ic", "like", "numeric", "date", "bool", "binary", "ip", "arn", "null"]
Compare = Literal["eq", "lt", "le", "gt", "ge"]


@dataclass(frozen=True)
class OperatorSpec:
    """One base condition operator: its value family, comparison, and whether it is negated."""

    name: str
    family: Family
    compare: Compare = "eq"
    negated: bool = False


def _ops() -> dict[str, OperatorSpec]:
    table: list[OperatorSpec] = [
        OperatorSpec("StringEquals", "string"),
        OperatorSpec("StringNotEquals", "string", negated=True),
        OperatorSpec("StringEqualsIgnoreCase", "string_ic"),
        OperatorSpec("StringNotEqualsIgnoreCase", "string_ic", negated=True),
        OperatorSpec("StringLike", "like"),
        OperatorSpec("StringNotLike", "like", negated=True),
        OperatorSpec("Bool", "bool"),
        OperatorSpec("BinaryEquals", "binary"),
        OperatorSpec("IpAddress", "ip"),
        OperatorSpec("NotIpAddress", "ip", negated=True),
        OperatorSpec("ArnEquals", "arn"),
        OperatorSpec("ArnLike", "arn"),
        OperatorSpec("ArnNotEquals", "arn", negated=True),
        OperatorSpec("ArnNotLike", "arn", negated=True),
        OperatorSpec("Null", "null"),
    ]
    for family, prefix in (("numeric", "Numeric"), ("date", "Date")):
        fam: Family = "numeric" if family == "numeric" else "date"
        table += [
            OperatorSpec(f"{prefix}Equals", fam),
            OperatorSpec(f"{prefix}NotEquals", fam, negated=True),
            OperatorSpec(f"{prefix}LessThan", fam, "lt"),
            OperatorSpec(f"{prefix}LessThanEquals", fam, "le"),
            OperatorSpec(f"{prefix}GreaterThan", fam, "gt"),
            OperatorSpec(f"{prefix}GreaterThanEquals", fam, "ge"),
        ]
    return {spec.name: spec for spec in table}


OPERATORS: Mapping[str, OperatorSpec] = _ops()


def _all_operator_names() -> tuple[str, ...]:
    names: list[str] = []
    for base in OPERATORS:
        names.append(base)
        if base != "Null":
            names.append(base + "IfExists")
            for q in ("ForAnyValue", "ForAllValues"):
                names += [f"{q}:{base}", f"{q}:{base}IfExists"]
    return tuple(names)


OPERATOR_NAMES: tuple[str, ...] = _all_operator_names()


class PolicyError(Exception):
    """A malformed policy: one line naming the statement, the element and the fix."""

    def __init__(
        self,
        message: str,
        *,
        statement: int | str | None = None,
        element: str | None = None,
        statement_index: int | None = None,
    ) -> None:
        self.statement = statement
        self.element = element
        self.statement_index = statement_index
        self.message = " ".join(message.split())
        super().__init__(self.message)


@dataclass(frozen=True)
class PrincipalSpec:
    """A Principal or NotPrincipal element. ``star`` is the bare string ``"*"``."""

    star: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()

    def to_json_value(self) -> str | dict[str, list[str]]:
        """The element as JSON data."""
        if self.star:
            return "*"
        out: dict[str, list[str]] = {}
        for name, vals in (
            ("AWS", self.aws),
            ("Service", self.service),
            ("Federated", self.federated),
            ("CanonicalUser", self.canonical_user),
        ):
            if vals:
                out[name] = list(vals)
        return out


@dataclass(frozen=True)
class Condition:
    """One (operator, key) pair of a Condition block; values are OR'd."""

    operator: str
    base: str
    qualifier: Qualifier | None
    if_exists: bool
    key: str
    values: tuple[str, ...]

    @property
    def spec(self) -> OperatorSpec:
        """The base operator's table entry."""
        return OPERATORS[self.base]


@dataclass(frozen=True)
class Statement:
    """One statement. ``None`` for an element means the element is absent."""

    index: int
    sid: str | None
    effect: Effect
    principal: PrincipalSpec | None = None
    not_principal: PrincipalSpec | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()

    @property
    def label(self) -> str:
        """``statement 2 ("sid")``, numbered from 1."""
        return statement_label(self.index, self.sid)

    def condition_keys(self) -> tuple[str, ...]:
        """The condition keys this statement mentions, as written."""
        return tuple(dict.fromkeys(c.key for c in self.conditions))

    def to_json_value(self) -> dict[str, Any]:
        """The statement as JSON data (lists everywhere, values as strings)."""
        out: dict[str, Any] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect
        if self.principal is not None:
            out["Principal"] = self.principal.to_json_value()
        if self.not_principal is not None:
            out["NotPrincipal"] = self.not_principal.to_json_value()
        for name, vals in (
            ("Action", self.action),
            ("NotAction", self.not_action),
            ("Resource", self.resource),
            ("NotResource", self.not_resource),
        ):
            if vals is not None:
                out[name] = list(vals)
        if self.conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for cond in self.conditions:
                block.setdefault(cond.operator, {})[cond.key] = list(cond.values)
            out["Condition"] = block
        return out


@dataclass(frozen=True)
class Policy:
    """A parsed policy. ``notes`` records parts that AWS accepts but that have no effect."""

    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    def to_json_value(self) -> dict[str, Any]:
        """The policy as JSON data."""
        out: dict[str, Any] = {}
        if self.version is not None:
            out["Version"] = self.version
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [s.to_json_value() for s in self.statements]
        return out

    def to_json(self) -> str:
        """The policy as JSON text that parses back to an equivalent policy."""
        return json.dumps(self.to_json_value(), indent=2, ensure_ascii=False)


def statement_label(index: int, sid: str | None) -> str:
    """``statement 2 ("sid")`` for the statement at 0-based ``index``."""
    text = f"statement {index + 1}"
    if sid:
        text += f" ({json.dumps(sid, ensure_ascii=False)})"
    return text


def _show(value: Any) -> str:
    """A short JSON-ish rendering of a value for messages."""
    if isinstance(value, _JsonNumber):
        text = str(value)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, Mapping):
        text = "an object"
    elif isinstance(value, list | tuple):
        text = "a list"
    elif isinstance(value, _dt.date):
        text = f"the date {value.isoformat()}"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, _JsonNumber) or (isinstance(value, int | float | Decimal) and not isinstance(value, bool)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


class _JsonNumber(str):
    """A JSON number kept as its source text, so ``1.10`` stays ``1.10``."""

    __slots__ = ()


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a valid JSON number")


def _decode(doc: str | bytes) -> Any:
    if isinstance(doc, bytes):
        if len(doc) > MAX_BYTES:
            raise PolicyError(f"the policy is {len(doc)} bytes; it must be at most {MAX_BYTES} bytes")
        try:
            doc = doc.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PolicyError(f"the policy is not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    size = len(doc.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise PolicyError(f"the policy is {size} bytes; it must be at most {MAX_BYTES} bytes")
    try:
        return json.loads(
            doc.lstrip("\ufeff"),
            parse_float=_JsonNumber,
            parse_int=_JsonNumber,
            parse_constant=_reject_constant,
            object_pairs_hook=_pairs,
        )
    except _DuplicateKeyError as exc:
        raise PolicyError(
            f"the key {_show(exc.key)} appears twice in one JSON object; keep one",
            element=exc.key,
        ) from None
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"the policy is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg}); fix the syntax"
        ) from None
    except RecursionError:
        raise PolicyError("the policy nests too deeply to be a policy; remove the nesting") from None
    except ValueError as exc:
        raise PolicyError(f"the policy is not valid JSON ({exc}); fix the syntax") from None


class _Parser:
    """Walks the decoded document, counting values so hostile input stays bounded."""

    def __init__(self) -> None:
        self.budget = MAX_BYTES
        self.values = 0
        self.notes: list[str] = []
        self.index: int | None = None
        self.sid: str | None = None

    # -- errors -----------------------------------------------------------------
    def fail(self, element: str | None, message: str) -> NoReturn:
        prefix = ""
        statement: int | str | None = None
        if self.index is not None:
            prefix = statement_label(self.index, self.sid) + ": "
            statement = self.sid if self.sid else self.index
        raise PolicyError(prefix + message, statement=statement, element=element, statement_index=self.index)

    def note(self, message: str) -> None:
        prefix = statement_label(self.index, self.sid) + ": " if self.index is not None else ""
        self.notes.append(prefix + message)

    # -- scalars ----------------------------------------------------------------
    def charge(self, text: str) -> None:
        self.values += 1
        self.budget -= len(text) + 4
        if self.values > MAX_VALUES:
            self.fail(None, f"the policy holds more than {MAX_VALUES} values; split it or simplify it")
        if self.budget < 0:
            self.fail(None, f"the policy is larger than {MAX_BYTES} bytes; it must be at most {MAX_BYTES} bytes")

    def charge_key(self, key: str) -> None:
        """Object keys count towards the size budget (JSON quotes, colon, comma, spaces)."""
        self.budget -= len(key) + 6
        if self.budget < 0:
            self.fail(None, f"the policy is larger than {MAX_BYTES} bytes; it must be at most {MAX_BYTES} bytes")

    def scalar(self, element: str, value: Any) -> str:
        """A JSON string, number or boolean, normalised to a string."""
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            if type(value) is not str and not isinstance(value, _JsonNumber):
                value = str(value)
            text = str.__str__(value)
        elif isinstance(value, int):
            text = str(value) if abs(value) < 10**40 else ""
            if not text:
                self.fail(element, f"{element} holds a number too large to be a policy value; quote it")
        elif isinstance(value, float | Decimal):
            if isinstance(value, float) and not math.isfinite(value):
                self.fail(element, f"{element} holds {value!r}; use a finite number or a string")
            if isinstance(value, Decimal) and not value.is_finite():
                self.fail(element, f"{element} holds {value}; use a finite number or a string")
            text = repr(value) if isinstance(value, float) else str(value)
        else:
            self.fail(element, f"{element} holds {_kind(value)}; it must be a string, a number or a boolean")
        self.charge(text)
        return text

    def scalars(self, element: str, value: Any) -> tuple[str, ...]:
        """A scalar or a non-empty list of scalars."""
        if isinstance(value, list | tuple):
            if not value:
                self.fail(element, f"{element} is an empty list; list at least one value")
            if len(value) > MAX_VALUES:
                self.fail(element, f"{element} holds more than {MAX_VALUES} values; simplify it")
            out: list[str] = []
            for item in value:
                if isinstance(item, list | tuple | Mapping) or item is None:
                    self.fail(element, f"{element} holds {_kind(item)} inside its list; list strings only")
                out.append(self.scalar(element, item))
            return tuple(dict.fromkeys(out))
        if isinstance(value, Mapping) or value is None:
            self.fail(element, f"{element} is {_kind(value)}; it must be a string or a list of strings")
        return (self.scalar(element, value),)

    def string(self, element: str, value: Any) -> str:
        """A JSON string, not a number: Sid, Id, Version and Effect."""
        if type(value) is not str:
            hint = ""
            if isinstance(value, _dt.date):
                hint = ' (YAML reads an unquoted 2012-10-17 as a date: quote it: "2012-10-17")'
            self.fail(element, f"{element} is {_kind(value)}{hint}; it must be a string")
        self.charge(value)
        return value

    # -- document ---------------------------------------------------------------
    def policy(self, data: Any) -> Policy:
        if not isinstance(data, Mapping):
            self.fail(
                None,
                f'the policy is {_kind(data)}, not an object; it must be an object with a "Statement" key',
            )
        for key in data:
            if not isinstance(key, str):
                self.fail(None, f"the policy has a key {_show(key)} that is not a string; keys must be strings")
        unknown = [k for k in data if k not in ("Version", "Id", "Statement")]
        if unknown:
            self.fail(unknown[0], _unknown_msg(unknown[0], ("Version", "Id", "Statement"), "top-level key"))
        version = None
        if "Version" in data:
            version = self.string("Version", data["Version"])
            if version not in VERSIONS:
                self.fail(
                    "Version",
                    f'Version is {_show(version)}; it must be "2012-10-17" (or the legacy "2008-10-17")',
                )
        pid = self.string("Id", data["Id"]) if "Id" in data else None
        if "Statement" not in data:
            self.fail("Statement", 'Statement is missing; add a "Statement" list of statements')
        raw = data["Statement"]
        if isinstance(raw, Mapping):
            raw = [raw]
        if not isinstance(raw, list | tuple):
            self.fail("Statement", f"Statement is {_kind(raw)}; it must be an object or a list of objects")
        if len(raw) > MAX_STATEMENTS:
            self.fail("Statement", f"the policy has {len(raw)} statements; at most {MAX_STATEMENTS} are accepted")
        if not raw:
            self.notes.append("the policy has no statements: every request is implicitly denied")
        statements: list[Statement] = []
        seen_sids: dict[str, int] = {}
        for index, item in enumerate(raw):
            self.index, self.sid = index, None
            statement = self.statement(index, item)
            if statement.sid is not None and statement.sid != "":
                if statement.sid in seen_sids:
                    first = seen_sids[statement.sid] + 1
                    self.fail("Sid", f"Sid is also used by statement {first}; each Sid must be unique")
                seen_sids[statement.sid] = index
            statements.append(statement)
        self.index = self.sid = None
        return Policy(statements=tuple(statements), version=version, id=pid, notes=tuple(self.notes))

    def statement(self, index: int, item: Any) -> Statement:
        if not isinstance(item, Mapping):
            self.fail("Statement", f"it is {_kind(item)}; each statement must be an object")
        for key in item:
            if not isinstance(key, str):
                self.fail(None, f"the statement has a key {_show(key)} that is not a string; keys must be strings")
            self.charge_key(key)
        sid_raw = item.get("Sid")
        if "Sid" in item:
            self.sid = self.string("Sid", sid_raw)
        unknown = [k for k in item if k not in _STATEMENT_KEYS]
        if unknown:
            self.fail(unknown[0], _unknown_msg(unknown[0], _STATEMENT_KEYS, "element"))
        if "Effect" not in item:
            self.fail("Effect", 'Effect is missing; add "Effect": "Allow" or "Deny"')
        effect_raw = item["Effect"]
        if type(effect_raw) is not str or effect_raw not in ("Allow", "Deny"):
            self.fail("Effect", f'Effect is {_show(effect_raw)}; it must be exactly "Allow" or "Deny"')
        effect: Effect = "Allow" if effect_raw == "Allow" else "Deny"
        self.pair(item, "Principal", "NotPrincipal", required=False)
        self.pair(item, "Action", "NotAction", required=True)
        self.pair(item, "Resource", "NotResource", required=False)
        if "NotPrincipal" in item and effect == "Allow":
            self.fail(
                "NotPrincipal",
                'NotPrincipal is used with "Allow"; AWS accepts NotPrincipal only with "Deny": use Principal',
            )
        principal = self.principal("Principal", item["Principal"]) if "Principal" in item else None
        not_principal = self.principal("NotPrincipal", item["NotPrincipal"]) if "NotPrincipal" in item else None
        if principal is None and not_principal is None:
            self.note("no Principal or NotPrincipal: in a resource policy it matches no principal")
        action = self.actions("Action", item["Action"]) if "Action" in item else None
        not_action = self.actions("NotAction", item["NotAction"]) if "NotAction" in item else None
        resource = self.resources("Resource", item["Resource"]) if "Resource" in item else None
        not_resource = self.resources("NotResource", item["NotResource"]) if "NotResource" in item else None
        if resource is None and not_resource is None:
            self.note('no Resource or NotResource: it matches no request (a key policy writes "Resource": "*")')
        conditions = self.conditions(item["Condition"]) if "Condition" in item else ()
        return Statement(
            index=index,
            sid=self.sid,
            effect=effect,
            principal=principal,
            not_principal=not_principal,
            action=action,
            not_action=not_action,
            resource=resource,
            not_resource=not_resource,
            conditions=conditions,
        )

    def pair(self, item: Mapping[str, Any], name: str, negated: str, *, required: bool) -> None:
        if name in item and negated in item:
            self.fail(negated, f"{name} and {negated} are both present; keep only one of them")
        if required and name not in item and negated not in item:
            self.fail(name, f"{name} is missing; add {name} (or {negated})")

    def actions(self, element: str, value: Any) -> tuple[str, ...]:
        out = self.scalars(element, value)
        for action in out:
            if action == "*":
                continue
            prefix, sep, name = action.partition(":")
            if not sep or not prefix or not name or ":" in name:
                self.fail(
                    element,
                    f'{element} value {_show(action)} is not "service:Action"; '
                    'write it like "s3:GetObject", "kms:*" or "*"',
                )
        return out

    def resources(self, element: str, value: Any) -> tuple[str, ...]:
        out = self.scalars(element, value)
        for resource in out:
            if resource != "*" and not resource.startswith("arn:"):
                self.fail(element, f'{element} value {_show(resource)} is not an ARN; write "arn:..." or "*"')
            if "${" in resource:
                self.note(
                    f"{element} uses a policy variable ({_show(resource)}); the request's value is substituted"
                )
        return out

    def principal(self, element: str, value: Any) -> PrincipalSpec:
        if isinstance(value, str) and not isinstance(value, _JsonNumber):
            if value == "*":
                self.charge(value)
                return PrincipalSpec(star=True)
            self.fail(
                element,
                f'{element} is the string {_show(value)}; the only bare string allowed is "*": '
                f'write {{"AWS": {_show(value)}}} or {{"Service": ...}}',
            )
        if not isinstance(value, Mapping):
            self.fail(element, f'{element} is {_kind(value)}; it must be "*" or an object such as {{"AWS": "..."}}')
        if not value:
            self.fail(element, f'{element} is an empty object; name at least one principal or use "*"')
        fields: dict[str, tuple[str, ...]] = {}
        for key, raw in value.items():
            if key not in _PRINCIPAL_TYPES:
                self.fail(f"{element}.{key}", _unknown_msg(key, tuple(_PRINCIPAL_TYPES), f"{element} type"))
            self.charge_key(key)
            vals = self.scalars(f"{element}.{key}", raw)
            fields[_PRINCIPAL_TYPES[key]] = vals
            for val in vals:
                self.check_principal(f"{element}.{key}", key, val)
        return PrincipalSpec(**fields)  # type: ignore[arg-type]

    def check_principal(self, element: str, kind: str, val: str) -> None:
        if kind == "AWS":
            if val == "*" or _is_account(val):
                return
            if val.startswith("arn:"):
                parts = val.split(":", 5)
                if len(parts) != 6 or parts[2] not in ("iam", "sts"):
                    self.fail(element, f"{element} value {_show(val)} is not an IAM or STS ARN; fix the ARN")
                if not _is_account(parts[4]) and not _v.has_wildcard(parts[4]) and parts[4] != "cloudfront":
                    self.fail(
                        element,
                        f"{element} value {_show(val)} has the account {_show(parts[4])}, not a 12-digit "
                        "account id; replace the placeholder with the account id",
                    )
                if _v.has_wildcard(val):
                    self.note(f"{element} value {_show(val)} has a wildcard; AWS does not expand it: it matches nobody")
                return
            if val.isalnum() and val.isupper() and len(val) >= 16:
                self.note(f"{element} value {_show(val)} is a unique id (a deleted identity); it matches nobody")
                return
            self.fail(
                element,
                f'{element} value {_show(val)} is not "*", a 12-digit account id or an ARN; fix the principal',
            )
        elif kind == "CanonicalUser":
            self.note(f"{element} value {_show(val)} is a canonical user id; this evaluator never matches it")
        elif not val:
            self.fail(element, f"{element} holds an empty string; name the principal")

    def conditions(self, value: Any) -> tuple[Condition, ...]:
        if not isinstance(value, Mapping):
            self.fail("Condition", f'Condition is {_kind(value)}; it must be an object like {{"Bool": {{...}}}}')
        out: list[Condition] = []
        for operator, block in value.items():
            element = f"Condition.{operator}"
            base, qualifier, if_exists = self.operator(element, operator)
            self.charge_key(operator)
            if not isinstance(block, Mapping):
                self.fail(element, f"{element} is {_kind(block)}; it must be an object of condition keys")
            seen: dict[str, str] = {}
            for key, raw in block.items():
                if not isinstance(key, str) or not key:
                    self.fail(element, f"{element} has the key {_show(key)}; condition keys are non-empty strings")
                self.charge(key)
                folded = key.lower()
                if folded in seen:
                    self.fail(
                        f"{element}.{key}",
                        f"{element} has keys {_show(seen[folded])} and {_show(key)} "
                        "that differ only in case; "
                        "AWS reads key names case-insensitively: merge them into one key",
                    )
                seen[folded] = key
                vals = self.scalars(f"{element}.{key}", raw)
                self.check_literals(f"{element}.{key}", OPERATORS[base], key, vals)
                out.append(Condition(operator, base, qualifier, if_exists, key, vals))
        return tuple(out)

    def operator(self, element: str, operator: Any) -> tuple[str, Qualifier | None, bool]:
        if not isinstance(operator, str):
            self.fail("Condition", f"Condition has the key {_show(operator)}; operators are strings")
        qualifier: Qualifier | None = None
        rest = operator
        if rest.startswith("ForAnyValue:"):
            qualifier, rest = "ForAnyValue", rest[len("ForAnyValue:") :]
        elif rest.startswith("ForAllValues:"):
            qualifier, rest = "ForAllValues", rest[len("ForAllValues:") :]
        if_exists = rest.endswith("IfExists") and rest != "IfExists"
        base = rest[: -len("IfExists")] if if_exists else rest
        if base not in OPERATORS or (base == "Null" and (if_exists or qualifier)):
            close = difflib.get_close_matches(operator, OPERATOR_NAMES, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.fail(element, f"Condition operator {_show(operator)} is unknown; use a documented operator{hint}")
        return base, qualifier, if_exists

    def check_literals(self, element: str, spec: OperatorSpec, key: str, vals: tuple[str, ...]) -> None:
        parsers = {
            "numeric": (_v.parse_number, 'a number such as "1.2"'),
            "date": (_v.parse_date, 'an ISO 8601 date such as "2024-01-31T00:00:00Z" or epoch seconds'),
            "bool": (_v.parse_bool, '"true" or "false"'),
            "null": (_v.parse_bool, '"true" or "false"'),
            "ip": (_v.parse_network, 'a CIDR block such as "10.0.0.0/16"'),
            "binary": (_v.parse_binary, "base64 text"),
        }
        if spec.family in parsers:
            parse, what = parsers[spec.family]
            for val in vals:
                if parse(val) is None:
                    self.fail(element, f"{element} value {_show(val)} for {key} is not valid; write {what}")
        elif any("${" in val for val in vals):
            self.note(f"{element} uses a policy variable; the request's value is substituted")


_STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_PRINCIPAL_TYPES = {
    "AWS": "aws",
    "Service": "service",
    "Federated": "federated",
    "CanonicalUser": "canonical_user",
}


def _is_account(text: str) -> bool:
    return len(text) == 12 and text.isascii() and text.isdigit()


def _unknown_msg(key: Any, allowed: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6) if isinstance(key, str) else []
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f"unknown {what} {_show(key)}{hint}; allowed: {', '.join(allowed)}"


def parse_policy(doc: str | bytes | Mapping[str, Any]) -> Policy:
    """Parse a policy (JSON text or decoded data) strictly; raise :class:`PolicyError` on any defect."""
    parser = _Parser()
    try:
        data = _decode(doc) if isinstance(doc, str | bytes) else doc
        return parser.policy(data)
    except PolicyError:
        raise
    except RecursionError:
        raise PolicyError("the policy nests too deeply to be a policy; remove the nesting") from None
