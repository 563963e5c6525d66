"""The figures of a run directory: power distributions, Bruegel gaps, memberships, formation times, fan charts.

``run_figures(run_dir, out_dir, fmt)`` is what ``sim run`` and ``sim plot`` call; it may be given a
run directory that has no manifest yet (``sim run`` draws before it commits the directory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis import stats
from analysis.rundata import RunData, load_run
from analysis.style import (
    FORMATS,
    GREY,
    OKABE_ITO,
    bloc_colours,
    bloc_styles,
    bottom_legend,
    few_replicates,
    new_figure,
    save,
    styled,
)
from simulator.errors import InputError

BRUEGEL_EUR_BN = 250.0  # Burilkov & Wolff (Bruegel & Kiel Institute, 21 Feb 2025): +EUR 250 bn a year
BRUEGEL_TROOPS_K = 300.0  # capacity equal to 300,000 US troops
POWER_UNIT = "effective power (index points; the 2026 world = about 100)"
EURO_LABEL = "European alliance without the US"


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
    year, q = int(start[:4]), int(start[5]) - 1 + int(step)
    return f"{year + q // 4}Q{q % 4 + 1}"


def _quarter_axis(ax, start: str, steps: int) -> None:
    every = max(1, steps // 8 // 4 * 4) if steps >= 16 else max(1, steps // 6)
    ticks = list(range(0, steps, every))
    ax.set_xticks(ticks, [quarter(start, t) for t in ticks])
    ax.set_xlim(-0.5, steps - 0.5)


def _mark_shocks(ax, run: RunData, label: bool = True) -> None:
    seen: dict[int, list[str]] = {}
    for step, name in run.shock_steps():
        if step < run.steps:
            seen.setdefault(step, []).append(name)
    top = ax.get_ylim()[1]
    for step, names in seen.items():
        ax.axvline(step, color=GREY, linestyle=":", linewidth=1)
        if label:
            text = ", ".join(names) if len(names) <= 2 else f"{names[0]} + {len(names) - 1} more shocks"
            ax.text(step + 0.15, top * 0.985, text, rotation=90, va="top", ha="left", fontsize=6.5, color="#555555",
                    bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 1})  # fmt: skip


# ---------------------------------------------------------------------------- power distribution
@styled
def power_distribution(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """ECDF of each bloc's effective power at the end, with the adversary and NATO-at-start marked."""
    warning = few_replicates(run.n, 100, "the shape of a distribution")
    fig, ax = new_figure("wide", run.source_note(), warning)
    colours, styles = bloc_colours(run.blocs), bloc_styles(run.blocs)
    for code in run.blocs:
        power = np.where(run.column(f"{code}.active"), run.column(f"{code}.effective_power"), 0.0)
        x, y = stats.ecdf(power)
        p_active = stats.describe_probability(run.column(f"{code}.active"))
        label = f"{code} (active in {p_active['p']:.0%})" if p_active["p"] < 1 else code
        ax.step(np.r_[0.0, x], np.r_[0.0, y], where="post", color=colours[code], linestyle=styles[code], lw=1.8,
                label=label)  # fmt: skip
    adv = run.adversary
    if adv and run.has(f"{adv}.effective_power"):
        adv_power = run.column(f"{adv}.effective_power")
        med = float(np.median(adv_power))
        lo, hi = stats.bootstrap_ci(adv_power)
        ax.axvspan(lo, hi, color=OKABE_ITO["vermillion"], alpha=0.12, lw=0)
        ax.axvline(med, color=OKABE_ITO["vermillion"], lw=1.0, linestyle=(0, (4, 2)),
                   label=f"adversary {adv}: median {med:.1f} [95% CI {lo:.1f}–{hi:.1f}]")  # fmt: skip
    reference = _nato_at_start(run)
    if reference is not None:
        value, label = reference
        ax.axvline(value, color=OKABE_ITO["sky_blue"], lw=1.6, linestyle=(0, (1, 1)), label=f"{label}: {value:.1f}")
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{POWER_UNIT}, {quarter(run.start, run.steps - 1)}")
    ax.set_ylabel("share of replicates with power ≤ x")
    ax.set_title(f"Pooled effective power of each bloc at the end of the horizon ({run.n:,} replicates)")
    ax.legend(loc="center right", frameon=True, framealpha=0.92, title="bloc (not active = 0) and references")
    return save(fig, out_dir, "power_distribution", fmt), warning


def _nato_at_start(run: RunData) -> tuple[float, str] | None:
    """NATO's median power in the first quarter (with the US unless a shock acts at step 0).

    The Bruegel-Kiel estimate asks what Europe needs to replace the US; NATO as it stands at the
    start is the yardstick a European alliance is read against.
    """
    traj = run.trajectories
    if traj is None or "NATO" not in set(traj["bloc"]):
        return None
    first = traj[(traj["bloc"] == "NATO") & (traj["step"] == 0)]
    if first.empty:
        return None
    at_zero = any(step == 0 for step, _ in run.shock_steps())
    label = "NATO at start" if at_zero else "Bruegel yardstick: NATO with the US"
    return float(first["q50_power"].iloc[0]), f"{label} ({quarter(run.start, 0)})"


# ---------------------------------------------------------------------------- Bruegel gap
@styled
def bruegel_gap(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None] | None:
    """Extra spending and troop-equivalents of EU+UK against the Bruegel-Kiel figures."""
    spend_col, troop_col = "bruegel_extra_spending_eur_bn", "bruegel_troop_equivalents_k"
    if not (run.has(spend_col) and run.has(troop_col)):
        return None
    warning = few_replicates(run.n, 100, "a histogram")
    fig, axes = new_figure("wide", run.source_note(), warning, nrows=1, ncols=2)
    panels = (
        (axes[0], run.column(spend_col), BRUEGEL_EUR_BN, "extra defence spending vs 2025 (EUR bn a year)",
         "Bruegel–Kiel: +EUR 250 bn/yr", "Extra spending, EU + UK"),
        (axes[1], run.column(troop_col), BRUEGEL_TROOPS_K, "troop-equivalents bought (thousands)",
         "Bruegel–Kiel: 300k troops", "Troop-equivalents, EU + UK"),
    )  # fmt: skip
    for ax, x, target, xlabel, ref_label, title in panels:
        finite = x[np.isfinite(x)]
        ax.hist(finite, bins=30, color=OKABE_ITO["sky_blue"], edgecolor="white", linewidth=0.5)
        ax.axvline(target, color=OKABE_ITO["vermillion"], lw=1.6, linestyle="--", label=ref_label)
        med = float(np.median(finite)) if finite.size else float("nan")
        lo, hi = stats.bootstrap_ci(finite)
        ax.axvline(med, color=OKABE_ITO["black"], lw=1.2, label=f"median {med:,.0f} [95% CI {lo:,.0f}–{hi:,.0f}]")
        reach = stats.describe_probability(finite >= target)
        ax.set_title(f"{title}\nP(reaching the reference) = {reach['p']:.0%} [{reach['lo']:.0%}, {reach['hi']:.0%}]")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("replicates")
        lo_x = min(float(finite.min()) if finite.size else 0.0, target)
        hi_x = max(float(finite.max()) if finite.size else target, target)
        pad = 0.08 * (hi_x - lo_x or 1.0)
        ax.set_xlim(lo_x - pad, hi_x + pad)
        ax.legend(loc="upper left", frameon=False)
    fig.suptitle(
        f"Gap to the Bruegel–Kiel estimate of what replacing the US needs, {quarter(run.start, run.steps - 1)}"
    )
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
    if v == 1:
        return "100%"
    if v < 0.005:
        return "<1%"
    if v > 0.995:
        return ">99%"
    return f"{v:.0%}"


# ---------------------------------------------------------------------------- formation survival
@styled
def formation_survival(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None] | None:
    """Share of replicates in which no European alliance without the US has formed yet, per quarter."""
    curves = []
    if run.has("euro_alliance_step"):
        curves.append((EURO_LABEL + " (still active at the end)", run.column("euro_alliance_step"), OKABE_ITO["black"]))
    colours = bloc_colours(run.blocs)
    for code in run.blocs:
        col = f"{code}.formed_step"
        if run.has(col) and np.isfinite(run.column(col)).any():
            curves.append((f"{code} founded", run.column(col), colours[code]))
    if not curves:
        return None
    warning = few_replicates(run.n, 50, "a survival curve")
    fig, ax = new_figure("wide", run.source_note(), warning)
    styles = ["-", "--", "-.", ":"]
    steps = np.arange(run.steps)
    for k, (label, event, colour) in enumerate(curves):
        s = stats.survival(event, run.steps)
        ax.fill_between(steps, s["lo"], s["hi"], step="post", color=colour, alpha=0.15, lw=0)
        ax.step(steps, s["survival"], where="post", color=colour, linestyle=styles[k % 4], lw=1.8,
                label=f"{label}: formed by the end in {1 - s['survival'].iloc[-1]:.0%}")  # fmt: skip
    ax.set_ylim(0, 1.04)
    _quarter_axis(ax, run.start, run.steps)
    _mark_shocks(ax, run)
    ax.set_xlabel("quarter (end of)")
    ax.set_ylabel("share of replicates in which it has not formed yet")
    ax.set_title(f"Time to formation (survival curve, 95% Wilson bands; {run.n:,} replicates)")
    ax.legend(loc="lower left", frameon=True, framealpha=0.9)
    return save(fig, out_dir, "formation_survival", fmt), warning


# ---------------------------------------------------------------------------- fan charts
@styled
def power_fan(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None] | None:
    """Bloc power over time: median with 25-75% and 5-95% bands from the per-step histograms."""
    traj = run.trajectories
    if traj is None or traj.empty:
        return None
    blocs = [b for b in run.blocs if b in set(traj["bloc"])]
    warning = few_replicates(run.n, 200, "a 5–95% band")
    ncols = 3 if len(blocs) > 4 else 2
    nrows = max(1, -(-len(blocs) // ncols))
    fig, axes = new_figure("panels", run.source_note(), warning, legend_space=0.3, nrows=nrows, ncols=ncols, sharex=True,
                           squeeze=False)  # fmt: skip
    colours = bloc_colours(blocs)
    for k, ax in enumerate(axes.flat):
        if k >= len(blocs):
            ax.set_visible(False)
            continue
        code = blocs[k]
        t = traj[traj["bloc"] == code].sort_values("step")
        x = t["step"].to_numpy()
        c = colours[code]
        ax.fill_between(x, t["q05_power"], t["q95_power"], color=c, alpha=0.18, lw=0, label="5–95%")
        ax.fill_between(x, t["q25_power"], t["q75_power"], color=c, alpha=0.38, lw=0, label="25–75%")
        ax.plot(x, t["q50_power"], color=c, lw=1.8, label="median")
        ax.plot(x, t["mean_power"], color="#333333", lw=0.9, linestyle="--", label="mean")
        ax.set_ylim(bottom=0)
        title = f"{code}: {run.bloc_names.get(code, code)}"
        title = title if len(title) <= 42 else title[:41] + "…"
        active = float(np.mean(run.column(f"{code}.active"))) if run.has(f"{code}.active") else 1.0
        if active < 1:
            title += f"\n(active at the end in {active:.0%} of replicates)"
        ax.set_title(title, fontsize=9.5)
        _quarter_axis(ax, run.start, run.steps)
        _mark_shocks(ax, run, label=False)
        ax.tick_params(axis="x", labelrotation=45)
        if k % ncols == 0:
            ax.set_ylabel("effective power (index points)")
    handles = [
        Patch(facecolor=GREY, alpha=0.35, label="5–95% of replicates"),
        Patch(facecolor=GREY, alpha=0.75, label="25–75%"),
        Line2D([], [], color=GREY, lw=1.8, label="median"),
        Line2D([], [], color="#333333", lw=0.9, linestyle="--", label="mean"),
        Line2D([], [], color=GREY, lw=1, linestyle=":", label="scheduled shock"),
    ]
    bottom_legend(fig, handles, ncols=5)
    fig.suptitle(f"Bloc power over time: quantiles across {run.n:,} replicates (inactive bloc = 0)")
    return save(fig, out_dir, "power_fan", fmt), warning


# ---------------------------------------------------------------------------- the set
def draw_run_figures(run: RunData, out_dir: Path, fmt: str = "png") -> FigureSet:
    """Every figure of a run into ``out_dir``; returns the files and the warnings on them."""
    from analysis.network import alliance_blocs, comembership_network

    if fmt not in FORMATS:
        raise InputError(f"unknown figure format '{fmt}'; valid: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = FigureSet()
    for draw in (power_distribution, bruegel_gap, membership_heatmap, formation_survival, power_fan,
                 comembership_network):  # fmt: skip
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


__all__ = ["FigureSet", "draw_run_figures", "quarter", "run_figures"]
