"""coalition-sim: Monte Carlo agent-based simulator of alliance formation among states.

``import simulator as sim`` gives the Python API (docs/PYTHON.md): ``sim.run``, ``sim.load``,
``sim.sweep``, ``sim.load_sweep``, ``sim.compare``, ``sim.backtest``, ``sim.discover`` and
``sim.as_scenario``, each imported from ``simulator.api`` on first use (``import simulator`` loads
none of the layers).
"""

from __future__ import annotations

from simulator._lazy import lazy_exports

__version__ = "0.1.0"

#: the Python API: name -> its module in simulator.api (one home; simulator.api re-exports the same)
API = {
    "run": ".running",
    "load": ".results",
    "Run": ".results",
    "Figure": ".results",
    "as_scenario": ".scenarios",
    "sweep": ".sweeping",
    "load_sweep": ".sweeping",
    "Sweep": ".sweeping",
    "compare": ".analyses",
    "backtest": ".analyses",
    "Backtest": ".analyses",
    "discover": ".discover",
    "Discovery": ".discover",
}

__getattr__, _names = lazy_exports(__name__, {name: f".api{module}" for name, module in API.items()})
__all__ = ["__version__", *_names]
