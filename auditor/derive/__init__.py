"""Derived facts computed from a snapshot before evaluation (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING

from auditor.derive import bbp, deployed, topology

if TYPE_CHECKING:
    from auditor.config import AuditConfig
    from auditor.snapshot import Snapshot

__all__ = ["derive"]


def derive(snapshot: Snapshot, config: AuditConfig | None = None, *, today: dt.date | None = None) -> Snapshot:
    """The topology facts (auditor.derive.topology), then, with a configuration, one egress.vpc_allowlist per
    VPC (auditor.derive.egress)."""
    derived = topology.derive(snapshot, config, today=today)
    derived = deployed.derive(derived)  # the key ARN each deployed CCME resource uses
    if config is None:
        return derived
    derived = bbp.derive(derived, config)  # cluster reachability facts (pack bbp), after the subnet roles
    from auditor.derive.egress import TYPE, vpc_allowlists

    allowlists = vpc_allowlists(derived, config)
    ids = {r.id for r in allowlists}
    kept = tuple(r for r in derived.resources if not (r.type == TYPE and r.id in ids))
    return replace(derived, resources=kept + tuple(allowlists))
