"""Parameter sweeps: the sweep file language (spec) and the driver that runs its points on an evaluator.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_sweep": ".spec",
    "Sweep": ".spec",
    "run_sweep": ".driver",
    "plan_sweep": ".driver",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
