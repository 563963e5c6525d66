"""One writer per sweep directory: ``.lock`` inside it, held with ``flock`` (simulator.runs.rundir.TargetLock).

The kernel releases the lock when its holder dies, so a crashed or killed client never blocks a resume.
"""

from __future__ import annotations

from pathlib import Path

from simulator.runs.rundir import TargetLock

LOCK_FILE = ".lock"


class SweepLock(TargetLock):
    """A lock so that two clients do not write one sweep directory (a second one gets a one-line error)."""

    def __init__(self, out: Path) -> None:
        super().__init__(Path(out) / LOCK_FILE, Path(out), "--out")
