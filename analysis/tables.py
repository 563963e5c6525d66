"""Summary tables of a run, computed from replicates.parquet (not copied from summary.json)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import stats
from analysis.rundata import RunData
from simulator.engine.outcomes import key_outcomes

LABELS = {
    "euro_alliance_formed": "European alliance without the US formed",
    "euro_alliance_step": "European alliance: step of its founding (if formed)",
    "euro_alliance_members": "European alliance: members at the end (0 if not formed)",
    "euro_alliance_power": "European alliance: effective power (0 if not formed)",
    "euro_alliance_power_if_formed": "European alliance: effective power, if formed",
    "euro_alliance_power_ratio": "European alliance: power ratio vs the adversary",
    "us_in_nato": "United States still in NATO",
    "bruegel_extra_spending_eur_bn": "extra spending EU+UK vs 2025 (EUR bn/yr)",
    "bruegel_spending_gap_eur_bn": "gap to Bruegel–Kiel's +EUR 250 bn/yr",
    "bruegel_troop_equivalents_k": "troop-equivalents bought (thousands)",
    "bruegel_troop_gap_k": "gap to Bruegel–Kiel's 300k troops (thousands)",
}
BLOC_FIELDS = {
    "members": "members",
    "effective_power": "effective power (index points)",
    "power_ratio": "power ratio vs adversary",
    "spending_usd_bn": "spending (US$ bn/yr)",
    "personnel_k": "active personnel (thousands)",
    "warheads": "nuclear warheads",
}


def label(name: str) -> str:
    """Human label of an outcome column."""
    if name in LABELS:
        return LABELS[name]
    if name.endswith("_in_euro_alliance"):
        return f"{name.split('_')[0]} in the European alliance"
    if "." in name:
        bloc, field = name.split(".", 1)
        return f"{bloc}: {BLOC_FIELDS.get(field, field.replace('_', ' '))}"
    return name.replace("_", " ")


def headline_outcomes(columns: list[str]) -> list[str]:
    """The headline outcomes present in ``columns``, in display order (as in the run summary)."""
    return key_outcomes(list(columns))


def fmt_probability(d: dict) -> str:
    return f"{d['p']:.1%} [{d['lo']:.1%}, {d['hi']:.1%}]"


def fmt_number(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:,.{digits}f}"


def digits_for(*values: float | None, integer: bool = False) -> int:
    """Decimals for showing these values together: none for counts or large amounts, more for small ones."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    if integer or not finite:
        return 0 if integer else 1
    top = max(finite)
    return 0 if top >= 100 else (1 if top >= 1 or top == 0 else 2)


def is_integer(x: np.ndarray) -> bool:
    finite = np.asarray(x, dtype=float)
    finite = finite[np.isfinite(finite)]
    return bool(finite.size) and bool(np.all(finite == np.round(finite)))


def describe(x: np.ndarray) -> dict:
    """Probability (Wilson) for booleans; median and 5%/95% quantiles with bootstrap intervals otherwise."""
    x = np.asarray(x)
    return stats.describe_probability(x) if x.dtype == bool else stats.describe_numeric_ci(x)


def outcome_table(run: RunData, names: list[str] | None = None) -> pd.DataFrame:
    """One row per outcome: estimate, 95% interval, 5-95% range, replicates used.

    Columns: outcome, label, kind, estimate, lo, hi, q05, q95, n, text, range_text. For a
    probability, estimate is the share with its Wilson interval; for an amount, the median with
    its bootstrap interval, and q05/q95 the 5% and 95% quantiles of the replicates.
    """
    rows = []
    for name in names if names is not None else headline_outcomes(run.columns):
        x = run.column(name)
        d = describe(x)
        if d["kind"] == "probability":
            rows.append({"outcome": name, "label": label(name), "kind": "probability", "estimate": d["p"],
                         "lo": d["lo"], "hi": d["hi"], "q05": None, "q95": None, "n": d["n"],
                         "text": fmt_probability(d), "range_text": ""})  # fmt: skip
        else:
            k = digits_for(d.get("median"), d.get("q05"), d.get("q95"), integer=is_integer(x))
            used = d["n_finite"]
            rows.append({"outcome": name, "label": label(name), "kind": "median", "estimate": d.get("median"),
                         "lo": d.get("median_lo"), "hi": d.get("median_hi"), "q05": d.get("q05"), "q95": d.get("q95"),
                         "n": used,
                         "text": f"{fmt_number(d.get('median'), k)} [{fmt_number(d.get('median_lo'), k)}, "
                                 f"{fmt_number(d.get('median_hi'), k)}]",
                         "range_text": f"{fmt_number(d.get('q05'), k)} – {fmt_number(d.get('q95'), k)}"})  # fmt: skip
    return pd.DataFrame(rows)


def bloc_table(run: RunData) -> pd.DataFrame:
    """Per bloc: probability active (Wilson) and, where it is active, medians [bootstrap 95% CI] of its amounts."""
    rows = []
    for code in run.blocs:
        row = {"bloc": code, "name": run.bloc_names.get(code, code)}
        is_active = np.asarray(run.column(f"{code}.active"), dtype=bool)
        active = stats.describe_probability(is_active)
        row["active"] = fmt_probability(active)
        row["p_active"] = active["p"]
        row["replicates where active"] = active["k"]
        for field, title in BLOC_FIELDS.items():
            col = f"{code}.{field}"
            if not run.has(col) or (field == "power_ratio" and code == run.adversary):
                continue
            x = run.column(col)[is_active]
            d = stats.describe_numeric_ci(x)
            k = 2 if field == "power_ratio" else digits_for(d.get("median"), d.get("median_lo"), d.get("median_hi"),
                                                            integer=is_integer(x))  # fmt: skip
            row[f"{field}_median"] = d.get("median")
            row[title] = f"{fmt_number(d.get('median'), k)} [{fmt_number(d.get('median_lo'), k)}, " + (
                f"{fmt_number(d.get('median_hi'), k)}]"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def membership_table(run: RunData, states: list[str] | None = None) -> pd.DataFrame:
    """Membership probability with Wilson intervals: one row per state, one column per bloc (text)."""
    rows = []
    for iso in states or run.states_by_region():
        row = {"state": iso}
        for code in run.blocs:
            col = f"member.{code}.{iso}"
            if run.has(col):
                d = stats.describe_probability(run.column(col))
                row[code] = "–" if d["k"] == 0 else fmt_probability(d)
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
