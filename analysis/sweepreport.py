"""The report of a sweep directory: design, sensitivity, response figures and provenance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.document import Document
from analysis.sweep import kind_of, parameter_label, point_estimates, read_sweep, sensitivity_table
from analysis.sweepfigs import draw_sweep_figures
from analysis.tables import label

CAPTIONS = {
    "response": (
        "Response curves: each grey dot is one point of the design (its estimate over its replicates); the line is "
        "the main effect of the parameter (replicates of all points at that level, or in that quantile bin, "
        "pooled) with a 95% interval (Wilson for probabilities, normal-theory for means)."
    ),
    "heatmap": (
        "The outcome over the two most influential parameters (levels, or quantile bins labelled by their median), "
        "pooling the other parameters."
    ),
    "sensitivity_tornado": (
        "Sensitivity: the share of the variance of the outcome between points explained by each parameter. "
        "Saltelli designs give first-order and total Sobol' indices (SALib); other designs the main-effect share "
        "(correlation ratio), whose interval resamples replicates."
    ),
}


def _caption(path: Path) -> str:
    stem = path.stem
    for key, text in CAPTIONS.items():
        if stem.startswith(key):
            outcome = stem.removeprefix(key).lstrip("_")
            return text + (f" Outcome: {label(outcome)}." if outcome else "")
    return stem


def build_sweep_report(sweep_dir: Path, figure_dir: Path) -> Document:
    """A sweep's report as a Document; figures are drawn (PNG) into ``figure_dir``."""
    sweep = read_sweep(sweep_dir)
    doc = Document(f"{sweep.name}: sweep report")
    doc.meta(
        f"{sweep.design} design, {sweep.n_points:,} points × {sweep.replicates_per_point:,} replicates "
        f"(seed {sweep.manifest.get('seed')}, common random numbers across points); base scenario "
        f"{sweep.manifest.get('scenario')}; coalition-sim {sweep.manifest.get('version', '?')}."
    )
    if sweep.replicates_per_point < 100:
        doc.warning(f"only {sweep.replicates_per_point} replicates per point: point estimates are noisy.")
    figures = draw_sweep_figures(sweep, figure_dir, "png")
    for w in figures.warnings:
        doc.warning(w)
    doc.heading("Sweep")
    doc.text(str(sweep.spec.get("description") or ""))
    params = sweep.spec.get("parameters") or {}
    doc.table(pd.DataFrame({
        "swept key": list(params) or sweep.parameters,
        "values": [str(v) for v in params.values()] or ["" for _ in sweep.parameters],
    }))  # fmt: skip

    doc.heading("Sensitivity")
    sens = sensitivity_table(sweep, sweep.default_outcomes())
    if not sens.empty:
        shown = pd.DataFrame({
            "outcome": sens["outcome"].map(label),
            "parameter": sens["parameter"].map(parameter_label),
            "S1 [95% CI]": [_interval(r.S1, r.S1_lo, r.S1_hi) for r in sens.itertuples()],
            "ST [95% CI]": [_interval(r.ST, r.ST_lo, r.ST_hi) for r in sens.itertuples()],
            "method": sens["method"],
        })  # fmt: skip
        doc.table(shown, numeric=("S1 [95% CI]", "ST [95% CI]"))

    doc.heading("Figures")
    for path in figures.paths:
        doc.figure(path, _caption(path))

    doc.heading("Points")
    for outcome in sweep.default_outcomes()[:2]:
        est = point_estimates(sweep, outcome)
        table = est[["point", *sweep.parameters]].copy()
        table[f"{label(outcome)} [95% CI]"] = [
            _interval(r.estimate, r.lo, r.hi, percent=kind_of(sweep, outcome) == "probability")
            for r in est.itertuples()
        ]
        table["n"] = est["n"]
        doc.table(table, collapsed=f"{label(outcome)} at every point")

    doc.heading("Provenance")
    rows = [{"field": k.replace("_", " "), "value": str(v)} for k, v in sweep.manifest.items()
            if k not in ("timings", "sweep")]  # fmt: skip
    doc.table(pd.DataFrame(rows))
    return doc


def _interval(value: float, lo: float, hi: float, percent: bool = False) -> str:
    if value is None or value != value:
        return "–"
    if lo is None or lo != lo:
        return f"{value:.2f}"
    if percent:
        return f"{value:.1%} [{lo:.1%}, {hi:.1%}]"
    return f"{value:.3g} [{lo:.3g}, {hi:.3g}]"
