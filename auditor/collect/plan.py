"""What a scan must collect, derived from the selected rules and the configuration.

Types: every rule's resource_type, plus the types its assertions look up (`lookup`).
Selectors: per type, the values of the attribute paths the rules' scopes select on (for
example the three configured bucket names). A collector makes its per-resource detail calls
only for resources a selector matches; a rule whose scope cannot be reduced to literal values
(no `where`, a regex, a template reading the resource) makes its type "collect everything".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.config import AuditConfig
from auditor.engine import operators
from auditor.engine.rules import Rule
from auditor.engine.values import MissingParameter, render

EVERYTHING = None


@dataclass
class Plan:
    types: frozenset[str]
    # type -> {path -> values}; a type missing here (or mapped to None) needs every resource in detail
    selectors: dict[str, dict[str, set[Any]] | None] = field(default_factory=dict)
    options: frozenset[str] = frozenset()

    def wants(self, rtype: str) -> bool:
        return rtype in self.types

    def selects_all(self, rtype: str) -> bool:
        return self.selectors.get(rtype) is None

    def selected(
        self, rtype: str, values: Mapping[str, Any], normalize: Callable[[Any], Any] | None = None
    ) -> bool:
        """Whether a resource with these attribute values is selected by some rule of `rtype`.

        `values` maps a selector path to the resource's value there (a list counts per element).
        `normalize`, when given, is applied to both sides (near misses a rule may flag).
        """
        if rtype not in self.types:
            return False
        selector = self.selectors.get(rtype)
        if selector is None:
            return True
        norm = normalize or (lambda v: v)
        for path, wanted in selector.items():
            if path not in values:
                continue
            observed = values[path]
            items = observed if isinstance(observed, list) else [observed]
            wanted_norm = {norm(w) for w in wanted}
            if any(norm(item) in wanted_norm for item in items):
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "types": sorted(self.types),
            "selectors": {
                t: ({p: sorted(map(str, v)) for p, v in s.items()} if s is not None else "all")
                for t, s in sorted(self.selectors.items())
            },
            "options": sorted(self.options),
        }


def _literal_selector(where: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    ((name, args),) = where.items()
    if name in ("equals", "contains") and not args.get("ignore_case"):
        value = args["value"]
        if isinstance(value, str | int | bool) and "{resource." not in str(value):
            return args["path"], [value]
    if name == "in" and not args.get("ignore_case") and isinstance(args.get("values"), list):
        values = args["values"]
        if all(isinstance(v, str | int | bool) and "{resource." not in str(v) for v in values):
            return args["path"], list(values)
    return None


def _lookup_types(assertion: Mapping[str, Any]) -> set[str]:
    return {args["type"] for name, args in operators.walk(assertion) if name == "lookup"}


def build_plan(
    rules: Sequence[Rule], config: AuditConfig, account: str | None, regions: Iterable[str] | None = None
) -> Plan:
    types: set[str] = set()
    selectors: dict[str, dict[str, set[Any]] | None] = {}
    everything: set[str] = set()
    for rule in rules:
        if not rule.live:
            continue
        types.add(rule.resource_type)
        for looked_up in _lookup_types(rule.assertion):
            types.add(looked_up)
            everything.add(looked_up)
        if rule.scope.where is None:
            everything.add(rule.resource_type)
            continue
        for region in regions or config.regions:
            params = config.params(region, account)
            try:
                where = render(rule.scope.where, params, keep_prefix="resource.")
            except MissingParameter:
                continue  # the rule reports the missing parameter as ERROR; it selects nothing
            picked = _literal_selector(where)
            if picked is None:
                everything.add(rule.resource_type)
                continue
            path, values = picked
            selector = selectors.setdefault(rule.resource_type, {})
            if selector is not None:
                selector.setdefault(path, set()).update(values)
    for rtype in everything:
        selectors[rtype] = EVERYTHING
    for rtype in types:
        selectors.setdefault(rtype, EVERYTHING if rtype in everything else {})
    options = frozenset(k for k, v in (config.data.get("options") or {}).items() if v)
    return Plan(types=frozenset(types), selectors=selectors, options=options)
