"""One-line notices the `sim` command prints before slow work the user did not ask for by name."""

from __future__ import annotations

#: seconds the numba kernels take to compile on a cold cache: `NUMBA_CACHE_DIR=$(mktemp -d) sim run
#: scenarios/us_exit.yaml -n 10 --steps 12 --no-figures` took 98 s, and 11 s once cached (a shared
#: 2-CPU AMD EPYC virtual machine, November 2026)
COMPILE_SECONDS = 90


def compile_notice(backend: str | None) -> str | None:
    """The notice that the engine is about to be compiled, or None when it is cached or numba is not used.

    numba caches compiled kernels on disk (``cache=True``); an empty or stale cache (a first run, a
    new numba, an edited kernel) means every kernel compiles before the first replicate runs. The
    check reads numba's cache index and never fails a run: any error means no notice.
    """
    try:
        from simulator.engine.fast import resolve_backend

        if resolve_backend(backend) != "numba":
            return None
        from numba.core.registry import CPUDispatcher

        from simulator.engine.fast import kernels

        cached = 0
        for value in vars(kernels).values():
            if isinstance(value, CPUDispatcher) and value._cache is not None:
                cached += len(value._cache._cache_file._load_index())  # stale entries are not loaded
        if cached:
            return None
    except Exception:  # noqa: BLE001 - a notice is never worth an error
        return None
    return f"compiling the engine once (numba), about {COMPILE_SECONDS} s; later runs start at once"
