"""The figures of a run directory: power distributions, Bruegel gaps, memberships, formation times, fan charts.

``run_figures(run_dir, out_dir, fmt)`` is what ``sim run`` and ``sim plot`` call; it may be given a
run directory that has no manifest yet (``sim run`` draws before it commits the directory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis import formats, headlines, stats
from analysis.rundata import RunData, load_run
from analysis.style import FORMATS, OKABE_ITO, bloc_colours, bottom_legend, few_replicates, new_figure, save, styled
from analysis.timefigs import formation_survival, power_fan
from simulator.errors import InputError

BRUEGEL_EUR_BN = 250.0  # Burilkov & Wolff (Bruegel & Kiel Institute, 21 Feb 2025): +EUR 250 bn a year
BRUEGEL_TROOPS_K = 300.0  # capacity equal to 300,000 US troops
POWER_UNIT = "effective power (index points; the 2026 world = about 100)"


@dataclass
class FigureSet:
    """The files a drawing call wrote and the warnings it printed on them."""

    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, path: Path, warning: str | None) -> None:
        self.paths.append(path)
        if warning:
            self.warnings.append(f"{path.stem}: {warning}")


def quarter(start: str, step: int) -> str:
    """Quarter label ``step`` quarters after ``start`` (2026Q1 + 5 = 2027Q2)."""
    return formats.quarter(start, step)


# ---------------------------------------------------------------------------- power distribution
@styled
def power_distribution(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """Each bloc at the end: the chance it exists (left) and how its power spreads where it exists (right).

    A bloc that does not exist has no power; instead of counting it as 0 (a jump an ECDF hides at
    its left edge), the chance it exists is its own panel, with its Wilson interval, and the
    histogram on the right covers only the futures in which it exists (one shared scale, so blocs
    compare at a glance). References: the adversary's median power and NATO's at the start.
    """
    warning = few_replicates(run.n, 100, "the shape of a distribution")
    fig, (left, right) = new_figure("wide", run.source_note(), warning, nrows=1, ncols=2, sharey=True,
                                    width_ratios=[1, 3.2])  # fmt: skip
    colours = bloc_colours(run.blocs)
    blocs = list(run.blocs)
    rows = {code: len(blocs) - 1 - k for k, code in enumerate(blocs)}  # first bloc on top
    where = {code: np.asarray(run.column(f"{code}.active"), dtype=bool) for code in blocs}
    power = {code: np.asarray(run.column(f"{code}.effective_power"), dtype=float)[where[code]] for code in blocs}
    reference = _nato_at_start(run)
    top = max([float(v.max()) for v in power.values() if v.size] + [reference[0] if reference else 0.0, 1.0])
    bins = np.linspace(0.0, top * 1.04, 81)
    for code in blocs:
        y, c = rows[code], colours[code]
        d = stats.describe_probability(where[code])
        left.barh(y, d["p"], height=0.55, color=c, alpha=0.85)
        left.errorbar(d["p"], y, xerr=[[max(0.0, d["p"] - d["lo"])], [max(0.0, d["hi"] - d["p"])]], fmt="none", ecolor="#333333",
                      lw=1, capsize=2)  # fmt: skip
        text = formats.fmt_chance(d["p"], d["lo"], d["hi"], d["k"], d["n"]).split(" (")[0]
        inside = d["p"] > 0.6
        left.text(d["p"] - 0.03 if inside else d["hi"] + 0.04, y, text, va="center", ha="right" if inside else "left",
                  fontsize=8, color="white" if inside and c in DARK else "black")  # fmt: skip
        x = power[code]
        if x.size == 0:
            right.text(0.01 * top, y, "never exists", va="center", fontsize=8, color="#555555")
            continue
        counts, _ = np.histogram(x, bins=bins)
        height = 0.8 * counts / counts.max()
        right.axhline(y, color=c, lw=0.6, alpha=0.6)
        right.fill_between(bins[:-1], y, y + height, step="post", color=c, alpha=0.65, lw=0)
        med, q05, q95 = formats.spread_quantiles(x)
        right.hlines(y - 0.08, q05, q95, color="#222222", lw=2.2)
        right.plot([med], [y - 0.08], marker="o", ms=5, color="white", markeredgecolor="#222222", zorder=4)
        right.text(q95 + 0.012 * top, y - 0.08, formats.fmt_amount(med, q05, q95), va="center", fontsize=7.5,
                   color="#222222")  # fmt: skip
    adv = run.adversary
    if adv and power.get(adv) is not None and power[adv].size:
        med = float(np.median(power[adv]))
        right.axvline(med, color=OKABE_ITO["vermillion"], lw=1.1, linestyle=(0, (4, 2)),
                      label=f"adversary {adv}: median {med:.1f}")  # fmt: skip
    if reference is not None:
        value, text = reference
        right.axvline(value, color=OKABE_ITO["sky_blue"], lw=1.6, linestyle=(0, (1, 1)), label=f"{text}: {value:.1f}")
    left.set_xlim(0, 1.0)
    left.set_xticks([0, 0.5, 1], ["0", "50%", "100%"])
    left.set_yticks(list(rows.values()), list(rows))
    left.set_ylim(-0.6, len(blocs) - 0.1)
    left.set_title("chance it exists\n(95% Wilson interval)", fontsize=9)
    left.grid(axis="y", visible=False)
    right.set_xlim(0, top * 1.18)
    right.set_xlabel(f"{POWER_UNIT}, {quarter(run.start, run.steps - 1)}")
    right.set_title("power where it exists: futures (histogram), median and 5–95% (line)", fontsize=9)
    right.grid(axis="y", visible=False)
    right.tick_params(left=False)
    if right.get_legend_handles_labels()[0]:
        right.legend(loc="upper right", frameon=True, framealpha=0.92, fontsize=7.5)
    fig.suptitle(headlines.power_message(run), fontsize=10.5)
    return save(fig, out_dir, "power_distribution", fmt), warning


DARK = {OKABE_ITO["black"], OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"]}


def _nato_at_start(run: RunData) -> tuple[float, str] | None:
    """NATO's median power in the first quarter (with the US unless a shock acts at step 0).

    The Bruegel-Kiel estimate asks what Europe needs to replace the US; NATO as it stands at the
    start is the yardstick a European alliance is read against.
    """
    return headlines.nato_at_start(run)


# ---------------------------------------------------------------------------- Bruegel gap
@styled
def bruegel_gap(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None] | None:
    """How far EU + UK get towards the Bruegel-Kiel figures: what is reached, and the gap drawn as a gap."""
    spend_col, troop_col = "bruegel_extra_spending_eur_bn", "bruegel_troop_equivalents_k"
    if not (run.has(spend_col) and run.has(troop_col)):
        return None
    warning = few_replicates(run.n, 100, "a 5–95% range")
    fig, axes = new_figure("wide", run.source_note(), warning, legend_space=0.3, nrows=2, ncols=1)
    panels = (
        (axes[0], run.column(spend_col), BRUEGEL_EUR_BN, "EUR bn a year",
         "Extra defence spending of EU members and the UK against 2025", "+EUR 250 bn a year"),
        (axes[1], run.column(troop_col), BRUEGEL_TROOPS_K, "thousand troops",
         "Troop-equivalents that spending buys", "300,000 troops"),
    )  # fmt: skip
    for ax, x, target, unit, title, reference in panels:
        values = np.asarray(x, dtype=float)
        values = values[np.isfinite(values)]
        med, q05, q95 = formats.spread_quantiles(values)
        reach = stats.describe_probability(values >= target)
        chance = formats.fmt_chance(reach["p"], reach["lo"], reach["hi"], reach["k"], reach["n"])
        ax.barh(0, med, height=0.5, color=OKABE_ITO["sky_blue"], label="reached (median of the futures)")
        gap = target - med
        if gap > 0:
            ax.barh(0, gap, left=med, height=0.5, color="white", edgecolor=OKABE_ITO["vermillion"], hatch="////",
                    lw=1.2, label="gap to the estimate")  # fmt: skip
            ax.text(med + gap / 2, 0, f"gap {gap:,.0f}\n({gap / target:.0%})", ha="center", va="center", fontsize=9,
                    color=OKABE_ITO["vermillion"], fontweight="bold",
                    bbox={"facecolor": "white", "lw": 0, "pad": 1.5})  # fmt: skip
        ax.text(med / 2, 0, f"{med:,.0f}", ha="center", va="center", fontsize=10, fontweight="bold")
        ax.errorbar(med, -0.38, xerr=[[med - q05], [q95 - med]], fmt="|", color="#222222", capsize=3, lw=1.2,
                    label="5–95% of futures")  # fmt: skip
        ax.text(q95, -0.38, f"  5–95% of futures: {q05:,.0f}–{q95:,.0f}", va="center", ha="left", fontsize=7.5)
        ax.axvline(target, color=OKABE_ITO["vermillion"], lw=2)
        ax.text(target, 0.33, f" Bruegel–Kiel: {reference}", ha="left", va="bottom", fontsize=8.5,
                color=OKABE_ITO["vermillion"])  # fmt: skip
        ax.set_xlim(0, max(target, q95, med) * 1.3)
        ax.set_ylim(-0.6, 0.6)
        ax.set_yticks([])
        ax.grid(axis="y", visible=False)
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(unit)
        ax.set_title(f"{title}: chance of reaching the estimate {chance}", loc="left", fontsize=9.5)
    bottom_legend(fig, axes[0].get_legend_handles_labels()[0], ncols=3)
    fig.suptitle(headlines.bruegel_message(run), fontsize=10.5)
    return save(fig, out_dir, "bruegel_gap", fmt), warning


# ---------------------------------------------------------------------------- membership heatmap
@styled
def membership_heatmap(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """Probability that each state ends in each bloc; states grouped by region."""
    warning = few_replicates(run.n, 50, "a membership probability")
    states, blocs = run.states_by_region(), run.blocs
    prob = np.array([[np.mean(run.column(f"member.{b}.{s}")) if run.has(f"member.{b}.{s}") else np.nan
                      for b in blocs] for s in states])  # fmt: skip
    half = max(0.5 * (hi - lo) for lo, hi in (stats.wilson(k, run.n) for k in range(run.n + 1)))
    note = run.source_note()
    fig, ax = new_figure("tall", note, warning)
    image = ax.imshow(prob, aspect="auto", cmap="cividis", vmin=0, vmax=1, interpolation="nearest")
    for i in range(len(states)):
        for j in range(len(blocs)):
            v = prob[i, j]
            if np.isfinite(v):
                ax.text(j, i, _percent(v), ha="center", va="center",
                        fontsize=6.5, color="black" if v > 0.55 else "white")  # fmt: skip
    ax.set_xticks(range(len(blocs)), blocs)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(states)), states, fontsize=7)
    ax.grid(False)
    regions = [run.state_meta.loc[s, "region"] if s in run.state_meta.index else "other" for s in states]
    start = 0
    for i in range(1, len(states) + 1):
        if i == len(states) or regions[i] != regions[start]:
            if i < len(states):
                ax.axhline(i - 0.5, color="white", lw=1.5)
            ax.text(len(blocs) - 0.4, (start + i - 1) / 2, regions[start].replace("_", " "), fontsize=7,
                    va="center", ha="left", rotation=0, color="#333333")  # fmt: skip
            start = i
    bar = fig.colorbar(image, ax=ax, shrink=0.5, pad=0.01, location="bottom", aspect=30)
    bar.set_label(f"probability of membership at the end ({run.n:,} replicates; 95% Wilson ±{half:.0%} at most)")
    ax.set_title(f"Who ends where: membership probability by state and bloc, {quarter(run.start, run.steps - 1)}")
    return save(fig, out_dir, "membership_heatmap", fmt), warning


def _percent(v: float) -> str:
    """A probability for a heatmap cell: exact 0 and 1 are marked, others never round to them."""
    if v == 0:
        return "·"
    return formats.percent(v, 0) + "%"


# ---------------------------------------------------------------------------- the set
def draw_run_figures(run: RunData, out_dir: Path, fmt: str = "png") -> FigureSet:
    """Every figure of a run into ``out_dir``; returns the files and the warnings on them."""
    from analysis.network import alliance_blocs, comembership_matrix, comembership_network

    if fmt not in FORMATS:
        raise InputError(f"unknown figure format '{fmt}'; valid: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = FigureSet()
    for draw in (power_distribution, bruegel_gap, formation_survival, power_fan, membership_heatmap,
                 comembership_matrix):  # fmt: skip
        drawn = draw(run, out_dir, fmt)
        if drawn is not None:
            result.add(*drawn)
    new_blocs = alliance_blocs(run)
    if new_blocs:
        result.add(*comembership_network(run, out_dir, fmt, blocs=new_blocs))
    return result


def run_figures(run_dir: Path, out_dir: Path, fmt: str = "png") -> list[Path]:
    """Draw the standard figures of a run into out_dir; returns the files written."""
    return draw_run_figures(load_run(run_dir, finished=False), out_dir, fmt).paths


__all__ = ["FigureSet", "draw_run_figures", "formation_survival", "power_fan", "quarter", "run_figures"]
