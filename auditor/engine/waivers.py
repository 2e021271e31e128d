"""A waiver must name rules that exist: a pattern that matches no rule id of any shipped or loaded pack is a
typo (it would silently waive nothing), reported as bad input with the closest rule ids."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from auditor.config import AuditConfig
from auditor.engine.rules import Rule, load_rules
from auditor.errors import InputError
from auditor.suggest import closest

_WILDCARDS = "*?["


def _suggestions(pattern: str, ids: set[str]) -> list[str]:
    """The closest rule ids; for a pattern, the corrected pattern first ('CCME-KMS-ROTATON-*' ->
    'CCME-KMS-ROTATION-*') with the ids it would match."""
    cut = min((pattern.index(c) for c in _WILDCARDS if c in pattern), default=None)
    if cut is None or cut == 0:
        bare = pattern.strip(_WILDCARDS + "]")
        return closest(bare, ids) or closest(bare, ids, anyway=True)
    prefix, rest = pattern[:cut], pattern[cut:]
    heads = {rule_id[:k] for rule_id in ids for k in (cut - 1, cut, cut + 1)}
    near = closest(prefix, heads, n=1)
    if not near:
        return closest(prefix, ids, anyway=True)
    fixed = near[0] + rest
    matched = sorted(i for i in ids if fnmatch.fnmatchcase(i, fixed))
    return [f"{fixed} ({', '.join(matched[:3])}{', ...' if len(matched) > 3 else ''})"]


def check_waivers(config: AuditConfig, rules: Sequence[Rule], extra_ids: Iterable[str] = ()) -> None:
    """Raise InputError on the first waiver whose rule pattern matches no rule id (of `rules`, `extra_ids` and
    every shipped pack)."""
    if not config.waivers:
        return
    ids = {rule.id for rule in rules} | set(extra_ids)
    if not all(any(fnmatch.fnmatchcase(i, w.rule) for i in ids) for w in config.waivers):
        ids |= {rule.id for rule in load_rules(None, None)}
    for index, waiver in enumerate(config.waivers):
        if any(fnmatch.fnmatchcase(rule_id, waiver.rule) for rule_id in ids):
            continue
        near = _suggestions(waiver.rule, ids)
        fix = ("did you mean " + " or ".join(near) + "? (ccme-audit rules list)") if near else \
            "name a rule id (ccme-audit rules list)"
        raise InputError(f"waiver rule '{waiver.rule}' matches no rule of any pack", file=config.source,
                         place=f"/waivers/{index}/rule", fix=fix)
