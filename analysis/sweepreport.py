"""The report of a sweep directory: design, sensitivity, response figures and provenance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.document import Document
from analysis.sweep import kind_of, point_estimates, read_sweep, sensitivity_table, sensitivity_warning
from analysis.sweepfigs import draw_sweep_figures
from analysis.tables import label

CAPTIONS = {
    "response": (
        "How the outcome moves with each swept assumption: each grey dot is one point of the design with its own "
        "95% interval; the line is the average of the points at each level (or quantile bin) with a 95% bootstrap "
        "interval over those points, and the light band the range of the points, i.e. how much the other "
        "assumptions move it. Replicates of different points are not pooled as if they were one coin."
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
            return (f"{label(outcome)}. " if outcome else "") + text
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
    doc.toc()
    if sweep.replicates_per_point < 100:
        doc.warning(f"only {sweep.replicates_per_point} replicates per point: point estimates are noisy.")
    rough = sensitivity_warning(sweep)
    if rough:
        doc.warning(rough)
    figures = draw_sweep_figures(sweep, figure_dir, "png")
    for w in figures.warnings:
        doc.warning(w)
    doc.heading("Sweep")
    doc.text(str(sweep.spec.get("description") or ""))
    params = sweep.spec.get("parameters") or {}
    keys = list(params) or sweep.parameters
    doc.table(pd.DataFrame({
        "swept assumption": [sweep.label(k) for k in keys],
        "key": keys,
        "values": [str(v) for v in params.values()] or ["" for _ in sweep.parameters],
    }))  # fmt: skip

    doc.heading("Sensitivity")
    sens = sensitivity_table(sweep, sweep.default_outcomes())
    if not sens.empty:
        shown = pd.DataFrame({
            "outcome": sens["outcome"].map(label),
            "swept assumption": sens["parameter"].map(sweep.label),
            "S1 [95% CI]": [_interval(r.S1, r.S1_lo, r.S1_hi) for r in sens.itertuples()],
            "ST [95% CI]": [_interval(r.ST, r.ST_lo, r.ST_hi) for r in sens.itertuples()],
            "method": sens["method"],
        })  # fmt: skip
        doc.table(shown, numeric=("S1 [95% CI]", "ST [95% CI]"))

    doc.heading("Figures")
    for k, path in enumerate(figures.paths, 1):
        doc.figure(path, f"Figure {k}. {_caption(path)}")

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
