"""What the user writes: the scenario language and its loader, the built-in data, the parameters and the world arrays.

Public names are re-exported here and imported on first use (PEP 562), so that importing one
module of this package does not load the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Scenario": ".language",
    "load_scenario": ".language",
    "load_scenario_text": ".language",
    "scenario_hash": ".language",
    "scenario_json_schema": ".language",
    "quarter_label": ".language",
    "World": ".world",
    "build_world": ".world",
    "load_baseline": ".baseline",
    "PARAMS": ".params",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
