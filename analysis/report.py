"""`sim report`: one self-contained HTML page (or Markdown) with a run's figures, tables, scenario and provenance."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from analysis.document import Document
from analysis.figures import draw_run_figures, quarter
from analysis.formats import AMOUNT_HEADER, CHANCE_HEADER
from analysis.labels import currency_note, parameter_label, usd_per_eur
from analysis.rundata import RunData, load_run
from analysis.tables import bloc_headers, bloc_table, check_summary, display_label, membership_table, outcome_table
from simulator.errors import InputError

REPORT_FORMATS = ("html", "md")
MIN_REPLICATES = 100  # below this the report carries a warning at the top

# How to read each figure (the caption's second part; the first is the figure's message, from the data)
CAPTIONS = {
    "power_distribution": (
        "Left: the chance each bloc exists at the end, with its 95% Wilson interval. Right: where it exists, how "
        "its effective power spreads across the futures (histogram, all blocs on one scale), with the median (dot) "
        "and the 5–95% range (line); dashed: the adversary's median; dotted: NATO's power at the start, the "
        "capacity the Bruegel–Kiel estimate asks Europe to replace."
    ),
    "bruegel_gap": (
        "The blue bar is the extra defence spending of EU members and the UK against 2025 in the median future (and "
        "the troop-equivalents it buys); the hatched bar is what is still missing to the Bruegel–Kiel estimate "
        "(+EUR 250 bn a year; 300,000 troops). The whisker is the 5–95% range of the futures; the chance of "
        "reaching the estimate has a 95% Wilson interval."
    ),
    "membership_heatmap": (
        "The chance that each state ends in each bloc, states grouped by region; · never, <1% and >99% rather "
        "than rounding to 0 or 100. Each cell's 95% Wilson interval is at most the ± under the colour bar."
    ),
    "formation_survival": (
        "The share of futures in which a European alliance without the US (and each new bloc) has formed by each "
        "quarter, with pointwise 95% Wilson bands; dotted lines are scheduled shocks. Every future runs to the "
        "horizon, so nothing is censored."
    ),
    "power_fan": (
        "Each bloc's effective power by quarter, all panels on one scale: the median (line), the 25–75% (dark) and "
        "5–95% (light) of futures, from histograms merged across workers; the dash-dotted line is the adversary's "
        "median, for comparison. A bloc that does not exist counts as 0."
    ),
    "comembership_matrix": (
        "The chance that two states end in at least one common bloc, states ordered by clustering so that groups "
        "that end up together sit next to each other; the diagonal is the chance a state ends in any bloc."
    ),
    "comembership_network": (
        "States at their capitals. An edge joins two states that end together in at least half as many futures as "
        "the strongest pair; only states in the bloc in at least half as many futures as the most likely one are "
        "named in bold."
    ),
}


def figure_message(run: RunData, stem: str) -> str:
    """The first sentence of a figure's caption: what it shows in this run (its title's message)."""
    from analysis import headlines

    messages = {
        "power_distribution": headlines.power_message,
        "bruegel_gap": headlines.bruegel_message,
        "formation_survival": headlines.formation_message,
        "power_fan": headlines.fan_message,
    }
    if stem in messages:
        return " ".join(messages[stem](run).split())
    if stem == "membership_heatmap":
        return f"Who ends where in {quarter(run.start, run.steps - 1)}"
    if stem == "comembership_matrix":
        return "Who ends up allied with whom"
    if stem.startswith("comembership_network_"):
        return f"Who ends up together in {stem.removeprefix('comembership_network_').replace('_', ' or ')}"
    if stem == "comembership_network":
        return "Who ends up together in any bloc"
    return stem.replace("_", " ")


def caption_for(path: Path, run: RunData | None = None, number: int | None = None) -> str:
    """``Figure N. <message>. <how to read it>``."""
    stem = path.stem
    how = CAPTIONS.get("comembership_network" if stem.startswith("comembership_network") else stem, "")
    message = figure_message(run, stem) if run is not None else stem.replace("_", " ")
    head = f"Figure {number}. " if number is not None else ""
    return f"{head}{message.rstrip('.')}. {how}".strip()


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
    """The report of a run as a Document; figures are drawn (PNG) into ``figure_dir``.

    In order: the bottom line (sentences from the run's numbers), contents, warnings, the key
    outcomes and the blocs (one interval convention per column, stated in the header), the
    figures with numbered captions, the scenario and its assumptions, membership and provenance.
    """
    from analysis.headlines import bottom_line

    doc = Document(f"{run.name}: scenario report")
    end = quarter(run.start, run.steps - 1)
    doc.meta(
        f"{run.n:,} simulated futures (replicates), seed {run.seed}, {run.steps} quarters from {run.start} to "
        f"{end}; coalition-sim {run.manifest.get('version', '?')}; run finished {run.manifest.get('finished', '–')}."
    )
    table = outcome_table(run)
    doc.bluf(bottom_line(run, table))
    doc.toc()
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

    doc.heading("Key outcomes")
    doc.text(
        f"By {end}, across {run.n:,} futures. Chances are shares of the futures with their 95% Wilson score "
        "interval; amounts are medians with the range from the 5% to the 95% future (how the futures spread, not "
        "an uncertainty of the median). "
        + (f"Rows marked {' or '.join(repr(c) for c in sorted(set(table['condition']) - {''}))} are read only in "
           "the futures where the alliance formed (or the amount is above 0); 'futures' is how many that is. "
           if (table["condition"] != "").any() else "")
        + currency_note(usd_per_eur(run.scenario))
    )  # fmt: skip
    shown = pd.DataFrame({
        "outcome": [display_label(r) for r in table.to_dict(orient="records")],
        CHANCE_HEADER: table["chance"],
        AMOUNT_HEADER: table["amount"],
        "futures": [f"{int(n):,}" for n in table["n_used"]],
    })  # fmt: skip
    doc.table(shown, numeric=(CHANCE_HEADER, AMOUNT_HEADER, "futures"))
    doc.heading("Blocs at the end of the horizon")
    blocs = bloc_table(run)
    heads = bloc_headers(run)
    frame = pd.DataFrame({"bloc": [f"{r['bloc']}: {r['name']}" for r in blocs.to_dict(orient="records")]})
    for key, title in heads.items():
        frame[title] = blocs[key]
    doc.table(frame, numeric=tuple(heads.values()))
    doc.text("Amounts: median (5–95% of futures) across the futures in which the bloc exists at the end. Power is "
             "in points of a CINC-like index (the 48-state world of 2026 = about 100; docs/MODEL.md).")  # fmt: skip

    doc.heading("Figures")
    for k, path in enumerate(figures.paths, 1):
        doc.figure(path, caption_for(path, run, k))

    doc.heading("Scenario and assumptions")
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
        doc.table(pd.DataFrame({"parameter": [parameter_label(p) for p in params], "key": list(params),
                                "value": [str(v) for v in params.values()]}))  # fmt: skip

    doc.heading("Membership probabilities")
    doc.table(membership_table(run), collapsed=f"Every state and bloc: {CHANCE_HEADER}; – = never")

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
