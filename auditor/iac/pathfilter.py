"""Which files of a scanned directory `ccme-audit iac` leaves out: what git ignores (`.gitignore`, `.git/info/exclude`,
the global excludes file: git's own answer, `git ls-files --others --ignored --exclude-standard`), and the
`--skip-path` / `skip_path` globs. A file named on the command line is always read."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PathFilter:
    """`globs` match a path relative to the scanned directory (`tests/*`, `**/fixtures/**`) or its file name;
    `gitignore`: also leave out what git ignores. `skipped` collects (path, reason) of what was left out."""

    globs: Sequence[str] = ()
    gitignore: bool = True
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _ignored: dict[Path, set[Path]] = field(default_factory=dict)

    def _git_ignored(self, root: Path) -> set[Path]:
        root = root.resolve()
        if root in self._ignored:
            return self._ignored[root]
        found: set[Path] = set()
        git = shutil.which("git")
        if git is None:
            if any((d / ".gitignore").is_file() for d in (root, *root.parents)):
                self.warnings.append("git is not installed: .gitignore is not read (use --skip-path)")
        else:
            done = subprocess.run(
                [git, "-C", str(root), "ls-files", "--others", "--ignored", "--exclude-standard", "--directory",
                 "-z"], capture_output=True, check=False, timeout=60,
            )
            if done.returncode == 0:
                found = {(root / item.decode("utf-8", "surrogateescape").rstrip("/")).resolve()
                         for item in done.stdout.split(b"\0") if item}
        self._ignored[root] = found
        return found

    def excluded(self, path: Path, root: Path) -> bool:
        """Whether `path`, found under the scanned directory `root`, is left out (recorded in `skipped`)."""
        rel = Path(os.path.relpath(path, root)).as_posix()
        for glob in self.globs:
            pattern = glob.rstrip("/")
            if (fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(path.name, pattern)
                    or fnmatch.fnmatchcase(rel, f"{pattern}/*") or rel.startswith(f"{pattern}/")):
                self.skipped.append((str(path), f"--skip-path {glob}"))
                return True
        if self.gitignore and path.resolve() in self._git_ignored(root):
            self.skipped.append((str(path), ".gitignore"))
            return True
        return False
