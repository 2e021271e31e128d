"""Rule files: YAML under policies/<pack>/, validated in two stages (schema, then semantics)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from auditor.config import DEFAULTS, AuditConfig
from auditor.data import data_dir
from auditor.engine import operators
from auditor.engine.findings import Severity, Source
from auditor.engine.values import placeholders
from auditor.errors import InputError
from auditor.fileio import load_document, read_text
from auditor.resources import resource_types

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
RESOURCE_PARAMS = frozenset({"resource.id", "resource.name", "resource.region", "resource.account"})


@dataclass(frozen=True)
class Scope:
    where: Mapping[str, Any] | None = None
    expect: str = "each"
    missing_id: str | None = None
    options: tuple[str, ...] = ()
    # at_least_one with `where: {equals: {path, value}}`: while nothing matches, a resource whose value is a small
    # edit away from the required one (a typo) FAILs in every mode, naming what it resembles.
    near_miss: bool = False
    # expect: at_least_one only when one of these configuration parameters is set (truthy); otherwise a
    # missing resource is SKIPPED, naming them (a requirement the seed makes optional).
    required_when: tuple[str, ...] = ()
    not_required_hint: str | None = None  # how to require it, for the SKIPPED message


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    source: Source
    resource_type: str
    pack: str
    area: str
    file: str
    assertion: Mapping[str, Any]
    scope: Scope = Scope()
    description: str | None = None
    message: str | None = None
    remediation: tuple[str, ...] = ()
    iac: bool = True
    live: bool = True

    @property
    def parameters(self) -> frozenset[str]:
        found = placeholders([self.assertion, self.scope.where, self.scope.missing_id, self.message])
        return frozenset(found - RESOURCE_PARAMS)


def rule_schema() -> dict[str, Any]:
    """The JSON Schema of one rule, composed from the operator fragments."""
    source = {
        "type": "object", "additionalProperties": False, "required": ["document"],
        "properties": {"document": {"type": "string", "minLength": 3}, "section": {"type": "string"},
                       "quote": {"type": "string"}, "url": {"type": "string", "pattern": "^https://"}},
        "anyOf": [{"required": ["section"]}, {"required": ["url"]}],
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "title", "severity", "source", "resource_type", "assert"],
        "properties": {
            "id": {"type": "string", "pattern": r"^[A-Z][A-Z0-9{}_a-z-]*$"},
            "title": {"type": "string", "minLength": 5},
            "description": {"type": "string"},
            "severity": {"type": "string"},
            "source": source,
            "resource_type": {"type": "string"},
            "area": {"enum": ["kms", "s3", "network", "services", "os", "packages", "provisioner"]},
            "scope": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "where": operators.ASSERTION_REF,
                    "expect": {"enum": ["each", "at_least_one"]},
                    "missing_id": {"type": "string"},
                    "near_miss": {"type": "boolean"},
                    "options": {"type": "array", "items": {"enum": ["read_secret_values", "probe_cost_explorer"]}},
                    "required_when": {"type": "array", "minItems": 1,
                                      "items": {"type": "string", "pattern": "^[a-z_][a-z0-9_.]*$"}},
                    "not_required_hint": {"type": "string", "minLength": 5},
                },
            },
            "assert": operators.ASSERTION_REF,
            "message": {"type": "string"},
            "remediation": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9_/-]+$"}},
            "applies_to": {"type": "array", "items": {"enum": ["live", "iac"]}, "minItems": 1},
            "foreach": {"type": "array", "minItems": 1,
                        "items": {"type": "object", "minProperties": 1,
                                  "propertyNames": {"pattern": "^[a-z_][a-z0-9_]*$"}}},
        },
    }


def rule_file_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://ccme-audit.dev/schemas/rule-file.json",
        "title": "ccme-audit rule file",
        "type": "object",
        "additionalProperties": False,
        "required": ["rules"],
        "properties": {"rules": {"type": "array", "items": rule_schema()}},
        "$defs": {"assertion": operators.assertion_schema()},
    }


@cache
def _file_validator() -> jsonschema.protocols.Validator:
    schema = rule_file_schema()
    return jsonschema.validators.validator_for(schema)(schema)


@cache
def known_parameters() -> frozenset[str]:
    params = AuditConfig(data=DEFAULTS).params("eu-west-1", "000000000000")
    return frozenset(params) | RESOURCE_PARAMS


def _line_of(text: str, rule_id: str) -> str | None:
    match = re.search(rf"^\s*-?\s*id:\s*['\"]?{re.escape(rule_id)}['\"]?\s*$", text, re.MULTILINE)
    return f"line {text.count(chr(10), 0, match.start()) + 1}" if match else None


def _place(text: str, raw: Mapping[str, Any] | None, pointer: Sequence[Any]) -> str:
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    parts = []
    if isinstance(rid, str):
        parts.append(f"rule {rid}")
        line = _line_of(text, rid)
        if line:
            parts.append(line)
    parts.append("/" + "/".join(str(p) for p in pointer))
    return ", ".join(parts)


def _schema_error_fix(error: jsonschema.ValidationError) -> str:
    if error.validator == "propertyNames" or (error.validator == "enum" and "assert" in str(error.absolute_path)):
        return f"use one of the operators: {', '.join(sorted(operators.OPERATORS))}"
    if error.validator == "additionalProperties":
        return "remove the unknown key (see ccme-audit rules schema)"
    if error.validator == "required":
        return "add the missing key"
    return "see ccme-audit rules schema"


def _expand(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One rule per `foreach` item, its variables substituted; or the rule itself."""
    base = {k: v for k, v in raw.items() if k != "foreach"}
    items = raw.get("foreach")
    if not items:
        return [dict(base)]
    return [_render_vars(base, item) for item in items]


def _render_vars(value: Any, variables: Mapping[str, Any]) -> Any:
    """Substitute foreach variables only; other placeholders stay for evaluation time."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\{([a-z_][a-z0-9_]*)\}", value)
        if whole and whole.group(1) in variables:
            return copy.deepcopy(variables[whole.group(1)])

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(variables[name]) if name in variables else match.group(0)

        return re.sub(r"\{([a-z_][a-z0-9_]*)\}", sub, value)
    if isinstance(value, Mapping):
        return {k: _render_vars(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_vars(v, variables) for v in value]
    return value


def _semantic_problems(raw: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(place, problem, fix) for a rule that passed the schema."""
    problems: list[tuple[str, str, str]] = []
    if not RULE_ID.match(raw["id"]):
        problems.append(("/id", f"rule id '{raw['id']}' is not of the form AREA-NAME in capitals",
                         "use capitals, digits and dashes, e.g. CCME-KMS-ALIAS-CMH-EBS"))
    try:
        Severity(raw["severity"])
    except ValueError:
        problems.append(("/severity", f"severity '{raw['severity']}' is unknown",
                         f"use one of: {', '.join(s.value for s in Severity)}"))
    if raw["resource_type"] not in resource_types():
        problems.append(("/resource_type", f"unknown resource type '{raw['resource_type']}'",
                         f"use one of: {', '.join(sorted(resource_types()))}"))
    for key in ("assert", "scope"):
        tree = raw.get(key)
        if key == "scope":
            tree = (tree or {}).get("where")
        if not tree:
            continue
        for name, args in operators.walk(tree):
            for problem in operators.OPERATORS[name].check(args):
                problems.append((f"/{key}", f"{name}: {problem}", "correct the operator arguments"))
    unknown = placeholders([raw.get("assert"), raw.get("scope"), raw.get("message")]) - known_parameters()
    for name in sorted(unknown):
        problems.append(("/", f"unknown parameter '{{{name}}}'",
                         "use a configuration value (see ccme-audit rules params) or a foreach variable"))
    scope = raw.get("scope") or {}
    if scope.get("near_miss") and (scope.get("expect") != "at_least_one"
                                   or "equals" not in (scope.get("where") or {})):
        problems.append(("/scope", "near_miss needs expect: at_least_one and where: {equals: {path, value}}",
                         "remove near_miss, or scope the rule by one required value"))
    if scope.get("expect") == "at_least_one" and not scope.get("missing_id"):
        problems.append(("/scope", "expect: at_least_one needs missing_id (the id reported when nothing matches)",
                         "add scope.missing_id"))
    for name in scope.get("required_when", ()):
        if name not in known_parameters():
            problems.append(("/scope/required_when", f"'{name}' is not a configuration parameter",
                             "name a key of ccme-audit.yaml in dotted form, e.g. network.vpc_id"))
    if scope.get("required_when") and scope.get("expect") != "at_least_one":
        problems.append(("/scope/required_when", "required_when only applies to expect: at_least_one",
                         "add expect: at_least_one or remove required_when"))
    return problems


def load_rule_file(path: Path, pack: str) -> list[Rule]:
    text = read_text(path)
    doc = load_document(path)
    file = str(path)
    if not isinstance(doc, dict):
        raise InputError("a rule file must be a mapping with a 'rules' list", file=file, place="/",
                         fix="start the file with 'rules:'")
    for error in sorted(_file_validator().iter_errors(doc), key=lambda e: list(e.absolute_path)):
        best = jsonschema.exceptions.best_match([error])
        pointer = list(best.absolute_path)
        raw = doc["rules"][pointer[1]] if len(pointer) > 1 and pointer[0] == "rules" and isinstance(
            doc.get("rules"), list) else None
        raise InputError(best.message, file=file, place=_place(text, raw, pointer[2:] if raw else pointer),
                         fix=_schema_error_fix(best))
    rules = []
    for raw_rule in doc["rules"]:
        for raw in _expand(raw_rule):
            problems = _semantic_problems(raw)
            if problems:
                place, problem, fix = problems[0]
                raise InputError(problem, file=file, place=_place(text, raw_rule, [place.strip("/")]), fix=fix)
            rtype = resource_types()[raw["resource_type"]]
            scope_raw = raw.get("scope") or {}
            source_raw = raw["source"]
            applies = raw.get("applies_to", ["live", "iac"])
            rules.append(Rule(
                id=raw["id"], title=raw["title"], severity=Severity(raw["severity"]),
                source=Source(document=source_raw["document"], section=source_raw.get("section"),
                              quote=source_raw.get("quote"), url=source_raw.get("url")),
                resource_type=raw["resource_type"], pack=pack, area=raw.get("area", rtype.area), file=file,
                assertion=raw["assert"],
                scope=Scope(where=scope_raw.get("where"), expect=scope_raw.get("expect", "each"),
                            missing_id=scope_raw.get("missing_id"), options=tuple(scope_raw.get("options", ())),
                            near_miss=bool(scope_raw.get("near_miss", False)),
                            required_when=tuple(scope_raw.get("required_when", ())),
                            not_required_hint=scope_raw.get("not_required_hint")),
                description=raw.get("description"), message=raw.get("message"),
                remediation=tuple(raw.get("remediation", ())),
                live="live" in applies, iac="iac" in applies,
            ))
    return rules


def pack_files(root: Path) -> Iterable[tuple[str, Path]]:
    """(pack, file) for every rule file under root (root/<pack>/*.yaml), or root itself if a file."""
    if root.is_file():
        yield root.parent.name, root
        return
    if not root.is_dir():
        raise InputError("no such file or directory", file=str(root), fix="name a rule file or a policies directory")
    nested = sorted(p for p in root.glob("*/*.y*ml") if p.suffix in (".yaml", ".yml"))
    if nested:
        for path in nested:
            yield path.parent.name, path
    else:
        for path in sorted(p for p in root.glob("*.y*ml") if p.suffix in (".yaml", ".yml")):
            yield root.name, path


def load_files(files: Iterable[tuple[str, Path]]) -> list[Rule]:
    """The rules of these (pack, file) pairs, in order; a rule id given twice is bad input naming both files."""
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for pack, path in files:
        for rule in load_rule_file(path, pack):
            if rule.id in seen:
                raise InputError(f"duplicate rule id {rule.id} (first in {seen[rule.id]})", file=str(path),
                                 place=f"rule {rule.id}", fix="give each rule a unique id")
            seen[rule.id] = str(path)
            rules.append(rule)
    return rules


def load_rules(root: Path | None = None, packs: Sequence[str] | None = None) -> list[Rule]:
    """Load and validate every rule under root (default: the shipped policies/), optionally by pack."""
    root = root or data_dir("policies")
    every = list(pack_files(root))
    available = {pack for pack, _ in every}
    rules = load_files((pack, path) for pack, path in every if not packs or pack in packs)
    if packs:
        missing = sorted(set(packs) - available)
        if missing:
            raise InputError(f"unknown pack(s): {', '.join(missing)}", file=str(root), place="--pack",
                             fix=f"use one of: {', '.join(sorted(available))}")
    return rules
