"""How long EU accession takes: a log-logistic fit, with censoring, to the applications since 1990.

The durations come from the dated history files: for each EU application in
``data/history/accession_steps.csv`` and ``data/history/memberships.csv``, the time from the
application to accession (observed) or, for an application still open on the cut-off date, to
that date (right-censored); an application suspended (Türkiye 2018, Iceland 2013, Georgia 2024) is
censored at its suspension. Applications withdrawn by the applicant itself (Norway 1994 after its
referendum, Switzerland's frozen one of 1992) are left out: they measure a decision of the
applicant, not the length of the process. The log-logistic distribution (F(t) = 1 / (1 + (t /
α)^−β), median α, shape β) is the standard parametric choice for durations whose hazard first
rises and then falls; its maximum-likelihood fit with right censoring is in ``fit_loglogistic``.
``python -m analysis.accession_durations`` prints the data and the fit (docs/MODEL.md, "Accession
takes time"); the bloc's ``accession_duration`` in ``simulator/data/blocs.yaml`` holds the result.
The same fit to NATO's Membership Action Plans (``nato_map_durations``: from the plan to accession)
gives NATO's ``aspirant_duration`` (docs/MODEL.md, "Two paths into NATO").
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

CUTOFF = dt.date(2026, 1, 1)
EXCLUDED = {"CHE", "NOR"}  # withdrawn by the applicant (see the module docstring)


def _quarters(a: dt.date, b: dt.date) -> float:
    return (b - a).days / (365.25 / 4)


def _events(bloc: str) -> pd.DataFrame:
    """(state, event, date) rows of one bloc from accession_steps.csv and memberships.csv (events lower-case)."""
    from importlib import resources

    root = resources.files("simulator") / "data" / "history"
    rows = []
    for name in ("accession_steps.csv", "memberships.csv"):
        with resources.as_file(root / name) as path:
            f = pd.read_csv(path, dtype=str).rename(columns={"step": "event"})
        rows.append(f[f["bloc"] == bloc][["state", "event", "date"]])
    ev = pd.concat(rows).drop_duplicates()
    ev["event"] = ev["event"].str.lower()
    ev["date"] = [dt.date.fromisoformat(d) for d in ev["date"]]
    return ev


def eu_durations(cutoff: dt.date = CUTOFF) -> pd.DataFrame:
    """One row per EU application since 1987: state, applied, end, quarters, observed (joined)."""
    ev = _events("EU")
    out = []
    for state, g in ev.groupby("state"):
        applied = g.loc[g["event"] == "applied", "date"]
        if applied.empty or state in EXCLUDED:
            continue
        start = applied.min()
        if start.year < 1987:
            continue
        joined = g.loc[(g["event"] == "joined") & (g["date"] > start), "date"]
        stops = g.loc[g["event"].isin(["suspended", "withdrew_application"]) & (g["date"] > start), "date"]
        if not joined.empty:
            end, observed = joined.min(), True
        elif not stops.empty:
            end, observed = stops.min(), False
        else:
            end, observed = cutoff, False
        out.append(
            {"state": state, "applied": start, "end": end, "quarters": _quarters(start, end), "observed": observed}
        )
    return pd.DataFrame(out).sort_values("applied", kind="stable").reset_index(drop=True)


def nato_map_durations(cutoff: dt.date = CUTOFF) -> pd.DataFrame:
    """One row per NATO Membership Action Plan: state, MAP date, end, quarters, observed (joined).

    From the ``MAP`` steps of accession_steps.csv and the ``map`` events of memberships.csv (the
    earlier date where both give one) to accession, or to ``cutoff`` for a plan still open
    (right-censored; none on 1 Jan 2026: Bosnia's conditional plan of 2010 is an ``aspirant`` row).
    """
    ev = _events("NATO")
    out = []
    for state, g in ev.groupby("state"):
        plans = g.loc[g["event"] == "map", "date"]
        if plans.empty:
            continue
        start = plans.min()
        joined = g.loc[(g["event"] == "joined") & (g["date"] > start), "date"]
        end, observed = (joined.min(), True) if not joined.empty else (cutoff, False)
        out.append({"state": state, "map": start, "end": end, "quarters": _quarters(start, end), "observed": observed})
    return pd.DataFrame(out).sort_values(["map", "state"], kind="stable").reset_index(drop=True)


def fit_loglogistic(t: np.ndarray, observed: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (median α, shape β) of a log-logistic with right censoring."""
    from scipy.optimize import minimize

    t = np.asarray(t, dtype=float)
    d = np.asarray(observed, dtype=bool)

    def nll(x: np.ndarray) -> float:
        a, b = math.exp(x[0]), math.exp(x[1])
        z = (t / a) ** b
        log_s = -np.log1p(z)  # survival
        log_f = math.log(b) - math.log(a) + (b - 1) * np.log(t / a) - 2 * np.log1p(z)  # density
        return -float(np.sum(np.where(d, log_f, log_s)))

    res = minimize(nll, x0=np.array([math.log(np.median(t)), math.log(3.0)]), method="Nelder-Mead",
                   options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 10_000})  # fmt: skip
    return math.exp(res.x[0]), math.exp(res.x[1])


def _report(title: str, data: pd.DataFrame) -> None:
    a, b = fit_loglogistic(data["quarters"], data["observed"])
    print(title)
    with pd.option_context("display.width", 120):
        print(data.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    print(f"log-logistic fit: median {a:.1f} quarters ({a / 4:.1f} years), shape {b:.2f}")
    for q in (0.1, 0.25, 0.75, 0.9):
        print(f"  quantile {q:.2f}: {a * (q / (1 - q)) ** (1 / b) / 4:.1f} years")


def main() -> None:
    _report("EU applications (accession_duration of the EU)", eu_durations())
    print()
    _report("NATO Membership Action Plans (aspirant_duration of NATO)", nato_map_durations())


if __name__ == "__main__":
    main()
