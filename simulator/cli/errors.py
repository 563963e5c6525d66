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


def cluster_failure(exc: BaseException) -> str | None:
    """Why a distributed computation stopped, when it is the cluster's doing rather than a bug (else None).

    A worker that died with its task again and again (Dask's KilledWorker: the out-of-memory killer, a
    batch job's limits), a task the scheduler cancelled (it restarted, or the connection to it was
    lost), a connection that closed or timed out, and any other expected failure of ``expected_failure``
    (a full disk, out of memory, ...).
    """
    name = type(exc).__name__
    reason = " ".join(str(exc).split()) or name
    if name == "KilledWorker":
        task = getattr(exc, "task", None) or "a task"
        tries = getattr(exc, "allowed_failures", None)
        times = f"{tries + 1} workers" if isinstance(tries, int) else "every worker"
        return (
            f"{times} that ran task {task} died while running it (killed by the system, often for lack of memory; "
            "the worker logs say why); give the workers more memory (--cluster-memory), or use a smaller "
            "--block-size or fewer workers"
        )
    if name in ("FutureCancelledError", "CancelledError"):
        return (
            f"the Dask scheduler cancelled a task ({reason}); the scheduler restarted or the connection to it was lost"
        )
    if name in ("CommClosedError", "StreamClosedError") or isinstance(exc, TimeoutError | ConnectionError):
        return f"the connection to the Dask scheduler was lost ({name}: {reason})"
    failure = expected_failure(exc)
    return failure[0] if failure is not None and failure[0] else None


def bug_message(exc: BaseException) -> str:
    """The one line of an unexpected error: what it was, that it is a bug, how to see the traceback, and its notes.

    A command adds what the user can still do as a note (``exc.add_note``): a sweep, how many tasks
    are saved and the command that finishes it.
    """
    notes = "".join(f"; {' '.join(str(n).split())}" for n in getattr(exc, "__notes__", ()))
    return (
        f"internal error ({type(exc).__name__}: {exc}); this is a bug, please report it with the command you ran "
        f"(sim --debug ... or SIM_DEBUG=1 shows the traceback){notes}"
    )


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
