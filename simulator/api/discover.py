"""``sim.discover``: scenario discovery (PRIM, CART) over a sweep's or a run's inputs and one outcome."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulator.errors import InputError, suggest

if TYPE_CHECKING:
    from analysis.discovery import Prim

LEVELS = ("replicates", "points")


@dataclass
class Discovery:
    """What ``sim.discover`` found: the PRIM trajectory and box, the CART leaves, and the data they used.

    Attributes:
        outcome: the outcome column; ``case``: the case of interest in words.
        level: "replicates" (one row per future) or "points" (one row per sweep point).
        x, y: the inputs (one column per swept key or drawn input) and the cases of interest.
        prim: analysis.discovery.Prim (``.trajectory``, ``.box``, ``.limits()``).
        cart: one row per CART leaf (rule, coverage, density, mass), densest first.
        source: what was analysed (sweep or run, its size and seed), for figure notes.
    """

    outcome: str
    case: str
    level: str
    x: pd.DataFrame
    y: np.ndarray
    prim: Prim
    cart: pd.DataFrame
    source: str

    @property
    def trajectory(self) -> pd.DataFrame:
        return self.prim.trajectory

    @property
    def box(self) -> pd.DataFrame:
        """The chosen box's restricted inputs with their ranges and quasi-p values."""
        return self.prim.limits()

    def plot(self, out: str | Path, fmt: str = "png") -> list[Path]:
        """The peeling trajectory (coverage against density) and the chosen box, into the directory ``out``."""
        from analysis.discoveryfigs import discovery_figures

        return discovery_figures(self, Path(out), fmt).paths


def discover(
    source: Any,
    outcome: str,
    above: float | None = None,
    below: float | None = None,
    level: str = "replicates",
    threshold: float = 0.5,
    inputs: list[str] | None = None,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    box: int | str = "balanced",
    cart_depth: int = 3,
) -> Discovery:
    """In which futures does ``outcome`` happen? PRIM and CART over the inputs that vary.

    Args:
        source: a Sweep or a Run (sim.sweep, sim.run, sim.load...), a sweep or run directory, or the
            EMA Workbench's ``(experiments, outcomes)``.
        outcome: an outcome column (``euro_alliance_formed``, ``EDU.effective_power``), its label as the
            tables print it, or ``"BLOC formed"`` (the bloc was founded during the run).
        above, below: the case of interest for an amount: the outcome is at least ``above`` or at most
            ``below``. A yes/no outcome's case is "yes" (``below=0.5`` asks for "no").
        level: "replicates" (each future is a row: a point's swept values with one replicate's outcome)
            or "points" (sweeps: each point is a row, a case where the share of its replicates that are
            cases is at least ``threshold``).
        inputs: the inputs to use (default: every swept key, or every input a run drew per replicate).
        peel_alpha, paste_alpha, mass_min, box: PRIM's options (analysis.discovery.prim; ``box`` selects).
        cart_depth: the depth of the CART tree.
    """
    from analysis.discovery import cart, prim

    if level not in LEVELS:
        raise InputError(f"level '{level}' is not valid; valid: {', '.join(LEVELS)}")
    if above is not None and below is not None:
        raise InputError("give either above= or below=, not both")
    for name, value in (("above", above), ("below", below), ("threshold", threshold)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            raise InputError(f"{name}= must be a number (got {value!r})")
    for name, value in (("peel_alpha", peel_alpha), ("paste_alpha", paste_alpha), ("mass_min", mass_min)):
        if not 0 < value < 0.5:
            raise InputError(f"{name}= must be between 0 and 0.5 (got {value!r})")
    if not isinstance(cart_depth, int) or not 1 <= cart_depth <= 8:
        raise InputError(f"cart_depth= must be a whole number from 1 to 8 (got {cart_depth!r})")
    x, values, name, source_note, point = _data(source, outcome, level)
    y, case = _cases(values, name, above, below)
    if level == "points":
        if point is None:
            raise InputError("level='points' needs a sweep (a run has no points)")
        share = pd.Series(y).groupby(point).mean()
        x = x.assign(_point=point).drop_duplicates("_point").set_index("_point").loc[share.index]
        y = share.to_numpy() >= threshold
        case = f"P({case}) >= {threshold:g} at a point"
        x = x.reset_index(drop=True)
    x = _chosen_inputs(x, inputs)
    k = int(y.sum())
    if k == 0 or k == y.size:
        rows = "point" if level == "points" else "future"
        raise InputError(
            f"{case}: {'no' if k == 0 else 'every'} {rows} of {y.size:,} is a case; discovery needs both "
            "(choose another outcome, --above/--below, or a sweep that varies more)"
        )
    try:
        found = prim(x, y, peel_alpha, paste_alpha, mass_min, box)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    tree = cart(x, y, cart_depth, mass_min)
    return Discovery(name, case, level, x, y, found, tree, source_note)


def _data(source: Any, outcome: str, level: str):
    """(inputs, outcome values, outcome column, source note, point of each row or None)."""
    from simulator.api.results import Run, load
    from simulator.api.sweeping import Sweep, load_sweep

    if isinstance(source, str | Path):
        from analysis.rundata import is_sweep_dir

        path = Path(source)
        if not path.is_dir():
            raise InputError(f"'{path}' is not a directory; give a sweep or run directory")
        source = load_sweep(path) if is_sweep_dir(path) else load(path)
    if isinstance(source, Sweep):
        data = source._data
        name = resolve_outcome(outcome, data.columns)
        x = pd.DataFrame({p: data.column(p) for p in source.parameters})
        return x, _values(outcome, name, data.column), name, data.source_note(), data.column("point")
    if isinstance(source, Run):
        inputs = source.inputs.drop(columns="replicate")
        if inputs.empty:
            raise InputError(
                f"nothing varied between the replicates of run {source.name} (no parameter drawn from a distribution, "
                "no shock quarter drawn from a window): discover over a sweep, or give parameters distributions"
            )
        name = resolve_outcome(outcome, source.table.column_names)
        values = _values(outcome, name, lambda c: source.table.column(c).to_numpy(zero_copy_only=False))
        return inputs, values, name, source._data.source_note(), None
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], pd.DataFrame):
        experiments, outcomes = source
        outcomes = dict(outcomes) if isinstance(outcomes, dict) else {outcome: np.asarray(outcomes)}
        name = resolve_outcome(outcome, list(outcomes))
        x = experiments.drop(columns=[c for c in ("point", "replicate") if c in experiments.columns])
        point = experiments["point"].to_numpy() if "point" in experiments.columns else None
        return x, _values(outcome, name, lambda c: np.asarray(outcomes[c])), name, "experiments given", point
    raise InputError(
        f"discover needs a Sweep, a Run, a sweep or run directory, or (experiments, outcomes); got {type(source).__name__}"
    )


def resolve_outcome(outcome: str, columns: list[str]) -> str:
    """The column an outcome names: itself, its printed label, or ``BLOC formed`` (``BLOC.formed_step``)."""
    from analysis.tables import label

    if outcome in columns:
        return outcome
    words = outcome.strip()
    if words.lower().endswith(" formed"):
        bloc = words[: -len(" formed")].strip()
        if f"{bloc}.formed_step" in columns:
            return f"{bloc}.formed_step"
    by_label = {label(c).lower(): c for c in columns if not c.startswith("member.")}
    if words.lower() in by_label:
        return by_label[words.lower()]
    shown = [c for c in columns if not c.startswith("member.") and c not in ("point", "replicate")]
    raise InputError(f"no outcome '{outcome}'{suggest(outcome, shown)}")


def _values(outcome: str, name: str, column) -> np.ndarray:
    values = np.asarray(column(name))
    if outcome != name and name.endswith(".formed_step"):  # "BLOC formed": founded during the run (NaN: never)
        return np.isfinite(values.astype(float))
    return values


def _cases(values: np.ndarray, name: str, above: float | None, below: float | None) -> tuple[np.ndarray, str]:
    formed = values.dtype == bool and name.endswith(".formed_step")
    what = name.removesuffix(".formed_step") + " formed" if formed else name
    if values.dtype == bool and above is None and below is None:
        return values.copy(), what
    if values.dtype.kind not in "biuf":
        raise InputError(f"outcome '{name}' is not a number or yes/no")
    if above is None and below is None:
        raise InputError(f"outcome '{name}' is an amount: say which futures are cases with --above or --below")
    x = values.astype(float)
    with np.errstate(invalid="ignore"):
        if above is not None:
            return np.nan_to_num(x, nan=-np.inf) >= above, f"{what} >= {above:g}"
        return np.nan_to_num(x, nan=np.inf) <= below, f"{what} <= {below:g}"


def _chosen_inputs(x: pd.DataFrame, inputs: list[str] | None) -> pd.DataFrame:
    if inputs is None:
        return x
    missing = [i for i in inputs if i not in x.columns]
    if missing:
        raise InputError(f"no input '{missing[0]}'{suggest(missing[0], list(x.columns))}")
    return x[list(inputs)]
