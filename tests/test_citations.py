"""Every rule cites a requirement of the seeds (by section title, in the seed's own words) or a public
reference; no citation points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.coverage.seedtext import SEEDS_DIR, Seeds, fold, quoted_seed, seed_of
from auditor.engine.rules import Rule, load_rules

ROOT = Path(__file__).resolve().parents[1]
# A working document that is not in the repository: citing it sends a reader nowhere.
UNRESOLVABLE = re.compile(r"rule[ -]catalogue|docs/design", re.IGNORECASE)


def rules() -> list[Rule]:
    return load_rules(None)


def test_every_rule_cites_a_seed_section_or_a_public_reference() -> None:
    bad = []
    for rule in rules():
        source = rule.source
        if seed_of(source.document):
            if not source.section:
                bad.append(f"{rule.id}: cites a seed without a section title")
        elif not (source.url and source.url.startswith("https://")):
            bad.append(f"{rule.id}: '{source.document}' is neither a seed (seed 000 / seed 003) nor has a url")
        if source.quote and not quoted_seed(source.document):
            bad.append(f"{rule.id}: quotes words the repository cannot check (only the seeds are quoted)")
    assert not bad, "\n".join(bad)


def test_no_citation_points_outside_the_repository() -> None:
    places = [*ROOT.joinpath("policies").rglob("*.yaml"), *ROOT.joinpath("auditor").rglob("*.py"),
              *ROOT.joinpath("auditor").rglob("*.yaml"), *ROOT.joinpath("schemas").rglob("*.json"),
              ROOT / "README.md", *ROOT.joinpath("docs").glob("*.md")]
    bad = [f"{p.relative_to(ROOT)}:{n}" for p in places
           for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if UNRESOLVABLE.search(line)]
    assert not bad, "citations of a document outside the repository:\n" + "\n".join(bad)


def test_the_seed_comparison_catches_a_paraphrase() -> None:
    # The comparison itself, on a made-up seed: a paraphrase fails, the words with an elision pass.
    seeds = Seeds({"000": fold("Key type: Symmetric\n\n  • Key usage: Encrypt and decrypt\n It\u2019s **here**")})
    assert seeds.quote_problem("000", "Key type: Symmetric ... Key usage: Encrypt and decrypt") is None
    assert seeds.quote_problem("000", "It's here") is None
    assert seeds.quote_problem("000", "Key type: Symmetric; Key usage: Encrypt and decrypt") is not None
    assert "in this order" in (seeds.quote_problem("000", "Key usage ... Key type") or "")
    assert seeds.section_problem("000", "Key type > Nowhere") == "section title 'Nowhere' is not in seed 000"


def test_quotes_and_sections_are_the_seeds_own_words() -> None:
    seeds = Seeds.load()
    if seeds is None:
        pytest.skip(f"the seeds are not at {SEEDS_DIR} (CI checks them out at ../shared/seeds; "
                    "CCME_AUDIT_SEEDS names another place): quotes not compared")
    bad = []
    for rule in rules():
        seed, quoted = seed_of(rule.source.document), quoted_seed(rule.source.document)
        for problem in (seeds.section_problem(seed, rule.source.section or "") if seed else None,
                        seeds.quote_problem(quoted, rule.source.quote) if quoted and rule.source.quote else None):
            if problem:
                bad.append(f"{rule.id} ({rule.file}): {problem}")
    assert not bad, "\n".join(bad)
