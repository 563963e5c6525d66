"""Part files of a sweep, tagged and verified: a resume trusts only parts that prove they are this task's.

Each finished task leaves three files in ``parts/point=NNNNNN/``::

    block=BBBBBB.steps.npz     its per-step power histograms
    block=BBBBBB.tag.json      point, block, replicates, plan hash, SHA-256 and size of the other two
    block=BBBBBB.parquet       its outcomes; written last, so its presence marks the task done

On resume every part is checked against its tag and the tag against the task and the plan; a part
copied from another point or sweep, truncated, or without its tag is deleted and computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from simulator.runs.sweep.tasks import SweepPlan, Task, TaskResult, part_path, steps_path


def tag_path(out: Path, task: Task) -> Path:
    """The tag of a task's part files."""
    return part_path(out, task).with_suffix(".tag.json")


def plan_hash(plan: SweepPlan) -> str:
    """A hash of what the sweep computes (points' scenarios, replicates, seed, blocks, code)."""
    return hashlib.sha256(json.dumps(plan.identity, sort_keys=True).encode()).hexdigest()[:16]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_part(out: Path, result: TaskResult, plan_id: str) -> None:
    """Write a task's files atomically: step histograms, then the tag, then the part that marks the task done."""
    task = result.task
    part = part_path(out, task)
    part.parent.mkdir(parents=True, exist_ok=True)
    tag = {
        "point": task.point,
        "block": task.block,
        "start": task.start,
        "stop": task.stop,
        "plan": plan_id,
        "parquet": {"sha256": _sha(result.part), "bytes": len(result.part)},
        "steps": {"sha256": _sha(result.steps), "bytes": len(result.steps)},
    }
    _replace(steps_path(out, task), result.steps)
    _replace(tag_path(out, task), json.dumps(tag, indent=1).encode())
    _replace(part, result.part)


def part_problem(out: Path, task: Task, plan_id: str) -> str | None:
    """Why the part of ``task`` in ``out`` cannot be trusted (None: it is this task's, whole)."""
    try:
        tag = json.loads(tag_path(out, task).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "it has no tag"
    except (OSError, ValueError):
        return "its tag is unreadable"
    if not isinstance(tag, dict):
        return "its tag is unreadable"
    if (tag.get("point"), tag.get("block")) != (task.point, task.block):
        return f"it is the part of point {tag.get('point')}, block {tag.get('block')}"
    if (tag.get("start"), tag.get("stop")) != (task.start, task.stop):
        return f"it holds replicates {tag.get('start')}..{tag.get('stop')}, not {task.start}..{task.stop}"
    if tag.get("plan") != plan_id:
        return "it belongs to another sweep plan"
    for path, want in ((part_path(out, task), tag.get("parquet")), (steps_path(out, task), tag.get("steps"))):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return f"{path.name} is missing"
        except OSError as exc:
            return f"{path.name} is unreadable ({exc.strerror or exc})"
        if not isinstance(want, dict) or len(data) != want.get("bytes") or _sha(data) != want.get("sha256"):
            return f"{path.name} differs from its checksum (truncated or changed)"
    return None


def remove_part(out: Path, task: Task) -> None:
    """Delete a task's files (the part first, so that the task no longer counts as done)."""
    for path in (part_path(out, task), tag_path(out, task), steps_path(out, task)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def verify_parts(plan: SweepPlan, out: Path) -> list[str]:
    """Check every finished part of ``plan`` in ``out``; delete the untrustworthy ones (they are recomputed).

    Returns one description per deleted part: its path in the sweep directory and why.
    """
    plan_id = plan_hash(plan)
    bad = []
    for task in plan.tasks:
        part = part_path(out, task)
        if not part.exists():
            continue
        why = part_problem(out, task, plan_id)
        if why:
            remove_part(out, task)
            bad.append(f"{part.relative_to(out).as_posix()}: {why}")
    return bad
