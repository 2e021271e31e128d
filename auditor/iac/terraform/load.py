"""Loading Terraform: root modules and local module calls of a tree, a directory read through its
modules, and plan JSON; each resource goes to the mapping (mapping.py)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.fileio import MAX_EXPANDED_NODES, check_depth, expanded_size, read_text
from auditor.iac.model import (
    Link,
    ParseProblem,
    TemplateResource,
)
from auditor.iac.suppress import inline_suppressions
from auditor.iac.terraform.functions import _each_pairs, _why
from auditor.iac.terraform.hcl import (
    GENERATED_NAME_ARGUMENTS,
    MAX_MODULE_DEPTH,
    _is_local_source,
    _ModuleProblem,
    _Unresolved,
)
from auditor.iac.terraform.mapping import map_resource
from auditor.iac.terraform.module import Module, _tfvars
from auditor.snapshot import Location, unknown

try:
    from lark import Token, Tree
except ModuleNotFoundError:  # the `iac` extra is absent: plan JSON still loads, HCL cannot be parsed
    Token = Tree = type("_NotInstalled", (), {})  # type: ignore[assignment,misc]  # no tree exists to match


_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|/\*.*?\*/|(?:#|//)[^\n]*', re.S)
_MODULE_OPEN = re.compile(r'^[^\S\n]*module\s+"[^"]*"\s*\{', re.M)
_SOURCE = re.compile(r'^[^\S\n]*source\s*=\s*"([^"]*)"', re.M)


def local_module_calls(directory: Path) -> list[Path]:
    """The directories that `module` blocks of this directory call by a local source ("./x", "../../").

    A light text scan (comments dropped, braces counted), not a parse: it runs on every directory of
    a scanned tree to decide which directories are root modules, before any directory is parsed.
    """
    called: list[Path] = []
    for path in sorted(directory.glob("*.tf")):
        try:
            text = read_text(path)
        except InputError:
            continue  # reported when the directory itself is loaded
        text = _COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)
        for match in _MODULE_OPEN.finditer(text):
            depth, end = 1, match.end()
            while depth and end < len(text):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            block = text[match.end():end]
            nested = block.find("{")
            source = _SOURCE.search(block if nested < 0 else block[:nested] + _top_level(block[nested:]))
            if source and _is_local_source(source.group(1)):
                called.append(Path(os.path.normpath(directory / source.group(1))))
    return called


def _top_level(text: str) -> str:
    """The part of a block's text outside nested braces (a nested block's own `source` is not the call's)."""
    out, depth = [], 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and char not in "{}":
            out.append(char)
        elif char == "\n":
            out.append("\n")
    return "".join(out)


def root_modules(directories: list[Path]) -> list[Path]:
    """Which scanned Terraform directories are root modules (in the given order).

    A directory that another scanned directory calls as a local module is evaluated through its
    caller, with the caller's arguments, and is not also a root of its own (its variables would be
    unset: unknowns everywhere). A directory nobody calls is a root. Directories that only call each
    other (a cycle with no outside caller) stay roots, so that nothing scanned is silently dropped.
    """
    resolved = {d.resolve(): d for d in directories}
    calls = {key: {c.resolve() for c in local_module_calls(d)} - {key} for key, d in resolved.items()}
    called = set().union(*calls.values()) if calls else set()
    roots = {key for key in resolved if key not in called}
    reached, todo = set(roots), list(roots)
    while todo:
        for target in calls.get(todo.pop(), set()):
            if target in resolved and target not in reached:
                reached.add(target)
                todo.append(target)
    keep = roots | {key for key in resolved if key not in reached}
    return [d for d in directories if d.resolve() in keep]


def load_directory(
    directory: Path,
    *,
    region: str | None,
    account: str | None,
    overrides: Mapping[str, str],
    read_secret_values: bool = False,
    var_files: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[list[TemplateResource], list[ParseProblem]]:
    """A root module and the modules it calls (local sources, and registry/git ones terraform init downloaded).
    Variables, as Terraform: `overrides` (--param) > `var_files` (--var-file, later wins) > *.auto.tfvars >
    terraform.tfvars > `env` (TF_VAR_name, without the prefix; a value starting with [ or { is read as JSON) >
    the default."""
    module = Module(directory, region=region, account=account, overrides=overrides)
    module.read()
    problems = module.run.problems
    for name, raw in (env or {}).items():
        value: Any = raw
        if raw.lstrip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        module.tfvars[name] = value
    for path in sorted(
        [
            *directory.glob("*.auto.tfvars"),
            *directory.glob("*.auto.tfvars.json"),
            *directory.glob("terraform.tfvars"),
            *directory.glob("terraform.tfvars.json"),
        ]
    ):
        problem = _tfvars(path, module)
        if problem:
            problems.append(problem)
    for path in var_files:
        problem = _tfvars(path, module)
        if problem:
            problems.append(problem)
    out: list[TemplateResource] = []
    _collect(module, out, region, account, read_secret_values)
    if module.run.not_downloaded:
        calls = ", ".join(module.run.not_downloaded[:5]) + (" ..." if len(module.run.not_downloaded) > 5 else "")
        sys.stderr.write(
            f"ccme-audit: warning: {directory}: {calls} not downloaded, its resources are not checked and its "
            "outputs are unknown: run terraform init there, or scan the plan JSON (terraform show -json)\n"
        )
    from auditor.iac.joins import join

    join(out, region)
    return out, list(problems)


def _collect(
    module: Module, out: list[TemplateResource], region: str | None, account: str | None, read_secret_values: bool
) -> None:
    """The resources of one module instance, then those of the modules it calls, depth first."""
    for path, body, lines in module.run.directory(module.directory).files:
        for kind, labels, inner in body.blocks:
            if kind != "resource" or len(labels) != 2:
                continue
            address = f"{labels[0]}.{labels[1]}"
            suppressions = inline_suppressions(lines, inner.line)
            instances: list[tuple[str, dict[str, Any], list[str]]] = []
            if "count" in inner.attributes:
                count = module.eval(inner.attributes["count"])
                if isinstance(count, int) and not isinstance(count, bool):
                    instances = [(f"{address}[{i}]", {"count.index": i}, []) for i in range(count)]
                else:
                    instances = [(address, {}, [f"count cannot be evaluated: {_why(count, 'count')}"])]
            elif "for_each" in inner.attributes:
                each = module.eval(inner.attributes["for_each"])
                pairs = _each_pairs(each)
                if pairs is not None:
                    instances = [(f'{address}["{k}"]', {"each.key": k, "each.value": v}, []) for k, v in pairs]
                else:
                    instances = [(address, {}, [f"for_each cannot be evaluated: {_why(each, 'for_each')}"])]
            else:
                instances = [(address, {}, [])]
            for instance, scope, errors in instances:
                key = module.prefix + instance
                location = Location(file=str(path), line=inner.line, logical_id=key)
                values = module.block_values(inner, scope)
                module.shape_names(labels[0], inner, scope, values)
                for item in map_resource(labels[0], key, values, location, region, read_secret_values):
                    item.suppressions.extend(suppressions)
                    item.errors.extend([*module.errors, *errors])
                    item.region, item.account = region, account
                    out.append(item)
    for name in module.calls:
        try:
            children = module.instances(name)
        except _ModuleProblem as exc:
            if exc.problem not in module.run.problems:
                module.run.problems.append(exc.problem)
            continue
        except _Unresolved:
            continue  # a module not downloaded: one stderr line for the run
        for child in children.values():
            _collect(child, out, region, account, read_secret_values)


def is_plan(doc: Any) -> bool:
    return isinstance(doc, dict) and "planned_values" in doc and "format_version" in doc


# The argument that names a resource the rules may pick by name.
def load_plan(
    path: Path,
    doc: Mapping[str, Any],
    *,
    region: str | None,
    account: str | None,
    read_secret_values: bool = False,
) -> tuple[list[TemplateResource], list[ParseProblem]]:
    try:
        check_depth(doc, file=str(path))
    except InputError as exc:
        return [], [ParseProblem(str(path), exc.what)]
    if expanded_size(doc) > MAX_EXPANDED_NODES:
        return [], [ParseProblem(str(path), "plan too large")]
    unknowns: dict[str, Any] = {}
    for change in doc.get("resource_changes") or []:
        if isinstance(change, dict) and isinstance(change.get("change"), dict):
            unknowns[str(change.get("address"))] = change["change"].get("after_unknown") or {}
    # The configuration's references, per resource address without instance keys
    # (module.a.aws_s3_bucket.this), module calls followed; they are relative to their module.
    references: dict[str, dict[str, list[str]]] = {}
    configured: dict[str, set[str]] = {}  # the arguments each resource's configuration sets
    configs: list[tuple[Any, str, int]] = [((doc.get("configuration") or {}).get("root_module") or {}, "", 0)]
    while configs:
        config, prefix, level = configs.pop()
        if not isinstance(config, dict) or level > MAX_MODULE_DEPTH:
            continue
        for res in config.get("resources") or []:
            if isinstance(res, dict):
                configured[prefix + str(res.get("address"))] = set(res.get("expressions") or {})
                by_attr: dict[str, list[str]] = {}
                for attr, expr in (res.get("expressions") or {}).items():
                    if isinstance(expr, dict) and expr.get("references"):
                        by_attr[attr] = [str(r) for r in expr["references"]]
                references[prefix + str(res.get("address"))] = by_attr
        for name, call in (config.get("module_calls") or {}).items():
            if isinstance(call, dict):
                configs.append((call.get("module") or {}, f"{prefix}module.{name}.", level + 1))
    out: list[TemplateResource] = []
    stack = [(doc.get("planned_values") or {}).get("root_module") or {}]
    while stack:
        module = stack.pop()
        if not isinstance(module, dict):
            continue
        stack.extend(module.get("child_modules") or [])
        for res in module.get("resources") or []:
            if not isinstance(res, dict) or res.get("mode", "managed") != "managed":
                continue
            address = str(res.get("address"))
            values = dict(res.get("values") or {})
            base_address = re.sub(r"\[[^\]]*\]", "", address)
            module_address = str(module.get("address") or "")
            for attr, flag in (unknowns.get(address) or {}).items():
                if attr in GENERATED_NAME_ARGUMENTS and attr not in configured.get(base_address, {attr}):
                    continue  # a name the configuration leaves out: generated at apply (map_resource)
                if flag is True and values.get(attr) is None:
                    refs: list[str] = (references.get(base_address) or {}).get(attr) or []
                    target = next(
                        (r for r in refs if r.count(".") >= 2 and not r.startswith(("module.", "var.", "local."))),
                        None,
                    )
                    if target:
                        target_address, target_attr = target.rsplit(".", 1)
                        if module_address:  # a reference inside a module names a resource of that instance
                            target_address = f"{module_address}.{target_address}"
                        values[attr] = Link(target_address, target_attr)
                    else:
                        values[attr] = unknown(f"{attr} is known only after apply")
            location = Location(file=str(path), line=None, logical_id=address)
            out.extend(map_resource(str(res.get("type")), address, values, location, region, read_secret_values))
    for item in out:
        item.region, item.account = region, account
        item.inline.clear()  # a plan shows the provider's computed inline blocks too: no conflict to read there
    from auditor.iac.joins import join

    join(out, region)
    return out, []


# --- mapping (shared by HCL and plan JSON) -----------------------------------------------------
