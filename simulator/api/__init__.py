"""The Python API for notebooks: ``import simulator as sim; res = sim.run("scenarios/us_exit.yaml")``.

It is glue, as the CLI is (docs/PYTHON.md): it calls the scenario loader, the runs layer and the
analysis layer, and returns pandas tables. Names are imported on first use, so ``import simulator``
stays fast; ``simulator.API`` lists them.
"""

from __future__ import annotations

from simulator import API
from simulator._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, API)
