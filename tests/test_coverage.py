"""docs/coverage.md and its requirement list: every requirement checked or explained, every rule listed
exists, every rule citing a seed is listed, and the quotes are the seeds' words (where the seeds are)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.coverage.doc import DOC, load_requirements, main, matching, render, where
from auditor.coverage.seedtext import SEEDS_DIR, Seeds, seed_of
from auditor.engine.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_rule_exists_and_says_where() -> None:
    rules = load_rules(None)
    bad = []
    for req in load_requirements():
        for pattern in req.rules:
            found = matching(pattern, rules)
            if not found:
                bad.append(f"{req.id}: no rule is {pattern}")
            bad += [f"{req.id}: {r.id} has no place" for r in found if not where(r)]
    assert not bad, "\n".join(bad)


def test_every_rule_citing_a_seed_is_listed_by_a_requirement() -> None:
    listed = {r.id for req in load_requirements() for p in req.rules for r in matching(p, load_rules(None))}
    unlisted = [r.id for r in load_rules(None) if seed_of(r.source.document) and r.id not in listed]
    assert not unlisted, "rules citing a seed that no requirement of auditor/coverage/requirements.yaml lists:\n" \
        + "\n".join(unlisted)


def test_every_requirement_is_checked_or_explained() -> None:
    for req in load_requirements():
        assert req.extent in ("full", "partial", "none")
        if req.extent != "full":
            assert req.note, req.id
        if req.extent == "none":
            assert req.note and req.note.startswith(("not checkable, because ", "not checked yet: ")), req.id


@pytest.mark.parametrize(("change", "message"), [
    ({"rules": ["CCME-VPC-EXISTS"], "extent": "none"}, "extent none goes with no rules"),
    ({"rules": [], "extent": "none", "note": "hard"}, "not checkable, because"),
    ({"extent": "partial"}, "needs a note"),
    ({"seed": "001"}, "seed must be one of"),
    ({"colour": "blue"}, "unknown keys"),
])
def test_a_malformed_requirement_is_refused(tmp_path: Path, change: dict, message: str) -> None:
    entry = {"id": "X", "seed": "000", "section": "Costs", "quote": "an example", "rules": ["CCME-VPC-EXISTS"],
             "extent": "full", **change}
    path = tmp_path / "requirements.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"requirements": [entry]}), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_requirements(path)


def test_the_document_is_up_to_date() -> None:
    assert main(["--check"]) == 0, "run python -m auditor.coverage --write"
    text = DOC.read_text(encoding="utf-8")
    for req in load_requirements():
        assert f'<a id="{req.id}"></a>' in text


def test_a_rule_missing_from_the_rules_is_shown_not_hidden() -> None:
    reqs = load_requirements()
    text = render(reqs, [r for r in load_rules(None) if r.id != "CCME-VPC-EXISTS"])
    assert "`CCME-VPC-EXISTS` (no rule)" in text


def test_the_readme_links_the_coverage() -> None:
    assert "docs/coverage.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_quotes_and_sections_are_the_seeds_own_words() -> None:
    seeds = Seeds.load()
    if seeds is None:
        pytest.skip(f"the seeds are not at {SEEDS_DIR} (CI checks them out at ../shared/seeds; "
                    "CCME_AUDIT_SEEDS names another place): requirement quotes not compared")
    bad = [f"{req.id}: {problem}" for req in load_requirements()
           for problem in (seeds.section_problem(req.seed, req.section), seeds.quote_problem(req.seed, req.quote))
           if problem]
    assert not bad, "\n".join(bad)
