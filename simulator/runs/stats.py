"""Honest statistics for ensemble outcomes: Wilson intervals for probabilities, quantiles for amounts."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def describe_bool(x: np.ndarray) -> dict:
    """Probability with its 95% Wilson interval."""
    return describe_count(int(np.count_nonzero(x)), int(x.size))


def describe_count(k: int, n: int) -> dict:
    """Probability of k successes in n, with its 95% Wilson interval (describe_bool from counts)."""
    lo, hi = wilson(k, n)
    return {"kind": "probability", "p": k / n if n else float("nan"), "lo": lo, "hi": hi, "n": n}


def describe_numeric(x: np.ndarray) -> dict:
    """Mean, median and the 5-95% range (finite values only)."""
    x = np.asarray(x, dtype=float)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return {"kind": "numeric", "n": int(x.size), "mean": None, "median": None, "q05": None, "q95": None}
    q05, q25, q50, q75, q95 = np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "kind": "numeric", "n": int(x.size), "mean": float(finite.mean()), "median": float(q50),
        "q05": float(q05), "q25": float(q25), "q75": float(q75), "q95": float(q95),
        "min": float(finite.min()), "max": float(finite.max()),
    }  # fmt: skip


def describe(x: np.ndarray) -> dict:
    """describe_bool or describe_numeric by dtype."""
    return describe_bool(x) if x.dtype == bool else describe_numeric(x)


# mergeable histograms for per-step distributions (quantile fan charts without trajectories)
POWER_EDGES = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 721)])  # bins 1.9% wide


def histogram_steps(values: np.ndarray, edges: np.ndarray = POWER_EDGES) -> np.ndarray:
    """Counts per (step, bloc, bin) of values (R, T, B); bin 0 holds exact zeros."""
    R, T, B = values.shape
    idx = np.searchsorted(edges, values, side="right") - 1
    idx = np.where(values <= 0, 0, np.clip(idx, 1, len(edges) - 2))
    counts = np.zeros((T, B, len(edges) - 1), dtype=np.int64)
    t_idx = np.broadcast_to(np.arange(T)[None, :, None], values.shape)
    b_idx = np.broadcast_to(np.arange(B)[None, None, :], values.shape)
    np.add.at(counts, (t_idx.ravel(), b_idx.ravel(), idx.ravel()), 1)
    return counts


def histogram_quantiles(counts: np.ndarray, qs: list[float], edges: np.ndarray = POWER_EDGES) -> np.ndarray:
    """Quantiles (..., len(qs)) from counts (..., nbins), interpolating geometrically inside a bin."""
    cum = np.cumsum(counts, axis=-1)
    total = cum[..., -1:]
    out = np.zeros(counts.shape[:-1] + (len(qs),))
    for k, q in enumerate(qs):
        target = q * total
        b = np.argmax(cum >= np.maximum(target, 1e-12), axis=-1)
        prev = np.where(b > 0, np.take_along_axis(cum, np.maximum(b - 1, 0)[..., None], -1)[..., 0], 0)
        inbin = np.take_along_axis(counts, b[..., None], -1)[..., 0]
        frac = np.where(inbin > 0, (target[..., 0] - prev) / np.where(inbin > 0, inbin, 1), 0.0)
        lo, hi = edges[b], edges[b + 1]
        val = np.where(b == 0, 0.0, lo * (hi / np.where(lo > 0, lo, 1.0)) ** np.clip(frac, 0, 1))
        out[..., k] = np.where(total[..., 0] > 0, val, np.nan)
    return out
