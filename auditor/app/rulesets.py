"""The rules of a run: the shipped packs, plus the packs of each `--rules DIR` (repeatable).

Custom rules add to the built-ins: every pack found under a `--rules` directory runs beside the selected shipped
packs, and a custom pack with the name of a shipped pack replaces it (a team's own copy of `ccme`). A selected pack
that is found nowhere is bad input, never skipped without a word. Rule ids stay unique across everything loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auditor.data import data_dir
from auditor.engine.rules import Rule, load_files, pack_files
from auditor.errors import InputError


def load_rule_sets(dirs: Sequence[Path] | None, packs: Sequence[str] | None = None, *,
                   add_custom: bool = True) -> list[Rule]:
    """The selected shipped packs (all when `packs` is None) with the custom directories' packs.

    `add_custom`: every custom pack runs (False: only the custom packs that are selected, for the commands that
    run one pack of their own, egress and packages)."""
    shipped = list(pack_files(data_dir("policies")))
    custom: list[tuple[str, Path, str]] = []
    for directory in dirs or []:
        custom.extend((pack, path, str(directory)) for pack, path in pack_files(Path(directory)))
    custom_packs = {pack for pack, _, _ in custom}
    wanted = set(packs) if packs else None
    missing = sorted((wanted or set()) - custom_packs - {pack for pack, _ in shipped})
    if missing:
        where = ", ".join(str(d) for d in dirs or []) or str(data_dir("policies"))
        raise InputError(f"unknown pack(s): {', '.join(missing)}", file=where, place="--pack",
                         fix="use one of: " + ", ".join(sorted(custom_packs | {p for p, _ in shipped}))
                         + " (or add the directory holding it with --rules DIR)")
    files: list[tuple[str, Path]] = [
        (pack, path) for pack, path in shipped
        if pack not in custom_packs and (wanted is None or pack in wanted)
    ]
    files += [(pack, path) for pack, path, _ in custom if add_custom or wanted is None or pack in wanted]
    return load_files(files)
