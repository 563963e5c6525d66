"""Spending: Richardson-style reaction to threat and to the bloc norm, within fiscal limits (docs/MODEL.md#spending)."""

from __future__ import annotations

import numpy as np


def target_share(
    base: np.ndarray,
    threat: np.ndarray,
    threat0: np.ndarray,
    norm_max: np.ndarray,
    factor: np.ndarray,
    fixed: np.ndarray,
    p: dict[str, np.ndarray],
) -> np.ndarray:
    """Target spending share of GDP (%), (R,S).

    g* = clip( (g0 + k (T/T0 - 1) g0 + n max(0, N - g0)) * f , 0, max(cap, g0) ), or the fixed
    share a spending shock set.
    """
    ratio = np.where(threat0 > 0, threat / np.where(threat0 > 0, threat0, 1.0), 1.0)
    reaction = p["threat_response"][:, None] * (ratio - 1.0) * base
    pull = p["norm_pull"][:, None] * np.maximum(0.0, norm_max - base)
    cap = np.maximum(p["fiscal_cap"][:, None], base)
    target = np.clip((base + reaction + pull) * factor, 0.0, cap)
    return np.where(np.isnan(fixed), target, fixed)


def adjust(share: np.ndarray, target: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """Partial adjustment toward the target: g' = g + s (g* - g)."""
    return share + speed[:, None] * (target - share)


def strictest_norm(member: np.ndarray, active: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """The highest spending norm among the active blocs a state belongs to, (R,S)."""
    return np.where(member & active[:, None, :], norm[None, None, :], 0.0).max(axis=2)
