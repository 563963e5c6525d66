"""`sim report`: one self-contained HTML page (or Markdown) with a run's figures, tables, scenario and provenance."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from analysis import stats
from analysis.document import Document
from analysis.figures import draw_run_figures, quarter
from analysis.rundata import RunData, load_run
from analysis.tables import bloc_table, check_summary, membership_table, outcome_table
from simulator.errors import InputError

REPORT_FORMATS = ("html", "md")
MIN_REPLICATES = 100  # below this the report carries a warning at the top

CAPTIONS = {
    "power_distribution": (
        "Pooled effective power of each bloc at the end of the horizon: empirical cumulative distribution across "
        "replicates (a bloc that is not active counts as 0). Dashed: the adversary's median with its bootstrap 95% "
        "interval (shaded); dotted: NATO's median power in the first quarter, the capacity the Bruegel–Kiel estimate "
        "asks Europe to replace."
    ),
    "bruegel_gap": (
        "Extra defence spending of EU members and the UK against 2025, and the troop-equivalents it buys, against the "
        "Bruegel–Kiel figures (+EUR 250 bn a year; 300,000 troops). The probability of reaching each has a 95% "
        "Wilson interval; the median a bootstrap 95% interval."
    ),
    "membership_heatmap": (
        "Probability that each state ends in each bloc, states grouped by region. Each cell is a share of "
        "replicates; its 95% Wilson interval is at most the ± given under the colour bar."
    ),
    "formation_survival": (
        "Share of replicates in which no European alliance without the US has formed yet, quarter by quarter "
        "(a survival curve; 95% Wilson bands). Every replicate runs to the horizon, so nothing is censored early."
    ),
    "power_fan": (
        "Bloc power over time: the median, 25–75% and 5–95% of replicates in each quarter, from histograms merged "
        "across workers (no per-replicate trajectories are stored); the dashed line is the mean."
    ),
    "comembership_network": (
        "Co-membership network: states at their capitals; the width of an edge is the probability that the two "
        "states end in at least one common active bloc; the colour of a node is the bloc it most likely ends in."
    ),
}


def caption_for(path: Path) -> str:
    stem = path.stem
    if stem.startswith("comembership_network_"):
        blocs = stem.removeprefix("comembership_network_").replace("_", " or ")
        return (
            CAPTIONS["comembership_network"]
            .replace("any common active bloc", blocs)
            .replace("at least one common active bloc", blocs)
            + f" Only membership in {blocs} counts here."
        )
    return CAPTIONS.get(stem, stem.replace("_", " "))


def shocks_table(run: RunData) -> pd.DataFrame:
    """The scenario's shocks: when, what, on whom, with their source or note."""
    rows = []
    for shock in run.scenario.get("shocks") or []:
        if shock.get("at") is not None:
            when = quarter(run.start, shock["at"])
        elif shock.get("window"):
            lo, hi = shock["window"]
            when = f"{quarter(run.start, lo)}–{quarter(run.start, hi)}"
        else:
            when = "any quarter"
        if shock.get("probability") is not None:
            when += f", p = {shock['probability']:g} per quarter" + (" (may repeat)" if shock.get("repeat") else "")
        rows.append({
            "shock": shock.get("name") or "",
            "type": shock.get("type", ""),
            "when": when,
            "target": shock.get("target") or "",
            "bloc": shock.get("bloc") or "",
            "source or note": shock.get("source") or shock.get("note") or "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def provenance_table(run: RunData) -> pd.DataFrame:
    """Key/value rows of the manifest (timings summarised)."""
    rows = []
    for key, value in run.manifest.items():
        if key == "timings" and isinstance(value, dict):
            rate = value.get("replicates_per_second")
            rows.append({"field": "replicates per second", "value": f"{rate:,.0f}" if rate else "–"})
            continue
        if key == "seconds" and isinstance(value, float):
            value = f"{value:.2f}"
        rows.append({"field": key.replace("_", " "), "value": "–" if value is None else str(value)})
    return pd.DataFrame(rows)


def build_run_report(run: RunData, figure_dir: Path) -> Document:
    """The report of a run as a Document; figures are drawn (PNG) into ``figure_dir``."""
    doc = Document(f"{run.name}: scenario report")
    doc.meta(
        f"{run.n:,} replicates, seed {run.seed}, {run.steps} quarters from {run.start} to "
        f"{quarter(run.start, run.steps - 1)}; coalition-sim {run.manifest.get('version', '?')}; "
        f"run finished {run.manifest.get('finished', '–')}."
    )
    if run.n < MIN_REPLICATES:
        doc.warning(
            f"only {run.n:,} replicates: intervals are wide and the tails of distributions are unreliable; "
            f"run {MIN_REPLICATES * 10:,} or more for a briefing."
        )
    problems = check_summary(run)
    if problems:
        doc.warning("summary.json differs from replicates.parquet: " + "; ".join(problems[:5]))
    figures = draw_run_figures(run, figure_dir, "png")
    for w in figures.warnings:
        doc.warning(w)

    doc.heading("Scenario")
    doc.text(str(run.scenario.get("description") or run.summary.get("description") or ""))
    assumptions = run.scenario.get("assumptions") or []
    if assumptions:
        doc.heading("Assumptions", 3)
        doc.bullets([str(a) for a in assumptions])
    shocks = shocks_table(run)
    if not shocks.empty:
        doc.heading("Shocks", 3)
        doc.table(shocks)
    params = run.scenario.get("parameters") or {}
    if params:
        doc.heading("Parameters changed from their defaults", 3)
        doc.table(pd.DataFrame({"parameter": list(params), "value": [str(v) for v in params.values()]}))

    doc.heading("Key outcomes")
    doc.text(
        "Probabilities are shares of replicates with a 95% Wilson score interval; amounts are medians with a 95% "
        f"percentile-bootstrap interval ({stats.N_BOOT:,} resamples, fixed seed) and the 5–95% range of the "
        "replicates. n is the number of replicates the row rests on (amounts leave out replicates where the "
        "outcome does not apply)."
    )
    table = outcome_table(run)
    doc.table(
        table.rename(columns={"label": "outcome ", "text": "estimate [95% CI]", "range_text": "5–95% of replicates"})[
            ["outcome ", "estimate [95% CI]", "5–95% of replicates", "n"]
        ],
        numeric=("estimate [95% CI]", "5–95% of replicates", "n"),
    )
    doc.heading("Blocs at the end of the horizon")
    blocs = bloc_table(run)
    shown = [c for c in blocs.columns if not c.endswith("_median") and c != "p_active"]
    doc.table(blocs[shown].rename(columns={"active": "P(active) [95% CI]"}), numeric=tuple(shown[2:]))
    doc.text("Cells: median [bootstrap 95% CI] across the replicates in which the bloc is active at the end.")

    doc.heading("Figures")
    for path in figures.paths:
        doc.figure(path, caption_for(path))

    doc.heading("Membership probabilities")
    doc.table(membership_table(run), collapsed="Every state and bloc (probability [95% Wilson interval]; – = never)")

    doc.heading("Provenance")
    doc.text(
        f"Run directory {run.path}. Replicates share their random draws across scenarios with the same seed, so "
        "differences between two runs are paired (see sim compare). Reproduce with the manifest's version, seed "
        "and scenario.resolved.yaml."
    )
    doc.table(provenance_table(run))
    return doc


def write_report(run_dir: Path, out: Path | None = None, fmt: str | None = None) -> Path:
    """Write the report of a run (or a sweep) and return its path.

    Args:
        run_dir: a run directory (or a sweep directory).
        out: the file to write; default RUN_DIR/report.html (or report.md).
        fmt: "html" or "md"; default from the suffix of ``out``, else html.
    """
    from analysis.rundata import is_sweep_dir

    run_dir = Path(run_dir)
    if fmt is None:
        fmt = "md" if out is not None and Path(out).suffix.lower() in (".md", ".markdown") else "html"
    if fmt not in REPORT_FORMATS:
        raise InputError(f"unknown report format '{fmt}'; valid: {', '.join(REPORT_FORMATS)}")
    out = Path(out) if out is not None else run_dir / f"report.{fmt}"
    if out.exists() and out.is_dir():
        raise InputError(f"--out '{out}' is a directory; give a file name such as {out / ('report.' + fmt)}")
    if out.exists() and not out.is_file():
        raise InputError(f"--out '{out}' is a device or special file; give a regular file name such as report.{fmt}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sim-report-") as tmp:
        if is_sweep_dir(run_dir):
            from analysis.sweepreport import build_sweep_report

            doc = build_sweep_report(run_dir, Path(tmp))
        else:
            doc = build_run_report(load_run(run_dir), Path(tmp))
        text = doc.to_html() if fmt == "html" else doc.to_markdown(out)
    partial = out.with_name(f".{out.name}.tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)  # after a failed write (disk full): no half-written file is left
    return out
