"""What the user writes: the scenario language and its loader, the built-in data, the parameters and the world arrays.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

from simulator._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "Scenario": ".language",
        "load_scenario": ".language",
        "load_scenario_text": ".language",
        "scenario_from": ".language",
        "scenario_hash": ".language",
        "scenario_json_schema": ".language",
        "quarter_label": ".language",
        "World": ".world",
        "build_world": ".world",
        "load_baseline": ".baseline",
        "PARAMS": ".params",
    },
)
