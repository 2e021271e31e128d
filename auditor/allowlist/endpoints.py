"""The required egress endpoints: shipped data (endpoints.yaml) merged with the configuration's egress section."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from auditor.config import AuditConfig
from auditor.data import data_dir
from auditor.errors import InputError
from auditor.fileio import load_document

DATA_FILE = Path(__file__).resolve().parent / "endpoints.yaml"
FAMILIES = ("parallelcluster", "redhat", "aws", "nvidia", "dcv-enginframe", "ef-portal", "tools")


@dataclass(frozen=True)
class Endpoint:
    """One host to reach, after region expansion."""

    id: str
    host: str
    family: str
    purpose: str
    source: str
    port: int = 443
    url: str | None = None
    aws_service: str | None = None
    region: str | None = None
    confirmed: bool = True
    origin: str = "shipped"  # shipped | config

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.id, "host": self.host, "port": self.port, "url": self.url, "family": self.family,
            "purpose": self.purpose, "source": self.source, "aws_service": self.aws_service,
            "confirmed": self.confirmed, "origin": self.origin,
        }


@cache
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((data_dir("schemas") / "egress-endpoints.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def load_data(path: Path = DATA_FILE) -> dict[str, Any]:
    """The endpoint data file, validated against schemas/egress-endpoints.json."""
    doc = load_document(path)
    error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(doc))
    if error is not None:
        raise InputError(error.message, file=str(path), place="/" + "/".join(str(p) for p in error.absolute_path),
                         fix="follow schemas/egress-endpoints.json")
    ids = [e["id"] for e in doc["endpoints"]]
    duplicate = sorted({i for i in ids if ids.count(i) > 1})
    if duplicate:
        raise InputError(f"duplicate endpoint id {duplicate[0]}", file=str(path), place="/endpoints",
                         fix="give each endpoint a unique id")
    return dict(doc)


def _expand(raw: Mapping[str, Any], regions: Sequence[str], origin: str) -> list[Endpoint]:
    regional = "{region}" in raw["host"] or "{region}" in (raw.get("url") or "")
    out = []
    for region in (regions if regional else [None]):
        def sub(text: str | None, r: str | None = region) -> str | None:
            return text.replace("{region}", r) if text is not None and r is not None else text

        out.append(Endpoint(
            id=f"{raw['id']}@{region}" if region else raw["id"], host=str(sub(raw["host"])),
            family=raw["family"], purpose=raw["purpose"], source=raw.get("source") or "ccme-audit.yaml egress",
            port=int(raw.get("port", 443)), url=sub(raw.get("url")), aws_service=raw.get("aws_service"),
            region=region, confirmed=bool(raw.get("confirmed", True)), origin=origin,
        ))
    return out


def _removed(raw: Mapping[str, Any], patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(raw["id"], p) or fnmatch.fnmatchcase(raw["host"], p) for p in patterns)


def required_endpoints(config: AuditConfig, *, shipped: bool = True, data_file: Path = DATA_FILE) -> list[Endpoint]:
    """Shipped endpoints minus egress.remove, plus egress.extra_endpoints, each expanded per configured region.

    `shipped=False` keeps only the configuration's extra endpoints (ccme-audit egress probe --from-config).
    """
    egress = config.data.get("egress") or {}
    remove = list(egress.get("remove") or [])
    regions = list(config.regions)
    out: list[Endpoint] = []
    if shipped:
        for raw in load_data(data_file)["endpoints"]:
            if not _removed(raw, remove):
                out.extend(_expand(raw, regions, "shipped"))
    seen = {e.id for e in out}
    for index, raw in enumerate(egress.get("extra_endpoints") or []):
        for endpoint in _expand(raw, regions, "config"):
            if endpoint.id in seen:
                raise InputError(f"endpoint id {endpoint.id} is already defined", file=config.source,
                                 place=f"/egress/extra_endpoints/{index}/id",
                                 fix="choose another id, or drop the shipped one with egress.remove")
            seen.add(endpoint.id)
            out.append(endpoint)
    return out


def families() -> dict[str, str]:
    return dict(load_data()["families"])
