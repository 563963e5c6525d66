"""How numbers are written in every table: one convention per column, stated in its header.

- A **chance** (a share of futures) has its 95% Wilson score interval: ``32.6% (30.6–34.7%)``. When
  nothing happened the interval is still there as an upper bound, ``0% (<0.2%)``; when everything
  did, as a lower bound, ``100% (>99.8%)``.
- An **amount** is the median over the futures with the 5–95% range of the futures (how they
  spread, not an uncertainty of the median): ``10.4 (7.6–25.2)``. A range that prints the same as
  its median is left out (``1,944``, not ``1,944 (1,944–1,944)``).
- A **quarter** is a calendar quarter, ``2028Q3 (2026Q3–2031Q4)``, never a step number.
- A **difference** has signed ends joined by "to": ``+17.0 pp (+12.0 to +23.0)``.
"""

from __future__ import annotations

import math

import numpy as np

CHANCE_HEADER = "chance (95% Wilson interval)"
AMOUNT_HEADER = "median (5–95% of futures)"
DASH = "–"


def finite(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float | np.floating | np.integer) and math.isfinite(float(x))


def percent(x: float, decimals: int) -> str:
    """A share as a percentage with ``decimals`` decimals; a non-zero share never prints as 0% or 100%."""
    text = f"{x * 100:.{decimals}f}"
    step = 10.0**-decimals
    if x > 0 and float(text) == 0:
        return f"<{step:g}"
    if x < 1 and float(text) == 100:
        return f">{100 - step:g}"
    return text


def _decimals(*shares: float) -> int:
    """Two decimals for shares below 1%, one for narrow intervals or small shares, none for wide ones."""
    lo, hi = min(shares), max(shares)
    if hi < 0.01 or lo > 0.99:
        return 2
    return 1 if hi - lo < 0.05 or hi < 0.1 or lo > 0.9 else 0


def fmt_chance(p: float, lo: float, hi: float, k: int | None = None, n: int | None = None) -> str:
    """``32.6% (30.6–34.7%)``; ``0% (<0.2%)`` when nothing happened; ``100% (>99.8%)`` when everything did."""
    if not finite(p):
        return DASH
    none = (k == 0) if k is not None else p == 0
    every = (k == n) if k is not None and n is not None else p == 1
    if none:
        return f"0% (<{percent(hi, 1 if hi < 0.1 else 0)}%)"
    if every:
        return f"100% (>{percent(lo, 1 if lo > 0.9 else 0)}%)"
    d = _decimals(lo, hi)
    return f"{percent(p, d)}% ({percent(lo, d)}–{percent(hi, d)}%)"


def digits_for(*values: float | None, integer: bool = False) -> int:
    """Decimals for showing these values together: none for counts or large amounts, more for small ones."""
    if integer:
        return 0
    shown = [abs(float(v)) for v in values if finite(v)]
    if not shown:
        return 1
    top = max(shown)
    return 0 if top >= 100 else (1 if top >= 1 or top == 0 else 2)


def number(x: float | None, digits: int = 1) -> str:
    if not finite(x):
        return DASH
    text = f"{float(x):,.{digits}f}"
    return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text  # no "-0.0"


def fmt_amount(median: float | None, q05: float | None, q95: float | None, digits: int | None = None) -> str:
    """``10.4 (7.6–25.2)``; the median alone when the range prints the same as it."""
    if not finite(median):
        return DASH
    if digits is None:
        digits = digits_for(median, q05, q95)
    mid = number(median, digits)
    lo, hi = number(q05, digits), number(q95, digits)
    if not (finite(q05) and finite(q95)) or lo == hi == mid:
        return mid
    return f"{mid} ({lo}–{hi})"


def quarter(start: str, step: float) -> str:
    """The quarter ``step`` quarters after ``start`` (2026Q1 + 5 = 2027Q2)."""
    year, q = int(start[:4]), int(start[5]) - 1 + int(step)
    return f"{year + q // 4}Q{q % 4 + 1}"


def fmt_quarters(median: float | None, q05: float | None, q95: float | None, start: str) -> str:
    """``2028Q3 (2026Q3–2031Q4)``: quarters, the range left out when it is one quarter."""
    if not finite(median):
        return DASH
    mid = quarter(start, median)
    if not (finite(q05) and finite(q95)):
        return mid
    lo, hi = quarter(start, q05), quarter(start, q95)
    return mid if lo == hi == mid else f"{mid} ({lo}–{hi})"


def signed(x: float, digits: int, suffix: str = "") -> str:
    if not finite(x):
        return DASH
    text = f"{float(x):+,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", "−") + suffix


def fmt_difference(diff: float, lo: float, hi: float, digits: int, suffix: str = "") -> str:
    """``+17.0 pp (+12.0 to +23.0)``: signed ends joined by "to" (an en dash would read as a minus)."""
    if not finite(diff):
        return DASH
    mid, low, high = signed(diff, digits), signed(lo, digits), signed(hi, digits)
    if not (finite(lo) and finite(hi)) or low == high == mid:
        return signed(diff, digits, suffix)
    return f"{signed(diff, digits, suffix)} ({low} to {high})"


def spread_quantiles(x: np.ndarray, quarters: bool = False) -> tuple[float, float, float]:
    """Median, 5% and 95% of the finite values; for quarters the observed steps (no interpolation)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    method = "inverted_cdf" if quarters else "linear"
    med, q05, q95 = np.quantile(x, [0.5, 0.05, 0.95], method=method)
    return float(med), float(q05), float(q95)
