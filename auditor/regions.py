"""Region names, checked against botocore's partition data (endpoints.json: every partition's regions, the
opt-in ones included): an unknown name is bad input naming the closest known ones, never an audit of a
region that does not exist."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from auditor.errors import InputError
from auditor.suggest import did_you_mean


@cache
def known_regions() -> frozenset[str]:
    """Every region botocore's partition data names, in every partition."""
    from botocore.loaders import Loader

    data = Loader().load_data("endpoints")
    return frozenset(name for partition in data.get("partitions", []) for name in partition.get("regions", {}))


def check_regions(names: Iterable[str], *, place: str = "--region", file: str | None = None) -> None:
    """Raise InputError (exit 2) on the first name that is no region of any partition."""
    known = known_regions()
    for name in names:
        if name in known:
            continue
        fix = did_you_mean(str(name), known) or "use a region name such as eu-west-1"
        raise InputError(f"unknown region '{name}'", file=file, place=place, fix=fix)
