"""The project's one error type for bad input: file, line, key and what would be valid."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """A problem in a user's input file or command-line value.

    Attributes:
        message: What is wrong, and what would be valid.
        file: The file the problem is in, if any.
        line: 1-based line in that file, if known.
        key: Dotted path of the offending key (``shocks.2.target``), if known.
    """

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        elif self.line:
            where = f"line {self.line}"
        key = f" [{self.key}]" if self.key else ""
        return f"{where}{': ' if where else ''}{self.message}{key}"


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'X'?"`` for the closest choice, or a short list of valid choices."""
    choices = sorted({str(c) for c in choices})
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.5)
    if not close:
        close = [c for c in choices if c.lower() == str(name).lower()]
    if close:
        return f"; did you mean '{close[0]}'?"
    if len(choices) <= 12:
        return "; valid: " + ", ".join(choices)
    return "; valid: " + ", ".join(choices[:12]) + f", ... ({len(choices)} in all)"
