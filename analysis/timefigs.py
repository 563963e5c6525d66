"""The figures of a run over time: when alliances form (cumulative share of futures) and bloc power by quarter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis import formats, headlines, stats
from analysis.rundata import RunData
from analysis.style import GREY, OKABE_ITO, bloc_colours, bottom_legend, few_replicates, new_figure, save, styled

EURO_LABEL = "European alliance without the US"


def quarter_axis(ax, start: str, steps: int) -> None:
    """Calendar quarters on the x axis (steps 0..steps-1), a tick every year or two."""
    every = max(1, steps // 8 // 4 * 4) if steps >= 16 else max(1, steps // 6)
    ticks = list(range(0, steps, every))
    ax.set_xticks(ticks, [formats.quarter(start, t) for t in ticks])
    ax.set_xlim(-0.5, steps - 0.5)


def mark_shocks(ax, run: RunData, label: bool = True) -> None:
    """Dotted lines at the scenario's scheduled shocks (named when ``label``)."""
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


def formation_curves(run: RunData) -> list[tuple[str, np.ndarray, str]]:
    """(label, founding step per replicate with NaN = never, colour): the European alliance, then each new bloc.

    A bloc whose founding steps are those of the European alliance in every replicate is not drawn
    twice: the alliance's label names it.
    """
    curves: list[tuple[str, np.ndarray, str]] = []
    colours = bloc_colours(run.blocs)
    euro = np.asarray(run.column("euro_alliance_step"), dtype=float) if run.has("euro_alliance_step") else None
    same = []
    for code in run.blocs:
        col = f"{code}.formed_step"
        if not run.has(col):
            continue
        steps = np.asarray(run.column(col), dtype=float)
        if not np.isfinite(steps).any():
            continue
        if euro is not None and np.array_equal(steps, euro, equal_nan=True):
            same.append(code)
        else:
            curves.append((f"{code} founded", steps, colours[code]))
    if euro is not None:
        text = EURO_LABEL + (f" ({', '.join(same)})" if same else " (still active at the end)")
        curves.insert(0, (text, euro, OKABE_ITO["black"]))
    return curves


@styled
def formation_survival(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None] | None:
    """Share of futures in which a European alliance without the US (and each new bloc) has formed, by quarter.

    The complement of the survival curve ("not formed yet"), drawn from 0 so the rise is what the
    eye sees; every replicate runs to the horizon, so the share is a binomial proportion at each
    quarter with a pointwise 95% Wilson band.
    """
    curves = formation_curves(run)
    if not curves:
        return None
    warning = few_replicates(run.n, 50, "a cumulative share")
    fig, ax = new_figure("wide", run.source_note(), warning)
    styles = ["-", "--", "-.", ":"]
    steps = np.arange(run.steps)
    highest = 0.0
    for k, (label, event, colour) in enumerate(curves):
        s = stats.survival(event, run.steps)
        formed, lo, hi = 1 - s["survival"], 1 - s["hi"], 1 - s["lo"]
        highest = max(highest, float(hi.max()))
        ax.fill_between(steps, lo, hi, step="post", color=colour, alpha=0.18, lw=0)
        ax.step(steps, formed, where="post", color=colour, linestyle=styles[k % 4], lw=2,
                label=f"{label}: {formed.iloc[-1]:.0%} by {formats.quarter(run.start, run.steps - 1)}")  # fmt: skip
        ax.annotate(f"{formed.iloc[-1]:.0%}", (run.steps - 1, formed.iloc[-1]), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8.5, color=colour)  # fmt: skip
    ax.set_ylim(0, min(1.0, max(0.05, highest * 1.25)))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    quarter_axis(ax, run.start, run.steps)
    mark_shocks(ax, run)
    ax.set_xlabel("quarter (at its end)")
    ax.set_ylabel("share of futures in which it has formed")
    ax.legend(loc="lower right", frameon=True, framealpha=0.9, fontsize=8,
              title=f"cumulative, with 95% Wilson bands ({run.n:,} futures)", title_fontsize=8)  # fmt: skip
    ax.set_title(headlines.formation_message(run), fontsize=10.5)
    return save(fig, out_dir, "formation_survival", fmt), warning


@styled
def power_fan(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None] | None:
    """Bloc power over time on one shared scale: median, 25–75% and 5–95% of futures, and the adversary's median."""
    traj = run.trajectories
    if traj is None or traj.empty:
        return None
    blocs = [b for b in run.blocs if b in set(traj["bloc"])]
    warning = few_replicates(run.n, 200, "a 5–95% band")
    ncols = 3 if len(blocs) > 4 else 2
    nrows = max(1, -(-len(blocs) // ncols))
    fig, axes = new_figure("panels", run.source_note(), warning, legend_space=0.3, nrows=nrows, ncols=ncols,
                           sharex=True, sharey=True, squeeze=False)  # fmt: skip
    colours = bloc_colours(blocs)
    adversary = None
    if run.adversary in blocs:
        adversary = traj[traj["bloc"] == run.adversary].sort_values("step")
    top = float(traj[traj["bloc"].isin(blocs)]["q95_power"].max())
    for k, ax in enumerate(axes.flat):
        if k >= len(blocs):
            ax.set_visible(False)
            continue
        code = blocs[k]
        t = traj[traj["bloc"] == code].sort_values("step")
        x = t["step"].to_numpy()
        c = colours[code]
        ax.fill_between(x, t["q05_power"], t["q95_power"], color=c, alpha=0.28, lw=0)
        ax.fill_between(x, t["q25_power"], t["q75_power"], color=c, alpha=0.6, lw=0)
        ax.plot(x, t["q50_power"], color="#111111" if c != OKABE_ITO["black"] else "#FFFFFF", lw=2.4)
        ax.plot(x, t["q50_power"], color=c, lw=1.4)
        if adversary is not None and code != run.adversary:
            ax.plot(adversary["step"], adversary["q50_power"], color=OKABE_ITO["vermillion"], lw=1,
                    linestyle=(0, (5, 2, 1, 2)))  # fmt: skip
        title = f"{code}: {run.bloc_names.get(code, code)}"
        title = title if len(title) <= 40 else title[:39] + "…"
        active = float(np.mean(run.column(f"{code}.active"))) if run.has(f"{code}.active") else 1.0
        if active < 1:
            title += f"\n(exists in {active:.0%} of futures at the end)"
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, top * 1.05 if top > 0 else 1)
        quarter_axis(ax, run.start, run.steps)
        mark_shocks(ax, run, label=False)
        ax.tick_params(axis="x", labelrotation=45)
        end = t["q50_power"].iloc[-1]
        ax.annotate(f"{end:.1f}", (x[-1], end), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7.5)
        if k % ncols == 0:
            ax.set_ylabel("effective power (index points)")
    handles = [
        Patch(facecolor=GREY, alpha=0.4, label="5–95% of futures"),
        Patch(facecolor=GREY, alpha=0.85, label="25–75%"),
        Line2D([], [], color="#111111", lw=2.2, label="median"),
        Line2D([], [], color=OKABE_ITO["vermillion"], lw=1, linestyle=(0, (5, 2, 1, 2)),
               label=f"adversary {run.adversary}: median" if adversary is not None else "adversary"),
        Line2D([], [], color=GREY, lw=1, linestyle=":", label="scheduled shock"),
    ]  # fmt: skip
    bottom_legend(fig, handles if adversary is not None else handles[:3] + handles[4:], ncols=5)
    fig.suptitle(headlines.fan_message(run) + "\n(all panels on one scale)", fontsize=10.5)
    return save(fig, out_dir, "power_fan", fmt), warning
