"""exp, log and pow from IEEE arithmetic only, so every CPU gives the same bits.

numpy evaluates ``np.exp``/``np.log``/``np.power`` with SIMD code chosen at run time (AVX2,
AVX-512, ...), and the variants can differ in the last bit; libm differs again. A draw or a
decision that depends on such a bit would then depend on the machine a replicate ran on. These
versions use only +, -, *, / (each exactly rounded by IEEE 754), comparisons and ``frexp`` /
``ldexp`` (exact), in a fixed order, so a heterogeneous Dask cluster still gives bit-identical
results. Accuracy: log within 3 ulp, exp within 1 ulp of the correctly rounded value
(tests/test_portable.py).

Each function comes twice, with the same operations in the same order:

* ``log1``, ``exp1``, ``pow1``: one float. Plain Python (the per-agent reference calls them) and
  valid numba code: simulator.engine.fast.kernels compiles these very functions (no fast-math, so LLVM
  neither reorders nor contracts ``a * b + c`` into a fused multiply-add).
* ``log``, ``exp``, ``power``: numpy arrays (the vectorised engine), elementwise equal to the above.
"""

from __future__ import annotations

import math

import numpy as np

_LN2_HI = 6.93147180369123816490e-01  # fdlibm split of ln 2 (k * _LN2_HI is exact for |k| < 2**20)
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF = 0.7071067811865476
_EXP_LO = -746.0  # exp(x) rounds to 0 below about -745.13: arguments are clipped to [-746, 709]
_EXP_HI = 709.0  # (exp overflows above about 709.78; the model never comes near either end)


# ------------------------------------------------------------------ one float (Python and numba)
def log1(x: float) -> float:
    """Natural logarithm of one positive finite x (deterministic across CPUs)."""
    m, e = math.frexp(x)  # x = m * 2**e, m in [0.5, 1)
    if m < _SQRT_HALF:
        m = m * 2.0  # m in [sqrt(1/2), sqrt(2))
        e = e - 1
    ef = float(e)
    z = (m - 1.0) / (m + 1.0)  # |z| < 0.1716
    z2 = z * z
    # 2 atanh(z) = 2 (z + z^3/3 + z^5/5 + ...); |z|^2 < 0.0295, 12 terms reach 1e-19
    poly = 1.0 / 23.0
    for k in range(21, 0, -2):
        poly = 1.0 / k + z2 * poly
    return ef * _LN2_HI + (ef * _LN2_LO + 2.0 * z * poly)


def exp1(x: float) -> float:
    """exp of one finite x <= 709 (deterministic across CPUs); 0 below about -745.13."""
    x = _EXP_LO if x < _EXP_LO else x  # np.clip: the lower bound first, then the upper
    x = _EXP_HI if x > _EXP_HI else x
    k = math.floor(x * _INV_LN2 + 0.5)
    kf = float(k)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO  # |r| <= ln2/2
    # Taylor series of e^r to degree 15 (error < 1e-17 for |r| <= 0.35), Horner form
    poly = 1.0
    for n in range(15, 0, -1):
        poly = 1.0 + r * poly / n
    return math.ldexp(poly, k)


def pow1(x: float, g: float) -> float:
    """x ** g for x >= 0: x itself when g == 1, 0 when x == 0, else exp1(g * log1(x))."""
    if g == 1.0:
        return x
    if not x > 0.0:
        return 0.0
    return exp1(g * log1(x))


# ------------------------------------------------------------------ arrays (numpy)
def log(x: np.ndarray) -> np.ndarray:
    """Natural logarithm of positive finite x, elementwise (equal to ``log1`` bit for bit)."""
    x = np.asarray(x, dtype=np.float64)
    m, e = np.frexp(x)  # x = m * 2**e, m in [0.5, 1)
    small = m < _SQRT_HALF
    m = np.where(small, m * 2.0, m)  # m in [sqrt(1/2), sqrt(2))
    e = (e - small).astype(np.float64)
    z = (m - 1.0) / (m + 1.0)  # |z| < 0.1716
    z2 = z * z
    poly = 1.0 / 23.0
    for k in range(21, 0, -2):
        poly = 1.0 / k + z2 * poly
    return e * _LN2_HI + (e * _LN2_LO + 2.0 * z * poly)


def exp(x: np.ndarray) -> np.ndarray:
    """exp of finite x <= 709, elementwise (equal to ``exp1`` bit for bit); 0 below about -745.13."""
    x = np.asarray(x, dtype=np.float64)
    x = np.clip(x, _EXP_LO, _EXP_HI)
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln2/2
    poly = 1.0
    for n in range(15, 0, -1):
        poly = 1.0 + r * poly / n
    return np.ldexp(poly, k.astype(np.int64))


def power(x: np.ndarray, g: np.ndarray | float) -> np.ndarray:
    """x ** g for x >= 0, elementwise and broadcast (equal to ``pow1`` bit for bit)."""
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    one = g == 1.0
    if one.all():
        return np.array(np.broadcast_to(x, np.broadcast_shapes(x.shape, g.shape)))
    pos = x > 0.0
    y = exp(g * log(np.where(pos, x, 1.0)))
    return np.where(one, x, np.where(pos, y, 0.0))
