"""The compiled backend: numba kernels of the hot phases, bit-identical to the numpy path.

A model runs on one of two backends: "numpy" (the reference path of simulator.engine.phases) or
"numba" (simulator.engine.fast.phases). The backend is a parameter (``AllianceModel(backend=)``,
``run_block``, ``run_scenario``, the sweep task, ``sim run --backend``, ``sim sweep --backend``);
``check_backend`` is the one place a name is validated, ``resolve_backend`` picks the default (numba
when it imports, else numpy).
"""

from __future__ import annotations

from typing import Literal, get_args

from simulator.errors import InputError, suggest

Backend = Literal["numpy", "numba"]
BACKENDS: tuple[str, ...] = get_args(Backend)


def numba_available() -> bool:
    """Whether numba imports on this machine."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def default_backend() -> str:
    """The backend used when none is asked for: numba if it imports, else numpy."""
    return "numba" if numba_available() else "numpy"


def check_backend(backend: str) -> str:
    """``backend`` if it names a backend; otherwise InputError (one line; exit 2 in the CLI)."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}{suggest(str(backend), BACKENDS)}")
    return backend


def resolve_backend(backend: str | None) -> str:
    """The backend to run: ``backend`` if given (numba falls back to numpy when it does not import)."""
    if backend is None:
        return default_backend()
    check_backend(backend)
    return backend if backend == "numpy" or numba_available() else "numpy"
