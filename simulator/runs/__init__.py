"""Many ensembles to disk: replicate blocks, evaluators (in-process, processes, Dask), run directories,
summary statistics and sweeps.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "run_scenario": ".run",
    "replay": ".run",
    "RunInfo": ".run",
    "run_block": ".blocks",
    "make_evaluator": ".evaluators",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
