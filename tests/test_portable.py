"""Portable exp/log/pow: accurate, exact where they must be, and the same bits in numpy, Python and numba."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.engine import portable
from simulator.engine.fast import numba_available

needs_numba = pytest.mark.skipif(not numba_available(), reason="numba is not installed")
N = 100_000


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in units in the last place between same-signed finite doubles."""
    return np.abs(np.asarray(a, dtype=np.float64).view(np.int64) - np.asarray(b, dtype=np.float64).view(np.int64))


def log_inputs(rng: np.random.Generator) -> np.ndarray:
    """Positive doubles over the whole range: log-uniform from subnormal to huge, (0, 1], near 1."""
    wide = np.ldexp(rng.uniform(0.5, 1.0, N), rng.integers(-1073, 1024, N))
    unit = rng.uniform(0.0, 1.0, N) + 1e-300
    near_one = 1.0 + rng.normal(0.0, 1e-6, N)
    odds = (u := rng.uniform(0.0, 1.0, N)) / (1.0 - u)  # the logistic draws' arguments
    special = np.array([5e-324, 2.2250738585072014e-308, 1e-310, 0.5, 1.0, 2.0, np.e, 1e308, 1.7976931348623157e308])
    return np.concatenate([wide, unit, near_one, odds, special])


def exp_inputs(rng: np.random.Generator) -> np.ndarray:
    """Arguments of exp over its whole range, incl. results in the subnormal range and near overflow."""
    wide = rng.uniform(-745.0, 709.0, N)
    small = rng.uniform(-1.0, 1.0, N)
    tiny = rng.normal(0.0, 1e-8, N)
    subnormal = rng.uniform(-745.0, -708.0, N // 10)
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 709.0, -708.4, -744.0, -745.0])
    return np.concatenate([wide, small, tiny, subnormal, special])


def test_log_is_accurate():
    x = log_inputs(np.random.default_rng(1))
    got = portable.log(x)
    want = np.array([math.log(v) for v in x])
    err = ulps(got, want)
    both_zero = (got == 0.0) & (want == 0.0)
    assert (err[~both_zero] <= 4).all(), x[~both_zero][np.argmax(err[~both_zero])]


def test_exp_is_accurate():
    x = exp_inputs(np.random.default_rng(2))
    got = portable.exp(x)
    want = np.array([math.exp(v) for v in x])
    assert (ulps(got, want) <= 2).all(), x[np.argmax(ulps(got, want))]
    assert portable.exp(np.array([-800.0]))[0] == 0.0


def test_exact_values():
    assert portable.log(np.array([1.0]))[0] == 0.0
    assert portable.log1(1.0) == 0.0
    assert portable.exp(np.array([0.0, -0.0]))[0] == 1.0
    assert portable.exp1(0.0) == 1.0 and portable.exp1(-0.0) == 1.0
    assert portable.log1(2.0) == math.log(2.0)
    x = np.array([0.0, 1e-300, 0.3, 7.5, 1e10])
    assert np.array_equal(portable.power(x, 1.0), x)  # g == 1: x itself, no rounding
    assert [portable.pow1(float(v), 1.0) for v in x] == list(x)
    assert portable.power(np.array([0.0]), 2.5)[0] == 0.0 and portable.pow1(0.0, 0.7) == 0.0
    assert portable.pow1(4.0, 0.5) == pytest.approx(2.0, rel=1e-15)


def test_power_is_accurate():
    rng = np.random.default_rng(3)
    x = rng.uniform(1e-3, 300.0, N)
    g = rng.uniform(0.1, 5.0, N)
    got = portable.power(x, g)
    want = np.array([math.pow(a, b) for a, b in zip(x, g, strict=True)])
    # exp(g log x) multiplies log's absolute error by g: a few ulp per unit of |g log x|
    assert np.allclose(got, want, rtol=1e-14, atol=0.0)


def test_scalar_python_equals_numpy():
    rng = np.random.default_rng(4)
    x = log_inputs(rng)[:: N // 2000]
    assert [portable.log1(float(v)) for v in x] == list(portable.log(x))
    y = exp_inputs(rng)[:: N // 2000]
    assert [portable.exp1(float(v)) for v in y] == list(portable.exp(y))
    a = np.concatenate([rng.uniform(0.0, 100.0, 2000), [0.0, 0.0]])
    g = np.concatenate([np.where(rng.random(2000) < 0.3, 1.0, rng.uniform(0.1, 5.0, 2000)), [1.0, 2.0]])
    assert [portable.pow1(float(u), float(v)) for u, v in zip(a, g, strict=True)] == list(portable.power(a, g))


@needs_numba
def test_numba_equals_numpy_bit_for_bit():
    from simulator.engine.fast import kernels as k

    rng = np.random.default_rng(5)
    x = log_inputs(rng)
    out = np.empty_like(x)
    k.log_array(x, out)
    assert np.array_equal(out, portable.log(x))
    y = exp_inputs(rng)
    out = np.empty_like(y)
    k.exp_array(y, out)
    assert np.array_equal(out, portable.exp(y))
    a = np.concatenate([rng.uniform(0.0, 300.0, N), np.zeros(100)])
    g = np.where(rng.random(a.shape[0]) < 0.3, 1.0, rng.uniform(0.1, 5.0, a.shape[0]))
    out = np.empty_like(a)
    k.pow_array(a, g, out)
    assert np.array_equal(out, portable.power(a, g))


def test_monotone():
    rng = np.random.default_rng(6)
    x = np.sort(np.concatenate([log_inputs(rng), np.nextafter(1.0, [0.0, 2.0])]))
    assert (np.diff(portable.log(x)) >= 0).all()
    y = np.sort(exp_inputs(rng))
    assert (np.diff(portable.exp(y)) >= 0).all()
    # neighbouring doubles around awkward points
    for c in (0.5, 1.0, 2.0, math.sqrt(0.5), 1e-300):
        z = c * (1.0 + np.arange(-50, 51) * 2.0**-52)
        assert (np.diff(portable.log(z)) >= 0).all(), c
    for c in (0.0, 0.5 * math.log(2.0), -700.0, 700.0):
        z = c + np.arange(-50, 51) * 2.0**-40
        assert (np.diff(portable.exp(z)) >= 0).all(), c
