"""Errors that end a command with exit code 2 and one precise line."""

from __future__ import annotations

MAX_WHAT = 600


class InputError(Exception):
    """Bad input: a file, config, snapshot, rule or flag that cannot be used.

    The message names the file, the place inside it and the fix, on one line.
    """

    def __init__(self, what: str, *, file: str | None = None, place: str | None = None, fix: str | None = None):
        self.what = what
        self.file = file
        self.place = place
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.place:
            parts.append(self.place)
        head = ": ".join(parts)
        what = " ".join(self.what.split())
        if len(what) > MAX_WHAT:  # a schema message may quote a whole (hostile, huge) input value
            what = what[: MAX_WHAT // 2] + " ... " + what[-MAX_WHAT // 4 :]
        text = f"{head}: {what}" if head else what
        if self.fix:
            text += f" (fix: {self.fix})"
        return " ".join(text.split())
