"""Result directories on disk: what ``--out`` may be, one writer per target, atomic commit, checksums.

The promises (docs/RELIABILITY.md, "Files, resume and clusters"):

- A run is written into a hidden ``.NAME.partial-PID`` sibling and renamed into place when whole;
  every failure removes the partial, and partials of dead processes are removed by the next writer.
- ``--force`` replaces only an empty directory or a run directory that ``sim`` wrote (its manifest
  says so and it holds nothing else); ``.``, ``/``, the home directory, a directory holding the
  current one, files and devices are refused.
- One writer per target: ``.NAME.lock`` beside it, held with ``flock`` (released by the kernel
  when the holder dies, so a crashed writer never blocks the next one).
- ``manifest.json`` lists the SHA-256 and size of every file written with it; readers check them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from simulator.errors import InputError, StorageError, storage_error, storage_errors

try:  # POSIX; elsewhere the lock falls back to an exclusive create
    import fcntl
except ImportError:  # pragma: no cover - not Linux/macOS
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
CHECKSUMS = "checksums"
PACKAGE = "coalition-sim"
# Not checksummed: the manifest holds the sums; figures/ is redrawn by `sim plot`; parts/ carry their own tags.
UNSUMMED = (MANIFEST, "figures", "parts")
# What `sim` writes into a run directory besides the files its manifest lists (figures, reports, comparisons).
RUN_EXTRAS = {"figures": (".png", ".svg", ".pdf"), "report_figures": (".png", ".svg", ".pdf")}
RUN_EXTRA_FILES = ("report.html", "report.md")
COMPARE_SUFFIXES = (".csv", ".png", ".svg", ".pdf")
# The run files of manifests written before checksums existed.
LEGACY_RUN_FILES = (
    "replicates.parquet", "events.parquet", "states.parquet", "trajectories.parquet", "step_histograms.parquet",
    "utilities.parquet", "summary.json", "scenario.resolved.yaml",
)  # fmt: skip
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>[0-9]+)$")
_CHUNK = 1 << 20


# ---------------------------------------------------------------- where --out may point
def _valid(option: str) -> str:
    return f"give {option} a new or empty directory (with --force: a run directory written by sim run)"


def check_target(target: Path, force: bool, option: str = "--out") -> None:
    """Refuse an output directory that is not ours to (re)write; InputError (one line) naming ``option``.

    Valid: a path that does not exist, an empty directory, or (with ``force``) a run directory
    ``sim`` wrote that holds only what ``sim`` writes.
    """
    target = Path(target)
    refuse_unsafe(target, option, _valid(option))
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"{option} '{target}' is a file or device, not a directory; {_valid(option)}")
    with storage_errors(target, "read", option):
        empty = next(target.iterdir(), None) is None
    if empty:
        return
    if not force:
        raise InputError(
            f"output directory '{target}' exists and is not empty; choose another {option}, or pass --force to "
            "replace a run directory written by sim run"
        )
    why = not_a_run_of_ours(target)
    if why:
        raise InputError(
            f"--force replaces only a run directory written by sim run: '{target}' {why}; {_valid(option)}"
        )


def refuse_unsafe(target: Path, option: str, valid: str) -> None:
    """InputError (one line) for an output directory no command may ever replace: a symbolic link, the
    root, the home directory, or the current directory or one that holds it. ``valid`` says what would do."""
    target = Path(target)
    shown = f"{option} '{target}'"
    if target.is_symlink():
        raise InputError(f"{shown} is a symbolic link; {valid}, not a link to one")
    resolved = target.resolve()
    if resolved == Path(resolved.anchor):
        raise InputError(f"{shown} is the root directory; {valid}")
    if resolved == _home():
        raise InputError(f"{shown} is your home directory; {valid}")
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise InputError(f"{shown} is or holds the current directory; {valid}")


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):  # no HOME and no password entry
        return None


def not_a_run_of_ours(directory: Path) -> str | None:
    """Why ``directory`` is not a run directory ``sim`` wrote and may replace (None: it is one)."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"has no {MANIFEST}"
    except (OSError, ValueError):
        return f"has an unreadable {MANIFEST}"
    if not isinstance(manifest, dict) or manifest.get("package") != PACKAGE:
        return f"has a {MANIFEST} that sim did not write"
    if manifest.get("kind") == "sweep":
        return "is a sweep directory"
    sums = manifest.get(CHECKSUMS)
    listed = {Path(k).parts[0] for k in sums} if isinstance(sums, dict) else set(LEGACY_RUN_FILES)
    for entry in sorted(directory.iterdir()):
        if not _written_by_sim(entry, listed):
            return f"holds '{entry.name}', which sim did not write (move it first)"
    return None


def _written_by_sim(entry: Path, listed: set[str]) -> bool:
    name = entry.name
    if entry.is_symlink():
        return False
    if name in listed or name == MANIFEST:
        return entry.is_file() or entry.is_dir()
    if name in RUN_EXTRA_FILES:
        return entry.is_file()
    suffixes = RUN_EXTRAS.get(name) or (COMPARE_SUFFIXES if name.startswith("compare-") else None)
    if suffixes is None or not entry.is_dir():
        return False
    return all(p.is_file() and not p.is_symlink() and p.suffix.lower() in suffixes for p in entry.iterdir())


# ---------------------------------------------------------------- one writer per target
def lock_path(target: Path) -> Path:
    """The lock file of an output path: ``.NAME.lock`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


class TargetLock:
    """An exclusive lock on an output path, held while it is written (``flock``: freed when the holder dies).

    A second writer gets a one-line InputError at once (it does not wait). The lock file is removed on
    release; a writer that finds the file replaced under it takes the new one.
    """

    def __init__(self, path: Path, target: Path, option: str = "--out") -> None:
        self.path = Path(path)
        self.target = target
        self.option = option
        self.fd: int | None = None
        self.me = {"pid": os.getpid(), "host": socket.gethostname()}

    def __enter__(self) -> TargetLock:
        with storage_errors(self.target, "write", self.option):
            self.fd = self._acquire_flock() if fcntl is not None else self._acquire_exclusive()
            try:  # who holds it, for the message of the next writer
                os.ftruncate(self.fd, 0)
                os.write(self.fd, json.dumps(self.me).encode())
            except BaseException:
                self.__exit__()
                raise
        return self

    def _busy(self) -> InputError:
        holder = _read_json(self.path)
        pid = holder.get("pid") if isinstance(holder, dict) else None
        who = f"another sim process (pid {pid})" if pid else "another sim process"
        return InputError(
            f"{self.option} '{self.target}' is locked: {who} is writing it; wait for it to finish or choose "
            f"another {self.option}"
        )

    def _acquire_flock(self) -> int:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._busy() from None
            except BaseException:
                os.close(fd)
                raise
            # the holder before us may have removed the file between our open and our lock: lock the current one
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)

    def _acquire_exclusive(self) -> int:  # pragma: no cover - platforms without flock
        for _ in range(2):
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read_json(self.path)
                if isinstance(holder, dict) and _alive(holder.get("pid")):
                    raise self._busy() from None
                self.path.unlink(missing_ok=True)
        raise self._busy()

    def __exit__(self, *exc: object) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)  # closing releases the flock
        self.fd = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _alive(pid: Any) -> bool:
    """Whether a process of this machine with this pid exists."""
    try:
        pid = int(pid)
        if pid <= 0:
            return False
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is another user's
        return True
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    return True


def clean_leftovers(target: Path) -> list[Path]:
    """Remove the ``.NAME.partial-PID`` (and finished ``.NAME.old-PID``) directories of dead processes.

    Only names of this pattern for this target, only if that process is gone. A ``.old-PID`` whose
    replacement never finished (the target is missing) is the previous run: it is put back instead.
    Call it while holding the target's lock. Returns what was removed.
    """
    target = Path(target)
    removed = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if not m or m["name"] != target.name or int(m["pid"]) == os.getpid() or _alive(m["pid"]):
            continue
        if entry.is_symlink() or not entry.is_dir():
            continue
        if m["kind"] == "old" and not target.exists():
            with contextlib.suppress(OSError):
                entry.rename(target)
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


# ---------------------------------------------------------------- atomic commit
@contextlib.contextmanager
def atomic_directory(target: Path, overwrite: bool = False, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces ``target`` in one rename.

    ``target`` is checked first (check_target) and locked while it is written. The files of the
    temporary directory are checksummed into its ``manifest.json`` (if it wrote one) before the
    rename. Any failure removes the temporary directory and keeps an existing ``target``; an
    OSError (disk full, permission, read-only) becomes a one-line StorageError naming ``target``.
    """
    target = Path(target)
    check_target(target, overwrite, option)
    with storage_errors(target.parent, "write", option):
        target.parent.mkdir(parents=True, exist_ok=True)
    with TargetLock(lock_path(target), target, option):
        clean_leftovers(target)  # may put back the previous run of a replacement that was killed halfway
        check_target(target, overwrite, option)  # again: another writer may have finished meanwhile
        tmp = target.parent / f".{target.name}.partial-{os.getpid()}"
        try:
            with storage_errors(target, "write", option):
                if tmp.exists():
                    shutil.rmtree(tmp)
                tmp.mkdir()
            try:
                yield tmp
            except OSError as exc:
                raise storage_error(exc, target, "write", option) from None
            with storage_errors(target, "write", option):
                seal(tmp)
                _commit(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def _commit(tmp: Path, target: Path) -> None:
    if not target.exists():
        tmp.rename(target)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(old)  # an empty directory, or a run directory of ours (check_target)
    try:
        tmp.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- checksums
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_checksums(directory: Path) -> dict[str, dict[str, Any]]:
    """SHA-256 and size of every file in ``directory`` but the manifest, figures/, parts/ and hidden files."""
    directory = Path(directory)
    sums = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if rel.parts[0] in UNSUMMED or any(p.startswith(".") for p in rel.parts) or not path.is_file():
            continue
        sums[rel.as_posix()] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return sums


def seal(directory: Path) -> None:
    """Add the checksums of the directory's files to its manifest.json (if it has one)."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[CHECKSUMS] = file_checksums(directory)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_manifest(directory: Path) -> dict:
    """The manifest of a finished run or sweep directory; a one-line error if it is missing or not one of ours."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise InputError(f"run directory '{directory}' not found")
    if not path.exists():
        raise InputError(f"'{directory}' is not a finished run directory (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StorageError(f"not valid JSON ({exc.msg}); the run directory is damaged", str(path), exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise storage_error(exc if isinstance(exc, OSError) else OSError(str(exc)), path, "read") from None
    if not isinstance(manifest, dict):
        raise StorageError(
            f"not a sim manifest (a JSON object is expected, it holds a {type(manifest).__name__}); "
            "the run directory is damaged",
            str(path),
        )
    return manifest


def verify_checksums(directory: Path, manifest: dict, required: bool = False) -> int:
    """Check every file the manifest lists against its size and SHA-256; returns how many were checked.

    A missing or changed file is a one-line StorageError naming it. A manifest without checksums
    (written before they existed) passes unless ``required``.
    """
    directory = Path(directory)
    sums = manifest.get(CHECKSUMS)
    if not isinstance(sums, dict) or not sums:
        if required:
            raise StorageError(
                f"'{directory / MANIFEST}' lists no checksums (written by an older sim, or edited); "
                "there is nothing to verify against"
            )
        return 0
    for rel, want in sums.items():
        path = directory / rel
        if not isinstance(want, dict) or ".." in Path(rel).parts or Path(rel).is_absolute():
            raise StorageError(f"'{directory / MANIFEST}' has a malformed checksum entry for '{rel}'")
        if not path.is_file():
            raise StorageError(f"'{path}' is missing; its manifest lists it, so the directory is incomplete")
        try:
            size = path.stat().st_size
            ok = size == want.get("bytes") and sha256_file(path) == want.get("sha256")
        except OSError as exc:
            raise storage_error(exc, path, "read") from None
        if not ok:
            raise StorageError(
                f"'{path}' is damaged: its content differs from the checksum in {MANIFEST} (truncated or changed "
                "after sim wrote it); run it again"
            )
    return len(sums)
