"""One ensemble: the model of R replicates, its phases, mechanisms, shocks, outcomes, counter-based rng,
compiled kernels, and the plain per-agent reference twin.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

from simulator._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "AllianceModel": ".model",
        "ReferenceModel": ".reference",
        "reduce_outcomes": ".outcomes",
        "key_outcomes": ".outcomes",
    },
)
