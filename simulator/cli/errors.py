"""Which failures the `sim` command expects, and the one line it prints for each (the CLI's error boundary).

``main()`` calls :func:`expected_failure` on any exception a command raises. Expected failures are
the user's to fix (bad input, a usage error, a file that cannot be read or written, a full disk, a
truncated results file, too little memory): one line naming the file or option, exit 2. Anything
else is a bug: ``main()`` prints a short line with a hint to report it (exit 70).
"""

from __future__ import annotations

import errno
import json
import sys
import zipfile
from pathlib import Path

from simulator.errors import InputError

#: what to do about an I/O error, by errno
_OS_HINTS = {
    errno.ENOSPC: "free some space, or write elsewhere with --out",
    errno.EDQUOT: "free some space, or write elsewhere with --out",
    errno.EACCES: "check the permissions, or choose another path",
    errno.EPERM: "check the permissions, or choose another path",
    errno.EROFS: "the file system is read-only; choose another path",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "the path is a directory; give a file",
    errno.EEXIST: "the path exists; choose another",
}


def expected_failure(exc: BaseException) -> tuple[str | None, int] | None:
    """``(message, exit code)`` for an expected failure (message None: nothing to print), else None."""
    if isinstance(exc, InputError):
        return str(exc), 2
    name = type(exc).__name__
    if name == "Exit" and hasattr(exc, "exit_code"):  # typer.Exit / click's Exit outside a command
        return None, int(exc.exit_code)
    if name == "Abort":
        return "aborted", 1
    if name == "NoArgsIsHelpError":  # `sim` alone: typer has printed the help (older click: it is the message)
        text = _click_message(exc)
        return (text if text.strip() else None), 2
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click's usage and parameter errors
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        return _click_message(exc) + hint, int(exc.exit_code)
    if _is_corrupt_results(exc):
        where = _paths_given()
        reason = " ".join(str(exc).split()) or "no message"
        return (
            f"cannot read the results{f' in {where}' if where else ''} ({type(exc).__name__}: {reason}): "
            "a file is truncated or corrupt; run the command that wrote it again"
        ), 2
    if isinstance(exc, OSError):
        if exc.errno == errno.EPIPE:  # the reader of our output went away (`sim states | head`)
            return None, 1
        return _os_message(exc), 2
    if type(exc).__name__ == "BrokenProcessPool":  # a worker was killed (the out-of-memory killer, a signal)
        return (
            "a worker process died (killed by the system, often for lack of memory); use fewer --workers, "
            "fewer replicates or a smaller --block-size"
        ), 2
    if isinstance(exc, MemoryError):
        return (
            "out of memory; use fewer replicates, a smaller --block-size or fewer --workers "
            "(memory grows with the block size and the number of workers)"
        ), 2
    return None


def _click_message(exc: BaseException) -> str:
    """click's message in the style of every other error: starting in lower case, no full stop."""
    try:
        text = str(exc.format_message())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a message is better than a second error
        text = str(exc)
    if text[:1].isupper() and not text[1:2].isupper():  # "Missing argument", not an acronym
        text = text[0].lower() + text[1:]
    return text.rstrip(".") if text.count(".") == 1 and text.endswith(".") else text


def _os_message(exc: OSError) -> str:
    what = exc.strerror or str(exc) or type(exc).__name__
    files = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    if files:
        text = f"{' -> '.join(files)}: {what}"
    else:
        where = _paths_given()
        text = f"{what}{f' (while working on {where})' if where else ''}"
    hint = _OS_HINTS.get(exc.errno or -1)
    return f"{text}; {hint}" if hint else text


def _is_corrupt_results(exc: BaseException) -> bool:
    if type(exc).__module__.split(".")[0] == "pyarrow":  # ArrowInvalid, ArrowIOError, ... (any Parquet reader)
        return True
    if isinstance(exc, OSError) and exc.errno is None:  # pyarrow's plain OSError on a garbled Parquet footer
        text = str(exc).lower()
        return any(word in text for word in ("parquet", "thrift", "arrow"))
    return isinstance(exc, zipfile.BadZipFile | json.JSONDecodeError | EOFError)


def _paths_given() -> str:
    """The files and directories named on the command line (after the command name), for messages."""
    args = sys.argv[2:]
    paths = []
    for i, arg in enumerate(args):
        if arg.startswith("-"):
            continue
        previous = args[i - 1] if i else ""
        if (previous in ("--out", "-o") or Path(arg).exists()) and arg not in paths:
            paths.append(arg)
    return ", ".join(paths)
