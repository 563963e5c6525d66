"""Threat: hostile power decaying with distance, Boulding's loss-of-strength gradient (docs/MODEL.md#threat)."""

from __future__ import annotations

import numpy as np


def hostility(affinity: np.ndarray) -> np.ndarray:
    """h_ij = max(0, -a_ij): only negative affinity is read as hostility."""
    return np.maximum(0.0, -affinity)


def threat_weights(affinity: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """W_ij = h_ij * exp(-d_ij / D): how much of j's power i perceives as a threat."""
    return hostility(affinity) * decay


def perceived_threat(weights_t: np.ndarray, power: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """T_i = s_i * sum_j W_ij P_j, summed in index order over the sources j that threaten anyone.

    Args:
        weights_t: threat weights transposed, [j, i] = W_ij: (S, S) shared by all replicates or (R, S, S).
        power: (R, S) power of every state.
        scale: (R, S) perception multiplier (threat and attack shocks).
    """
    R, S = power.shape
    total = np.zeros((R, S))
    shared = weights_t.ndim == 2
    sources = np.flatnonzero((weights_t != 0.0).any(axis=-1) if shared else (weights_t != 0.0).any(axis=(0, 2)))
    for j in sources:  # exact: skipped terms are exactly zero
        total += (weights_t[None, j, :] if shared else weights_t[:, j, :]) * power[:, j, None]
    return scale * total
