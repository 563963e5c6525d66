"""Run directories: Parquet writer/reader with provenance, written atomically."""

from __future__ import annotations

import json
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from simulator import __version__
from simulator.engine.outcomes import key_outcomes
from simulator.runs.blocks import BlockResult
from simulator.runs.parquet_stream import StreamingParquetWriter
from simulator.runs.rundir import atomic_directory, load_manifest  # noqa: F401 (atomic_directory: re-exported)
from simulator.runs.stats import POWER_EDGES, describe, describe_count, describe_numeric, histogram_quantiles
from simulator.scenario.language import Scenario, quarter_label, scenario_hash

COMPLETE_MARKER = "manifest.json"  # written last: a directory without it is not a finished run
QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def git_revision() -> str | None:
    """The git revision of the source tree, if it is a checkout."""
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def write_json(path: Path, data: Any) -> None:
    """Write strict JSON atomically (temp file + rename): a value that is not finite is written as null."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(_finite(data), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


def _finite(data: Any) -> Any:
    """``data`` with NaN and infinities (Python or numpy floats) replaced by None, at any depth."""
    if isinstance(data, float | np.floating):
        return float(data) if np.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    if isinstance(data, np.ndarray) and data.dtype.kind == "f":
        return _finite(data.tolist())
    return data


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


class ReplicateWriter:
    """Streams outcome blocks to one Parquet file (one row group per block), or keeps them in memory.

    The file is what one ``pq.ParquetWriter(path, schema, compression="zstd")`` writes, byte for
    byte, but the row groups' metadata goes to disk as they are written, not to memory
    (simulator.runs.parquet_stream), so memory does not grow with the number of blocks.
    With ``path`` None (the Python API's in-memory run) each block's Arrow table is kept in
    ``tables`` instead; ``write_tables`` later writes them as the same file, byte for byte.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.writer: StreamingParquetWriter | None = None
        self.tables: list[pa.Table] = []
        self.rows = 0

    def write(self, columns: dict[str, np.ndarray], extra: dict[str, np.ndarray] | None = None) -> None:
        data = {**(extra or {}), **columns}
        table = pa.table({k: pa.array(v) for k, v in data.items()})
        self.rows += table.num_rows
        if self.path is None:
            self.tables.append(table)
            return
        if self.writer is None:
            self.writer = StreamingParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_tables(path: Path, tables: list[pa.Table], schema: pa.Schema | None = None, **options: Any) -> None:
    """Write tables kept in memory as one Parquet file, one row group per table: the bytes their
    streaming writer (``ReplicateWriter``, ``EventWriter``) would have written block by block."""
    writer = StreamingParquetWriter(path, schema if schema is not None else tables[0].schema, **options)
    try:
        for table in tables:
            writer.write_table(table)
    finally:
        writer.close()


class StepAccumulator:
    """Merges per-step histograms of blocks into fan-chart quantiles."""

    def __init__(self) -> None:
        self.hist: np.ndarray | None = None
        self.power_sum: np.ndarray | None = None
        self.members_sum: np.ndarray | None = None
        self.n = 0
        self.phase_seconds: dict[str, float] = {}

    def add(self, block: BlockResult) -> None:
        if self.hist is None:
            self.hist = block.power_hist.copy()
            self.power_sum = block.power_sum.copy()
            self.members_sum = block.members_sum.copy()
        else:
            self.hist += block.power_hist
            self.power_sum += block.power_sum
            self.members_sum += block.members_sum
        self.n += block.stop - block.start
        for k, v in block.phase_seconds.items():
            self.phase_seconds[k] = self.phase_seconds.get(k, 0.0) + v

    def frame(self, bloc_codes: list[str], start: str) -> pd.DataFrame:
        """Long table: step, quarter, bloc, mean power, quantiles, mean members."""
        q = histogram_quantiles(self.hist, QUANTILES)
        rows = []
        T, B = self.power_sum.shape
        for t in range(T):
            for b in range(B):
                row = {"step": t, "quarter": quarter_label(start, t), "bloc": bloc_codes[b], "n": self.n}
                row["mean_power"] = self.power_sum[t, b] / self.n
                for k, qq in enumerate(QUANTILES):
                    row[f"q{int(qq * 100):02d}_power"] = q[t, b, k]
                row["mean_members"] = self.members_sum[t, b] / self.n
                rows.append(row)
        return pd.DataFrame(rows)

    def histogram_frame(self, bloc_codes: list[str]) -> pd.DataFrame:
        """Long table of the merged histograms (mergeable across runs and sweep points)."""
        t, b, k = np.nonzero(self.hist)
        return pd.DataFrame({
            "step": t, "bloc": np.array(bloc_codes)[b], "bin_low": POWER_EDGES[k], "bin_high": POWER_EDGES[k + 1],
            "count": self.hist[t, b, k],
        })  # fmt: skip


#: the bloc outcomes described in summary.json, in display order
SUMMARY_BLOC_FIELDS = (
    "active", "members", "effective_power", "power_ratio", "spending_usd_bn", "personnel_k", "warheads", "formed_step",
)  # fmt: skip


def summarise(replicates_path: Path, bloc_codes: list[str], state_codes: list[str]) -> dict:
    """Summary statistics from replicates.parquet, read a column at a time.

    ``sim run`` builds the same summary block by block (``SummaryAccumulator``) instead, without
    reading the file back (whose footer alone grows with the number of row groups).
    """
    pf = pq.ParquetFile(replicates_path)

    def col(name: str) -> np.ndarray:
        return pf.read(columns=[name]).column(0).to_numpy()

    return _summary(
        pf.schema_arrow.names,
        pf.metadata.num_rows,
        bloc_codes,
        state_codes,
        lambda name: describe(col(name)),
        lambda name: int(np.count_nonzero(col(name))),
    )


def _summary(
    names: list[str],
    n: int,
    bloc_codes: list[str],
    state_codes: list[str],
    describe_column: Callable[[str], dict],
    count_nonzero: Callable[[str], int],
) -> dict:
    """The summary of replicates.parquet, given how to describe a column and count its true values."""
    outcomes = {c: describe_column(c) for c in key_outcomes(names)}
    blocs = {}
    for code in bloc_codes:
        blocs[code] = {f: describe_column(f"{code}.{f}") for f in SUMMARY_BLOC_FIELDS if f"{code}.{f}" in names}
    membership = {}
    for code in bloc_codes:
        probs = {}
        for s in state_codes:
            name = f"member.{code}.{s}"
            if name in names:
                probs[s] = float(count_nonzero(name)) / n if n else 0.0
        membership[code] = probs
    return {"replicates": n, "outcomes": outcomes, "blocs": blocs, "membership": membership}


class SummaryAccumulator:
    """The summary of replicates.parquet built as blocks arrive, equal to ``summarise`` of the file.

    Probabilities need only counts, kept as blocks arrive. Quantiles and means of amounts need
    every value: each described numeric column is appended to an anonymous spool file in ``spool_dir``
    and read back, one column at a time, at the end (8 bytes per replicate and column on disk; in
    memory, one column at a time). The values come back in replicate order, so means and quantiles
    are bit for bit those of ``summarise``.
    """

    def __init__(self, spool_dir: Path | None, bloc_codes: list[str], state_codes: list[str]) -> None:
        self.spool_dir = Path(spool_dir) if spool_dir is not None else None  # None: the system's temporary files
        self.bloc_codes = bloc_codes
        self.state_codes = state_codes
        self.names: list[str] | None = None
        self.n = 0
        self.counts: dict[str, int] = {}  # column -> replicates where it is true (or non-zero)
        self.spools: dict[str, tuple[Any, np.dtype]] = {}  # numeric column -> (spool file, dtype)

    def add(self, columns: dict[str, np.ndarray]) -> None:
        """Count or spool one block's outcome columns (the dict ReplicateWriter writes)."""
        if self.names is None:
            self._start(columns)
        for name in self.counts:
            self.counts[name] += int(np.count_nonzero(columns[name]))
        for name, (spool, dtype) in self.spools.items():
            spool.write(np.ascontiguousarray(columns[name], dtype=dtype).tobytes())
        self.n += len(next(iter(columns.values()))) if columns else 0

    def _start(self, columns: dict[str, np.ndarray]) -> None:
        self.names = list(columns)
        described = key_outcomes(self.names) + [
            f"{code}.{f}" for code in self.bloc_codes for f in SUMMARY_BLOC_FIELDS if f"{code}.{f}" in columns
        ]
        for name in described:
            if columns[name].dtype == bool:
                self.counts[name] = 0
            else:
                spool = tempfile.TemporaryFile(dir=self.spool_dir)  # noqa: SIM115 (closed in close())
                self.spools[name] = (spool, columns[name].dtype)
        for code in self.bloc_codes:
            for s in self.state_codes:
                if f"member.{code}.{s}" in columns:
                    self.counts.setdefault(f"member.{code}.{s}", 0)

    def _describe(self, name: str) -> dict:
        if name in self.spools:
            spool, dtype = self.spools[name]
            spool.seek(0)
            return describe_numeric(np.fromfile(spool, dtype=dtype))
        return describe_count(self.counts[name], self.n)

    def summary(self) -> dict:
        """The summary (as ``summarise`` gives it from the finished file)."""
        return _summary(
            self.names or [], self.n, self.bloc_codes, self.state_codes, self._describe, self.counts.__getitem__
        )

    def close(self) -> None:
        """Remove the spool files."""
        for spool, _ in self.spools.values():
            spool.close()
        self.spools = {}


def scenario_yaml(scenario: Scenario) -> str:
    """The resolved scenario as YAML (every default filled in)."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def manifest(
    scenario: Scenario, seed: int, replicates: int, block_size: int, workers: int, started: float, timings: dict
) -> dict:
    """Provenance of a run."""
    import mesa

    return {
        "package": "coalition-sim",
        "version": __version__,
        "git_revision": git_revision(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mesa": mesa.__version__,
        "platform": platform.platform(),
        "scenario": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "seed": seed,
        "replicates": replicates,
        "steps": scenario.steps,
        "start_quarter": scenario.start,
        "block_size": block_size,
        "workers": workers,
        "started": datetime.fromtimestamp(started, UTC).isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "seconds": time.time() - started,
        "timings": timings,
    }


def read_manifest(run_dir: Path) -> dict:
    """The manifest of a finished run; InputError if the directory is not one (see simulator.runs.rundir)."""
    return load_manifest(run_dir)
