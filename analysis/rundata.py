"""Reading a finished run directory: outcomes, summary, per-step quantiles, scenario and provenance."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.errors import InputError, StorageError
from simulator.runs.results import read_manifest
from simulator.runs.rundir import verify_checksums

DATA_NOTE = "data SIPRI/IMF/IISS (docs/DATA.md)"
REGION_ORDER = [
    "north_america",
    "western_europe",
    "nordic",
    "baltic",
    "central_europe",
    "southern_europe",
    "south_east_europe",
    "eastern_europe",
    "eurasia",
    "asia_pacific",
]


def is_sweep_dir(path: Path) -> bool:
    """A sweep directory holds points.parquet next to its replicates."""
    return (Path(path) / "points.parquet").exists()


def damaged_parquet(path: Path, exc: Exception) -> StorageError:
    """The one-line error of a Parquet file that cannot be read (truncated, garbled, not Parquet)."""
    reason = " ".join(str(exc).split())[:160] or type(exc).__name__
    return StorageError(f"'{path}' is not a readable Parquet file ({reason}); the directory is damaged, run it again")


def read_parquet_frame(path: Path, **kwargs) -> pd.DataFrame:
    """pandas.read_parquet with a one-line error for a damaged file."""
    try:
        return pd.read_parquet(path, **kwargs)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise damaged_parquet(path, exc) from None


def check_unique(path: Path, *keys: np.ndarray) -> None:
    """A one-line error if rows of ``path`` repeat the same key (replicate, or point and replicate)."""
    if not keys or keys[0].size == 0:
        return
    order = np.lexsort(keys[::-1])
    same = np.ones(keys[0].size - 1, dtype=bool)
    for k in keys:
        s = k[order]
        same &= s[1:] == s[:-1]
    if same.any():
        i = order[int(np.argmax(same)) + 1]
        what = ", ".join(f"{v[i]}" for v in keys)
        name = "replicate" if len(keys) == 1 else "(point, replicate)"
        raise StorageError(
            f"'{path}' holds {name} {what} more than once: duplicated rows would be counted as replicates; "
            "the directory is damaged, run it again"
        )


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"'{path.parent}' has no {path.name}; is it a run directory written by sim run?") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg})", str(path), exc.lineno) from None


@dataclass
class RunData:
    """A run directory, read lazily one column at a time (memory stays near one column per outcome).

    ``table``: the outcomes already in memory (a run of the Python API that has no directory); the
    columns are then read from it instead of ``path``/replicates.parquet, and ``frames`` holds the
    per-quarter tables by file stem (trajectories, states, ...).
    """

    path: Path
    manifest: dict
    summary: dict
    scenario: dict
    _cache: dict = field(default_factory=dict, repr=False)
    table: pa.Table | None = field(default=None, repr=False)
    frames: dict | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.manifest.get("scenario") or self.path.name)

    @property
    def n(self) -> int:
        return self.table.num_rows if self.table is not None else int(self._file.metadata.num_rows)

    @property
    def seed(self) -> int | None:
        return self.manifest.get("seed")

    @property
    def blocs(self) -> list[str]:
        return list(self.summary.get("blocs") or self.summary.get("bloc_names") or [])

    @property
    def bloc_names(self) -> dict[str, str]:
        names = self.summary.get("bloc_names") or {}
        return {b: names.get(b, b) for b in self.blocs}

    @property
    def adversary(self) -> str | None:
        return self.summary.get("adversary")

    @property
    def steps(self) -> int:
        return int(self.manifest.get("steps") or self.summary.get("steps") or self.scenario.get("steps") or 0)

    @property
    def start(self) -> str:
        return str(self.manifest.get("start_quarter") or self.summary.get("start") or "2026Q1")

    @property
    def states(self) -> list[str]:
        """State codes in the order of the member.* columns."""
        seen: dict[str, None] = {}
        for c in self.columns:
            if c.startswith("member."):
                seen.setdefault(c.split(".", 2)[2], None)
        return list(seen)

    def source_note(self) -> str:
        """The one-line source note printed under every figure."""
        version = self.manifest.get("version", "?")
        return (
            f"Source: coalition-sim {version}, scenario {self.name}, {self.n:,} replicates (seed {self.seed}), "
            f"{self.steps} quarters from {self.start}; {DATA_NOTE}."
        )

    # ------------------------------------------------------------------ data
    @functools.cached_property
    def _file(self) -> pq.ParquetFile:
        path = self.path / "replicates.parquet"
        try:
            return pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise damaged_parquet(path, exc) from None

    @property
    def columns(self) -> list[str]:
        return list((self.table.schema if self.table is not None else self._file.schema_arrow).names)

    def has(self, name: str) -> bool:
        return name in self.columns

    def column(self, name: str) -> np.ndarray:
        """One outcome column as a numpy array (replicate order as stored)."""
        if name not in self._cache:
            if name not in self.columns:
                raise InputError(f"run '{self.path}' has no outcome column '{name}'")
            if self.table is not None:
                self._cache[name] = self.table.column(name).to_numpy()
                return self._cache[name]
            try:
                self._cache[name] = self._file.read(columns=[name]).column(0).to_numpy()
            except (pa.ArrowException, OSError) as exc:
                raise damaged_parquet(self.path / "replicates.parquet", exc) from None
        return self._cache[name]

    def frame(self, names: list[str]) -> pd.DataFrame:
        """Several outcome columns as a DataFrame indexed by replicate."""
        data = {c: self.column(c) for c in names}
        return pd.DataFrame(data, index=pd.Index(self.column("replicate"), name="replicate"))

    def membership(self) -> np.ndarray:
        """(R, S, B) booleans: state s ends in active bloc b (states as ``self.states``, blocs as ``self.blocs``)."""
        states, blocs = self.states, self.blocs
        out = np.zeros((self.n, len(states), len(blocs)), dtype=bool)
        for b, code in enumerate(blocs):
            for s, iso in enumerate(states):
                name = f"member.{code}.{iso}"
                if self.has(name):
                    out[:, s, b] = self.column(name)
        return out

    @functools.cached_property
    def trajectories(self) -> pd.DataFrame | None:
        if self.frames is not None:
            return self.frames.get("trajectories")
        path = self.path / "trajectories.parquet"
        return read_parquet_frame(path) if path.exists() else None

    @functools.cached_property
    def state_meta(self) -> pd.DataFrame:
        """Name, region and capital coordinates of every state (baseline plus scenario additions)."""
        from simulator.scenario.baseline import load_baseline

        meta = load_baseline().states[["name", "region", "capital_lat", "capital_lon"]].copy()
        added = (self.scenario.get("world") or {}).get("add_states") or []
        for extra in added:
            meta.loc[extra["iso3"]] = [extra["name"], extra["region"], extra["capital_lat"], extra["capital_lon"]]
        return meta

    def states_by_region(self) -> list[str]:
        """The run's states grouped by region (west to east), in baseline order inside a region."""
        meta = self.state_meta
        rank = {r: i for i, r in enumerate(REGION_ORDER)}

        def key(item: tuple[int, str]) -> tuple[int, int]:
            i, iso = item
            region = meta.loc[iso, "region"] if iso in meta.index else "other"
            return (rank.get(region, len(rank)), i)

        return [iso for _, iso in sorted(enumerate(self.states), key=key)]

    def shock_steps(self) -> list[tuple[int, str]]:
        """(step, name) of the scenario's scheduled shocks (those with a fixed ``at``)."""
        out = []
        for shock in self.scenario.get("shocks") or []:
            if shock.get("at") is not None:
                out.append((int(shock["at"]), str(shock.get("name") or shock.get("type"))))
        return sorted(out)


def load_run(path: Path, finished: bool = True) -> RunData:
    """Open a run directory; InputError (one line) if it is missing or not a run.

    Args:
        path: the run directory.
        finished: require the manifest (written last). ``sim run`` draws its figures before the
            manifest exists, so it passes False; provenance then comes from the summary.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"run directory '{path}' not found")
    if is_sweep_dir(path):
        raise InputError(f"'{path}' is a sweep directory, not a run; this command needs a run directory")
    manifest = read_manifest(path) if finished or (path / "manifest.json").exists() else {}
    verify_checksums(path, manifest)  # a file changed or cut short since sim wrote it: one line, exit 2
    if not (path / "replicates.parquet").exists():
        raise InputError(f"'{path}' has no replicates.parquet; is it a run directory written by sim run?")
    summary = _read_json(path / "summary.json")
    if not manifest:
        from simulator import __version__

        manifest = {
            "version": __version__,
            "scenario": summary.get("scenario"),
            "seed": summary.get("seed"),
            "steps": summary.get("steps"),
            "start_quarter": summary.get("start"),
            "replicates": summary.get("replicates"),
        }
    scenario: dict = {}
    resolved = path / "scenario.resolved.yaml"
    if resolved.exists():
        from simulator.scenario.yamlio import load_yaml_file

        data = load_yaml_file(resolved).data  # within the YAML limits; errors name the file and line
        scenario = data if isinstance(data, dict) else {}
    run = RunData(path=path, manifest=manifest, summary=summary, scenario=scenario)
    if "replicate" in run.columns:
        check_unique(path / "replicates.parquet", run.column("replicate"))
    return run
