"""``sim.sweep`` and ``sim.load_sweep``: a sweep's points and replicates as pandas tables, and the EMA
Workbench's ``experiments, outcomes``."""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from simulator.api.scenarios import set_items
from simulator.errors import InputError
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED

if TYPE_CHECKING:
    from analysis.sweep import SweepData


class Sweep:
    """The result of ``sim.sweep`` or ``sim.load_sweep``: points, replicates, summaries, sensitivity.

    Attributes:
        name, design: the sweep's name and design (grid, lhs, sobol, random, saltelli).
        parameters: the swept keys (``parameters.founding_cost``, ``shocks.threat_rise.factor``, ...).
        path: the sweep directory, or None for a sweep kept in memory.
    """

    def __init__(self, data: SweepData, frames: dict[str, pd.DataFrame] | None = None, path: Path | None = None):
        self._data = data
        self._frames = frames
        self.path = path

    @property
    def name(self) -> str:
        return self._data.name

    @property
    def design(self) -> str:
        return self._data.design

    @property
    def parameters(self) -> list[str]:
        return list(self._data.parameters)

    @property
    def manifest(self) -> dict:
        return self._data.manifest

    def __repr__(self) -> str:
        where = f"in {self.path}" if self.path is not None else "in memory"
        return (
            f"<sim.Sweep {self.name}: {self._data.design} design, {self._data.n_points:,} points x "
            f"{self._data.replicates_per_point:,} replicates over {', '.join(self.parameters)}, {where}>"
        )

    @property
    def points(self) -> pd.DataFrame:
        """One row per point: ``point`` and the value of each swept key."""
        return self._data.points

    @functools.cached_property
    def replicates(self) -> pd.DataFrame:
        """One row per (point, replicate): the swept values and the outcomes (memberships of single states left
        out; ``wide`` has every column)."""
        names = [c for c in self._data.columns if not c.startswith("member.")]
        return self._table().select(names).to_pandas()

    @property
    def wide(self) -> pd.DataFrame:
        """replicates.parquet as it is (every column)."""
        return self._table().to_pandas()

    def _table(self):
        if self._data.table is not None:
            return self._data.table
        return pq.read_table(self._data.path / "replicates.parquet")

    def _frame(self, stem: str) -> pd.DataFrame | None:
        if self._frames is not None:
            return self._frames.get(stem)
        path = self._data.path / f"{stem}.parquet"
        return pd.read_parquet(path) if path.exists() else None

    @property
    def summary(self) -> pd.DataFrame:
        """summary.parquet: per point, the probability or the mean and quantiles of each headline outcome."""
        return self._frame("summary")

    @property
    def trajectories(self) -> pd.DataFrame | None:
        """Per point, quarter and bloc: power quantiles."""
        return self._frame("trajectories")

    def estimates(self, outcome: str) -> pd.DataFrame:
        """Per point: the swept values, the estimate of ``outcome`` (probability or mean), its 95% interval and n."""
        from analysis.sweep import point_estimates

        return point_estimates(self._data, outcome)

    def sensitivity(self, outcomes: list[str] | None = None) -> pd.DataFrame:
        """Sobol' indices (Saltelli designs) or correlation ratios, as ``sim sensitivity`` prints them."""
        from analysis.sweep import sensitivity_table

        return sensitivity_table(self._data, outcomes)

    def experiments(self, outcomes: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """The EMA Workbench's ``experiments, outcomes``: one row per (point, replicate) with the swept values
        (and ``point``, ``replicate``), and a dict of outcome arrays in the same row order (default: the
        headline outcomes)."""
        keys = ["point", "replicate", *self.parameters]
        experiments = pd.DataFrame({k: self._data.column(k) for k in keys})
        names = outcomes if outcomes is not None else self._data.outcomes()
        return experiments, {name: self._data.column(name) for name in names}

    def plot(self, out: str | Path, fmt: str = "png", outcomes: list[str] | None = None) -> list[Path]:
        """The figures of ``sim plot SWEEP_DIR`` (response curves, heatmaps, sensitivity) into ``out``."""
        from analysis.sweepfigs import draw_sweep_figures

        return draw_sweep_figures(self._data, Path(out), fmt, outcomes).paths

    def discover(self, outcome: str, **options: Any):
        """Scenario discovery (PRIM, CART) over the swept keys; see ``sim.discover``."""
        from simulator.api.discover import discover

        return discover(self, outcome, **options)


def load_sweep(sweep_dir: str | Path) -> Sweep:
    """Open a finished sweep directory (written by ``sim sweep`` or ``sim.sweep(out=...)``)."""
    from analysis.sweep import read_sweep

    data = read_sweep(Path(sweep_dir))
    return Sweep(data, path=data.path)


def sweep(
    sweep_file: str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    set: Mapping[str, Any] | None = None,  # noqa: A002 (the CLI's --set)
    out: str | Path | None = None,
    workers: int = 0,
    block_size: int | None = None,
    backend: str | None = None,
) -> Sweep:
    """Run a sweep file as ``sim sweep`` does: every point with the same replicate draws (common random numbers).

    Args:
        sweep_file: a sweep YAML file (docs/SWEEPS.md).
        replicates: per point (default: the file's); ``seed``: of the replicate draws (default: the scenario's).
        set: overrides of the base scenario's dotted keys, as ``--set``.
        out: the sweep directory to write (as ``sim sweep --out``); None keeps the result in memory (the
            driver works in a temporary directory, removed once the tables are read).
        workers: local worker processes on an embedded Dask cluster; 0 (default) runs in this process.
        block_size: replicates per task; ``backend``: numpy or numba (the numbers do not change).
    """
    from simulator.runs.evaluators import make_evaluator
    from simulator.runs.sweep.driver import run_sweep
    from simulator.runs.sweep.spec import load_sweep as load_sweep_file
    from simulator.runs.sweep.tasks import plan_sweep

    for name, value, low, high in (("replicates", replicates, 1, MAX_REPLICATES), ("seed", seed, 0, MAX_SEED),
                                   ("workers", workers, 0, 1024), ("block_size", block_size, 1, MAX_REPLICATES)):  # fmt: skip
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise InputError(f"{name}= must be a whole number from {low} to {high:,} (got {value!r})")
    spec = load_sweep_file(sweep_file, set_items(set), replicates=replicates, block_size=block_size)
    plan = plan_sweep(spec, seed)
    if out is not None:
        with make_evaluator(workers) as ev:
            info = run_sweep(plan, Path(out), ev, backend=backend)
        return load_sweep(info.out_dir)
    tmp = Path(tempfile.mkdtemp(prefix="sim-sweep-"))
    try:
        with make_evaluator(workers) as ev:
            run_sweep(plan, tmp / spec.name, ev, backend=backend)
        return _in_memory(tmp / spec.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _in_memory(sweep_dir: Path) -> Sweep:
    """A finished sweep directory read whole into memory (so that the directory can go)."""
    from analysis.sweep import read_sweep

    data = read_sweep(sweep_dir)
    data.table = pq.read_table(sweep_dir / "replicates.parquet")
    frames = {}
    for stem in ("summary", "trajectories", "sensitivity"):
        path = sweep_dir / f"{stem}.parquet"
        if path.exists():
            frames[stem] = pd.read_parquet(path)
    data.path = Path(f"<{data.name} in memory>")
    return Sweep(data, frames)
