"""Opt-in regions: a configured region the account has not enabled is reported, never called.

Calls to a region that is not enabled fail with an authentication error (UnrecognizedClientException,
InvalidClientTokenId, AuthFailure) that says nothing of the cause. When a configured region is not
one of those every account has (auditor/partitions.py), one ec2:DescribeRegions (AllRegions) call
in the partition's always-enabled region tells: a region `not-opted-in`, or unknown to the
partition, gets no collector task; each resource type the plan wants there gets a collection
error saying how to enable the region, so its rules are ERROR. If DescribeRegions itself fails,
the scan goes on: a call to a disabled region fails at once (authentication errors are not
retried) and its message carries the same hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.collect.base import CALL_ERRORS, enable_region_fix
from auditor.partitions import opt_in_candidate, partition_of

REGION_NOT_ENABLED = "RegionNotEnabled"


def disabled_regions(factory: Any, regions: Sequence[str], account: str) -> dict[str, str]:
    """Configured regions the account cannot use, each with the message its findings will carry."""
    candidates = [r for r in regions if opt_in_candidate(r)]
    if not candidates:
        return {}
    out: dict[str, str] = {}
    by_anchor: dict[str, list[str]] = {}
    for region in candidates:
        by_anchor.setdefault(partition_of(region).anchor, []).append(region)
    for anchor, asked in by_anchor.items():
        try:
            answer = factory("ec2", anchor).describe_regions(AllRegions=True)
        except CALL_ERRORS:
            continue  # no upfront knowledge: the calls themselves will fail fast, with the hint
        status = {str(r.get("RegionName")): str(r.get("OptInStatus") or "") for r in answer.get("Regions") or ()}
        for region in asked:
            state = status.get(region)
            if state is None:
                out[region] = (f"{region} is not a region of the {partition_of(region).name} partition for account "
                               f"{account} (ec2:DescribeRegions does not list it): correct or remove it in `regions` "
                               "in the config")
            elif state == "not-opted-in":
                out[region] = (f"{region} is an opt-in region not enabled for account {account} (OptInStatus "
                               f"not-opted-in): {enable_region_fix(region)}")
    return out
