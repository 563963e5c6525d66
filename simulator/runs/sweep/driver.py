"""The sweep driver: (point, replicate block) tasks, parts streamed to disk as they finish, resume, final tables.

A sweep directory while running::

    plan.json                     what is computed (checked on --resume), written first
    sweep.yaml                    the sweep file as given
    scenario.resolved.yaml        the base scenario with every default filled in
    points.parquet                point index and the values of the swept keys
    parts/point=000012/block=000003.steps.npz    per-step power histograms of one task (tmp file + rename)
    parts/point=000012/block=000003.tag.json     its tag: point, block, plan hash, checksums (parts.py)
    parts/point=000012/block=000003.parquet      its outcomes, written last

and once complete: ``replicates.parquet``, ``summary.parquet``, ``trajectories.parquet``
(``sensitivity.parquet`` for design saltelli), then ``manifest.json`` last. A part exists only
when its task has finished, so a rerun with ``--resume`` computes exactly the missing parts; a part
that does not match its tag, task and plan is deleted and computed again (simulator.runs.sweep.parts).

"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from simulator import __version__
from simulator.engine.fast import check_backend
from simulator.errors import InputError, storage_errors
from simulator.runs.evaluators import Call, Evaluator
from simulator.runs.results import COMPLETE_MARKER, manifest, scenario_yaml, write_json
from simulator.runs.rundir import CHECKSUMS, file_checksums, load_manifest
from simulator.runs.sweep.combine import RESULT_FILES, combine_parts, points_table, write_table
from simulator.runs.sweep.lock import SweepLock
from simulator.runs.sweep.parts import plan_hash, verify_parts, write_part
from simulator.runs.sweep.spec import point_scenario
from simulator.runs.sweep.tasks import (
    PARTS_DIR,
    PLAN_FILE,
    SweepPlan,
    Task,
    part_path,
    run_task,
)
from simulator.scenario.language import revalidated


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
    backend: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> SweepInfo:
    """Run the missing tasks of a sweep on ``evaluator`` and write the results.

    Args:
        plan: from plan_sweep.
        out_dir: the sweep directory.
        evaluator: an entered evaluator (see simulator.runs.evaluators).
        resume: complete an unfinished directory (otherwise it must not exist or be empty).
        keep_parts: keep ``parts/`` after combining (default: delete; the combined files hold the same rows).
        progress: called with the status at the start and after every task.
        backend: "numpy" or "numba" for every task (default: numba where it imports); results are identical.
        warn: called with a one-line warning (parts that failed verification and are computed again).

    An OSError writing the directory (disk full, permission) is a one-line StorageError naming it.
    """
    if backend is not None:
        check_backend(backend)
    out = Path(out_dir)
    started = time.time()
    with _disk(out):
        state = _prepare(plan, out, resume)
    if state == "complete":
        man = load_manifest(out)
        if progress:
            progress(sweep_status(plan, out))
        return SweepInfo(out, man, 0, len(plan.tasks))
    plan_id = plan_hash(plan)
    with SweepLock(out):
        with _disk(out):
            bad = verify_parts(plan, out)
        if bad:
            message = (
                f"{len(bad)} part file{'s' if len(bad) > 1 else ''} failed verification and will be computed again "
                f"({'; '.join(bad[:3])}{'; ...' if len(bad) > 3 else ''})"
            )
            if warn is not None:
                warn(message)
            else:
                import warnings

                warnings.warn(message, RuntimeWarning, stacklevel=2)
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
        backends: set[str] = set()
        for _, result in evaluator.as_completed(_calls(plan, pending, backend)):
            with _disk(out):
                write_part(out, result, plan_id)
            task = result.task
            compute += result.seconds
            cpu += result.cpu_seconds
            backends.add(result.backend)
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
        with _disk(out):
            combine_parts(plan, out)
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
        first = _plan_created(out, started)
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
            "backend": ",".join(sorted(backends)),  # of the tasks run in this session
        }
        with _disk(out):
            man[CHECKSUMS] = file_checksums(out)  # readers and `sim verify` check them
            write_json(out / COMPLETE_MARKER, man)
        if not keep_parts:
            shutil.rmtree(out / PARTS_DIR, ignore_errors=True)
    return SweepInfo(out, man, ran, resumed)


def _disk(out: Path):
    """OSErrors of the sweep's files (not of the evaluator) as one-line StorageErrors naming --out."""
    return storage_errors(out, "write", "--out")


def _calls(plan: SweepPlan, tasks: list[Task], backend: str | None):
    cache: dict[int, str] = {}
    for task in tasks:
        if task.point not in cache:
            cache.clear()
            values = plan.points[task.point].values
            cache[task.point] = point_scenario(plan.sweep, values, plan.seed).model_dump_json()
        yield Call(f"sim-sweep-{task.point}-{task.block}", run_task, (cache[task.point], plan.seed, task, backend))


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
    text = scenario_yaml(revalidated(plan.sweep.base, seed=plan.seed))
    tmp = out / "scenario.resolved.yaml.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out / "scenario.resolved.yaml")
    write_table(points_table(plan), out / "points.parquet")


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


def _plan_created(out: Path, default: float) -> float:
    try:
        return json.loads((out / PLAN_FILE).read_text(encoding="utf-8")).get("created", default)
    except (OSError, ValueError, AttributeError):
        return default
