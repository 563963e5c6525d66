"""Worker processes die with their parent: a watchdog thread ends a worker whose parent is gone.

Local process pools (``sim run --workers N``) start their workers with ``watch_parent`` as the
initializer. Without it, a parent killed with SIGKILL (or by the out-of-memory killer) leaves its
workers waiting for work forever, each holding its memory. Dask's worker processes already watch
their nanny (distributed.process), and the nannies of an embedded cluster live in the client.
"""

from __future__ import annotations

import os
import threading
import time

PARENT_POLL_SECONDS = 0.5


def watch_parent(parent: int | None = None, interval: float = PARENT_POLL_SECONDS) -> None:
    """Start a daemon thread that exits this process as soon as its parent process has died.

    Args:
        parent: the pid of the parent, as the parent saw it (``os.getpid()`` there). Pass it: a worker
            whose parent died while it was still starting up would otherwise take its new parent
            (init) for the real one and never notice.
        interval: seconds between checks.

    A dead parent shows as a changed ``os.getppid()`` (the orphan is adopted by init or a subreaper).
    """
    parent = os.getppid() if parent is None else parent
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)  # nothing to flush: the parent that wanted the results is gone

    threading.Thread(target=watch, name="sim-parent-watch", daemon=True).start()
