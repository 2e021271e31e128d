"""The seed documents' own words: where they are, and whether a quote or a section title is in them.

The seeds are not part of the repository: CI checks them out next to it (`../shared/seeds`, relative to
the repository root; the environment variable CCME_AUDIT_SEEDS names another place). A quote is the
seed's words, compared after folding what the text extraction varies: whitespace, typographic quotes
and apostrophes, bullets, Markdown emphasis and code marks. A quote may elide with " ... ": each part
must then appear, in order.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# CCME_AUDIT_SEEDS overrides the place (a checkout whose root is not next to the seeds).
SEEDS_DIR = Path(os.environ.get("CCME_AUDIT_SEEDS") or ROOT.parent / "shared" / "seeds")
# The document names rules and requirements use, and the seed file each names.
SEED_FILES = {"000": "000_6e3bc4fc67598c3a.txt", "003": "003_57eeeea37bf29782.md"}
ELISION = " ... "

_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2022": " ", "\u00a0": " "})


def fold(text: str) -> str:
    """The text with extraction differences removed (see the module docstring)."""
    text = text.translate(_FOLD).replace("**", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def seed_of(document: str) -> str | None:
    """'000' or '003' when a citation's document is a seed (it starts with 'seed 000' or 'seed 003'), else None."""
    match = re.match(r"seed (000|003)\b", document.strip())
    return match.group(1) if match else None


def quoted_seed(document: str) -> str | None:
    """The seed a citation's quote comes from: the first seed its document names anywhere (None: none)."""
    match = re.search(r"\bseed (000|003)\b", document)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Seeds:
    texts: dict[str, str]  # seed number -> folded text

    @classmethod
    def load(cls, directory: Path = SEEDS_DIR) -> Seeds | None:
        """The seeds, folded; None when the directory does not hold both."""
        texts = {}
        for number, name in SEED_FILES.items():
            path = directory / name
            if not path.is_file():
                return None
            texts[number] = fold(path.read_text(encoding="utf-8"))
        return cls(texts)

    def quote_problem(self, seed: str, quote: str) -> str | None:
        """Why `quote` is not the seed's own words (None: it is)."""
        text = self.texts[seed]
        position = 0
        for part in (p.strip() for p in fold(quote).split(ELISION.strip())):
            if not part:
                continue
            found = text.find(part, position)
            if found < 0:
                where = "at all" if text.find(part) < 0 else "in this order"
                return f"'{part}' is not in seed {seed} {where}"
            position = found + len(part)
        return None

    def section_problem(self, seed: str, section: str) -> str | None:
        """Why a 'Title > Sub-title' section path does not name titles of the seed (None: it does)."""
        text = self.texts[seed]
        for title in (t.strip() for t in section.split(" > ")):
            if fold(title) not in text:
                return f"section title '{title}' is not in seed {seed}"
        return None
