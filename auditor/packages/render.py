"""Render the seed's package lists (lists.yaml) from a dependencies.yaml, per arch and os."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import load_document

LISTS_FILE = Path(__file__).resolve().parent / "lists.yaml"
ARCHES = ("x86_64", "aarch64")
OS_PATTERN = re.compile(r"^el[0-9]+$")
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
VARIABLES = ("os", "arch")


@dataclass(frozen=True)
class RequiredFile:
    """One file a private deployment must provide."""

    directory: str
    name: str
    list_id: str
    template: str
    arch: str | None = None
    os: str | None = None
    signature_required: bool = False

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.name}"


def load_lists(path: Path = LISTS_FILE) -> list[dict[str, Any]]:
    doc = load_document(path)
    return list(doc["lists"])


def load_dependencies(path: Path) -> dict[str, Any]:
    """dependencies.yaml as a mapping; a missing or malformed file is one InputError line."""
    if not Path(path).is_file():
        raise InputError("no such file", file=str(path), place="--dependencies",
                         fix="name the dependencies.yaml of the CCME release")
    doc = load_document(Path(path))
    if not isinstance(doc, dict):
        raise InputError("dependencies.yaml must be a mapping of package names to versions", file=str(path),
                         place="/", fix="write key: value pairs, e.g. 'slurm: \"23.11.7\"'")
    return doc


def _value(deps: Mapping[str, Any], expr: str, variables: Mapping[str, str], file: str, template: str) -> str:
    expr = expr.strip().rstrip(".")  # seed quirk: ${enginframe.version.}
    if expr in variables:
        return variables[expr]
    node: Any = deps
    walked: list[str] = []
    for segment in expr.split("."):
        # A segment named os/arch stands for the variable's value (${galera.os.arch} = galera[os][arch]),
        # unless the mapping really has that key.
        key = segment
        if segment in variables and not (isinstance(node, Mapping) and segment in node):
            key = variables[segment]
        walked.append(key)
        if not isinstance(node, Mapping):
            raise InputError(f"'{'.'.join(walked[:-1])}' is a value, but {template} needs it to be a mapping",
                             file=file, place="/" + "/".join(walked[:-1]),
                             fix=f"make it a mapping with the key '{key}'")
        if key not in node or node[key] is None:
            raise InputError(f"missing key '{'.'.join(walked)}' (needed by {template})", file=file,
                             place="/" + "/".join(walked), fix=f"add {'.'.join(walked)}: \"<version>\"")
        node = node[key]
    place = "/" + "/".join(walked)
    if isinstance(node, bool | Mapping | list):
        raise InputError(f"'{'.'.join(walked)}' is not a version (needed by {template})", file=file, place=place,
                         fix="give a version string")
    if isinstance(node, float):
        raise InputError(f"'{'.'.join(walked)}' is the number {node!r}: YAML may have dropped a trailing zero",
                         file=file, place=place, fix=f"quote the version: {'.'.join(walked)}: \"<version>\"")
    text = str(node).strip()
    if not text or "/" in text or any(c.isspace() for c in text):
        raise InputError(f"'{'.'.join(walked)}' = {text!r} is not a usable version (needed by {template})",
                         file=file, place=place, fix="give a version without spaces or slashes")
    return text


def render_template(template: str, deps: Mapping[str, Any], variables: Mapping[str, str], file: str) -> str:
    return PLACEHOLDER.sub(lambda m: _value(deps, m.group(1), variables, file, template), template)


def default_oses(deps: Mapping[str, Any]) -> list[str]:
    """The os values dependencies.yaml gives versions for (keys of mariadb / galera), else el8."""
    found: list[str] = []
    for name in ("mariadb", "galera"):
        node = deps.get(name)
        if isinstance(node, Mapping):
            found.extend(str(k) for k in node if OS_PATTERN.match(str(k)) and str(k) not in found)
    return sorted(found) or ["el8"]


def required_files(deps: Mapping[str, Any], *, file: str, arches: Sequence[str] = ARCHES,
                   oses: Sequence[str] | None = None, lists: Sequence[Mapping[str, Any]] | None = None
                   ) -> list[RequiredFile]:
    """Every file of the seed's lists for these arches and oses, deduplicated by path, in list order."""
    for wanted in arches:
        if wanted not in ARCHES:
            raise InputError(f"unknown arch '{wanted}'", place="--arch", fix=f"use one of: {', '.join(ARCHES)}")
    chosen_oses = list(oses) if oses else default_oses(deps)
    for os_name in chosen_oses:
        if not OS_PATTERN.match(os_name):
            raise InputError(f"unknown os '{os_name}'", place="--os", fix="use el7 or el8 (elN)")
    out: dict[str, RequiredFile] = {}
    for spec in lists if lists is not None else load_lists():
        templates = list(spec["files"])
        arch = spec.get("arch")
        if arch is not None and arch not in arches:
            continue
        varies = any("os" in m or "arch" in m for t in templates for m in PLACEHOLDER.findall(t))
        combos: list[tuple[str | None, str | None]] = [(None, None)]
        if arch is not None or varies:
            combos = [(arch, o) for o in chosen_oses] if arch is not None else [(a, o) for a in arches
                                                                                for o in chosen_oses]
        for combo_arch, combo_os in combos:
            variables = {k: v for k, v in (("arch", combo_arch), ("os", combo_os)) if v is not None}
            for template in templates:
                name = render_template(template, deps, variables, file)
                uses_vars = any(v in m.split(".") for m in PLACEHOLDER.findall(template) for v in VARIABLES)
                item = RequiredFile(
                    directory=spec["directory"], name=name, list_id=spec["id"], template=template,
                    arch=combo_arch if uses_vars or arch is not None else None,
                    os=combo_os if uses_vars else None,
                    signature_required=f"{template}.sig" in templates,
                )
                out.setdefault(item.path, item)
    return list(out.values())
