"""The content digest of a replicates table: its column names, types and values, not the file's bytes.

A Parquet file's bytes also hold the writer's version ("created_by"), which changes with pyarrow even
when every value is the same; the digest covers what the model computed. CI also compares the file
bytes across the Python versions it runs (.ci/run).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

#: The run whose digest is pinned: small, seeded, every shipped mechanism exercised by us_exit.
GOLDEN_RUN = {"scenario": "scenarios/us_exit.yaml", "replicates": 64, "seed": 11, "block_size": 25}


def table_digest(path: Path) -> str:
    """SHA-256 over (name, type, validity, values) of every column, in column order."""
    table = pq.read_table(path)
    h = hashlib.sha256()
    for name, column in zip(table.column_names, table.columns, strict=True):
        h.update(name.encode() + b"\0" + str(column.type).encode() + b"\0")
        column = column.combine_chunks()
        h.update(np.asarray(column.is_valid()).tobytes())
        values = column.to_numpy(zero_copy_only=False)
        if values.dtype == object:
            h.update("\x1f".join("" if v is None else str(v) for v in values).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def golden_run(out_dir: Path, root: Path) -> Path:
    """Run the golden scenario into ``out_dir``; returns its replicates.parquet."""
    from simulator.runs.run import run_scenario
    from simulator.scenario.language import load_scenario

    scenario = load_scenario(root / GOLDEN_RUN["scenario"])
    run_scenario(
        scenario,
        out_dir,
        replicates=GOLDEN_RUN["replicates"],
        seed=GOLDEN_RUN["seed"],
        block_size=GOLDEN_RUN["block_size"],
    )
    return out_dir / "replicates.parquet"
