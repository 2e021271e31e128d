"""The resource type registry: one JSON Schema per canonical resource type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from auditor.data import data_dir


@dataclass(frozen=True)
class ResourceType:
    name: str
    area: str
    regional: bool
    description: str
    schema: Mapping[str, Any]

    @property
    def validator(self) -> jsonschema.protocols.Validator:
        return _validator(self.name)


@cache
def resource_types() -> Mapping[str, ResourceType]:
    """All resource types, keyed by name (`kms.key`, `s3.bucket`, ...)."""
    types: dict[str, ResourceType] = {}
    for path in sorted((data_dir("schemas") / "resources").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        name = path.name.removesuffix(".json")
        types[name] = ResourceType(
            name=name,
            area=schema["x-area"],
            regional=bool(schema["x-regional"]),
            description=schema.get("description", ""),
            schema=schema,
        )
    return types


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = resource_types()[name].schema
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)
