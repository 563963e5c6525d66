"""One ensemble: the model of R replicates, its phases, mechanisms, shocks, outcomes, counter-based rng,
compiled kernels, and the plain per-agent reference twin.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AllianceModel": ".model",
    "ReferenceModel": ".reference",
    "reduce_outcomes": ".outcomes",
    "key_outcomes": ".outcomes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
