"""Parameter sweeps: the sweep file language (spec) and the driver that runs its points on an evaluator.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

from simulator._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "load_sweep": ".spec",
        "Sweep": ".spec",
        "run_sweep": ".driver",
        "plan_sweep": ".tasks",
    },
)
