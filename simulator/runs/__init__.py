"""Many ensembles to disk: replicate blocks, evaluators (in-process, processes, Dask), run directories,
summary statistics and sweeps.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

from simulator._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "run_scenario": ".run",
        "replay": ".run",
        "RunInfo": ".run",
        "run_block": ".blocks",
        "make_evaluator": ".evaluators",
    },
)
