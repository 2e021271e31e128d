"""docs/coverage.md: every requirement of the two seeds, its words, and which rules check it, where.

Generated from auditor/coverage/requirements.yaml and the rule files:

    python -m auditor.coverage --write      (a test fails while docs/coverage.md is out of date)
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.engine.rules import Rule, load_rules
from auditor.fileio import write_text_atomic

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.yaml"
DOC = HERE.parents[1] / "docs" / "coverage.md"
SEED_NAMES = {"000": "seed 000 (000_6e3bc4fc67598c3a.txt, CCME requirements)",
              "003": "seed 003 (003_57eeeea37bf29782.md, ParallelCluster Provisioner)"}
EXTENTS = {"full": "checked", "partial": "checked in part", "none": "not checked"}
FIELDS = {"id", "seed", "section", "quote", "rules", "extent", "note"}


@dataclass(frozen=True)
class Requirement:
    id: str
    seed: str
    section: str
    quote: str
    rules: tuple[str, ...]
    extent: str
    note: str | None

    @property
    def checkable(self) -> bool:
        return not (self.extent == "none" and (self.note or "").startswith("not checkable"))


def _problem(raw: Any, position: int) -> str | None:
    if not isinstance(raw, Mapping):
        return f"entry {position} is not a mapping"
    rid = raw.get("id", f"entry {position}")
    if set(raw) - FIELDS:
        return f"{rid}: unknown keys {sorted(set(raw) - FIELDS)}"
    for key in ("id", "seed", "section", "quote", "extent"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            return f"{rid}: '{key}' must be a non-empty string"
    if raw["seed"] not in SEED_NAMES:
        return f"{rid}: seed must be one of {sorted(SEED_NAMES)}"
    if raw["extent"] not in EXTENTS:
        return f"{rid}: extent must be one of {sorted(EXTENTS)}"
    rules = raw.get("rules")
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        return f"{rid}: 'rules' must be a list of rule ids or globs"
    if (raw["extent"] == "none") != (not rules):
        return f"{rid}: extent none goes with no rules, and rules with extent full or partial"
    note = raw.get("note")
    if raw["extent"] != "full" and not (isinstance(note, str) and note):
        return f"{rid}: extent {raw['extent']} needs a note saying what is not checked, and why"
    if raw["extent"] == "none" and not str(note).startswith(("not checkable, because ", "not checked yet: ")):
        return f"{rid}: a requirement nothing checks says 'not checkable, because ...' or 'not checked yet: ...'"
    return None


def load_requirements(path: Path = REQUIREMENTS) -> list[Requirement]:
    """The requirement list; ValueError naming the entry when it is malformed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = data.get("requirements") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a top-level 'requirements' list")
    out: list[Requirement] = []
    seen: set[str] = set()
    for position, raw in enumerate(entries):
        problem = _problem(raw, position)
        if problem:
            raise ValueError(f"{path}: {problem}")
        if raw["id"] in seen:
            raise ValueError(f"{path}: {raw['id']} is listed twice")
        seen.add(raw["id"])
        out.append(Requirement(id=raw["id"], seed=raw["seed"], section=raw["section"], quote=raw["quote"],
                               rules=tuple(raw["rules"]), extent=raw["extent"], note=raw.get("note")))
    return out


def matching(pattern: str, rules: Sequence[Rule]) -> list[Rule]:
    """The rules a requirement's entry names: an id, or a glob over ids."""
    return [r for r in rules if fnmatch.fnmatchcase(r.id, pattern)]


def where(rule: Rule) -> list[str]:
    """Where a rule's evidence lives."""
    rtype = rule.resource_type
    if rtype.startswith("pcluster."):
        return ["cluster config"]
    if rtype == "egress.endpoint_probe":
        return ["from the instances (egress probe)"]
    if rtype.startswith("packages."):
        return ["package directory or S3 prefix"]
    if rtype.startswith("elbv2.") or rtype.startswith("deployed."):
        return ["after deployment"]
    places = []
    if rule.live:
        places.append("live")
    if rule.iac and rtype != "service.probe":
        places.append("template")
    return places


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _rules_cell(requirement: Requirement, rules: Sequence[Rule]) -> tuple[str, str]:
    names, places = [], []
    for pattern in requirement.rules:
        found = matching(pattern, rules)
        if "*" in pattern or "?" in pattern:
            names.append(f"`{pattern}` ({len(found)} rules, e.g. [{found[0].id}](rules.md#{found[0].id}))"
                         if found else f"`{pattern}` (no rule)")
        else:
            names.append(f"[{pattern}](rules.md#{pattern})" if found else f"`{pattern}` (no rule)")
        for rule in found:
            places += [p for p in where(rule) if p not in places]
    return ("<br>".join(names) or "—"), (", ".join(places) or "—")


def render(requirements: Sequence[Requirement], rules: Sequence[Rule]) -> str:
    counts = {e: sum(1 for r in requirements if r.extent == e) for e in EXTENTS}
    uncheckable = sum(1 for r in requirements if not r.checkable)
    out = [
        "# Coverage of the seed documents",
        "",
        "Generated from `auditor/coverage/requirements.yaml` and `policies/` by "
        "`python -m auditor.coverage --write`: do not edit by hand.",
        "",
        f"{len(requirements)} requirements: {counts['full']} checked, {counts['partial']} checked in part, "
        f"{counts['none'] - uncheckable} not checked yet, {uncheckable} not checkable (the reason is given).",
        "Quotes are the seeds' own words (\" ... \" marks an elision); sections are the seeds' titles.",
        "Where: **live** (a scan of the account), **template** (CloudFormation / Terraform), **cluster config** "
        "(a ParallelCluster configuration file), **after deployment** (resources CCME creates), **from the "
        "instances** (`ccme-audit egress probe`), **package directory** (`ccme-audit packages`).",
        "",
    ]
    for seed, title in SEED_NAMES.items():
        items = [r for r in requirements if r.seed == seed]
        out += [f"## {title}", "", "| Requirement | Section | Quote | Checked by | Where | Status |",
                "|---|---|---|---|---|---|"]
        for req in items:
            names, places = _rules_cell(req, rules)
            status = EXTENTS[req.extent] + (f": {req.note}" if req.note else "")
            if req.extent == "none" and req.note:
                status = req.note  # it says itself: "not checkable, because ..." / "not checked yet: ..."
            out.append(f"| <a id=\"{req.id}\"></a>{req.id} | {_cell(req.section)} | \"{_cell(req.quote)}\" | "
                       f"{names} | {places} | {_cell(status)} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render(load_requirements(), load_rules(None))
    if args == ["--write"]:
        write_text_atomic(DOC, text)
        sys.stderr.write(f"wrote {DOC}\n")
    elif args == ["--check"]:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{DOC} is out of date: run python -m auditor.coverage --write\n")
            return 1
    elif not args:
        sys.stdout.write(text)
    else:
        sys.stderr.write("usage: python -m auditor.coverage [--write | --check]\n")
        return 2
    return 0
