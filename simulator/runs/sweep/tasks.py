"""The unit of work of a sweep: a (point, replicate block) task, the plan of all tasks, and their part files."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import simulator
from simulator.runs.blocks import plan_blocks, run_block, world_for
from simulator.runs.sweep.spec import Sweep, SweepPoint, sweep_hash, sweep_points
from simulator.scenario.language import Scenario

PLAN_FILE = "plan.json"
PARTS_DIR = "parts"


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
    backend: str = "numpy"  # the engine path that ran the task (simulator.engine.fast)


_SCENARIOS: dict[str, Scenario] = {}


def run_task(scenario_json: str, seed: int, task: Task, backend: str | None = None) -> TaskResult:
    """Run one task; a pure function of its arguments, so a retried task gives the same bytes' content
    (whatever the backend: it changes the speed, not the results)."""
    scenario = _SCENARIOS.get(scenario_json)
    if scenario is None:
        if len(_SCENARIOS) > 16:
            _SCENARIOS.clear()
        scenario = _SCENARIOS[scenario_json] = Scenario.model_validate_json(scenario_json)
    cpu = time.process_time()
    block = run_block(scenario, seed, task.start, task.stop, backend=backend)
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
        block.backend,
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


def fingerprint_files() -> list[Path]:
    """The files whose content decides a sweep's results: every source and data file of the package but the CLI.

    It covers the whole ``simulator`` package (scenario language, data, engine, runs), wherever this
    module sits in it (tests/test_architecture.py checks that the engine and the data are included).
    """
    root = Path(simulator.__file__).resolve().parent
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".csv", ".yaml"))
    return [p for p in files if "__pycache__" not in p.parts and p.relative_to(root).parts[0] != "cli"]


def code_fingerprint() -> str:
    """A hash of the package's source and data: resumed parts must come from the same code."""
    root = Path(simulator.__file__).resolve().parent
    h = hashlib.sha256()
    for path in fingerprint_files():
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def part_path(out: Path, task: Task) -> Path:
    """The Parquet part of a task."""
    return Path(out) / PARTS_DIR / f"point={task.point:06d}" / f"block={task.block:06d}.parquet"


def steps_path(out: Path, task: Task) -> Path:
    """The step histograms of a task (written before its part)."""
    return part_path(out, task).with_suffix(".steps.npz")
