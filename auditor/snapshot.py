"""The canonical snapshot: the contract between sources (live, IaC) and rules."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from auditor.data import data_dir
from auditor.errors import InputError
from auditor.fileio import parse_json, read_text, write_text_atomic
from auditor.resources import resource_types
from auditor.schemacheck import Check, Unsupported, compile_schema

SCHEMA_VERSION = 1
TEMPLATE_KINDS = frozenset({"cloudformation", "terraform", "parallelcluster", "ccme_deployment"})
UNKNOWN_KEY = "$unknown"


def unknown(reason: str) -> dict[str, str]:
    """A value a source could not know, with the reason (never guessed, never dropped)."""
    return {UNKNOWN_KEY: reason}


def is_unknown(value: Any) -> bool:
    return isinstance(value, dict) and UNKNOWN_KEY in value and len(value) == 1


def unknown_reason(value: Any) -> str:
    return str(value[UNKNOWN_KEY])


def location_text(location: Mapping[str, Any] | None) -> str:
    """`file:line`, or only `file` when the line is not known (never `file:None`)."""
    if not location:
        return ""
    line = location.get("line")
    file = str(location.get("file") or "")
    return f"{file}:{line}" if isinstance(line, int) and not isinstance(line, bool) and line >= 1 else file


GENERATED_KEY = "$generated"


def generated(reason: str, shape: str) -> dict[str, str]:
    """A name the platform generates at deployment (a bucket without BucketName, a Terraform `bucket_prefix`).

    Unlike an unknown value its shape is known: `shape` is a regular expression every generated
    name fully matches. A configured name outside that shape can never be this name (the resource is
    out of a name-scoped rule's scope); one inside it cannot be told apart (unknown). It is never a
    concrete value: no rule reads it as equal to anything it could PASS on.
    """
    return {GENERATED_KEY: reason, "shape": shape}


def is_generated(value: Any) -> bool:
    return isinstance(value, dict) and GENERATED_KEY in value and len(value) == 2 and "shape" in value


def generated_may_be(value: Mapping[str, Any], literal: Any, *, ignore_case: bool = False) -> bool:
    """Whether the generated name `value` could turn out to be the string `literal` at deployment."""
    if not isinstance(literal, str):
        return False
    try:
        return re.fullmatch(str(value["shape"]), literal, re.IGNORECASE if ignore_case else 0) is not None
    except re.error:
        return True  # a shape that does not compile proves nothing: cannot tell


def generated_clash(value: Mapping[str, Any], literal: Any, *, ignore_case: bool = False) -> str | None:
    """The reason a generated name cannot be told apart from `literal`, or None when it never equals it."""
    if not generated_may_be(value, literal, ignore_case=ignore_case):
        return None
    return f"{value[GENERATED_KEY]}; {literal!r} has the shape of such a name: cannot tell until deployment"


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None
    column: int | None = None
    logical_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line}
        if self.column is not None:
            out["column"] = self.column
        if self.logical_id is not None:
            out["logical_id"] = self.logical_id
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Location | None:
        if not data:
            return None
        return cls(file=data["file"], line=data.get("line"), column=data.get("column"),
                   logical_id=data.get("logical_id"))


@dataclass(frozen=True)
class Resource:
    type: str
    id: str
    attributes: Mapping[str, Any]
    name: str | None = None
    region: str | None = None
    account: str | None = None
    location: Location | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "id": self.id}
        if self.name is not None:
            out["name"] = self.name
        out["region"] = self.region
        out["account"] = self.account
        out["attributes"] = self.attributes
        if self.location is not None:
            out["location"] = self.location.to_json()
        return out


@dataclass(frozen=True)
class CollectionError:
    """A call that failed while collecting; without resource_id it concerns the whole type."""

    resource_type: str
    operation: str
    code: str
    message: str
    resource_id: str | None = None
    attribute: str | None = None
    region: str | None = None
    account: str | None = None
    location: Location | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resource_type": self.resource_type, "resource_id": self.resource_id, "attribute": self.attribute,
            "region": self.region,
            "account": self.account, "operation": self.operation, "code": self.code, "message": self.message,
        }
        if self.location is not None:
            out["location"] = self.location.to_json()
        return out


@dataclass(frozen=True)
class Snapshot:
    kind: str
    resources: tuple[Resource, ...]
    errors: tuple[CollectionError, ...] = ()
    account: str | None = None
    regions: tuple[str, ...] = ()
    collected_at: str | None = None
    paths: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        from auditor import __version__

        source: dict[str, Any] = {
            "kind": self.kind, "account": self.account, "regions": list(self.regions),
            "collected_at": self.collected_at, "tool_version": __version__,
        }
        if self.paths:
            source["paths"] = list(self.paths)
        if self.options:
            source["options"] = dict(self.options)
        return {
            "schema_version": SCHEMA_VERSION,
            "source": source,
            "resources": [r.to_json() for r in self.resources],
            "errors": [e.to_json() for e in self.errors],
        }

    def dump(self, path: Path) -> None:
        write_text_atomic(path, json.dumps(self.to_json(), indent=1, sort_keys=False, default=str) + "\n")


@cache
def _envelope_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((data_dir("schemas") / "snapshot.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _pointer(path: Iterable[Any]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _marker(value: Any) -> bool:
    return is_unknown(value) or is_generated(value)


def _prune_unknown(value: Any) -> Any:
    """Copy `value` without unknown or generated markers, so the type schema checks only what is known."""
    if isinstance(value, dict):
        return {k: _prune_unknown(v) for k, v in value.items() if not _marker(v)}
    if isinstance(value, list):
        return [_prune_unknown(v) for v in value if not _marker(v)]
    return value


@cache
def _fast_check(rtype: str | None) -> Check | None:
    """A compiled yes/no check of a type's schema (None for the envelope), or None if unsupported."""
    try:
        if rtype is None:
            return compile_schema(json.loads((data_dir("schemas") / "snapshot.json").read_text(encoding="utf-8")))
        return compile_schema(resource_types()[rtype].schema)
    except Unsupported:
        return None


def _has_unknown(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if _marker(item):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def validate_resource(resource: Mapping[str, Any], *, file: str, index: int) -> None:
    types = resource_types()
    rtype = resource["type"]
    if rtype not in types:
        raise InputError(
            f"unknown resource type '{rtype}'", file=file, place=f"/resources/{index}/type",
            fix=f"use one of: {', '.join(sorted(types))}",
        )
    attributes = resource["attributes"]
    if _has_unknown(attributes):
        attributes = _prune_unknown(attributes)
    check = _fast_check(rtype)
    if check is not None and check(attributes):
        return
    error = jsonschema.exceptions.best_match(types[rtype].validator.iter_errors(attributes))
    if error is not None:
        raise InputError(
            f"{rtype} attributes: {error.message}", file=file,
            place=_pointer(["resources", index, "attributes", *error.absolute_path]),
            fix=f"follow schemas/resources/{rtype}.json",
        )


def conform(rtype: str, attributes: dict[str, Any], *, source: str = "AWS") -> dict[str, Any]:
    """`attributes` with each value its type's schema does not allow made unknown, naming the value.

    A collector copies what AWS answers; AWS adds enum values (a new state, a new mode) and an answer can
    hold a value of another type. Such a value is evidence this version cannot read: it becomes unknown
    (rules that read it are ERROR), never a snapshot that cannot be read back, never a crash. A value whose
    removal is not possible (the attributes themselves) is left for validate_resource to report.
    """
    types = resource_types()
    if rtype not in types:
        return attributes
    check = _fast_check(rtype)
    pruned = _prune_unknown(attributes) if _has_unknown(attributes) else attributes
    if check is not None and check(pruned):
        return attributes
    out = copy.deepcopy(attributes)
    for _ in range(64):  # each pass fixes at least one value; bounded all the same
        errors = [e for e in types[rtype].validator.iter_errors(_prune_unknown(out)) if e.absolute_path]
        if not errors:
            break
        for error in errors:
            if not _replace_at(out, list(error.absolute_path), error.instance, source):
                return out
    return out


def _replace_at(value: Any, path: list[Any], instance: Any, source: str) -> bool:
    """Replace the value at `path` (a path in the pruned copy: list indexes skip markers) with unknown."""
    *parents, last = path
    for step in parents:
        value = _step(value, step)
        if value is None:
            return False
    if isinstance(value, dict) and last in value:
        value[last] = unknown(f"{source} answered {_short(instance)}, a value this version of ccme-audit does not know")
        return True
    if isinstance(value, list):
        known = [i for i, v in enumerate(value) if not _marker(v)]
        if isinstance(last, int) and last < len(known):
            value[known[last]] = unknown(
                f"{source} answered {_short(instance)}, a value this version of ccme-audit does not know"
            )
            return True
    return False


def _step(value: Any, step: Any) -> Any:
    if isinstance(value, dict):
        return value.get(step)
    if isinstance(value, list) and isinstance(step, int):
        known = [v for v in value if not _marker(v)]
        return known[step] if step < len(known) else None
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def snapshot_from_json(data: Any, *, file: str) -> Snapshot:
    """Validate a decoded snapshot document and build the Snapshot."""
    if isinstance(data, dict) and data.get("schema_version") not in (None, SCHEMA_VERSION):
        raise InputError(
            f"snapshot schema version {data.get('schema_version')!r} is not supported", file=file,
            place="/schema_version", fix=f"collect it again with this version (schema {SCHEMA_VERSION})",
        )
    if not isinstance(data, dict):  # before jsonschema, whose message would quote the whole document
        raise InputError(f"the snapshot is a JSON {type(data).__name__}, not an object", file=file, place="/",
                         fix="follow schemas/snapshot.json")
    fast = _fast_check(None)
    error = None if fast is not None and fast(data) else jsonschema.exceptions.best_match(
        _envelope_validator().iter_errors(data))
    if error is not None:
        raise InputError(error.message, file=file, place=_pointer(error.absolute_path),
                         fix="follow schemas/snapshot.json")
    resources = []
    # Per (type, id), the (region, account) of each entry: two entries one of which only lacks a field the
    # other has (the same bucket with and without its account) are one resource recorded twice.
    seen: dict[tuple[str, str], list[tuple[str | None, str | None]]] = {}
    for index, item in enumerate(data["resources"]):
        validate_resource(item, file=file, index=index)
        here = (item.get("region"), item.get("account"))
        for other in seen.setdefault((item["type"], item["id"]), []):
            if all(a == b or a is None or b is None for a, b in zip(here, other, strict=True)):
                what = "" if here == other else (
                    f" (once with region {other[0]!r} and account {other[1]!r}, here with region {here[0]!r} "
                    f"and account {here[1]!r}: the same resource under two identities)")
                raise InputError(f"duplicate resource {item['type']} {item['id']}{what}", file=file,
                                 place=f"/resources/{index}", fix="keep one entry per resource")
        seen[(item["type"], item["id"])].append(here)
        resources.append(Resource(
            type=item["type"], id=item["id"], name=item.get("name"), region=item.get("region"),
            account=item.get("account"), attributes=item["attributes"],
            location=Location.from_json(item.get("location")),
        ))
    errors = tuple(
        CollectionError(
            resource_type=e["resource_type"], resource_id=e.get("resource_id"), attribute=e.get("attribute"),
            region=e.get("region"),
            account=e.get("account"), operation=e["operation"], code=e["code"], message=e["message"],
            location=Location.from_json(e.get("location")),
        )
        for e in data["errors"]
    )
    source = data["source"]
    if source["kind"] in TEMPLATE_KINDS and resources and not any(r.location for r in resources):
        # Evaluated as templates, an account's snapshot loses every live-only rule without a word.
        raise InputError(f"source.kind says {source['kind']!r}, but no resource names a template location: "
                         "this is an account's snapshot", file=file, place="/source/kind",
                         fix="keep the kind it was written with (live, fixture), or load the templates again")
    return Snapshot(
        kind=source["kind"], resources=tuple(alias_targets(resources)), errors=errors, account=source.get("account"),
        regions=tuple(source.get("regions") or ()), collected_at=source.get("collected_at"),
        paths=tuple(source.get("paths") or ()), options=source.get("options") or {},
    )


def load_snapshot(path: Path) -> Snapshot:
    text = read_text(Path(path), limit=512 * 1024 * 1024)
    return snapshot_from_json(parse_json(text, file=str(path)), file=str(path))


def evaluation_regions(snapshot: Snapshot, requested: Sequence[str] | None) -> list[str] | None:
    """The regions to evaluate a snapshot in: those it was collected in, or a subset named with --region.

    A region the snapshot does not hold would come out all "not found": refused (exit 2). None when
    the snapshot records no regions (templates): the configuration decides.
    """
    held = list(snapshot.regions)
    if not held:
        return list(requested) if requested else None
    if not requested:
        return held
    outside = [r for r in requested if r not in held]
    if outside:
        raise InputError(f"the snapshot holds no evidence for region {', '.join(outside)}", place="--region",
                         fix=f"name regions the snapshot was collected in ({', '.join(held)}), or collect again")
    return list(requested)


def alias_targets(resources: Sequence[Resource]) -> list[Resource]:
    """Each KMS key's aliases include every alias that targets it, not only those its own list names.

    The key rules find a key through its aliases: a snapshot whose key lists no alias while an alias
    targets it (edited, or merged from two sources) would otherwise make those rules skip the key.
    """
    targets: dict[tuple[str | None, str | None, str], set[str]] = {}
    for r in resources:
        target, name = r.attributes.get("target_key_id"), r.attributes.get("name")
        if r.type == "kms.alias" and isinstance(target, str) and target and isinstance(name, str):
            targets.setdefault((r.region, r.account, target.rsplit("/", 1)[-1]), set()).add(name)
    if not targets:
        return list(resources)
    out = []
    for r in resources:
        listed = r.attributes.get("aliases")
        key_id = r.attributes.get("key_id") if isinstance(r.attributes.get("key_id"), str) else r.id.rsplit("/", 1)[-1]
        extra = targets.get((r.region, r.account, str(key_id)), set())
        if r.type == "kms.key" and isinstance(listed, list) and extra - set(listed):
            attributes = {**r.attributes, "aliases": sorted(set(listed) | extra)}
            r = Resource(type=r.type, id=r.id, attributes=attributes, name=r.name or min(extra), region=r.region,
                         account=r.account, location=r.location)
        out.append(r)
    return out
