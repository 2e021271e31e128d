"""Infrastructure as code into the canonical snapshot: CloudFormation, Terraform, ParallelCluster.

`load_paths` detects each path's kind, loads it, resolves references between its resources
and returns one Snapshot (kind cloudformation / terraform / parallelcluster / mixed), the
parse problems (one per unusable file; the run goes on) and the inline suppressions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.config import CONFIG_FILE_NAMES
from auditor.errors import InputError
from auditor.fileio import check_depth, parse_yaml, read_text
from auditor.iac.model import (
    CONDITIONAL_CODE,
    CONDITIONAL_EXISTENCE,
    Link,
    ParseProblem,
    TemplateResource,
    finalize,
)
from auditor.iac.pathfilter import PathFilter
from auditor.snapshot import CollectionError, Resource, Snapshot

SELF_ID = {
    "kms.key": "key_id",
    "ec2.vpc": "vpc_id",
    "ec2.subnet": "subnet_id",
    "ec2.route_table": "route_table_id",
    "ec2.dhcp_options": "dhcp_options_id",
    "ec2.internet_gateway": "internet_gateway_id",
    "ec2.nat_gateway": "nat_gateway_id",
    "ec2.vpc_endpoint": "vpc_endpoint_id",
    "acm.certificate": "arn",
    "ec2.security_group": "group_id",
    "ec2.vpc_peering_connection": "vpc_peering_connection_id",
    "efs.file_system": "file_system_id",
    "fsx.file_system": "file_system_id",
    "apigateway.rest_api": "id",
}
# AWS id prefixes, kept on IaC ids so that id-based facts (an igw-* route target) read the same as live.
ID_PREFIX = {
    "ec2.vpc": "vpc-",
    "ec2.subnet": "subnet-",
    "ec2.route_table": "rtb-",
    "ec2.dhcp_options": "dopt-",
    "ec2.internet_gateway": "igw-",
    "ec2.nat_gateway": "nat-",
    "ec2.vpc_endpoint": "vpce-",
    "ec2.security_group": "sg-",
    "ec2.vpc_peering_connection": "pcx-",
    "efs.file_system": "fs-",
    "fsx.file_system": "fs-",
}
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", "__pycache__", ".venv"})


@dataclass
class LoadResult:
    snapshot: Snapshot
    problems: list[ParseProblem] = field(default_factory=list)  # bad input, and warnings (problem.warning)
    suppressions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # files of scanned directories that are not templates
    nested: list[str] = field(default_factory=list)  # files checked only as nested stacks of another template


SKIPPED = "skipped"  # the kind of a file in a scanned directory that is not a template
MAX_MARKER_SCAN = 1_000_000
# Each marker is searched on its own, a key only at the start of a line (`[^\S\n]*`, never across lines): a
# single pattern with `^\s*...[\s\S]*...` took quadratic time on a file of blank lines (minutes for 160 kB).
_TEMPLATE_WORDS = re.compile(r"AWSTemplateFormatVersion|AWS::Serverless-2016-10-31|AWS::LanguageExtensions")
_RESOURCES_KEY = re.compile(r"^[^\S\n]*[\"']?Resources[\"']?[^\S\n]*:", re.MULTILINE)
_RESOURCE_TYPE = re.compile(r"\bType[\"']?\s*:\s*[\"']?(?:AWS|Custom)::")
_HEAD_NODE_KEY = re.compile(r"^[^\S\n]*HeadNode[^\S\n]*:", re.MULTILINE)
_SCHEDULING_KEY = re.compile(r"^[^\S\n]*Scheduling[^\S\n]*:", re.MULTILINE)


def looks_like_template(text: str) -> bool:
    """Whether a file that does not parse was meant to be a CloudFormation template or a
    ParallelCluster configuration (then it is bad input), rather than some other YAML or JSON of a
    repository (a workflow, a compose file, a Helm chart: skipped)."""
    text = text[:MAX_MARKER_SCAN]
    if _TEMPLATE_WORDS.search(text):
        return True
    resources = _RESOURCES_KEY.search(text)
    if resources and _RESOURCE_TYPE.search(text, resources.end()):
        return True
    return bool(_HEAD_NODE_KEY.search(text) and _SCHEDULING_KEY.search(text))


def _no_template(directory: Path) -> InputError:
    return InputError(
        "the directory holds no template",
        file=str(directory),
        fix="point at a template, or at a directory with CloudFormation or ParallelCluster *.yaml/*.json, "
        "Terraform *.tf or a plan JSON",
    )


def _units(paths: Sequence[Path], path_filter: PathFilter | None = None,
           ) -> tuple[list[tuple[str, Path, bool]], list[ParseProblem]]:
    """(kind-hint, path, named) work units: 'tfdir' for Terraform directories, 'file' otherwise.

    A directory argument without a single candidate file is bad input (InputError), not an empty
    pass: a mistyped path must not pass a CI gate.
    """
    units: list[tuple[str, Path, bool]] = []
    problems: list[ParseProblem] = []
    for path in paths:
        path = Path(path)
        before = len(units)
        if not path.exists():
            problems.append(ParseProblem(str(path), "no such file or directory"))
            continue
        if path.is_file():
            if path.suffix == ".tf":
                units.append(("tfdir", path.parent, True))
            else:
                units.append(("file", path, True))
            continue
        left_out: list[Path] = []
        for directory in sorted([path, *(p for p in path.rglob("*") if p.is_dir())]):
            if any(
                part in SKIP_DIRS or (part.startswith(".") and part not in (".", ".."))
                for part in directory.relative_to(path).parts
            ):
                continue
            if any(directory.is_relative_to(d) for d in left_out):
                continue
            if path_filter is not None and directory != path and path_filter.excluded(directory, path):
                left_out.append(directory)
                continue
            if any(directory.glob("*.tf")):
                units.append(("tfdir", directory, False))
            for file in sorted(directory.iterdir()):
                if (
                    file.is_file()
                    and file.suffix in TEMPLATE_SUFFIXES
                    and not file.name.endswith((".tfvars.json", ".tfstate"))
                    and not file.name.startswith(".")
                    and (path_filter is None or not path_filter.excluded(file, path))
                ):
                    units.append(("file", file, False))
        if path.is_dir() and len(units) == before:
            raise _no_template(path)
    seen: set[tuple[str, Path]] = set()
    unique = []
    for kind, p, named in units:
        if (kind, p.resolve()) not in seen:
            seen.add((kind, p.resolve()))
            unique.append((kind, p, named))
    return unique, problems


def _terraform_roots(units: list[tuple[str, Path, bool]]) -> tuple[list[tuple[str, Path, bool]], set[Path]]:
    """Drop the Terraform directories that another scanned directory calls as a module (they are read
    through that call, with its arguments); also return them, resolved: they were read, not skipped."""
    found_dirs = [p for kind, p, named in units if kind == "tfdir" and not named]
    if len(found_dirs) < 2:
        return units, set()
    from auditor.iac.terraform import root_modules

    roots = set(root_modules(found_dirs))
    return (
        [u for u in units if u[0] != "tfdir" or u[2] or u[1] in roots],
        {d.resolve() for d in found_dirs if d not in roots},
    )


def _load_file(
    path: Path,
    named: bool,
    *,
    region: str | None,
    account: str | None,
    params: Mapping[str, str],
    read_secret_values: bool,
) -> Loaded:
    from auditor.iac import ccme_deployment, cloudformation, parallelcluster, terraform

    if path.suffix == ".json":
        try:
            text = read_text(path)
            doc: Any = json.loads(text)
        except InputError as exc:
            return None, [], [ParseProblem(str(path), exc.what)], []
        except json.JSONDecodeError as exc:
            if not named and not looks_like_template(text):
                return SKIPPED, [], [], []
            return None, [], [ParseProblem(str(path), f"invalid JSON: {exc.msg}", exc.lineno)], []
        except RecursionError:
            return None, [], [ParseProblem(str(path), "JSON nested too deeply")], []
        try:
            check_depth(doc, file=str(path))
        except InputError as exc:
            return None, [], [ParseProblem(str(path), exc.what)], []
        if terraform.is_plan(doc):
            items, problems = terraform.load_plan(
                path, doc, region=region, account=account, read_secret_values=read_secret_values
            )
            return "terraform", items, problems, []
    template, problem = cloudformation.decode(path)
    if problem is not None:
        if not named and problem.message.startswith("invalid template:"):
            try:
                meant = looks_like_template(read_text(path))
            except InputError:
                meant = True
            if not meant:
                return SKIPPED, [], [], []
        return None, [], [problem], []
    if cloudformation.is_cloudformation(template):
        followed: set[Path] = set()
        items, problems = cloudformation.load(
            path,
            template,
            region=region,
            account=account,
            overrides=params,
            read_secret_values=read_secret_values,
            followed=followed,
        )
        return "cloudformation", items, problems, sorted(str(p) for p in followed)
    kind, reader = None, None
    if parallelcluster.is_parallelcluster(template):
        kind, reader = "parallelcluster", parallelcluster.load
    elif ccme_deployment.is_ccme_deployment(template) and path.name not in CONFIG_FILE_NAMES:
        # (ccme-audit.yaml may hold management_host_os too: it is this tool's configuration, not CCME's.)
        kind, reader = "ccme_deployment", ccme_deployment.load
    if reader is not None:
        text = read_text(path)
        try:
            plain = parse_yaml(text, file=str(path))
        except InputError as exc:
            return None, [], [ParseProblem(str(path), exc.what)], []
        items, problems = reader(path, plain, text, region=region, account=account)
        return kind, items, problems, []
    if named:
        return (
            None,
            [],
            [
                ParseProblem(
                    str(path),
                    "not a CloudFormation template (AWSTemplateFormatVersion, a Transform, or "
                    "Resources with a Type such as AWS::S3::Bucket), a Terraform plan JSON, a "
                    "ParallelCluster configuration (HeadNode and Scheduling) or a CCME deployment "
                    "configuration (management_host_os)",
                )
            ],
            [],
        )
    return SKIPPED, [], [], []


def _assign_ids(items: list[TemplateResource], used: set[str], root: Path | None = None) -> dict[str, str]:
    """Snapshot ids. `root`: the Terraform root module the items were read through, when the run holds several
    (examples calling the same module with the same block name would otherwise share ids, and with them
    findings, fingerprints and waivers)."""
    ids: dict[str, str] = {}
    for item in items:
        origin = item.location.file if root is None else f"{root}::{item.location.file}"
        rid = item.id or f"{ID_PREFIX.get(item.type, '')}{origin}#{item.key}"
        if item.id and root is not None:
            rid = f"{item.id}@{root}"  # the same name deployed from two roots: two resources of the run
        if rid in used:
            rid = f"{rid}@{origin}#{item.key}"
        used.add(rid)
        item.id = rid
        ids[item.key] = rid
        self_field = SELF_ID.get(item.type)
        if self_field:
            item.attributes[self_field] = rid
    return ids


def _subnet_internet(resources: Sequence[Resource]) -> dict[str, bool]:
    """Subnet id -> reaches the internet (default route to an internet or NAT gateway)."""
    igws = {r.id for r in resources if r.type == "ec2.internet_gateway"}
    tables = [r for r in resources if r.type == "ec2.route_table"]
    out: dict[str, bool] = {}
    for subnet in (r for r in resources if r.type == "ec2.subnet"):
        explicit = [
            t for t in tables if any(a.get("subnet_id") == subnet.id for a in t.attributes.get("associations") or [])
        ]
        main = [
            t
            for t in tables
            if t.attributes.get("main") and t.attributes.get("vpc_id") == subnet.attributes.get("vpc_id")
        ]
        candidates = explicit or main
        if not candidates:
            continue
        chosen = candidates[0]
        out[subnet.id] = any(
            route.get("destination_cidr_block") == "0.0.0.0/0"
            and (route.get("gateway_id") in igws or isinstance(route.get("nat_gateway_id"), str))
            for route in chosen.attributes.get("routes") or []
        )
    return out


# The Terraform inputs from outside the directory: --var-file files (in order) and TF_VAR_* (name, value) pairs.
TerraformInputs = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]
Job = tuple[str, Path, bool, str | None, str | None, dict[str, str], bool, TerraformInputs]
# (kind or None, resources, problems, nested templates followed)
Loaded = tuple[str | None, list[TemplateResource], list[ParseProblem], list[str]]
PARALLEL_MIN_UNITS = 16


def _load_unit(job: Job) -> Loaded:
    """Load one file or Terraform directory (runs in a worker process for large runs)."""
    from auditor.iac import terraform

    kind, path, named, region, account, params, read_secret_values, (var_files, tf_env) = job
    try:
        if kind == "tfdir":
            items, found = terraform.load_directory(
                path, region=region, account=account, overrides=params, read_secret_values=read_secret_values,
                var_files=[Path(f) for f in var_files], env=dict(tf_env),
            )
            return ("terraform" if items or not found else None), items, found, []
        return _load_file(
            path, named, region=region, account=account, params=params, read_secret_values=read_secret_values
        )
    except RecursionError:
        return None, [], [ParseProblem(str(path), "nested too deeply")], []


def _run_units(jobs: list[Job]) -> list[Loaded]:
    """Parsing dominates: spread many units over the CPUs, in order; few units stay in-process."""
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_MIN_UNITS or workers < 2:
        return [_load_unit(job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" in multiprocessing.get_all_start_methods():
        # Warm the parsers once here; forked workers share them instead of importing them again.
        from auditor.iac import cfn_decode

        cfn_decode.decode_yaml("AWSTemplateFormatVersion: '2010-09-09'\n")
        if any(job[0] == "tfdir" for job in jobs):
            import hcl2  # load_paths has checked it is installed

            hcl2.parses_to_tree("x = 1\n")
        context: Any = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_load_unit, jobs, chunksize=max(1, len(jobs) // (workers * 4))))


def load_paths(
    paths: Sequence[Path],
    *,
    region: str | None,
    account: str | None,
    params: Mapping[str, str] | None = None,
    read_secret_values: bool = False,
    path_filter: PathFilter | None = None,
    var_files: Sequence[Path] = (),
    tf_env: Mapping[str, str] | None = None,
) -> LoadResult:
    """`path_filter`: what of the scanned directories is left out (.gitignore, --skip-path; see pathfilter.py).
    `var_files` (--var-file) and `tf_env` (TF_VAR_* without the prefix) set the root modules' variables, as
    Terraform: --param > --var-file > *.auto.tfvars > terraform.tfvars > TF_VAR_* > default."""
    from auditor.iac import parallelcluster

    params = params or {}
    units, problems = _units(paths, path_filter)
    units, read_through_callers = _terraform_roots(units)
    hcl_dir = next((directory for kind, directory, _named in units if kind == "tfdir"), None)
    if hcl_dir is not None:
        from auditor.iac import terraform

        terraform.require_hcl(hcl_dir)
    resources: list[Resource] = []
    errors: list[CollectionError] = []
    suppressions: dict[str, list[tuple[str, str]]] = {}
    kinds: set[str] = set()
    used: set[str] = set()
    clusters: list[TemplateResource] = []
    tf: TerraformInputs = (tuple(str(f) for f in var_files), tuple(sorted((tf_env or {}).items())))
    jobs = [(kind, path, named, region, account, dict(params), read_secret_values, tf) for kind, path, named in units]
    outcomes = _run_units(jobs)
    used_units = {
        p.resolve()
        for (_k, p, _n), (unit_kind, _i, found, _f) in zip(units, outcomes, strict=True)
        if (unit_kind and unit_kind != SKIPPED) or found
    } | read_through_callers
    for path in (Path(p) for p in paths):
        if path.is_dir() and not any(u == path.resolve() or path.resolve() in u.parents for u in used_units):
            raise _no_template(path)  # only files that are not templates (a README, an unrelated YAML)
    # A template that another template of the run follows as a nested stack is checked through it
    # only (with the parameters its parent passes), not a second time on its own defaults.
    nested = {Path(f) for outcome in outcomes for f in outcome[3]}
    skipped: list[str] = []
    nested_files: list[str] = []
    several_roots = sum(1 for kind_hint, _p, _n in units if kind_hint == "tfdir") > 1
    seen_problems: set[ParseProblem] = set()
    for (kind_hint, path, _named), (unit_kind, items, found, _followed) in zip(units, outcomes, strict=True):
        if unit_kind == SKIPPED:
            skipped.append(str(path))
            continue
        if kind_hint == "file" and path.resolve() in nested:
            nested_files.append(str(path))
            items = []
            found = [p for p in found if not p.warning]  # its errors still count; its own warnings do not
        found = [p for p in found if p not in seen_problems]
        seen_problems.update(found)
        problems.extend(found)
        if unit_kind:
            kinds.add(unit_kind)
        ids = _assign_ids(items, used, path if kind_hint == "tfdir" and several_roots else None)
        clusters.extend(i for i in items if i.type == "pcluster.cluster")
        for item in items:
            if item.suppressions:
                suppressions.setdefault(item.id or item.key, []).extend(item.suppressions)
            for message in item.errors:
                errors.append(
                    CollectionError(
                        resource_type=item.type,
                        operation="iac:resolve",
                        code=CONDITIONAL_CODE if message.startswith(CONDITIONAL_EXISTENCE) else "Unresolved",
                        message=message,
                        resource_id=item.id,
                        region=item.region,
                        account=item.account,
                        location=item.location,
                    )
                )

        def unresolved(link: Link, _path: Path = path) -> str:
            return f"{link.describe()} refers to a resource not described in {_path}"

        resources.extend(r for r in finalize(items, ids, unresolved) if r.type != "pcluster.cluster")
    if clusters:
        parallelcluster.join_subnets(clusters, _subnet_internet(resources))
        parallelcluster.join_shared_subnets(clusters)
        resources.extend(finalize(clusters, {}, lambda link: f"{link.describe()} is not resolvable"))
    kind = next(iter(kinds)) if len(kinds) == 1 else "mixed"
    snapshot = Snapshot(
        kind=kind,
        resources=tuple(resources),
        errors=tuple(errors),
        account=account,
        regions=(region,) if region else (),
        paths=tuple(str(p) for p in paths),
    )
    return LoadResult(
        snapshot=snapshot,
        problems=problems,
        suppressions=suppressions,
        kinds=kinds,
        skipped=skipped,
        nested=nested_files,
    )
