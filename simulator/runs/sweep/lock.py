"""One writer per sweep directory: a lock file naming the holder's pid and host; stale locks of dead processes are taken over."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from simulator.errors import InputError
from simulator.runs.results import write_json

LOCK_FILE = ".lock"


class SweepLock:
    """A lock file so that two clients do not write one sweep directory (a dead holder's lock is taken over)."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK_FILE
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}

    def __enter__(self) -> SweepLock:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            holder = None
        if holder and holder != self.me and holder.get("host") == self.me["host"] and _alive(holder.get("pid")):
            raise InputError(
                f"another sim sweep (pid {holder['pid']}) is writing '{self.path.parent}'; wait for it or stop it"
            )
        write_json(self.path, self.me)
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True
