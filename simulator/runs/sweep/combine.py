"""The final tables of a sweep, combined from its part files: points, replicates, summary, trajectories."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.runs.blocks import BlockResult
from simulator.runs.results import StepAccumulator
from simulator.runs.stats import wilson
from simulator.runs.sweep.sensitivity import sensitivity_table
from simulator.runs.sweep.spec import SweepPoint
from simulator.runs.sweep.tasks import SweepPlan, Task, part_path, steps_path

RESULT_FILES = ("points.parquet", "replicates.parquet", "summary.parquet", "trajectories.parquet")
SUMMARY_BATCH = 256
ROW_GROUP = 16_384


# ---------------------------------------------------------------- final tables
def points_table(plan: SweepPlan) -> pa.Table:
    """Point index and the value of every swept key."""
    cols: dict[str, pa.Array] = {"point": pa.array([p.index for p in plan.points], type=pa.int64())}
    for param in plan.sweep.parameters:
        cols[param.path] = _column([p.values[param.path] for p in plan.points])
    return pa.table(cols)


def _column(values: list[Any]) -> pa.Array:
    values = [json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v for v in values]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values) and any(
        isinstance(v, float) for v in values
    ):
        return pa.array([float(v) for v in values], type=pa.float64())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([str(v) for v in values], type=pa.string())


def write_table(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _outcome_schema(plan: SweepPlan, out: Path) -> pa.Schema:
    """The union of the parts' columns (points that change the world may add blocs or states)."""
    seen: dict[tuple, pa.Schema] = {}
    for p in plan.points:
        schema = pq.read_schema(part_path(out, Task(p.index, 0, *plan.blocks[0])))
        seen.setdefault(tuple(schema.names), schema)
    schema = pa.unify_schemas(list(seen.values())) if len(seen) > 1 else next(iter(seen.values()))
    return pa.schema([f for f in schema if f.name != "point"]).remove_metadata()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        i = table.schema.get_field_index(f.name)
        cols.append(table.column(i).cast(f.type) if i >= 0 else pa.nulls(table.num_rows, type=f.type))
    return pa.table(cols, schema=schema)


def _summary_fields(outcomes: pa.Schema) -> list[tuple[str, str, str]]:
    """(summary column, outcome, statistic) for every outcome: p/lo/hi for booleans, else mean/median/q05/q95."""
    out = []
    for f in outcomes:
        if f.name == "replicate":
            continue
        stats = ("p", "lo", "hi") if pa.types.is_boolean(f.type) else ("mean", "median", "q05", "q95")
        out += [(f"{f.name}.{s}", f.name, s) for s in stats]
    return out


def combine_parts(plan: SweepPlan, out: Path) -> None:
    """Stream the parts into replicates.parquet (sorted by point, replicate), summary and trajectories."""
    points = points_table(plan)
    outcomes = _outcome_schema(plan, out)
    params = [pa.field(n, points.schema.field(n).type) for n in points.column_names[1:]]
    rep_schema = pa.schema([pa.field("point", pa.int64()), outcomes.field("replicate"), *params, *[
        f for f in outcomes if f.name != "replicate"
    ]])  # fmt: skip
    stat_fields = _summary_fields(outcomes)
    sum_schema = pa.schema(
        [pa.field("point", pa.int64()), *params, pa.field("n", pa.int64())]
        + [pa.field(name, pa.float64()) for name, _, _ in stat_fields]
    )
    tmp = {name: out / f"{name}.tmp" for name in RESULT_FILES[1:]}
    rep_writer = _Batched(tmp["replicates.parquet"], rep_schema)
    sum_writer = pq.ParquetWriter(tmp["summary.parquet"], sum_schema, compression="zstd")
    traj_writer = None
    rows: list[dict] = []
    try:
        for p in plan.points:
            tasks = [Task(p.index, b, s, e) for b, (s, e) in enumerate(plan.blocks)]
            table = _conform(pa.concat_tables([pq.read_table(part_path(out, t)) for t in tasks]), outcomes)
            replicate = table.column("replicate").to_numpy()
            if not np.array_equal(replicate, np.arange(plan.replicates)):
                raise RuntimeError(f"point {p.index}: parts do not hold replicates 0..{plan.replicates - 1} once each")
            n = table.num_rows
            point_cols = {
                "point": pa.array(np.full(n, p.index, dtype=np.int64)),
                "replicate": table.column("replicate"),
            }
            for f in params:
                point_cols[f.name] = pa.repeat(points.column(f.name)[p.index], n).cast(f.type)
            for f in outcomes:
                if f.name != "replicate":
                    point_cols[f.name] = table.column(f.name)
            rep_writer.write_table(pa.table(point_cols, schema=rep_schema))
            rows.append(_summary_row(p, points, params, table, stat_fields))
            if len(rows) >= SUMMARY_BATCH:
                sum_writer.write_table(pa.Table.from_pylist(rows, schema=sum_schema))
                rows = []
            traj = _trajectory(plan, out, p, tasks)
            if traj_writer is None:
                traj_writer = _Batched(tmp["trajectories.parquet"], traj.schema)
            traj_writer.write_table(traj.cast(traj_writer.schema))
        if rows:
            sum_writer.write_table(pa.Table.from_pylist(rows, schema=sum_schema))
    finally:
        rep_writer.close()
        sum_writer.close()
        if traj_writer is not None:
            traj_writer.close()
    for name, path in tmp.items():
        os.replace(path, out / name)
    if plan.sweep.design == "saltelli":
        write_table(sensitivity_table(plan, out / "summary.parquet"), out / "sensitivity.parquet")


class _Batched:
    """A ParquetWriter that gathers small tables into row groups of at least ``rows`` rows.

    Each write of a wide table has a fixed cost per column; points with few replicates would
    otherwise make tiny row groups. Memory stays bounded by ``rows``.
    """

    def __init__(self, path: Path, schema: pa.Schema, rows: int = ROW_GROUP) -> None:
        self.writer = pq.ParquetWriter(path, schema, compression="zstd")
        self.schema = schema
        self.rows = rows
        self.pending: list[pa.Table] = []
        self.count = 0

    def write_table(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.count += table.num_rows
        if self.count >= self.rows:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending))
            self.pending, self.count = [], 0

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.writer.close()


def _summary_row(p: SweepPoint, points: pa.Table, params: list, table: pa.Table, stat_fields: list) -> dict:
    """Statistics of every outcome at one point, vectorised over outcomes (as stats.describe, per column)."""
    n = table.num_rows
    row: dict[str, Any] = {"point": p.index, "n": n}
    for f in params:
        row[f.name] = points.column(f.name)[p.index].as_py()
    bools = list(dict.fromkeys(o for _, o, s in stat_fields if s == "p"))
    numbers = list(dict.fromkeys(o for _, o, s in stat_fields if s == "mean"))
    values: dict[tuple[str, str], float] = {}
    if bools:
        m = np.column_stack([_as_numpy(table.column(o), float) for o in bools])  # NaN where a point lacks it
        k = np.nansum(m, axis=0)
        known = ~np.isnan(m[0]) if n else np.zeros(len(bools), dtype=bool)
        lo_hi = [wilson(int(k[j]), n) if n else (np.nan, np.nan) for j in range(len(bools))]
        for j, o in enumerate(bools):
            ok = known[j]
            values[o, "p"] = k[j] / n if ok and n else np.nan
            values[o, "lo"] = lo_hi[j][0] if ok else np.nan
            values[o, "hi"] = lo_hi[j][1] if ok else np.nan
    if numbers:
        x = np.column_stack([_as_numpy(table.column(o), float) for o in numbers])
        x[~np.isfinite(x)] = np.nan  # like stats.describe_numeric: finite values only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
            mean = np.nanmean(x, axis=0)
            q05, median, q95 = np.nanquantile(x, [0.05, 0.5, 0.95], axis=0)
        for j, o in enumerate(numbers):
            values[o, "mean"], values[o, "median"] = mean[j], median[j]
            values[o, "q05"], values[o, "q95"] = q05[j], q95[j]
    for name, outcome, stat in stat_fields:
        row[name] = float(values[outcome, stat])
    return row


def _as_numpy(col: pa.ChunkedArray, dtype: type) -> np.ndarray:
    if col.null_count:
        return np.full(len(col), np.nan)
    return col.to_numpy(zero_copy_only=False).astype(dtype)


def _trajectory(plan: SweepPlan, out: Path, p: SweepPoint, tasks: list[Task]) -> pa.Table:
    acc = StepAccumulator()
    codes: list[str] = []
    for t in tasks:
        with np.load(steps_path(out, t)) as z:
            codes = [str(c) for c in z["bloc_codes"]]
            acc.add(BlockResult(t.start, t.stop, {}, z["power_hist"], z["power_sum"], z["members_sum"]))
    frame = acc.frame(codes, p.start)
    frame.insert(0, "point", np.int64(p.index))
    return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
