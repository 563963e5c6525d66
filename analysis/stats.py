"""Statistics stated honestly: Wilson intervals, bootstrap quantile intervals, paired differences, co-membership.

Every random resample uses an explicit numpy Generator seeded with ``seed`` (default
``BOOTSTRAP_SEED``), so a table or figure is the same every time it is drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulator.runs.stats import Z95, describe_bool, describe_numeric, wilson

BOOTSTRAP_SEED = 20_260_101
N_BOOT = 1000
LEVEL = 0.95
_CHUNK_CELLS = 2_000_000  # resample at most this many values at once (memory bound)

__all__ = [
    "BOOTSTRAP_SEED",
    "N_BOOT",
    "bootstrap_ci",
    "comembership",
    "describe_numeric_ci",
    "describe_probability",
    "ecdf",
    "newcombe_paired",
    "paired_numeric",
    "quantiles_with_ci",
    "survival",
    "wilson",
]


def describe_probability(x: np.ndarray) -> dict:
    """Share of True with its 95% Wilson (1927) score interval (simulator.runs.stats.describe_bool) and the
    count of True behind it, ``k``."""
    x = np.asarray(x, dtype=bool)
    return describe_bool(x) | {"k": int(np.count_nonzero(x))}


def _resampled_statistic(x: np.ndarray, stat, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``stat(samples, axis=1)`` over ``n_boot`` bootstrap resamples of x, in memory-bounded chunks."""
    n = x.size
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    out = []
    done = 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(k, n))
        out.append(stat(x[idx], axis=1))
        done += k
    return np.concatenate(out, axis=-1) if out[0].ndim > 1 else np.concatenate(out)


def bootstrap_ci(
    x: np.ndarray, stat=np.median, n_boot: int = N_BOOT, seed: int = BOOTSTRAP_SEED, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile bootstrap interval (Efron & Tibshirani 1993) of ``stat`` over the finite values of x."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    values = _resampled_statistic(x, stat, n_boot, rng)
    a = (1 - level) / 2
    lo, hi = np.quantile(values, [a, 1 - a])
    return (float(lo), float(hi))


def quantiles_with_ci(
    x: np.ndarray, qs: list[float], n_boot: int = N_BOOT, seed: int = BOOTSTRAP_SEED, level: float = LEVEL
) -> pd.DataFrame:
    """Quantiles of the finite values of x with percentile-bootstrap intervals: columns q, value, lo, hi."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        nan = [float("nan")] * len(qs)
        return pd.DataFrame({"q": qs, "value": nan, "lo": nan, "hi": nan})
    rng = np.random.default_rng(seed)
    boot = _resampled_statistic(x, lambda s, axis: np.quantile(s, qs, axis=axis), n_boot, rng)  # (len(qs), n_boot)
    a = (1 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a], axis=1)
    return pd.DataFrame({"q": qs, "value": np.quantile(x, qs), "lo": lo, "hi": hi})


def describe_numeric_ci(x: np.ndarray, n_boot: int = N_BOOT, seed: int = BOOTSTRAP_SEED) -> dict:
    """simulator.runs.stats.describe_numeric (mean, median, quantiles) with percentile-bootstrap intervals of
    the median and of the 5% and 95% quantiles (``median_lo``, ``median_hi``, ``q05_lo``, ...).

    Non-finite values (NaN = "not applicable in this replicate", inf = "no adversary") are left
    out; ``n`` counts all replicates and ``n_finite`` those used.
    """
    x = np.asarray(x, dtype=float)
    finite = x[np.isfinite(x)]
    out = describe_numeric(x) | {"n_finite": int(finite.size)}
    bounds = [f"{name}_{end}" for name in ("q05", "median", "q95") for end in ("lo", "hi")]
    if finite.size == 0:
        return out | dict.fromkeys(bounds)
    q = quantiles_with_ci(finite, [0.05, 0.5, 0.95], n_boot, seed)
    return out | {key: float(q.loc[i // 2, key.rsplit("_", 1)[1]]) for i, key in enumerate(bounds)}


def newcombe_paired(a: np.ndarray, b: np.ndarray, z: float = Z95) -> dict:
    """Difference p_B - p_A of two paired proportions with Newcombe's (1998) hybrid score interval.

    Method 10 of Newcombe, "Improved confidence intervals for the difference between binomial
    proportions based on paired data", Statistics in Medicine 17:2635-2650: Wilson intervals of
    each margin combined with the correlation phi of the pairs. Pairs are replicates that share
    their random draws (same seed and index), so discordant pairs carry the whole difference.
    """
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    n = int(a.size)
    both = int(np.count_nonzero(a & b))
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(~a & b))
    neither = n - both - only_a - only_b
    if n == 0:
        return {"p_a": float("nan"), "p_b": float("nan"), "diff": float("nan"), "lo": -1.0, "hi": 1.0, "n": 0}
    pa, pb = (both + only_a) / n, (both + only_b) / n
    la, ua = wilson(both + only_a, n, z)
    lb, ub = wilson(both + only_b, n, z)
    den = (both + only_a) * (neither + only_b) * (both + only_b) * (neither + only_a)
    phi = (both * neither - only_a * only_b) / math.sqrt(den) if den > 0 else 0.0
    diff = pb - pa
    delta = math.sqrt(max(0.0, (pb - lb) ** 2 - 2 * phi * (pb - lb) * (ua - pa) + (ua - pa) ** 2))
    eps = math.sqrt(max(0.0, (ub - pb) ** 2 - 2 * phi * (ub - pb) * (pa - la) + (pa - la) ** 2))
    return {
        "p_a": pa,
        "p_b": pb,
        "diff": diff,
        "lo": max(-1.0, diff - delta),
        "hi": min(1.0, diff + eps),
        "n": n,
        "only_a": only_a,
        "only_b": only_b,
    }


def paired_numeric(
    a: np.ndarray, b: np.ndarray, n_boot: int = N_BOOT, seed: int = BOOTSTRAP_SEED, level: float = LEVEL
) -> dict:
    """Median of the paired differences b - a with a percentile-bootstrap interval over pairs.

    Pairs where either value is not finite (e.g. a formation step when nothing formed) are left
    out; ``n`` is the number of pairs used.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    if d.size == 0:
        nan = float("nan")
        return {"median_a": nan, "median_b": nan, "diff": nan, "lo": nan, "hi": nan, "mean_diff": nan, "n": 0}
    lo, hi = bootstrap_ci(d, np.median, n_boot, seed, level)
    return {
        "median_a": float(np.median(a[ok])),
        "median_b": float(np.median(b[ok])),
        "diff": float(np.median(d)),
        "lo": lo,
        "hi": hi,
        "mean_diff": float(d.mean()),
        "n": int(d.size),
    }


def comembership(member: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(S, S) probability that two states end in at least one common active bloc.

    ``member`` is (R, S, B) booleans (already restricted to active blocs). For each replicate
    the pair shares a bloc when sum_b M[i,b] M[j,b] > 0; one batched matrix product per chunk.
    The diagonal is the probability that a state ends in any bloc.
    """
    R, S, _ = member.shape
    counts = np.zeros((S, S), dtype=np.int64)
    for start in range(0, R, chunk):
        m = member[start : start + chunk].astype(np.float32)
        counts += (np.matmul(m, m.transpose(0, 2, 1)) > 0).sum(axis=0)
    return counts / R if R else counts.astype(float)


def survival(event_step: np.ndarray, steps: int) -> pd.DataFrame:
    """Probability that the event has not happened by the end of each step, with Wilson bands.

    ``event_step`` is the step of the event per replicate, NaN where it never happened. Every
    replicate is followed to the horizon, so nothing is censored early and the Kaplan-Meier
    estimate reduces to 1 - (share with event by step t): a binomial proportion at each step.
    """
    x = np.asarray(event_step, dtype=float)
    n = x.size
    rows = []
    for t in range(steps):
        k = int(np.count_nonzero(np.isfinite(x) & (x <= t)))
        lo, hi = wilson(k, n)
        rows.append(
            {"step": t, "happened": k, "n": n, "survival": 1 - k / n if n else np.nan, "lo": 1 - hi, "hi": 1 - lo}
        )
    return pd.DataFrame(rows)


def ecdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted finite values and their empirical cumulative probabilities."""
    x = np.sort(np.asarray(x, dtype=float)[np.isfinite(x)])
    return x, np.arange(1, x.size + 1) / max(x.size, 1)
