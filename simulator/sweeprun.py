"""The sweep driver: (point, replicate block) tasks, parts streamed to disk as they finish, resume, final tables.

A sweep directory while running::

    plan.json                     what is computed (checked on --resume), written first
    sweep.yaml                    the sweep file as given
    scenario.resolved.yaml        the base scenario with every default filled in
    points.parquet                point index and the values of the swept keys
    parts/point=000012/block=000003.parquet      outcomes of one task (tmp file + rename)
    parts/point=000012/block=000003.steps.npz    its per-step power histograms

and once complete: ``replicates.parquet``, ``summary.parquet``, ``trajectories.parquet``
(``sensitivity.parquet`` for design saltelli), then ``manifest.json`` last. A part exists only
when its task has finished, so a rerun with ``--resume`` computes exactly the missing parts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from simulator import __version__
from simulator.errors import InputError
from simulator.evaluators import Call, Evaluator
from simulator.experiment import BlockResult, plan_blocks, run_block, world_for
from simulator.results import COMPLETE_MARKER, StepAccumulator, manifest, scenario_yaml, write_json
from simulator.scenario import Scenario
from simulator.stats import wilson
from simulator.sweep import Sweep, SweepPoint, point_scenario, salib_problem, sweep_hash, sweep_points

PLAN_FILE = "plan.json"
PARTS_DIR = "parts"
LOCK_FILE = ".lock"
RESULT_FILES = ("points.parquet", "replicates.parquet", "summary.parquet", "trajectories.parquet")
SUMMARY_BATCH = 256
ROW_GROUP = 16_384


# ---------------------------------------------------------------- tasks (run on workers)
@dataclass(frozen=True)
class Task:
    """Replicates [start, stop) of one point."""

    point: int
    block: int
    start: int
    stop: int


@dataclass
class TaskResult:
    """What a worker sends back: the block's outcomes as Parquet bytes and its step histograms."""

    task: Task
    part: bytes
    steps: bytes
    seconds: float
    phase_seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0


_SCENARIOS: dict[str, Scenario] = {}


def run_task(scenario_json: str, seed: int, task: Task) -> TaskResult:
    """Run one task; a pure function of its arguments, so a retried task gives the same bytes' content."""
    scenario = _SCENARIOS.get(scenario_json)
    if scenario is None:
        if len(_SCENARIOS) > 16:
            _SCENARIOS.clear()
        scenario = _SCENARIOS[scenario_json] = Scenario.model_validate_json(scenario_json)
    cpu = time.process_time()
    block = run_block(scenario, seed, task.start, task.stop)
    n = task.stop - task.start
    table = pa.table({"point": pa.array(np.full(n, task.point, dtype=np.int64)), **block.columns})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    steps = io.BytesIO()
    np.savez_compressed(
        steps,
        power_hist=block.power_hist,
        power_sum=block.power_sum,
        members_sum=block.members_sum,
        bloc_codes=np.array(world_for(scenario).bloc_codes),
    )
    return TaskResult(
        task,
        sink.getvalue().to_pybytes(),
        steps.getvalue(),
        block.seconds,
        block.phase_seconds,
        time.process_time() - cpu,
    )


# ---------------------------------------------------------------- plan
@dataclass
class SweepPlan:
    """Everything a sweep computes: its points, the replicate blocks and the root seed."""

    sweep: Sweep
    points: list[SweepPoint]
    seed: int
    blocks: list[tuple[int, int]]
    identity: dict

    @property
    def tasks(self) -> list[Task]:
        """Tasks point by point, so points complete one after another."""
        return [Task(p.index, b, s, e) for p in self.points for b, (s, e) in enumerate(self.blocks)]

    @property
    def replicates(self) -> int:
        return self.sweep.replicates


def plan_sweep(sweep: Sweep, seed: int | None = None) -> SweepPlan:
    """Points and blocks of a sweep; ``seed`` overrides the base scenario's root seed (the replicate draws)."""
    seed = sweep.base.seed if seed is None else seed
    points = sweep_points(sweep, seed)
    identity = {
        "sweep_hash": sweep_hash(points),
        "code": code_fingerprint(),
        "points": len(points),
        "replicates": sweep.replicates,
        "seed": seed,
        "block_size": sweep.block_size,
    }
    return SweepPlan(sweep, points, seed, plan_blocks(sweep.replicates, sweep.block_size), identity)


def code_fingerprint() -> str:
    """A hash of the engine's source and data (not the CLI): resumed parts must come from the same code."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".csv", ".yaml"))
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel.startswith("cli/") or "__pycache__" in rel:
            continue
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- status
@dataclass
class SweepStatus:
    """How far a sweep is."""

    points_total: int
    replicates_total: int
    tasks_total: int
    points_done: int = 0
    replicates_done: int = 0
    tasks_done: int = 0
    phase: str = "running"  # then "combining" while the final tables are written


@dataclass
class SweepInfo:
    """Where a sweep went and what this session did."""

    out_dir: Path
    manifest: dict
    tasks_run: int
    tasks_resumed: int


def part_path(out: Path, task: Task) -> Path:
    """The Parquet part of a task."""
    return Path(out) / PARTS_DIR / f"point={task.point:06d}" / f"block={task.block:06d}.parquet"


def steps_path(out: Path, task: Task) -> Path:
    """The step histograms of a task (written before its part)."""
    return part_path(out, task).with_suffix(".steps.npz")


def sweep_status(plan: SweepPlan, out: Path) -> SweepStatus:
    """Count finished tasks on disk."""
    status = SweepStatus(len(plan.points), len(plan.points) * plan.replicates, len(plan.points) * len(plan.blocks))
    if (Path(out) / COMPLETE_MARKER).exists():
        status.points_done, status.replicates_done = status.points_total, status.replicates_total
        status.tasks_done = status.tasks_total
        return status
    per_point: dict[int, int] = {}
    for task in plan.tasks:
        if part_path(out, task).exists():
            per_point[task.point] = per_point.get(task.point, 0) + 1
            status.tasks_done += 1
            status.replicates_done += task.stop - task.start
    status.points_done = sum(1 for k in per_point.values() if k == len(plan.blocks))
    return status


# ---------------------------------------------------------------- the driver
def run_sweep(
    plan: SweepPlan,
    out_dir: Path,
    evaluator: Evaluator,
    resume: bool = False,
    keep_parts: bool = False,
    progress: Callable[[SweepStatus], None] | None = None,
) -> SweepInfo:
    """Run the missing tasks of a sweep on ``evaluator`` and write the results.

    Args:
        plan: from plan_sweep.
        out_dir: the sweep directory.
        evaluator: an entered evaluator (see simulator.evaluators).
        resume: complete an unfinished directory (otherwise it must not exist or be empty).
        keep_parts: keep ``parts/`` after combining (default: delete; the combined files hold the same rows).
        progress: called with the status at the start and after every task.
    """
    out = Path(out_dir)
    started = time.time()
    if _prepare(plan, out, resume) == "complete":
        man = json.loads((out / COMPLETE_MARKER).read_text(encoding="utf-8"))
        if progress:
            progress(sweep_status(plan, out))
        return SweepInfo(out, man, 0, len(plan.tasks))
    with _lock(out):
        status = sweep_status(plan, out)
        resumed = status.tasks_done
        if progress:
            progress(status)
        pending = [t for t in plan.tasks if not part_path(out, t).exists()]
        blocks_done: dict[int, int] = {}
        for t in plan.tasks:
            if part_path(out, t).exists():
                blocks_done[t.point] = blocks_done.get(t.point, 0) + 1
        t0 = time.perf_counter()
        compute = cpu = 0.0
        phase: dict[str, float] = {}
        for _, result in evaluator.as_completed(_calls(plan, pending)):
            _write_part(out, result)
            task = result.task
            compute += result.seconds
            cpu += result.cpu_seconds
            for k, v in result.phase_seconds.items():
                phase[k] = phase.get(k, 0.0) + v
            blocks_done[task.point] = blocks_done.get(task.point, 0) + 1
            status.tasks_done += 1
            status.replicates_done += task.stop - task.start
            status.points_done += blocks_done[task.point] == len(plan.blocks)
            if progress:
                progress(status)
        run_seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        if progress:
            status.phase = "combining"
            progress(status)
        _combine(plan, out)
        ran = len(pending)
        reps = sum(t.stop - t.start for t in pending)
        timings = {
            "run_seconds": run_seconds,
            "combine_seconds": time.perf_counter() - t1,
            "task_seconds": compute,
            "task_cpu_seconds": cpu,
            "replicates_per_cpu_second": reps / cpu if cpu > 0 else None,
            "tasks_run": ran,
            "tasks_resumed": resumed,
            "replicates_run": reps,
            "replicates_per_second": reps / run_seconds if run_seconds > 0 and reps else None,
            "points_per_second": reps / plan.replicates / run_seconds if run_seconds > 0 and reps else None,
            "phase_seconds": phase,
        }
        first = json.loads((out / PLAN_FILE).read_text(encoding="utf-8")).get("created", started)
        man = manifest(
            plan.sweep.base, plan.seed, plan.replicates, plan.sweep.block_size, evaluator.workers(), first, timings
        )
        man |= {
            "kind": "sweep",
            "sweep": plan.sweep.describe(),
            "sweep_hash": plan.identity["sweep_hash"],
            "points": len(plan.points),
            "replicates_per_point": plan.replicates,
            "tasks": len(plan.tasks),
            "evaluator": evaluator.description,
            "files": [f for f in (*RESULT_FILES, "sensitivity.parquet") if (out / f).exists()],
        }
        write_json(out / COMPLETE_MARKER, man)
        if not keep_parts:
            shutil.rmtree(out / PARTS_DIR, ignore_errors=True)
    return SweepInfo(out, man, ran, resumed)


def _calls(plan: SweepPlan, tasks: list[Task]):
    cache: dict[int, str] = {}
    for task in tasks:
        if task.point not in cache:
            cache.clear()
            values = plan.points[task.point].values
            cache[task.point] = point_scenario(plan.sweep, values, plan.seed).model_dump_json()
        yield Call(f"sim-sweep-{task.point}-{task.block}", run_task, (cache[task.point], plan.seed, task))


def _prepare(plan: SweepPlan, out: Path, resume: bool) -> str:
    """Create a new sweep directory or check that an existing one belongs to this plan."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out '{out}' is a file, not a directory")
    if out.exists() and any(out.iterdir()):
        if not (out / PLAN_FILE).exists():
            raise InputError(f"output directory '{out}' exists and is not a sweep directory; choose another --out")
        _check_identity(plan, out)
        complete = (out / COMPLETE_MARKER).exists()
        if not resume:
            if complete:
                raise InputError(f"'{out}' already holds this finished sweep; choose another --out")
            raise InputError(
                f"'{out}' holds an unfinished sweep; pass --resume to complete it, or choose another --out"
            )
        if not complete:
            _write_inputs(plan, out)  # in case an earlier run was stopped before it wrote them
        return "complete" if complete else "resume"
    out.mkdir(parents=True, exist_ok=True)
    write_json(  # first: from now on the directory is recognisably this sweep's
        out / PLAN_FILE,
        {"identity": plan.identity, "version": __version__, "created": time.time(), "sweep": plan.sweep.describe()},
    )
    _write_inputs(plan, out)
    return "new"


def _write_inputs(plan: SweepPlan, out: Path) -> None:
    """The sweep file as given, the resolved base scenario and the points (deterministic; rewritten on resume)."""
    tmp = out / "sweep.yaml.tmp"
    shutil.copyfile(plan.sweep.file, tmp)
    os.replace(tmp, out / "sweep.yaml")
    text = scenario_yaml(plan.sweep.base.model_copy(update={"seed": plan.seed}))
    tmp = out / "scenario.resolved.yaml.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out / "scenario.resolved.yaml")
    _write_table(points_table(plan), out / "points.parquet")


def _check_identity(plan: SweepPlan, out: Path) -> None:
    try:
        old = json.loads((out / PLAN_FILE).read_text(encoding="utf-8"))["identity"]
    except (OSError, ValueError, KeyError):
        raise InputError(f"'{out / PLAN_FILE}' is unreadable; choose another --out") from None
    labels = {"replicates": "replicates per point", "seed": "seed", "block_size": "block size", "points": "points"}
    diffs = [
        f"{labels[k]} {plan.identity[k]} here, {old.get(k)} there" for k in labels if plan.identity[k] != old.get(k)
    ]
    if not diffs and plan.identity["sweep_hash"] != old.get("sweep_hash"):
        diffs = ["the points' scenarios differ (the sweep file, its base scenario or --set changed)"]
    if not diffs and plan.identity["code"] != old.get("code"):
        raise InputError(
            f"the simulator's code or data changed since the sweep in '{out}' started, so its finished parts "
            "would not match new ones; start again with another --out"
        )
    if diffs:
        raise InputError(
            f"'{out}' belongs to a different sweep ({'; '.join(diffs)}); rerun with the same options, "
            "or choose another --out"
        )


class _lock:
    """A lock file so that two clients do not write one sweep directory (a dead holder's lock is taken over)."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK_FILE
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}

    def __enter__(self) -> _lock:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            holder = None
        if holder and holder != self.me and holder.get("host") == self.me["host"] and _alive(holder.get("pid")):
            raise InputError(
                f"another sim sweep (pid {holder['pid']}) is writing '{self.path.parent}'; wait for it or stop it"
            )
        write_json(self.path, self.me)
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _write_part(out: Path, result: TaskResult) -> None:
    """Write a task's files atomically: step histograms first, then the part that marks the task done."""
    part = part_path(out, result.task)
    part.parent.mkdir(parents=True, exist_ok=True)
    for path, data in ((steps_path(out, result.task), result.steps), (part, result.part)):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


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


def _write_table(table: pa.Table, path: Path) -> None:
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


def _combine(plan: SweepPlan, out: Path) -> None:
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
        _write_table(sensitivity_table(plan, out / "summary.parquet"), out / "sensitivity.parquet")


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


def sensitivity_table(plan: SweepPlan, summary_path: Path) -> pa.Table:
    """Sobol' indices (first order and total, SALib) of every key outcome's per-point p or mean."""
    from SALib.analyze import sobol

    from simulator.outcomes import key_outcomes

    summary = pq.read_table(summary_path)
    names = [p.path for p in plan.sweep.parameters]
    problem = salib_problem(len(names), names)
    rows = []
    outcomes = key_outcomes(list(dict.fromkeys(c.rsplit(".", 1)[0] for c in summary.column_names)))
    for outcome in outcomes:
        stat = "p" if f"{outcome}.p" in summary.column_names else "mean"
        y = summary.column(f"{outcome}.{stat}").to_numpy(zero_copy_only=False).astype(float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            continue
        res = sobol.analyze(problem, y, calc_second_order=False, seed=plan.sweep.seed)
        for j, name in enumerate(names):
            rows.append({
                "outcome": outcome, "statistic": stat, "parameter": name,
                "S1": float(res["S1"][j]), "S1_conf": float(res["S1_conf"][j]),
                "ST": float(res["ST"][j]), "ST_conf": float(res["ST_conf"][j]),
            })  # fmt: skip
    schema = pa.schema([("outcome", pa.string()), ("statistic", pa.string()), ("parameter", pa.string())] + [
        (k, pa.float64()) for k in ("S1", "S1_conf", "ST", "ST_conf")
    ])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def result_differences(a: Path, b: Path) -> list[str]:
    """How the result files of two sweep directories differ; empty when they are bit-identical.

    Floats are compared bit by bit (so NaN equals NaN and -0.0 differs from 0.0); manifests are not
    compared (they hold times and the evaluator).
    """
    out = []
    names = [n for n in (*RESULT_FILES, "sensitivity.parquet") if (Path(a) / n).exists() or (Path(b) / n).exists()]
    for name in names:
        if not ((Path(a) / name).exists() and (Path(b) / name).exists()):
            out.append(f"{name}: only in one directory")
            continue
        ta, tb = pq.read_table(Path(a) / name), pq.read_table(Path(b) / name)
        if not ta.schema.remove_metadata().equals(tb.schema.remove_metadata()):
            out.append(f"{name}: different columns or types")
            continue
        if ta.num_rows != tb.num_rows:
            out.append(f"{name}: {ta.num_rows} rows vs {tb.num_rows}")
            continue
        differing = []
        for col in ta.column_names:
            x, y = ta.column(col).combine_chunks(), tb.column(col).combine_chunks()
            if pa.types.is_integer(x.type) or pa.types.is_floating(x.type) or pa.types.is_boolean(x.type):
                same = x.null_count == y.null_count == 0 and np.array_equal(
                    np.ascontiguousarray(x.to_numpy(zero_copy_only=False)).view(np.uint8),
                    np.ascontiguousarray(y.to_numpy(zero_copy_only=False)).view(np.uint8),
                )
                same = same or x.to_pylist() == y.to_pylist()
            else:
                same = x.to_pylist() == y.to_pylist()
            if not same:
                differing.append(col)
        if differing:
            more = f", ... ({len(differing)} columns in all)" if len(differing) > 5 else ""
            out.append(f"{name}: different values in {', '.join(differing[:5])}{more}")
    return out
