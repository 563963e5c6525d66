"""Figures of a sweep: response curves with confidence bands, a two-parameter heatmap, a sensitivity tornado."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.figures import FigureSet
from analysis.style import FORMATS, GREY, OKABE_ITO, few_replicates, new_figure, save, styled
from analysis.sweep import (
    SweepData,
    kind_of,
    parameter_label,
    point_estimates,
    response,
    sensitivity,
    two_way,
)
from analysis.tables import label
from simulator.errors import InputError

MAX_PANELS = 6
MIN_POINTS_SENSITIVITY = 16


def _y_label(sweep: SweepData, outcome: str) -> str:
    return "probability" if kind_of(sweep, outcome) == "probability" else "mean across replicates"


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """x positions of parameter values: the values themselves, or 0..k-1 for categories."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), None
    cats = sorted(values.astype(str).unique())
    return values.astype(str).map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float), cats


@styled
def response_curves(sweep: SweepData, outcome: str, out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """One panel per swept parameter: per-point estimates (dots) and the main effect with its 95% band."""
    params = sweep.parameters[:MAX_PANELS]
    ncols = min(3, len(params))
    nrows = -(-len(params) // ncols)
    warning = few_replicates(sweep.replicates_per_point, 50, "a point estimate", "replicates per point")
    fig, axes = new_figure("panels", sweep.source_note(), warning, nrows=nrows, ncols=ncols, sharey=True,
                           squeeze=False)  # fmt: skip
    points = point_estimates(sweep, outcome)
    probability = kind_of(sweep, outcome) == "probability"
    for k, ax in enumerate(axes.flat):
        if k >= len(params):
            ax.set_visible(False)
            continue
        p = params[k]
        x_pts, cats = _positions(points[p])
        ax.scatter(x_pts, points["estimate"], s=12, color=GREY, alpha=0.6, lw=0, label="one point (its estimate)")
        curve = response(sweep, outcome, p)
        x, _ = _positions(curve[p]) if cats is None else (curve[p].astype(str).map(
            {c: i for i, c in enumerate(cats)}).to_numpy(dtype=float), None)  # fmt: skip
        order = np.argsort(x)
        x = x[order]
        est, lo, hi = (curve[c].to_numpy(dtype=float)[order] for c in ("estimate", "lo", "hi"))
        ax.fill_between(x, lo, hi, color=OKABE_ITO["blue"], alpha=0.25, lw=0, label="95% interval")
        ax.plot(x, est, color=OKABE_ITO["blue"], lw=2, marker="o", ms=4, label="main effect (others pooled)")
        if cats is not None:
            ax.set_xticks(range(len(cats)), cats, rotation=30, fontsize=7.5)
        ax.set_xlabel(parameter_label(p))
        if k % ncols == 0:
            ax.set_ylabel(_y_label(sweep, outcome))
        if probability:
            ax.set_ylim(-0.02, 1.02)
        if k == 0:
            ax.legend(loc="best", frameon=True, framealpha=0.85, fontsize=7)
    how = "Wilson" if probability else "normal-theory"
    fig.suptitle(f"Response of '{label(outcome)}' to each swept parameter\n(main effect with 95% {how} bands; "
                 f"{sweep.n_points:,} points × {sweep.replicates_per_point:,} replicates)")  # fmt: skip
    return save(fig, out_dir, f"response_{outcome}", fmt), warning


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
    ax.set_xlabel(parameter_label(first) + (" (bin median)" if binned else ""))
    ax.set_ylabel(parameter_label(second) + (" (bin median)" if binned else ""))
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(_y_label(sweep, outcome))
    others = "; other parameters pooled" if len(sweep.parameters) > 2 else ""
    ax.set_title(f"{label(outcome)}\nover {parameter_label(first)} × {parameter_label(second)}{others}; "
                 f"median {int(np.median(counts[counts > 0])):,} replicates per cell"
                 + ("; white: no point" if np.isnan(grid).any() else ""), fontsize=10)  # fmt: skip
    return save(fig, out_dir, f"heatmap_{outcome}", fmt), warning


def _level_text(value) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


@styled
def sensitivity_tornado(sweep: SweepData, outcomes: list[str], out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """Tornado chart of sensitivity indices, one panel per outcome (parameters sorted by influence)."""
    outcomes = outcomes[:4]
    frames = [sensitivity(sweep, o) for o in outcomes]
    ncols = min(2, len(outcomes))
    nrows = -(-len(outcomes) // ncols)
    sobol = sweep.design == "saltelli" and any(f["method"].str.startswith("Sobol").any() for f in frames)
    warning = None
    if sweep.n_points < MIN_POINTS_SENSITIVITY:
        warning = f"only {sweep.n_points} points: sensitivity indices are rough"
    fig, axes = new_figure("panels", sweep.source_note(), warning, nrows=nrows, ncols=ncols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(outcomes):
            ax.set_visible(False)
            continue
        frame = frames[k].copy()
        frame["rank"] = frame["ST"].fillna(frame["S1"])
        frame = frame.sort_values("rank")
        y = np.arange(len(frame))
        if frame["ST"].notna().any():
            ax.barh(y + 0.2, frame["ST"], height=0.38, color=OKABE_ITO["orange"], label="total (ST)",
                    xerr=_err(frame, "ST"), error_kw={"lw": 1, "capsize": 2})  # fmt: skip
            ax.barh(y - 0.2, frame["S1"], height=0.38, color=OKABE_ITO["blue"], label="first order (S1)",
                    xerr=_err(frame, "S1"), error_kw={"lw": 1, "capsize": 2})  # fmt: skip
        else:
            ax.barh(y, frame["S1"], height=0.6, color=OKABE_ITO["blue"], label="main-effect share (η²)",
                    xerr=_err(frame, "S1"), error_kw={"lw": 1, "capsize": 2})  # fmt: skip
        ax.set_yticks(y, [parameter_label(p) for p in frame["parameter"]], fontsize=8)
        ax.axvline(0, color="#333333", lw=0.8)
        bounds = frame[["S1_lo", "S1_hi", "ST_lo", "ST_hi"]].to_numpy(dtype=float)
        low = float(np.nanmin(bounds)) if np.isfinite(bounds).any() else 0.0
        high = float(np.nanmax(bounds)) if np.isfinite(bounds).any() else 1.0
        ax.set_xlim(min(-0.05, low - 0.05), max(1.05, high + 0.05))
        ax.set_title(label(outcomes[k]), fontsize=9.5)
        ax.set_xlabel("share of variance between points")
        ax.grid(axis="y", visible=False)
        if k == 0:
            ax.legend(loc="lower right", fontsize=7.5)
    method = ("Sobol' indices (SALib, Saltelli design; 95% bootstrap intervals)" if sobol else
              "main-effect share of variance η² (95% bootstrap over replicates)")  # fmt: skip
    fig.suptitle(f"Which assumption drives the result? {method}")
    return save(fig, out_dir, "sensitivity_tornado", fmt), warning


def _err(frame: pd.DataFrame, col: str) -> np.ndarray | None:
    lo, hi, mid = frame[f"{col}_lo"], frame[f"{col}_hi"], frame[col]
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
