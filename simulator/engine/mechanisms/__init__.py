"""Mechanisms as pure functions over arrays (no Mesa, Typer, matplotlib or Dask here).

Arrays have a leading replicate axis R; S states, B blocs. Reductions over states use
``seqsum`` (strict left-to-right order) so the plain reference implementation, which adds
in ordinary loops, gets bit-identical floats.
"""

from __future__ import annotations

import numpy as np


def seqsum(x: np.ndarray, axis: int) -> np.ndarray:
    """Sum along ``axis`` in strict index order (bit-identical to a Python ``+=`` loop)."""
    xs = np.moveaxis(np.asarray(x), axis, 0)
    if xs.shape[0] == 0:
        return np.zeros(xs.shape[1:], dtype=np.result_type(xs.dtype, np.float64))
    acc = xs[0].astype(np.result_type(xs.dtype, np.float64), copy=True)
    for k in range(1, xs.shape[0]):
        acc += xs[k]
    return acc
