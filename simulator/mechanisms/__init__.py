"""Mechanisms as pure functions over arrays (no Mesa, Typer, matplotlib or Dask here).

Arrays have a leading replicate axis R; S states, B blocs. Reductions over states use
``seqsum`` (strict left-to-right order) so the plain reference implementation, which adds
in ordinary loops, gets bit-identical floats.
"""

from __future__ import annotations

import numpy as np


def seqsum(x: np.ndarray, axis: int) -> np.ndarray:
    """Sum along ``axis`` in strict index order (bit-identical to a Python ``+=`` loop)."""
    if x.shape[axis] == 0:
        return np.sum(x, axis=axis)
    return np.take(np.cumsum(x, axis=axis), -1, axis=axis)
