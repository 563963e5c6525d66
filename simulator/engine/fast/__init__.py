"""The compiled backend: numba kernels of the hot phases, bit-identical to the numpy path.

``resolve_backend`` picks the backend of a model: "numpy" (the reference path of
simulator.engine.phases) or "numba" (simulator.engine.fast.phases). The default is "numba" when numba imports,
else "numpy"; the environment variable COALITION_SIM_BACKEND overrides the default.
"""

from __future__ import annotations

import os

BACKENDS = ("numpy", "numba")
ENV_VAR = "COALITION_SIM_BACKEND"


def numba_available() -> bool:
    """Whether numba imports on this machine."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def default_backend() -> str:
    """The backend used when none is asked for: $COALITION_SIM_BACKEND, else numba if it imports."""
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env:
        if env not in BACKENDS:
            raise ValueError(f"{ENV_VAR}={env!r}: valid backends are {', '.join(BACKENDS)}")
        return env if env == "numpy" or numba_available() else "numpy"
    return "numba" if numba_available() else "numpy"


def resolve_backend(backend: str | None) -> str:
    """The backend to run: ``backend`` if given (numba falls back to numpy when it does not import)."""
    if backend is None:
        return default_backend()
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: valid backends are {', '.join(BACKENDS)}")
    return backend if backend == "numpy" or numba_available() else "numpy"
