"""Per-replicate parameter values: constants or distributions drawn from the counter-based streams."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from simulator.engine.rng import Streams
from simulator.scenario.language import Beta, Choice, Normal, Scenario, Triangular, Uniform
from simulator.scenario.params import PARAMS


def _portable(x: np.ndarray) -> np.ndarray:
    """Round to float32 precision (about 7 digits): scipy's inverse CDFs call libm functions whose
    last bit can differ between machines; rounding makes the draw the same on every CPU."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def draw(spec, u: np.ndarray) -> np.ndarray:
    """Map uniforms ``u`` to draws of one distribution by its inverse CDF."""
    if isinstance(spec, Normal):
        x = spec.mean + spec.sd * _portable(special.ndtri(u))
        if spec.low is not None or spec.high is not None:
            x = np.clip(
                x,
                spec.low if spec.low is not None else -np.inf,
                spec.high if spec.high is not None else np.inf,
            )
        return x
    if isinstance(spec, Uniform):
        return spec.low + (spec.high - spec.low) * u
    if isinstance(spec, Triangular):
        width = spec.high - spec.low
        return _portable(stats.triang.ppf(u, (spec.mode - spec.low) / width, loc=spec.low, scale=width))
    if isinstance(spec, Beta):
        return spec.low + (spec.high - spec.low) * _portable(special.betaincinv(spec.a, spec.b, u))
    if isinstance(spec, Choice):
        w = np.asarray(spec.weights if spec.weights is not None else [1.0] * len(spec.values), dtype=float)
        cum = np.cumsum(w / w.sum())
        cum[-1] = 1.0
        return np.asarray(spec.values, dtype=float)[np.searchsorted(cum, u, side="right").clip(0, len(w) - 1)]
    raise TypeError(spec)


def sample_parameters(scenario: Scenario, streams: Streams) -> dict[str, np.ndarray]:
    """Every model parameter as an (R,) array: defaults, scenario constants or draws."""
    R = len(streams.replicates)
    out: dict[str, np.ndarray] = {}
    for name, spec in PARAMS.items():
        value = scenario.parameters.get(name, spec.default)
        if isinstance(value, int | float):
            out[name] = np.full(R, float(value))
        else:
            x = draw(value, streams.uniform(f"param:{name}", 0))
            out[name] = np.clip(x, spec.low, spec.high)
    if scenario.posterior is not None:
        sample = scenario.posterior
        rows = np.asarray(sample.rows, dtype=float)
        idx = posterior_rows(sample, streams)
        for k, name in enumerate(sample.parameters):
            out[name] = rows[idx, k]
    return out


def posterior_rows(sample, streams: Streams) -> np.ndarray:
    """(R,) the row of a ParameterSample each replicate takes (by its own stream, or by its index)."""
    n = len(sample.rows)
    if sample.assign == "replicate":
        return (streams.replicates % np.uint64(n)).astype(np.int64)
    w = np.asarray(sample.weights if sample.weights is not None else [1.0] * n, dtype=float)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, streams.uniform("posterior", 0), side="right").clip(0, n - 1)
