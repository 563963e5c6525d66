"""The project's error types for expected failures: bad input (file, line, key, what would be valid) and storage."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


class StorageError(InputError):
    """A file or directory that cannot be read or written: permission, read-only, disk full, corrupt results.

    An expected failure like bad input: ``main()`` prints it as one line with exit code 2.
    """


_OS_HINTS = {
    errno.ENOSPC: "the disk is full; free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is exhausted; free some space or write elsewhere",
    errno.EACCES: "permission denied; choose a directory you can write to",
    errno.EPERM: "operation not permitted; choose a directory you can write to",
    errno.EROFS: "the file system is read-only; choose a directory you can write to",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "it is a directory; give a file name",
}


def storage_error(exc: OSError, path: object, what: str = "write", option: str | None = None) -> StorageError:
    """One line for an OSError: which file could not be read or written, why, and what to do instead.

    Args:
        exc: the error.
        path: the file or directory the user chose (named in the message; None: the one ``exc`` names).
        what: "write" or "read".
        option: the command-line option that chose ``path`` (``--out``), shown as the key.
    """
    name = str(path) if path is not None else str(exc.filename or "?")
    reason = _OS_HINTS.get(exc.errno) if exc.errno is not None else None
    if reason is None:
        reason = " ".join((exc.strerror or str(exc) or type(exc).__name__).split())
    return StorageError(f"cannot {what} '{name}': {reason}", key=option)


@contextmanager
def storage_errors(path: object, what: str = "write", option: str | None = None) -> Iterator[None]:
    """Turn an OSError raised inside the block into a StorageError (one line, exit 2) naming ``path``."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        raise storage_error(exc, path, what, option) from None
