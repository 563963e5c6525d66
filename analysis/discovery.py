"""Scenario discovery: in which futures does an outcome happen? PRIM boxes and CART leaves over the inputs.

PRIM (the Patient Rule Induction Method; Friedman & Fisher 1999) as scenario discovery uses it
(Bryant & Lempert 2010) and the EMA Workbench implements it (``ema_workbench.analysis.prim``, whose
choices are followed here: the "lenient 1" objective, peeling and pasting 5 % at a time, a box of
at least 5 % of the futures, quasi-p values by a one-sided binomial test). Starting from the box
that holds every future, each peeling step removes the slice of one input (the lowest or highest
5 % of its values, or one category) whose removal raises the share of cases of interest in the
box the most per future removed; pasting then grows the box back where that raises the share
again. Each step is a point of the coverage-density trade-off:

- coverage = cases of interest in the box / all cases of interest;
- density = cases of interest in the box / futures in the box;
- mass = futures in the box / all futures.

CART is scikit-learn's decision tree (Breiman et al. 1984); each leaf is a box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PEEL_ALPHA = 0.05
PASTE_ALPHA = 0.05
MASS_MIN = 0.05
SIGNIFICANT = 0.05  # a restriction whose quasi-p value is above this is not clearly needed


def get_quantile(data: np.ndarray, quantile: float) -> float:
    """The peeling quantile of the EMA Workbench (after sdtoolkit): between two distinct values, never on a
    tie, so that a peel never cuts through a group of equal values (a grid level)."""
    data = np.sort(np.asarray(data, dtype=float))
    i = (len(data) - 1) * quantile
    lo, hi = int(math.floor(i)), int(math.ceil(i))
    if quantile > 0.5:
        while data[lo] == data[hi] and lo > 0:
            lo -= 1
    else:
        while data[lo] == data[hi] and hi < len(data) - 1:
            hi += 1
    return float((data[lo] + data[hi]) / 2)


def lenient1(y_old: np.ndarray, y_new: np.ndarray) -> float:
    """Gain in the share of cases of interest per future removed (or added): the EMA Workbench's default."""
    mean_old = float(np.mean(y_old))
    mean_new = float(np.mean(y_new)) if y_new.size else 0.0
    if mean_old == mean_new or y_old.size == y_new.size:
        return 0.0
    return (mean_new - mean_old) / abs(y_old.size - y_new.size)


Limits = dict[str, tuple[float, float] | frozenset]


@dataclass
class Box:
    """One box on the trajectory: its limits on every input and how it scores."""

    index: int
    limits: Limits
    coverage: float
    density: float
    mass: float
    n: int  # futures in the box
    k: int  # cases of interest in the box
    restricted: list[str]
    phase: str  # "start", "peel" or "paste"


@dataclass
class Prim:
    """The result of ``prim``: the peeling and pasting trajectory and the chosen box."""

    x: pd.DataFrame
    y: np.ndarray
    boxes: list[Box]
    chosen: int
    numeric: list[str]
    categorical: list[str]
    options: dict = field(default_factory=dict)

    @property
    def trajectory(self) -> pd.DataFrame:
        """One row per box: coverage, density, mass, n, k, restricted dimensions and the step that made it."""
        return pd.DataFrame(
            [{"box": b.index, "phase": b.phase, "coverage": b.coverage, "density": b.density, "mass": b.mass,
              "n": b.n, "k": b.k, "res_dim": len(b.restricted)} for b in self.boxes]
        )  # fmt: skip

    @property
    def box(self) -> Box:
        """The chosen box."""
        return self.boxes[self.chosen]

    def limits(self, i: int | None = None) -> pd.DataFrame:
        """The restricted inputs of box ``i`` (default: the chosen one): its range, the full range, and the
        quasi-p values of each side (Bryant & Lempert 2010: could the restriction be dropped?)."""
        box = self.boxes[self.chosen if i is None else i]
        start = self.boxes[0].limits
        rows = []
        for dim in box.restricted:
            qp = self._quasi_p(box, dim)
            lim, full = box.limits[dim], start[dim]
            if isinstance(lim, frozenset):
                rows.append({"input": dim, "kind": "categories", "box": sorted(lim, key=str), "full": sorted(full, key=str),
                             "lower": None, "upper": None, "min": None, "max": None,
                             "qp_lower": qp[0], "qp_upper": None})  # fmt: skip
            else:
                rows.append({"input": dim, "kind": "range", "box": None, "full": None, "lower": lim[0], "upper": lim[1],
                             "min": full[0], "max": full[1], "qp_lower": qp[0], "qp_upper": qp[1]})  # fmt: skip
        frame = pd.DataFrame(rows)
        if not frame.empty:
            worst = frame[["qp_lower", "qp_upper"]].astype(float).min(axis=1)  # the side that restricts
            frame["significant"] = worst <= SIGNIFICANT
        return frame

    def _quasi_p(self, box: Box, dim: str) -> tuple[float | None, float | None]:
        """One-sided binomial p-value of each restricted side: is the box's density higher than the density of
        the box without that side's limit?"""
        from scipy.stats import binomtest

        start = self.boxes[0].limits
        out: list[float | None] = []
        sides = [0] if isinstance(box.limits[dim], frozenset) else [0, 1]
        for side in sides:
            lim = box.limits[dim]
            if isinstance(lim, frozenset):
                relaxed = start[dim]
            elif lim[side] == start[dim][side]:
                out.append(None)
                continue
            else:
                relaxed = (start[dim][0], lim[1]) if side == 0 else (lim[0], start[dim][1])
            inside = _in_box(self.x, {**box.limits, dim: relaxed}, box.restricted)
            p = float(self.y[inside].mean())
            out.append(float(binomtest(box.k, box.n, p, alternative="greater").pvalue) if p < 1 else 1.0)
        return (out[0], out[1] if len(out) > 1 else None)


def _kinds(x: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c]) and not pd.api.types.is_bool_dtype(x[c])]
    return numeric, [c for c in x.columns if c not in numeric]


def _in_box(x: pd.DataFrame, limits: Limits, dims: list[str]) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for dim in dims:
        lim = limits[dim]
        values = x[dim].to_numpy()
        if isinstance(lim, frozenset):
            inside &= np.isin(values, list(lim))
        else:
            inside &= (values >= lim[0]) & (values <= lim[1])
    return inside


def _restricted(limits: Limits, start: Limits) -> list[str]:
    return [d for d in start if limits[d] != start[d]]


def prim(
    x: pd.DataFrame,
    y: np.ndarray,
    peel_alpha: float = PEEL_ALPHA,
    paste_alpha: float = PASTE_ALPHA,
    mass_min: float = MASS_MIN,
    select: int | str = "balanced",
) -> Prim:
    """Find one PRIM box of the cases of interest ``y`` (booleans) in the inputs ``x`` (one row per future).

    Args:
        x: numeric inputs (ranges are peeled) and others (bool, text: categories are peeled).
        y: True where the outcome of interest happens.
        peel_alpha, paste_alpha: the share of a box's futures a peel removes, or a paste adds (0.05).
        mass_min: the smallest box, as a share of all futures (0.05).
        select: the box to report: "balanced" (the largest harmonic mean of coverage and density),
            "last" (the end of the trajectory, the densest box) or an index on the trajectory.
    """
    y = np.asarray(y, dtype=bool)
    x = x.reset_index(drop=True)
    if len(x) != y.size:
        raise ValueError(f"{len(x)} rows of inputs but {y.size} outcomes")
    numeric, categorical = _kinds(x)
    start: Limits = {}
    for c in x.columns:
        start[c] = (float(x[c].min()), float(x[c].max())) if c in numeric else frozenset(pd.unique(x[c]))
    values = {c: x[c].to_numpy(dtype=float) if c in numeric else x[c].to_numpy() for c in x.columns}
    n, total = y.size, int(y.sum())
    boxes: list[Box] = []

    def record(limits: Limits, idx: np.ndarray, phase: str) -> None:
        k = int(y[idx].sum())
        boxes.append(Box(len(boxes), dict(limits), k / total if total else 0.0, k / idx.size if idx.size else 0.0,
                         idx.size / n, int(idx.size), k, _restricted(limits, start), phase))  # fmt: skip

    idx = np.arange(n)
    limits = dict(start)
    record(limits, idx, "start")
    # peeling: the candidate that raises the density most per future removed, fewer restrictions on a tie
    while True:
        candidates = []
        for c in x.columns:
            xj = values[c][idx]
            if c in numeric:
                for side, q in ((1, 1 - peel_alpha), (0, peel_alpha)):  # the EMA Workbench's order: upper first
                    v = get_quantile(xj, q)
                    keep = xj <= v if side == 1 else xj >= v
                    new = (limits[c][0], v) if side == 1 else (v, limits[c][1])
                    candidates.append((idx[keep], {**limits, c: new}))
            elif len(limits[c]) > 1:
                for cat in sorted(limits[c], key=str):
                    candidates.append((idx[xj != cat], {**limits, c: limits[c] - {cat}}))
        best = _best(candidates, y, idx, start)
        if best is None:
            break
        obj, new_idx, new_limits = best
        if not (new_idx.size / n >= mass_min and new_idx.size < idx.size and obj > 0):
            break
        idx, limits = new_idx, new_limits
        record(limits, idx, "peel")
    # pasting: grow the box back along its restricted inputs while that raises the density
    while True:
        dims = _restricted(limits, start)
        candidates = []
        for c in dims:
            if c in numeric:
                lo, hi = limits[c]
                for side in (0, 1):
                    strip = (start[c][0], lo) if side == 0 else (hi, start[c][1])
                    near = values[c][_in_box(x, {**limits, c: strip}, dims)]
                    if side == 0:
                        v = get_quantile(near, 1 - paste_alpha) if near.size else start[c][0]
                        new = (v, hi)
                    else:
                        v = get_quantile(near, paste_alpha) if near.size else start[c][1]
                        new = (lo, v)
                    grown = {**limits, c: new}
                    candidates.append((np.flatnonzero(_in_box(x, grown, dims)), grown))
            else:
                for cat in sorted(start[c] - limits[c], key=str):
                    grown = {**limits, c: limits[c] | {cat}}
                    candidates.append((np.flatnonzero(_in_box(x, grown, dims)), grown))
        best = _best(candidates, y, idx, start)
        if best is None:
            break
        obj, new_idx, new_limits = best
        grows = new_idx.size > idx.size and new_idx.size / n >= mass_min
        if not (grows and obj > 0 and y[new_idx].mean() > y[idx].mean()):
            break
        idx, limits = new_idx, new_limits
        record(limits, idx, "paste")
    return Prim(x, y, boxes, _select(boxes, select), numeric, categorical,
                {"peel_alpha": peel_alpha, "paste_alpha": paste_alpha, "mass_min": mass_min, "select": select})  # fmt: skip


def _best(candidates: list, y: np.ndarray, idx: np.ndarray, start: Limits):
    """The candidate with the best objective, then the fewest restricted inputs (stable: the first on a tie)."""
    best = None
    y_box = y[idx]
    for new_idx, new_limits in candidates:
        obj = lenient1(y_box, y[new_idx])
        free = len(start) - len(_restricted(new_limits, start))
        if best is None or (obj, free) > (best[0], best[1]):
            best = (obj, free, new_idx, new_limits)
    return None if best is None else (best[0], best[2], best[3])


def _select(boxes: list[Box], select: int | str) -> int:
    if isinstance(select, int) and not isinstance(select, bool):
        if not 0 <= select < len(boxes):
            raise ValueError(f"box {select} is not on the trajectory (0 to {len(boxes) - 1})")
        return select
    if select == "last":
        return len(boxes) - 1
    if select == "balanced":
        f1 = [2 * b.coverage * b.density / (b.coverage + b.density) if b.coverage + b.density else 0 for b in boxes]
        return int(np.argmax(f1))
    raise ValueError(f"select must be 'balanced', 'last' or a box index (got {select!r})")


# ---------------------------------------------------------------------------- CART
def _rule(bounds: dict[str, list], cats: dict[str, list[str]]) -> str:
    """A leaf's conditions, one per input: ``0.3 < cost ≤ 0.6``, ``regime = war``."""
    parts = []
    for name, (lo, hi) in bounds.items():
        if math.isfinite(lo) and math.isfinite(hi):
            parts.append(f"{lo:.4g} < {name} ≤ {hi:.4g}")
        elif math.isfinite(lo):
            parts.append(f"{name} > {lo:.4g}")
        else:
            parts.append(f"{name} ≤ {hi:.4g}")
    for name, conditions in cats.items():
        equal = [c for c in conditions if c.startswith("=")]
        excluded = [c[2:] for c in conditions if c.startswith("≠")]
        if equal:
            parts.append(f"{name} {equal[-1]}")
        else:
            parts.append(
                f"{name} ≠ {excluded[0]}" if len(excluded) == 1 else f"{name} not in {{{', '.join(excluded)}}}"
            )
    return " and ".join(parts) or "(all futures)"


def cart(x: pd.DataFrame, y: np.ndarray, max_depth: int = 3, mass_min: float = MASS_MIN) -> pd.DataFrame:
    """A classification tree (scikit-learn, Gini impurity) of ``y`` on ``x``; one row per leaf, as a box.

    Columns: leaf, rule (the conditions from the root), coverage, density, mass, n, k, predicts
    (the majority class of the leaf). Sorted by density, densest first. Categorical inputs are
    one-hot encoded; a leaf never holds fewer than ``mass_min`` of the futures.
    """
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(y, dtype=bool)
    numeric, categorical = _kinds(x)
    features = pd.get_dummies(x.reset_index(drop=True), columns=categorical, prefix_sep="=", dtype=float)
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(1, int(math.ceil(mass_min * y.size))), random_state=0
    ).fit(features.to_numpy(dtype=float), y)
    leaf_of = tree.apply(features.to_numpy(dtype=float))
    t = tree.tree_
    names = list(features.columns)
    total = int(y.sum())
    rows = []

    def walk(node: int, bounds: dict[str, list], cats: dict[str, list[str]]) -> None:
        if t.children_left[node] == -1:
            members = leaf_of == node
            k, m = int(y[members].sum()), int(members.sum())
            rows.append({"leaf": int(node), "rule": _rule(bounds, cats), "coverage": k / total if total else 0.0,
                         "density": k / m if m else 0.0, "mass": m / y.size, "n": m, "k": k,
                         "predicts": bool(k * 2 > m)})  # fmt: skip
            return
        name, cut = names[t.feature[node]], float(t.threshold[node])
        if "=" in name and name.split("=", 1)[0] in categorical:
            dim, cat = name.split("=", 1)
            walk(t.children_left[node], bounds, {**cats, dim: [*cats.get(dim, []), f"≠ {cat}"]})
            walk(t.children_right[node], bounds, {**cats, dim: [*cats.get(dim, []), f"= {cat}"]})
        else:
            lo, hi = bounds.get(name, [-math.inf, math.inf])
            walk(t.children_left[node], {**bounds, name: [lo, min(hi, cut)]}, cats)
            walk(t.children_right[node], {**bounds, name: [max(lo, cut), hi]}, cats)

    walk(0, {}, {})
    leaves = pd.DataFrame(rows).sort_values(["density", "mass"], ascending=False, ignore_index=True)
    leaves.attrs["max_depth"] = max_depth
    return leaves
