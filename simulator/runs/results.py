"""Run directories: Parquet writer/reader with provenance, written atomically."""

from __future__ import annotations

import json
import platform
import subprocess
import time
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
from simulator.runs.rundir import atomic_directory, load_manifest  # noqa: F401 (atomic_directory: re-exported)
from simulator.runs.stats import POWER_EDGES, describe, histogram_quantiles
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
    """Streams outcome blocks to one Parquet file (one row group per block)."""

    def __init__(self, path: Path):
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, columns: dict[str, np.ndarray], extra: dict[str, np.ndarray] | None = None) -> None:
        data = {**(extra or {}), **columns}
        table = pa.table({k: pa.array(v) for k, v in data.items()})
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


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


def summarise(replicates_path: Path, bloc_codes: list[str], state_codes: list[str]) -> dict:
    """Summary statistics from replicates.parquet, read a column at a time (memory stays small)."""
    pf = pq.ParquetFile(replicates_path)
    names = pf.schema_arrow.names
    n = pf.metadata.num_rows

    def col(name: str) -> np.ndarray:
        return pf.read(columns=[name]).column(0).to_numpy()

    outcomes = {c: describe(col(c)) for c in key_outcomes(names)}
    blocs = {}
    for code in bloc_codes:
        blocs[code] = {
            f: describe(col(f"{code}.{f}"))
            for f in (
                "active",
                "members",
                "effective_power",
                "power_ratio",
                "spending_usd_bn",
                "personnel_k",
                "warheads",
                "formed_step",
            )
            if f"{code}.{f}" in names
        }
    membership = {}
    for code in bloc_codes:
        probs = {}
        for s in state_codes:
            name = f"member.{code}.{s}"
            if name in names:
                probs[s] = float(np.count_nonzero(col(name))) / n if n else 0.0
        membership[code] = probs
    return {"replicates": n, "outcomes": outcomes, "blocs": blocs, "membership": membership}


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
