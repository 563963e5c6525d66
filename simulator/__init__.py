"""coalition-sim: Monte Carlo agent-based simulator of alliance formation among states."""

from __future__ import annotations

__version__ = "0.1.0"
