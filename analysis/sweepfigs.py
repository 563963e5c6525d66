"""Figures of a sweep: response curves with confidence bands, a two-parameter heatmap, a sensitivity tornado."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.figures import FigureSet
from analysis.style import FORMATS, GREY, OKABE_ITO, bottom_legend, few_replicates, new_figure, save, styled
from analysis.sweep import (
    SweepData,
    kind_of,
    point_estimates,
    response_over_points,
    sensitivity,
    sensitivity_warning,
    two_way,
)
from analysis.tables import label
from simulator.errors import InputError

MAX_PANELS = 6


def _y_label(sweep: SweepData, outcome: str) -> str:
    return "chance (share of futures)" if kind_of(sweep, outcome) == "probability" else "mean across futures"


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """x positions of parameter values: the values themselves, or 0..k-1 for categories."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), None
    cats = sorted(values.astype(str).unique())
    return values.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float), cats


@styled
def response_curves(sweep: SweepData, outcome: str, out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """One panel per swept parameter: every point with its own 95% interval, and the average over points.

    The line is the mean of the points' estimates at each level (a main effect over the design),
    its band a 95% bootstrap interval over those points, and the light band the range of the
    points: replicates of different points are never pooled as draws of one coin.
    """
    params = sweep.parameters[:MAX_PANELS]
    ncols = min(3, len(params))
    nrows = -(-len(params) // ncols)
    warning = few_replicates(sweep.replicates_per_point, 50, "a point estimate", "replicates per point")
    fig, axes = new_figure("panels", sweep.source_note(), warning, legend_space=0.3, nrows=nrows, ncols=ncols,
                           sharey=True, squeeze=False)  # fmt: skip
    points = point_estimates(sweep, outcome)
    probability = kind_of(sweep, outcome) == "probability"
    for k, ax in enumerate(axes.flat):
        if k >= len(params):
            ax.set_visible(False)
            continue
        p = params[k]
        x_pts, cats = _positions(points[p])
        span = (np.nanmax(x_pts) - np.nanmin(x_pts)) if x_pts.size else 0.0
        jitter = (np.random.default_rng(k).random(x_pts.size) - 0.5) * 0.012 * (span or 1.0)
        ax.vlines(x_pts + jitter, points["lo"], points["hi"], color=GREY, lw=0.7, alpha=0.5,
                  label="one point: its estimate and 95% interval")  # fmt: skip
        ax.scatter(x_pts + jitter, points["estimate"], s=10, color="#555555", alpha=0.8, lw=0, zorder=3)
        others = [q for q in sweep.parameters if q != p]
        if others and cats is None and sweep.design == "grid":  # join the points that share the others' values
            drawn = False
            for _, group in points.assign(_x=x_pts + jitter).groupby(others, sort=False):
                if len(group) > 1:
                    group = group.sort_values("_x")
                    ax.plot(group["_x"], group["estimate"], color="#777777", lw=0.6, alpha=0.6, zorder=2,
                            label=None if drawn else "points that share the other assumptions")  # fmt: skip
                    drawn = True
        curve = response_over_points(sweep, outcome, p)
        x, _ = _positions(curve[p]) if cats is None else (curve[p].astype(str).map(
            {c: i for i, c in enumerate(cats)}).to_numpy(dtype=float), None)  # fmt: skip
        order = np.argsort(x)
        x = x[order]
        est, lo, hi, low, high = (curve[c].to_numpy(dtype=float)[order] for c in ("estimate", "lo", "hi", "low", "high"))
        ax.fill_between(x, low, high, color=OKABE_ITO["sky_blue"], alpha=0.18, lw=0, label="range of the points")
        ax.fill_between(x, lo, hi, color=OKABE_ITO["blue"], alpha=0.35, lw=0, label="95% interval of the average")
        ax.plot(x, est, color=OKABE_ITO["blue"], lw=2, marker="o", ms=4, label="average over the points")
        if cats is not None:
            ax.set_xticks(range(len(cats)), cats, rotation=30, fontsize=7.5)
        ax.set_xlabel(_wrap(sweep.label(p)))
        if k % ncols == 0:
            ax.set_ylabel(_y_label(sweep, outcome))
        if probability:
            ax.set_ylim(-0.02, 1.02)
            ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    handles, names = axes.flat[0].get_legend_handles_labels()
    bottom_legend(fig, handles, ncols=min(5, len(handles)))
    fig.suptitle(f"{label(outcome)}: how it moves with each swept assumption\n(average over the design's points "
                 f"with a 95% bootstrap interval over points; {sweep.n_points:,} points × "
                 f"{sweep.replicates_per_point:,} futures)", fontsize=10.5)  # fmt: skip
    return save(fig, out_dir, f"response_{outcome}", fmt), warning


def _wrap(text: str, width: int = 34) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _top_two(sweep: SweepData, outcome: str, ranking: pd.DataFrame | None) -> tuple[str, str] | None:
    if len(sweep.parameters) < 2:
        return None
    if ranking is not None and not ranking.empty:
        ordered = ranking.sort_values("S1", ascending=False)["parameter"].tolist()
        return ordered[0], ordered[1]
    return sweep.parameters[0], sweep.parameters[1]


@styled
def two_parameter_heatmap(
    sweep: SweepData, outcome: str, out_dir: Path, fmt: str, pair: tuple[str, str] | None = None
) -> tuple[Path, str | None] | None:
    """The outcome over two parameters (levels or quantile bins), pooling the others; cells annotated."""
    pair = pair or _top_two(sweep, outcome, None)
    if pair is None:
        return None
    first, second = pair
    table = two_way(sweep, outcome, first, second)
    xs = sorted(table[first].unique(), key=lambda v: (str(type(v)), v))
    ys = sorted(table[second].unique(), key=lambda v: (str(type(v)), v))
    grid = np.full((len(ys), len(xs)), np.nan)
    counts = np.zeros((len(ys), len(xs)), dtype=int)
    for row in table.itertuples(index=False):
        i, j = ys.index(row[1]), xs.index(row[0])
        grid[i, j] = row.estimate
        counts[i, j] = row.n
    probability = kind_of(sweep, outcome) == "probability"
    warning = few_replicates(int(counts[counts > 0].min()) if (counts > 0).any() else 0, 50, "a cell",
                             "replicates in the smallest cell")  # fmt: skip
    fig, ax = new_figure("wide", sweep.source_note(), warning)
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="cividis",
                      vmin=0 if probability else None, vmax=1 if probability else None)  # fmt: skip
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(grid[i, j]):
                text = f"{grid[i, j]:.0%}" if probability else f"{grid[i, j]:.3g}"
                light = (grid[i, j] - np.nanmin(grid)) / ((np.nanmax(grid) - np.nanmin(grid)) or 1) > 0.55
                ax.text(j, i, text, ha="center", va="center", fontsize=7.5 if len(xs) < 9 else 6,
                        color="black" if light else "white")  # fmt: skip
    ax.set_xticks(range(len(xs)), [_level_text(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_level_text(v) for v in ys])
    binned = any(sweep.points[p].nunique() > len(levels) for p, levels in ((first, xs), (second, ys)))
    ax.set_xlabel(sweep.label(first) + (" (bin median)" if binned else ""))
    ax.set_ylabel(_wrap(sweep.label(second) + (" (bin median)" if binned else ""), 40))
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(_y_label(sweep, outcome))
    others = "; other parameters pooled" if len(sweep.parameters) > 2 else ""
    ax.set_title(f"{label(outcome)}\nover {sweep.label(first)} × {sweep.label(second)}{others};\n"
                 f"median {int(np.median(counts[counts > 0])):,} replicates per cell"
                 + ("; white: no point" if np.isnan(grid).any() else ""), fontsize=10)  # fmt: skip
    return save(fig, out_dir, f"heatmap_{outcome}", fmt), warning


def _level_text(value) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


@styled
def sensitivity_tornado(sweep: SweepData, outcomes: list[str], out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """Tornado chart of sensitivity indices, one panel per outcome (parameters sorted by influence).

    Indices are shares of variance, so bars and intervals are drawn within [0, 1]; an estimate
    outside (sampling error of a small design) is clipped and marked with an asterisk, and a
    small design carries a warning (analysis.sweep.sensitivity_warning).
    """
    outcomes = outcomes[:4]
    frames = [sensitivity(sweep, o) for o in outcomes]
    ncols = min(2, len(outcomes))
    nrows = -(-len(outcomes) // ncols)
    sobol = sweep.design == "saltelli" and any(f["method"].str.startswith("Sobol").any() for f in frames)
    warning = sensitivity_warning(sweep)
    fig, axes = new_figure("panels", sweep.source_note(), warning, nrows=nrows, ncols=ncols, squeeze=False)
    clipped_any = False
    for k, ax in enumerate(axes.flat):
        if k >= len(outcomes):
            ax.set_visible(False)
            continue
        frame = frames[k].copy()
        frame["rank"] = frame["ST"].fillna(frame["S1"])
        frame = frame.sort_values("rank")
        y = np.arange(len(frame))
        bars = [("ST", y + 0.2, 0.38, OKABE_ITO["orange"], "total (ST)"),
                ("S1", y - 0.2, 0.38, OKABE_ITO["blue"], "first order (S1)")] if frame["ST"].notna().any() else [
                ("S1", y, 0.6, OKABE_ITO["blue"], "main-effect share (η²)")]  # fmt: skip
        for col, yy, height, colour, name in bars:
            raw = frame[col].to_numpy(dtype=float)
            shown = np.clip(raw, 0.0, 1.0)
            ax.barh(yy, shown, height=height, color=colour, label=name, xerr=_err(frame, col),
                    error_kw={"lw": 1, "capsize": 2})  # fmt: skip
            for yi, r, v in zip(yy, raw, shown, strict=True):
                if np.isfinite(r) and abs(r - v) >= 0.005:  # outside [0, 1] by more than rounding
                    clipped_any = True
                    ax.text(v + (0.02 if v < 0.5 else -0.02), yi, f"* {r:.2f}", va="center", fontsize=7,
                            ha="left" if v < 0.5 else "right")  # fmt: skip
        ax.set_yticks(y, [_wrap(sweep.label(p), 30) for p in frame["parameter"]], fontsize=7.5)
        ax.set_xlim(0, 1.02)
        ax.set_title(label(outcomes[k]), fontsize=9.5)
        ax.set_xlabel("share of the variance between points")
        ax.grid(axis="y", visible=False)
        if k == 0:
            ax.legend(loc="lower right", fontsize=7.5)
    method = ("Sobol' indices (SALib, Saltelli design; 95% bootstrap intervals)" if sobol else
              "main-effect share of variance η² (95% bootstrap over replicates)")  # fmt: skip
    note = "\n* estimate outside [0, 1], drawn clipped (its value beside it)" if clipped_any else ""
    fig.suptitle(f"Which assumption drives the result? {method}{note}", fontsize=10.5)
    return save(fig, out_dir, "sensitivity_tornado", fmt), warning


def _err(frame: pd.DataFrame, col: str) -> np.ndarray | None:
    """Error bars of the clipped bar: the interval, itself clipped to [0, 1]."""
    lo, hi = frame[f"{col}_lo"].clip(0, 1), frame[f"{col}_hi"].clip(0, 1)
    mid = frame[col].clip(0, 1)
    if lo.isna().all():
        return None
    return np.vstack([(mid - lo).clip(lower=0).fillna(0), (hi - mid).clip(lower=0).fillna(0)])


def draw_sweep_figures(
    sweep: SweepData, out_dir: Path, fmt: str = "png", outcomes: list[str] | None = None
) -> FigureSet:
    """Every sweep figure: response curves and a heatmap per outcome, and the sensitivity tornado."""
    if fmt not in FORMATS:
        raise InputError(f"unknown figure format '{fmt}'; valid: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes = outcomes or sweep.default_outcomes()
    result = FigureSet()
    for outcome in outcomes:
        result.add(*response_curves(sweep, outcome, out_dir, fmt))
        ranking = sensitivity(sweep, outcome, n_boot=0) if len(sweep.parameters) > 2 else None
        drawn = two_parameter_heatmap(sweep, outcome, out_dir, fmt, _top_two(sweep, outcome, ranking))
        if drawn is not None:
            result.add(*drawn)
    result.add(*sensitivity_tornado(sweep, outcomes, out_dir, fmt))
    return result
