"""Figures of scenario discovery: PRIM's coverage-density trade-off and the chosen box on each input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.lines import Line2D

from analysis.figures import FigureSet
from analysis.style import FORMATS, GREY, OKABE_ITO, new_figure, save, styled
from analysis.sweep import parameter_label
from simulator.errors import InputError

# ``found`` below is a simulator.api.discover.Discovery (the layer above; not imported here)
Discovery = Any

RES_DIM_COLOURS = [GREY, OKABE_ITO["sky_blue"], OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["vermillion"],
                   OKABE_ITO["purple"]]  # fmt: skip


def _pct(v: float) -> str:
    return f"{v:.0%}"


def _note(found: Discovery) -> str:
    return f"PRIM (peel {found.prim.options['peel_alpha']:g}, minimum box {found.prim.options['mass_min']:.0%} of " + (
        f"the {found.level}); {found.source}"
    )


@styled
def tradeoff(found: Discovery, out_dir: Path, fmt: str) -> Path:
    """Coverage against density of every box on the peeling and pasting trajectory, the chosen box ringed."""
    t = found.trajectory
    box = found.prim.box
    fig, ax = new_figure("wide", _note(found))
    colours = [RES_DIM_COLOURS[min(r, len(RES_DIM_COLOURS) - 1)] for r in t["res_dim"]]
    ax.plot(t["coverage"], t["density"], color="#BBBBBB", lw=0.8, zorder=1)
    ax.scatter(t["coverage"], t["density"], c=colours, s=22, zorder=2, edgecolors="white", linewidths=0.4)
    ax.scatter([box.coverage], [box.density], s=140, facecolors="none", edgecolors="black", linewidths=1.4, zorder=3)
    ax.annotate(
        f"chosen box {box.index}: coverage {_pct(box.coverage)}, density {_pct(box.density)},\n"
        f"{len(box.restricted)} input{'s' if len(box.restricted) != 1 else ''} restricted, "
        f"{_pct(box.mass)} of the {found.level}",
        (box.coverage, box.density), xytext=(-12, -28), textcoords="offset points", ha="right", fontsize=8.5,
        arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.7},
    )  # fmt: skip
    base = t["density"].iloc[0]
    ax.axhline(base, color=GREY, lw=0.8, ls=":")
    ax.text(0.01, base, f" all {found.level}: {_pct(base)} are cases", va="bottom", fontsize=8, color="#555555",
            transform=ax.get_yaxis_transform())  # fmt: skip
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("coverage: share of all cases that fall in the box")
    ax.set_ylabel("density: share of the box that are cases")
    used = sorted(set(t["res_dim"]))
    handles = [Line2D([], [], marker="o", ls="", color=RES_DIM_COLOURS[min(r, len(RES_DIM_COLOURS) - 1)],
                      label=f"{r} input{'s' if r != 1 else ''} restricted") for r in used]  # fmt: skip
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    ax.set_title(f"Where does '{found.case}' happen? Peeling the inputs trades coverage for density", fontsize=10.5)
    return save(fig, out_dir, "discover_tradeoff", fmt)


@styled
def box_figure(found: Discovery, out_dir: Path, fmt: str) -> Path | None:
    """The chosen box on each restricted input: its range within the input's full range, with quasi-p values."""
    limits = found.box
    if limits.empty:
        return None
    box = found.prim.box
    fig, ax = new_figure("wide", _note(found))
    rows = list(limits.itertuples())
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        if row.kind == "range":
            span = row.max - row.min or 1.0
            lo, hi = (row.lower - row.min) / span, (row.upper - row.min) / span
            ax.barh(y, 1.0, left=0.0, height=0.4, color="#E8E8E8", edgecolor="#BBBBBB", lw=0.6)
            ax.barh(y, hi - lo, left=lo, height=0.4, color=OKABE_ITO["blue"], alpha=0.85)
            ax.text(-0.01, y, f"{row.min:.3g}", ha="right", va="center", fontsize=8, color="#555555")
            ax.text(1.01, y, f"{row.max:.3g}", ha="left", va="center", fontsize=8, color="#555555")
            for value, where, qp in ((row.lower, lo, row.qp_lower), (row.upper, hi, row.qp_upper)):
                if qp is None or not np.isfinite(qp):
                    continue
                ax.text(where, y + 0.26, f"{value:.3g} ({_p(qp)})", ha="center", va="bottom", fontsize=8)
        else:
            cats = list(row.full)
            width = 1.0 / len(cats)
            for j, cat in enumerate(cats):
                inside = cat in row.box
                ax.barh(y, width * 0.95, left=j * width, height=0.5, color=OKABE_ITO["blue"] if inside else "#E8E8E8")
                ax.text((j + 0.475) * width, y, str(cat), ha="center", va="center", fontsize=8,
                        color="white" if inside else "#555555")  # fmt: skip
            ax.text(0.5, y + 0.32, f"({_p(row.qp_lower)})", ha="center", va="bottom", fontsize=8)
    ax.set_yticks(range(len(rows)), [parameter_label(r.input) for r in reversed(rows)], fontsize=9)
    ax.set_xticks([])
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.6, len(rows) - 0.1)
    ax.grid(False)
    ax.spines["left"].set_visible(False)
    ax.spines["bottom"].set_visible(False)
    ax.set_title(
        f"'{found.case}' in {_pct(box.density)} of the futures in this box (vs {_pct(found.prim.boxes[0].density)} "
        f"overall); it holds {_pct(box.coverage)} of all cases",
        fontsize=10,
    )
    ax.text(0.5, -0.55, "blue: the box within each input's full range; p: quasi-p value of the limit "
            "(small: the limit is needed)", ha="center", fontsize=7.5, color="#555555")  # fmt: skip
    return save(fig, out_dir, "discover_box", fmt)


def _p(qp: float) -> str:
    return "p<0.001" if qp < 0.001 else f"p={qp:.3f}" if qp < 0.01 else f"p={qp:.2f}"


def discovery_figures(found: Discovery, out_dir: Path, fmt: str = "png") -> FigureSet:
    """The trade-off and the box figures into ``out_dir``."""
    if fmt not in FORMATS:
        raise InputError(f"unknown figure format '{fmt}'; valid: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = FigureSet()
    result.add(tradeoff(found, out_dir, fmt), None)
    drawn = box_figure(found, out_dir, fmt)
    if drawn is not None:
        result.add(drawn, None)
    return result
