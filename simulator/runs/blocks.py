"""Replicate blocks, run specs and the Monte Carlo driver."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from simulator.engine.model import AllianceModel
from simulator.engine.outcomes import reduce_outcomes
from simulator.runs.stats import histogram_steps
from simulator.scenario.language import Scenario, scenario_hash
from simulator.scenario.world import World, build_world

DEFAULT_BLOCK = 1000
#: blocks submitted ahead per local worker process: enough to keep the workers busy, few enough that
#: finished blocks waiting for their turn (results come back in block order) stay a bounded memory
WINDOW_PER_WORKER = 2


@dataclass
class BlockResult:
    """What one block of replicates returns: outcome columns and mergeable per-step histograms."""

    start: int
    stop: int
    columns: dict[str, np.ndarray]
    power_hist: np.ndarray  # (T+1, B, bins) counts of effective bloc power per step
    power_sum: np.ndarray  # (T+1, B) sums, for means
    members_sum: np.ndarray  # (T+1, B) sums of member counts
    phase_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    backend: str = "numpy"  # the engine path that ran the block (simulator.engine.fast)
    events: np.ndarray | None = None  # (n, 5) replicate, step, state, bloc, kind (simulator.engine.timeline)
    state_hist: dict[str, np.ndarray] | None = None  # metric -> (T+1, S, bins) per-state counts
    no_votes: np.ndarray | None = None  # (n, 5) replicate, step, applicant, bloc, voter: who voted no on a rejection
    utility_hist: np.ndarray | None = None  # (T, S, B, bins) counts of each state's utility of each bloc


@functools.lru_cache(maxsize=8)
def _world_cached(key: str, scenario_json: str) -> World:
    return build_world(Scenario.model_validate_json(scenario_json))


def world_for(scenario: Scenario) -> World:
    """The scenario's world, built once per process."""
    return _world_cached(scenario_hash(scenario), scenario.model_dump_json())


def run_block(
    scenario: Scenario, seed: int, start: int, stop: int, timeline: bool = False, backend: str | None = None
) -> BlockResult:
    """Run replicates [start, stop) of a scenario; a pure function of its arguments.

    ``timeline`` also returns the block's membership events (with who voted no on each rejection) and
    the per-state and per-(state, bloc) utility histograms by quarter.
    ``backend`` changes the speed, not the results (None: numba when it imports).
    """
    t0 = time.perf_counter()
    model = AllianceModel(
        scenario,
        np.arange(start, stop),
        seed=seed,
        world=world_for(scenario),
        record_steps=True,
        record_timeline=timeline,
        backend=backend,
    )
    model.run()
    columns = reduce_outcomes(model)
    traj = model.trajectory.astype(np.float64)
    return BlockResult(
        start=start,
        stop=stop,
        columns=columns,
        power_hist=histogram_steps(traj),
        power_sum=traj.sum(axis=0),
        members_sum=model.members_trajectory.sum(axis=0).astype(np.float64),
        phase_seconds=dict(model.phase_seconds),
        seconds=time.perf_counter() - t0,
        backend=model.backend,
        events=model.timeline.event_array() if timeline else None,
        state_hist=model.timeline.hist if timeline else None,
        no_votes=model.timeline.no_vote_array() if timeline else None,
        utility_hist=model.timeline.utility_hist if timeline else None,
    )


def plan_blocks(n: int, block_size: int = DEFAULT_BLOCK, first: int = 0) -> list[tuple[int, int]]:
    """Split replicates [first, first+n) into blocks of at most block_size."""
    return [(s, min(s + block_size, first + n)) for s in range(first, first + n, block_size)]


def iterate_blocks(
    scenario: Scenario,
    seed: int,
    blocks: list[tuple[int, int]],
    workers: int = 1,
    timeline: bool = False,
    backend: str | None = None,
) -> Iterator[BlockResult]:
    """Run blocks in order, in-process or on a local process pool; results come back in block order.

    The pool gets a few blocks per worker at a time, and a block's result is dropped once yielded,
    so memory is bounded by the block size, not by the number of blocks.
    """
    if workers <= 1 or len(blocks) <= 1:
        for start, stop in blocks:
            yield run_block(scenario, seed, start, stop, timeline, backend)
        return
    import multiprocessing as mp
    import os
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    from simulator.runs.lifeline import watch_parent

    ctx = mp.get_context("spawn")
    todo = iter(blocks)
    window: deque = deque()  # submitted blocks, in block order: at most WINDOW_PER_WORKER per worker
    # watch_parent: the workers exit when this process dies, even by SIGKILL
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=watch_parent, initargs=(os.getpid(),)
    ) as pool:

        def submit() -> None:
            while len(window) < WINDOW_PER_WORKER * workers:
                block = next(todo, None)
                if block is None:
                    return
                window.append(pool.submit(run_block, scenario, seed, *block, timeline, backend))

        try:
            submit()
            while window:
                result = window.popleft().result()  # the future leaves the window: its result is ours alone
                submit()
                yield result
                del result
        except BaseException:
            for fut in window:
                fut.cancel()
            raise
