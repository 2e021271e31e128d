"""A value AWS answers that the snapshot schema does not allow becomes unknown, naming it (auditor.snapshot.conform)."""

from __future__ import annotations

import pytest

from auditor.errors import InputError
from auditor.snapshot import conform, is_unknown, unknown_reason, validate_resource


def _bucket(**attributes: object) -> dict[str, object]:
    return {"name": "b", "versioning": "Enabled", **attributes}


def test_a_value_outside_an_enum_becomes_unknown_and_the_snapshot_reads_back() -> None:
    attributes = _bucket(versioning="FUTURE_VALUE_2031")
    out = conform("s3.bucket", attributes)
    assert is_unknown(out["versioning"]) and "'FUTURE_VALUE_2031'" in unknown_reason(out["versioning"])
    assert attributes["versioning"] == "FUTURE_VALUE_2031"  # the collector's own dict is not changed
    validate_resource({"type": "s3.bucket", "attributes": out}, file="<t>", index=0)  # reads back


def test_a_valid_value_is_kept_as_it_is() -> None:
    attributes = _bucket(versioning="Suspended")
    assert conform("s3.bucket", attributes) is attributes


def test_a_value_of_another_type_becomes_unknown() -> None:
    attributes = _bucket(versioning=5)
    with pytest.raises(InputError):
        validate_resource({"type": "s3.bucket", "attributes": attributes}, file="<t>", index=0)
    out = conform("s3.bucket", attributes)
    assert is_unknown(out["versioning"]) and out["name"] == "b"
    validate_resource({"type": "s3.bucket", "attributes": out}, file="<t>", index=0)
