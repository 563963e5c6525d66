"""Summary tables of a run, computed from replicates.parquet (not copied from summary.json)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis import stats
from analysis.formats import (
    CHANCE_HEADER,
    DASH,
    digits_for,
    finite,
    fmt_amount,
    fmt_chance,
    fmt_quarters,
    spread_quantiles,
)
from analysis.labels import CURRENCY, IF_FORMED, outcome_label, state_name, unit_of, usd_per_eur
from analysis.rundata import RunData
from simulator.engine.outcomes import key_outcomes

ZERO_SHARE = 0.1  # an amount that is exactly 0 in at least this share of futures is shown as P(> 0) and "if > 0"


def label(name: str) -> str:
    """Human label of an outcome column (analysis.labels.outcome_label)."""
    return outcome_label(name)


def headline_outcomes(columns: list[str]) -> list[str]:
    """The headline outcomes present in ``columns``, in display order (as in the run summary)."""
    return key_outcomes(list(columns))


def is_integer(x: np.ndarray) -> bool:
    values = np.asarray(x, dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size) and bool(np.all(values == np.round(values)))


def describe(x: np.ndarray) -> dict:
    """Probability (Wilson) for booleans; median and 5%/95% quantiles with bootstrap intervals otherwise."""
    x = np.asarray(x)
    return stats.describe_probability(x) if x.dtype == bool else stats.describe_numeric_ci(x)


def _chance(x: np.ndarray) -> dict:
    d = stats.describe_probability(np.asarray(x, dtype=bool))
    return {"p": d["p"], "p_lo": d["lo"], "p_hi": d["hi"], "k": d["k"], "n": d["n"],
            "chance": fmt_chance(d["p"], d["lo"], d["hi"], d["k"], d["n"])}  # fmt: skip


def amount_row(
    x: np.ndarray, start: str, quarters: bool = False, scale: float = 1.0, digits: int | None = None
) -> dict:
    """Median and 5-95% of the finite values of ``x`` (times ``scale``), formatted; ``n_used`` counts them."""
    values = np.asarray(x, dtype=float)
    values = values[np.isfinite(values)] * scale
    med, q05, q95 = spread_quantiles(values, quarters)
    if quarters:
        text = fmt_quarters(med, q05, q95, start)
    else:
        text = fmt_amount(med, q05, q95, digits if digits is not None else
                          digits_for(med, q05, q95, integer=is_integer(values)))  # fmt: skip
    return {"median": med, "q05": q05, "q95": q95, "n_used": int(values.size), "amount": text}


def outcome_table(
    run: RunData, names: list[str] | None = None, column: Callable[[str], np.ndarray] | None = None
) -> pd.DataFrame:
    """One row per outcome, with one interval convention per column (analysis.formats).

    Probabilities are chances with their 95% Wilson interval (``chance``). Amounts are medians with
    the 5–95% range of the futures (``amount``), read where they apply: the European alliance's
    founding quarter, members, power and power ratio only where it formed (``condition`` "if
    formed"); an amount that is 0 in at least ZERO_SHARE of the futures as the chance that it is
    above 0 and its median where it is ("if > 0"). The founding step is shown as a quarter.

    Columns: outcome, label, kind (probability, amount, quarter), condition, p, p_lo, p_hi, k, n,
    median, q05, q95, n_used, chance, amount. ``column`` reads an outcome (default ``run.column``;
    ``sim run`` passes a reader that keeps nothing in memory).
    """
    read = column or run.column
    names = names if names is not None else headline_names(run.columns)
    formed = np.asarray(read("euro_alliance_formed"), dtype=bool) if "euro_alliance_formed" in run.columns else None
    rows = []
    for name in names:
        x = np.asarray(read(name))
        text = outcome_label(name).replace("the adversary", run.adversary or "the adversary")
        row = {"outcome": name, "label": text, "condition": "", "kind": "amount", "n": int(x.size)}
        digits = 2 if unit_of(name) == "ratio" else None
        row |= dict.fromkeys(("p", "p_lo", "p_hi", "k", "median", "q05", "q95", "n_used"), None)
        row |= {"chance": "", "amount": ""}
        if x.dtype == bool:
            row |= {"kind": "probability", **_chance(x), "n_used": int(x.size)}
        elif name.endswith("_step"):
            keep = formed if (formed is not None and name in IF_FORMED) else np.isfinite(x.astype(float))
            row |= {"kind": "quarter", "condition": "if formed", **amount_row(x[keep], run.start, quarters=True)}
        elif formed is not None and name in IF_FORMED:
            row |= {"condition": "if formed", **amount_row(x[formed], run.start, digits=digits)}
        else:
            values = x.astype(float)
            zero = float(np.mean(values == 0)) if values.size else 0.0
            if ZERO_SHARE <= zero < 1 and np.nanmin(values) >= 0:
                positive = values[values > 0]
                row |= {"condition": "if > 0", **_chance(values > 0), **amount_row(positive, run.start, digits=digits)}
            else:
                row |= amount_row(values, run.start, digits=digits)
        rows.append(row)
    return pd.DataFrame(rows)


def headline_names(columns: list[str]) -> list[str]:
    """The headline outcomes as tables show them: the European alliance's power once, where it formed."""
    names = headline_outcomes(columns)
    if "euro_alliance_power_if_formed" in names:
        names = [n for n in names if n != "euro_alliance_power"]
    return names


def display_label(row) -> str:
    """A row's label for a table: the condition after it ("members at the end, if formed")."""
    condition = row["condition"] if isinstance(row, dict) else row.condition
    text = row["label"] if isinstance(row, dict) else row.label
    text = text[:1].upper() + text[1:]
    return f"{text}, {condition}" if condition else text


BLOC_COLUMNS = ("members", "effective_power", "power_ratio", "spending_usd_bn")


def bloc_table(run: RunData, column: Callable[[str], np.ndarray] | None = None) -> pd.DataFrame:
    """Per bloc: the chance it exists at the end (Wilson) and, where it exists, medians (5–95% of futures).

    Spending is converted to euros at the run's rate (analysis.labels.usd_per_eur). Columns: bloc,
    name, p_active, exists (text), and for each field ``FIELD`` (text) and ``FIELD_median``.
    """
    read = column or run.column
    rate = usd_per_eur(run.scenario)
    rows = []
    for code in run.blocs:
        row = {"bloc": code, "name": run.bloc_names.get(code, code)}
        is_active = np.asarray(read(f"{code}.active"), dtype=bool)
        active = _chance(is_active)
        row |= {"p_active": active["p"], "exists": active["chance"], "futures where it exists": active["k"]}
        for field in BLOC_COLUMNS:
            col = f"{code}.{field}"
            if not run.has(col) or (field == "power_ratio" and code == run.adversary):
                row[field], row[f"{field}_median"] = DASH, None
                continue
            scale = 1.0 / rate if field == "spending_usd_bn" else 1.0
            amount = amount_row(np.asarray(read(col))[is_active], run.start, scale=scale)
            if field == "power_ratio" and finite(amount["median"]):
                amount["amount"] = fmt_amount(amount["median"], amount["q05"], amount["q95"], 2)
            row[field], row[f"{field}_median"] = amount["amount"], amount["median"]
        rows.append(row)
    return pd.DataFrame(rows)


def bloc_headers(run: RunData) -> dict[str, str]:
    """Column titles of bloc_table's text columns, with their units and the adversary named."""
    adversary = run.adversary or "the adversary"
    return {
        "exists": f"exists at the end: {CHANCE_HEADER}",
        "members": "members",
        "effective_power": "effective power (index points)",
        "power_ratio": f"power relative to {adversary}",
        "spending_usd_bn": f"defence spending ({CURRENCY} bn a year)",
    }


def membership_table(run: RunData, states: list[str] | None = None) -> pd.DataFrame:
    """Chance of membership at the end with Wilson intervals: one row per state, one column per bloc (text)."""
    rows = []
    for iso in states or run.states_by_region():
        row = {"state": f"{state_name(iso)} ({iso})"}
        for code in run.blocs:
            col = f"member.{code}.{iso}"
            if run.has(col):
                d = stats.describe_probability(run.column(col))
                row[code] = DASH if d["k"] == 0 else fmt_chance(d["p"], d["lo"], d["hi"], d["k"], d["n"])
        rows.append(row)
    return pd.DataFrame(rows)


def check_summary(run: RunData, tolerance: float = 1e-9) -> list[str]:
    """Differences between summary.json and a direct computation from replicates.parquet (empty = agree)."""
    problems = []
    n = run.n
    if run.summary.get("replicates") != n:
        problems.append(f"replicates: summary {run.summary.get('replicates')} vs parquet {n}")
    for name, d in (run.summary.get("outcomes") or {}).items():
        if not run.has(name):
            problems.append(f"{name}: in summary.json but not in replicates.parquet")
            continue
        x = run.column(name)
        if d.get("kind") == "probability":
            direct = stats.describe_probability(x)
            for key in ("p", "lo", "hi"):
                if abs(direct[key] - d[key]) > tolerance:
                    problems.append(f"{name}.{key}: summary {d[key]} vs direct {direct[key]}")
        elif d.get("median") is not None:
            finite = np.asarray(x, dtype=float)
            finite = finite[np.isfinite(finite)]
            for key, q in (("median", 0.5), ("q05", 0.05), ("q95", 0.95)):
                direct = float(np.quantile(finite, q))
                if abs(direct - d[key]) > tolerance * max(1.0, abs(direct)):
                    problems.append(f"{name}.{key}: summary {d[key]} vs direct {direct}")
    for code, probs in (run.summary.get("membership") or {}).items():
        for iso, p in probs.items():
            direct = float(np.mean(run.column(f"member.{code}.{iso}")))
            if abs(direct - p) > tolerance:
                problems.append(f"membership {code}.{iso}: summary {p} vs direct {direct}")
    return problems
