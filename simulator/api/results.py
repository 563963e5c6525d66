"""The result of one ensemble for a notebook: tidy pandas tables, figures, and the run directory on request."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from analysis.rundata import RunData
    from simulator.runs.run import Ensemble
    from simulator.scenario.language import Scenario

#: the per-quarter tables of a run directory, by file stem
FRAMES = ("trajectories", "states", "utilities", "step_histograms")
#: the figures of a run (analysis.figures and analysis.network), by name
FIGURES = (
    "power_distribution", "bruegel_gap", "formation_survival", "power_fan", "membership_heatmap",
    "comembership_matrix", "comembership_network",
)  # fmt: skip


@dataclass
class Figure:
    """One figure as drawn (PNG, SVG or PDF bytes); a notebook shows a PNG inline."""

    name: str
    data: bytes
    format: str
    warning: str | None = None
    path: Path | None = None  # where it was saved, if it was

    def _repr_png_(self) -> bytes | None:
        return self.data if self.format == "png" else None

    def save(self, path: str | Path) -> Path:
        """Write the figure to ``path``: a file (``fan.png``), or a directory (an existing one, or a path
        without a suffix, created) that gets NAME.FORMAT inside it."""
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path.mkdir(parents=True, exist_ok=True)
            path = path / f"{self.name}.{self.format}"
        path.write_bytes(self.data)
        self.path = path
        return path


class Plots:
    """``res.plot.power_fan()`` and the other figures of ``sim plot``, drawn from the result in memory.

    Each method returns a :class:`Figure`; ``out=`` also writes it there (a directory or a file).
    """

    def __init__(self, run: RunData) -> None:
        self._run = run

    def __dir__(self) -> list[str]:
        return [*FIGURES, "all"]

    def __getattr__(self, name: str):
        if name not in FIGURES:
            raise AttributeError(f"no figure '{name}'; figures: {', '.join(FIGURES)}")
        return functools.partial(self._draw, name)

    def _draw(self, name: str, out: str | Path | None = None, fmt: str = "png") -> Figure | None:
        """Draw one figure; None when the run has nothing to show in it (e.g. no Bruegel outcomes)."""
        from analysis import figures, network

        draw = getattr(network if name.startswith("comembership") else figures, name)
        with tempfile.TemporaryDirectory(prefix="sim-figure-") as tmp:
            drawn = draw(self._run, Path(tmp), fmt)
            if drawn is None:
                return None
            path, warning = drawn
            figure = Figure(name, Path(path).read_bytes(), fmt, warning)
        if out is not None:
            figure.save(out)
        return figure

    def all(self, out: str | Path, fmt: str = "png") -> list[Path]:
        """Every figure of ``sim plot`` into the directory ``out``; returns the files."""
        from analysis.figures import draw_run_figures

        return draw_run_figures(self._run, Path(out), fmt).paths


class Run:
    """The result of ``sim.run`` or ``sim.load``: what ``sim run`` writes, as pandas tables.

    Attributes:
        name, seed, n: the scenario's name, the root seed and the number of replicates.
        scenario: the validated Scenario that ran (replicates and seed set to the run's).
        path: the run directory, or None for a run kept in memory (``save`` writes one).
    """

    def __init__(self, data: RunData, ensemble: Ensemble | None = None, scenario: Scenario | None = None) -> None:
        self._data = data
        self._ensemble = ensemble
        self._scenario = scenario
        self.path: Path | None = None if ensemble is not None else data.path

    # ------------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        return self._data.name

    @property
    def seed(self) -> int:
        return int(self._data.seed)

    @property
    def n(self) -> int:
        return self._data.n

    @functools.cached_property
    def scenario(self) -> Scenario:
        if self._scenario is not None:
            return self._scenario
        from simulator.scenario.language import load_scenario

        return load_scenario(self._data.path / "scenario.resolved.yaml")

    @property
    def manifest(self) -> dict:
        """Provenance: versions, seed, timings (manifest.json)."""
        return self._data.manifest

    @property
    def summary_dict(self) -> dict:
        """summary.json as a dict."""
        return self._data.summary

    def __repr__(self) -> str:
        where = f"in {self.path}" if self.path is not None else "in memory"
        formed = self._data.summary.get("outcomes", {}).get("euro_alliance_formed")
        headline = ""
        if formed is not None:
            headline = f"; P(European alliance without the US formed) = {formed['p']:.1%}"
        return f"<sim.Run {self.name}: {self.n:,} replicates, seed {self.seed}, {where}{headline}>"

    # ------------------------------------------------------------------ tables
    @functools.cached_property
    def table(self) -> pa.Table:
        """Every outcome column of every replicate (replicates.parquet as an Arrow table)."""
        if self._data.table is not None:
            return self._data.table
        return pq.read_table(self._data.path / "replicates.parquet")

    @property
    def wide(self) -> pd.DataFrame:
        """replicates.parquet as it is: one row per replicate, every column (membership of each state too)."""
        return self.table.to_pandas()

    @functools.cached_property
    def replicates(self) -> pd.DataFrame:
        """One row per replicate: its headline outcomes first, then each bloc's (``EDU.members``, ...); memberships
        of single states are in ``memberships``."""
        from simulator.engine.outcomes import key_outcomes

        names = self.table.column_names
        first = ["replicate", *key_outcomes(names)]
        rest = [c for c in names if c not in first and not c.startswith("member.")]
        return self.table.select(first + rest).to_pandas()

    @functools.cached_property
    def blocs(self) -> pd.DataFrame:
        """Long form of the bloc outcomes: one row per replicate and bloc (active, members, effective_power, ...)."""
        frames = []
        names = self.table.column_names
        for code in self._data.blocs:
            fields = [c for c in names if c.startswith(f"{code}.")]
            part = self.table.select(["replicate", *fields]).to_pandas()
            part.columns = ["replicate", *(c.split(".", 1)[1] for c in fields)]
            part.insert(1, "bloc", code)
            frames.append(part)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @functools.cached_property
    def memberships(self) -> pd.DataFrame:
        """Long form of the memberships at the end: one row per (replicate, bloc, state) where the state is a
        member of the active bloc."""
        replicate = self.table.column("replicate").to_numpy()
        rows = []
        for name in self.table.column_names:
            if name.startswith("member."):
                _, bloc, state = name.split(".", 2)
                held = np.flatnonzero(self.table.column(name).to_numpy(zero_copy_only=False))
                if held.size:
                    rows.append(pd.DataFrame({"replicate": replicate[held], "bloc": bloc, "state": state}))
        if not rows:
            return pd.DataFrame({"replicate": pd.Series(dtype="int64"), "bloc": [], "state": []})
        return pd.concat(rows, ignore_index=True).sort_values(["replicate", "bloc", "state"], ignore_index=True)

    @functools.cached_property
    def summary(self) -> pd.DataFrame:
        """summary.json as a tidy table: one row per outcome (headline, then each bloc's).

        Probabilities (``kind`` probability) have ``p`` with its 95% Wilson interval ``p_lo``-``p_hi``;
        amounts (``kind`` amount) the ``mean``, ``median`` and the quantiles ``q05``-``q95`` over the
        replicates (how the futures spread, not an uncertainty of the median).
        """
        from analysis.tables import label

        s = self._data.summary
        rows = [_summary_row(name, None, d, label(name)) for name, d in s.get("outcomes", {}).items()]
        for code, fields in s.get("blocs", {}).items():
            rows += [_summary_row(f"{code}.{f}", code, d, label(f"{code}.{f}")) for f, d in fields.items()]
        return pd.DataFrame(rows)

    @functools.cached_property
    def membership_probability(self) -> pd.DataFrame:
        """P(state is a member of the bloc at the end): one row per bloc and state (from summary.json)."""
        rows = [
            {"bloc": bloc, "state": state, "p": p}
            for bloc, probs in self._data.summary.get("membership", {}).items()
            for state, p in probs.items()
        ]
        return pd.DataFrame(rows, columns=["bloc", "state", "p"])

    @functools.cached_property
    def events(self) -> pd.DataFrame:
        """Every application, candidate status, rejection (with who voted no), admission, exit and founding."""
        if self._ensemble is not None:
            return pa.concat_tables(self._ensemble.events.tables).to_pandas()
        return pq.read_table(self._data.path / "events.parquet").to_pandas()

    def _frame(self, stem: str) -> pd.DataFrame:
        if self._ensemble is not None:
            return self._ensemble.frames[stem]
        return pd.read_parquet(self._data.path / f"{stem}.parquet")

    @property
    def trajectories(self) -> pd.DataFrame:
        """Per quarter and bloc: mean and quantiles of effective power, mean members."""
        return self._frame("trajectories")

    @property
    def states(self) -> pd.DataFrame:
        """Per quarter, state and metric (spending, threat): quantiles over the replicates."""
        return self._frame("states")

    @property
    def utilities(self) -> pd.DataFrame:
        """Per quarter, state and bloc: quantiles of the utility the state sees in the bloc."""
        return self._frame("utilities")

    @functools.cached_property
    def inputs(self) -> pd.DataFrame:
        """What varied between replicates: parameters drawn from distributions (or a posterior) and shock
        quarters drawn from a window, one row per replicate (only ``replicate`` if nothing varied)."""
        from simulator.runs.inputs import replicate_inputs

        return replicate_inputs(self.scenario, self.seed, self.table.column("replicate").to_numpy())

    def experiments(self, outcomes: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """The EMA Workbench's ``experiments, outcomes``: the inputs of each replicate, and a dict of outcome
        arrays in the same row order (default: the headline outcomes)."""
        return self.inputs, _outcome_arrays(self.table, outcomes)

    # ------------------------------------------------------------------ figures and files
    @functools.cached_property
    def plot(self) -> Plots:
        """The figures: ``res.plot.power_fan()``, ``res.plot.power_distribution()``, ... (see ``sim plot``)."""
        return Plots(self._data)

    def save(self, out: str | Path, force: bool = False, figures: bool = True) -> Path:
        """Write the run directory that ``sim run --out OUT`` would have written (the same files, byte for byte,
        but for the timings and dates of manifest.json); ``force`` replaces a run directory written by sim."""
        if self._ensemble is None:
            raise ValueError(f"this run is already a directory ({self.path}); copy it, or run again with out=")
        from simulator.runs.run import save_ensemble

        def draw(tmp: Path) -> None:
            if figures:
                from analysis.figures import run_figures

                run_figures(tmp, tmp / "figures")

        info = save_ensemble(self._ensemble, Path(out), overwrite=force, after_write=draw)
        return info.out_dir

    def discover(self, outcome: str, **options: Any):
        """Scenario discovery (PRIM, CART) over this run's inputs; see ``sim.discover``."""
        from simulator.api.discover import discover

        return discover(self, outcome, **options)


def _summary_row(name: str, bloc: str | None, d: dict, text: str) -> dict:
    row: dict[str, Any] = {"outcome": name, "label": text, "bloc": bloc, "n": d.get("n")}
    if d.get("kind") == "probability":
        row |= {"kind": "probability", "p": d["p"], "p_lo": d["lo"], "p_hi": d["hi"]}
    else:
        row |= {"kind": "amount", **{k: d.get(k) for k in ("mean", "median", "q05", "q25", "q75", "q95")}}
    return row


def _outcome_arrays(table: pa.Table, outcomes: list[str] | None) -> dict[str, np.ndarray]:
    from simulator.engine.outcomes import key_outcomes
    from simulator.errors import InputError, suggest

    names = outcomes if outcomes is not None else key_outcomes(table.column_names)
    out = {}
    for name in names:
        if name not in table.column_names:
            raise InputError(f"no outcome '{name}'{suggest(name, [c for c in table.column_names if '.' not in c])}")
        out[name] = table.column(name).to_numpy(zero_copy_only=False)
    return out


def memory_run(ensemble: Ensemble) -> Run:
    """A Run over an ensemble kept in memory (``run_ensemble(..., directory=None)``)."""
    from analysis.rundata import RunData
    from simulator.runs.results import manifest

    sc = ensemble.scenario
    man = manifest(sc, sc.seed, sc.replicates, ensemble.block_size, ensemble.workers, ensemble.started,
                   ensemble.timings) | {"backend": ensemble.backend}  # fmt: skip
    table = pa.concat_tables(ensemble.replicates.tables)
    data = RunData(
        path=Path(f"<{sc.name} in memory>"), manifest=man, summary=ensemble.summary,
        scenario=sc.model_dump(mode="json"), table=table, frames=ensemble.frames,
    )  # fmt: skip
    return Run(data, ensemble, sc)


def load(run_dir: str | Path) -> Run:
    """Open a run directory written by ``sim run`` (or ``Run.save``); checks it against its manifest."""
    from analysis.rundata import load_run

    return Run(load_run(Path(run_dir)))
