"""The backtest's tables, reliability diagram and report section (``sim backtest``).

Reads what ``simulator.runs.backtest.run_backtest`` wrote (``backtest.json``, ``scores.parquet``)
and draws ``figures/reliability.png`` and ``backtest.md``. The row formatting here is shared by the
terminal tables of the CLI and the Markdown tables of the report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from analysis.document import md_escape
from analysis.style import GREY, OKABE_ITO, bottom_legend, new_figure, save
from simulator.errors import InputError
from simulator.runs.backtest import CLIP, EVENTS, reliability

FACT_COLUMNS = ("Fact", "Observed", "Model", "Persistence", "Base rate", "Timing (model)")


def load_backtest(out_dir: Path) -> tuple[dict, pd.DataFrame]:
    """``backtest.json`` and ``scores.parquet`` of a backtest directory."""
    out_dir = Path(out_dir)
    path = out_dir / "backtest.json"
    if not path.exists():
        raise InputError(f"'{out_dir}' holds no backtest.json; run sim backtest first")
    return json.loads(path.read_text(encoding="utf-8")), pd.read_parquet(out_dir / "scores.parquet")


def _num(x, fmt: str = "{:.3f}") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return fmt.format(x)


def _signed_q(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:+.0f}q"


def fact_rows(scores: pd.DataFrame, episode: str) -> list[tuple[str, ...]]:
    """One row per fact of an episode: fact, observed, model, persistence, base rate, timing."""
    part = scores[scores["episode"] == episode]
    rows = []
    for _, facts in part.groupby("fact", sort=True):
        by = {r["forecaster"]: r for _, r in facts.iterrows()}
        m, pers, base = by["model"], by["persistence"], by["base_rate"]
        if m["event"] == "spending":
            observed = f"{m['observed']:.2f}"
            model = f"{m['q50']:.2f} [{m['q05']:.2f}-{m['q95']:.2f}] {'in' if m['inside_band'] else 'out'}"
            rows.append((m["label"], observed, model, f"{pers['q50']:.2f}", "-", "-"))
            continue
        happened = m["observed"] > 0.5
        observed = ("yes " + str(m["quarter"])) if happened and m["quarter"] else ("yes" if happened else "no")
        if happened and m["quarter"] and pd.notna(m["timing_p_within_1q"]):
            timing = (
                f"{m['predicted_median_quarter']} ({_signed_q(m['timing_median_error_q'])}), "
                f"P(±1q) {m['timing_p_within_1q']:.0%}"
            )
            k = round(m["p"] * m["replicates"]) if pd.notna(m["replicates"]) and m["replicates"] else None
            if k is not None and k < 30:
                timing += f" (from {k} replicate{'s' if k != 1 else ''})"
        elif happened and m["quarter"]:
            timing = "never predicted"
        else:
            timing = "-"
        rows.append(
            (m["label"], observed, f"{m['p']:.3f}", f"{pers['p_clipped']:.3f}", f"{base['p_clipped']:.3f}", timing)
        )
    return rows


#: rows of the overall table: label, and how to read it from an episode's scores
OVERALL_METRICS: list[tuple[str, object]] = [
    ("Binary facts (happened)", lambda s: f"{s['n_binary']} ({s['happened']})"),
    ("Brier: model", lambda s: _num(s["brier"]["model"])),
    ("Brier: persistence", lambda s: _num(s["brier"]["persistence"])),
    ("Brier: base rate", lambda s: _num(s["brier"]["base_rate"])),
    ("Brier skill vs persistence", lambda s: _num(s["brier_skill"]["vs_persistence"], "{:+.2f}")),
    ("Brier skill vs base rate", lambda s: _num(s["brier_skill"]["vs_base_rate"], "{:+.2f}")),
    ("Log score: model", lambda s: _num(s["log_score"]["model"], "{:.2f}")),
    ("Log score: persistence", lambda s: _num(s["log_score"]["persistence"], "{:.2f}")),
    ("Log score: base rate", lambda s: _num(s["log_score"]["base_rate"], "{:.2f}")),
    ("Timing: events that happened (predicted)", lambda s: f"{s['timing']['n']} ({s['timing']['n_predicted']})"),
    ("Timing: mean P(within 1 quarter)", lambda s: _num(s["timing"]["mean_p_within_1q"], "{:.0%}")),
    ("Timing: median error, quarters", lambda s: _signed_q(s["timing"]["median_error_q"])),
    ("Spending facts", lambda s: str(s["spending"]["n"])),
    ("Spending: inside the 5-95% band", lambda s: _num(s["spending"]["inside_band"], "{:.0%}")),
    ("Spending: mean abs. error, model", lambda s: _num(s["spending"]["mae_model"], "{:.2f}")),
    ("Spending: mean abs. error, persistence", lambda s: _num(s["spending"]["mae_persistence"], "{:.2f}")),
    ("Spending: mean error, model", lambda s: _num(s["spending"]["mean_error_model"], "{:+.2f}")),
]


def overall_table(report: dict) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The overall table: one row per score, one column per episode and one for all episodes."""
    columns = ("Score", *(e["name"] for e in report["episodes"]), "all episodes")
    scores = [e["scores"] for e in report["episodes"]] + [report["overall"]]
    rows = [(label, *(get(s) for s in scores)) for label, get in OVERALL_METRICS]
    return columns, rows


def reliability_figure(report: dict, scores: pd.DataFrame, out_dir: Path) -> Path:
    """Binned predicted probability against observed frequency, with counts, the diagonal and the naive forecasters."""
    binary = scores[scores["event"].isin(EVENTS)]
    names = [e["name"] for e in report["episodes"]]
    n_facts = int((binary["forecaster"] == "model").sum())
    reps = sorted({e["replicates"] for e in report["episodes"]})
    note = (
        f"Binary facts (applied, joined, not applied, not joined) of {len(names)} episode(s): {', '.join(names)}; "
        f"{n_facts} facts, {'/'.join(f'{r:,}' for r in reps)} replicates. Probabilities clipped to "
        f"[{CLIP[0]}, {CLIP[1]}]; bins 0.1 wide; a point is the bin's mean forecast and observed frequency, "
        "labelled with its count. Source: sim backtest (scores.parquet)."
    )
    warning = None if n_facts >= 30 else f"only {n_facts} binary facts: observed frequencies per bin are very noisy."
    fig, ax = new_figure("wide", note, warning, legend_space=0.55)
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1.0, zorder=1)
    styles = {
        "model": (OKABE_ITO["blue"], "o", "-", "model (binned)"),
        "persistence": (OKABE_ITO["vermillion"], "s", "none", f"persistence (nothing changes: P = {CLIP[0]})"),
        "base_rate": (OKABE_ITO["green"], "D", "none", "base rate per event (leave-one-out)"),
    }
    handles = [Line2D([0], [0], color=GREY, linestyle="--", label="perfect reliability")]
    offsets = {"model": ((6, 6), "left"), "persistence": ((10, -3), "left"), "base_rate": ((-10, -3), "right")}
    for name, (colour, marker, line, label) in styles.items():
        rows = binary[binary["forecaster"] == name]
        if rows.empty:
            continue
        table = reliability(rows["p"].to_numpy(), rows["observed"].to_numpy())
        table = table[table["n"] > 0]
        size = 20 + 180 * table["n"] / max(1, table["n"].max())
        ax.scatter(table["mean_p"], table["observed"], s=size, color=colour, marker=marker,
                   zorder=4 if name == "model" else 3, alpha=0.85 if name == "base_rate" else 1.0,
                   edgecolor="white", linewidth=0.6)  # fmt: skip
        if line != "none" and len(table) > 1:
            ax.plot(table["mean_p"], table["observed"], color=colour, linestyle=line, linewidth=1.2, zorder=2)
        for _, r in table.iterrows():
            ax.annotate(f"{int(r['n'])}", (r["mean_p"], r["observed"]), textcoords="offset points",
                        xytext=offsets[name][0], ha=offsets[name][1], va="center", fontsize=7.5,
                        color=colour, zorder=6)  # fmt: skip
        handles.append(
            Line2D([0], [0], color=colour, marker=marker, linestyle=line if line != "none" else "", label=label)
        )
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(np.linspace(0, 1, 11))
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_xlabel("forecast probability that the event happens by the end of the episode")
    ax.set_ylabel("observed frequency")
    ax.set_title("Reliability of the backtest forecasts (numbers: facts in the bin)")
    bottom_legend(fig, handles, ncols=2)
    out_dir.mkdir(parents=True, exist_ok=True)
    return save(fig, out_dir, "reliability", "png")


def _md_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    def cell(x: str) -> str:
        return md_escape(x, inline=True)  # fact labels come from scenario files: shown as written, never markup

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def backtest_markdown(report: dict, scores: pd.DataFrame, figure: str | None = "figures/reliability.png") -> str:
    """The report section: what was run, the overall table, the figure, and one table per episode."""
    eps = report["episodes"]
    lines = [
        "## Backtest: the model against history",
        "",
        "Episodes: "
        + "; ".join(
            f"**{e['name']}** ({e['start']} to {e['last_quarter']}, {e['replicates']:,} replicates, seed {e['seed']})"
            for e in eps
        )
        + ".",
        "",
        "Binary facts are scored with the Brier score and the logarithmic score (lower is better; "
        f"probabilities clipped to [{CLIP[0]}, {CLIP[1]}]). Persistence says nothing changes (P = {CLIP[0]} after "
        "clipping; spending stays at its start value); the base rate is, per event (application, accession), the "
        "share of such facts that happened in the other episodes (leave-one-out"
        + ("; with one episode, over that episode itself" if len(eps) == 1 else "")
        + "). Brier skill score (BSS) = 1 - Brier(model) / Brier(reference): above 0 the model beats the "
        "reference. Timing: the model's quarter distribution of an event that happened, conditional on it "
        "happening, against the real quarter (P within one quarter). Spending: the model's 5-95% band of % of "
        "GDP in the year's last quarter against the observed value (the edition named in each fact; the model's "
        "spending is SIPRI's definition).",
        "",
        "### Overall",
        "",
        _md_table(*overall_table(report)),
        "",
    ]
    if figure:
        lines += [
            f"![Reliability diagram: binned forecast probability against observed frequency]({figure})",
            "",
            "*Reliability diagram: points on the diagonal are well calibrated; a point's number is the facts in "
            "its bin.*",
            "",
        ]
    for e in eps:
        lines += [
            f"### {md_escape(e['name'], inline=True)}",
            "",
            _md_table(FACT_COLUMNS, fact_rows(scores, e["name"])),
            "",
        ]
        rates = e.get("base_rates", {})
        if rates:
            text = "; ".join(
                f"{ev} {r['p']:.2f} (n={r['n']}, from {', '.join(r['from']) or 'none'})" for ev, r in rates.items()
            )
            lines += [f"Base rates: {text}.", ""]
    return "\n".join(lines)


def write_backtest_report(out_dir: Path) -> list[Path]:
    """Draw ``figures/reliability.png`` and write ``backtest.md`` in a backtest directory."""
    out_dir = Path(out_dir)
    report, scores = load_backtest(out_dir)
    figure = reliability_figure(report, scores, out_dir / "figures")
    md = out_dir / "backtest.md"
    md.write_text(backtest_markdown(report, scores, figure.relative_to(out_dir).as_posix()) + "\n", encoding="utf-8")
    return [figure, md]
