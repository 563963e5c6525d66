"""The Monte Carlo run: blocks of replicates streamed to a run directory (`sim run`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.engine.fast import check_backend
from simulator.runs.blocks import DEFAULT_BLOCK, iterate_blocks, plan_blocks, world_for
from simulator.runs.results import (
    ReplicateWriter,
    StepAccumulator,
    SummaryAccumulator,
    atomic_directory,
    manifest,
    scenario_yaml,
    write_json,
)
from simulator.runs.timeline import EventWriter, FirstEvents, StateAccumulator, UtilityAccumulator
from simulator.scenario.language import Scenario, revalidated


@dataclass
class RunInfo:
    """Where a run went and what it found."""

    out_dir: Path
    summary: dict
    manifest: dict


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    replicates: int | None = None,
    seed: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    after_write: Callable[[Path], None] | None = None,
    backend: str | None = None,
) -> RunInfo:
    """Run a scenario's ensemble and write its run directory atomically.

    Args:
        scenario: validated scenario (its replicates/seed are used unless overridden).
        out_dir: the run directory to create.
        replicates, seed: overrides.
        block_size: replicates per block (memory is bounded by it).
        workers: local processes (1 = in this process).
        overwrite: replace an existing directory (only once the new one is complete).
        progress: called with the number of replicates finished after each block.
        after_write: called with the temporary directory before it is committed (figures).
        backend: "numpy" or "numba" (default: numba when it imports); results are identical.
    """
    if backend is not None:
        check_backend(backend)
    n = scenario.replicates if replicates is None else replicates
    seed = scenario.seed if seed is None else seed
    scenario = revalidated(scenario, replicates=n, seed=seed)
    world = world_for(scenario)
    started = time.time()
    blocks = plan_blocks(n, block_size)
    with atomic_directory(out_dir, overwrite) as tmp:
        writer = ReplicateWriter(tmp / "replicates.parquet")
        events = EventWriter(tmp / "events.parquet", world.codes, world.bloc_codes, scenario.start, scenario.steps)
        per_state = StateAccumulator()
        utilities = UtilityAccumulator()
        firsts = FirstEvents(world.n_states, world.n_blocs, scenario.steps)
        steps = StepAccumulator()
        outcomes = SummaryAccumulator(tmp, world.bloc_codes, world.codes)
        backends: set[str] = set()
        t0 = time.perf_counter()
        try:
            for block in iterate_blocks(scenario, seed, blocks, workers, timeline=True, backend=backend):
                writer.write(block.columns)
                outcomes.add(block.columns)
                events.write(block.events, block.no_votes)
                per_state.add(block.state_hist, block.stop - block.start)
                utilities.add(block.utility_hist, block.stop - block.start)
                firsts.add(block.events, block.stop - block.start)
                steps.add(block)
                backends.add(block.backend)
                if progress:
                    progress(block.stop - block.start)
        finally:
            writer.close()
            events.close()
        run_seconds = time.perf_counter() - t0
        try:
            summary = outcomes.summary()
        finally:
            outcomes.close()
        steps.frame(world.bloc_codes, scenario.start).to_parquet(tmp / "trajectories.parquet", index=False)
        steps.histogram_frame(world.bloc_codes).to_parquet(tmp / "step_histograms.parquet", index=False)
        per_state.frame(world.codes, scenario.start).to_parquet(tmp / "states.parquet", index=False)
        utilities.frame(world.codes, world.bloc_codes, scenario.start).to_parquet(
            tmp / "utilities.parquet", index=False
        )
        summary = {
            "scenario": scenario.name,
            "description": scenario.description,
            "seed": seed,
            "steps": scenario.steps,
            "start": scenario.start,
            "adversary": world.bloc_codes[world.adversary] if world.adversary >= 0 else None,
            "bloc_names": {c: s.name for c, s in zip(world.bloc_codes, world.bloc_specs, strict=True)},
            **summary,
            "as_of": scenario.world.as_of,
            "timeline": firsts.summary(world.codes, world.bloc_codes, scenario.start),
        }
        write_json(tmp / "summary.json", summary)
        (tmp / "scenario.resolved.yaml").write_text(scenario_yaml(scenario), encoding="utf-8")
        if after_write:
            after_write(tmp)
        timings = {
            "run_seconds": run_seconds,
            "replicates_per_second": n / run_seconds if run_seconds > 0 else None,
            "replicate_steps_per_second": n * scenario.steps / run_seconds if run_seconds > 0 else None,
            "phase_seconds": steps.phase_seconds,
        }
        man = manifest(scenario, seed, n, block_size, workers, started, timings)
        man["backend"] = ",".join(sorted(backends))
        write_json(tmp / "manifest.json", man)
    return RunInfo(Path(out_dir), summary, man)


@dataclass
class Story:
    """One replicate re-run: its text event log, its membership timeline and its outcomes."""

    events: list[tuple[int, int, str, str]]  # (replicate, step, kind, text), as the engine logged them
    timeline: list[dict]  # step, quarter, state, bloc, event, voted_no: the rows of events.parquet for this replicate
    outcomes: dict


def replay_story(scenario: Scenario, replicate: int, seed: int) -> Story:
    """Re-run one replicate with its event log and timeline (the same timeline as in events.parquet)."""
    from simulator.engine.model import AllianceModel
    from simulator.engine.outcomes import reduce_outcomes
    from simulator.engine.timeline import EVENT_KINDS
    from simulator.scenario.language import quarter_label

    world = world_for(scenario)
    model = AllianceModel(
        scenario, np.array([replicate]), seed=seed, world=world, record_events=True, record_timeline=True
    )
    model.run()
    out = {k: v[0].item() if hasattr(v[0], "item") else v[0] for k, v in reduce_outcomes(model).items()}
    no: dict[tuple[int, int, int], list[str]] = {}
    for _, t, a, b, j in model.timeline.no_vote_array():
        no.setdefault((int(t), int(a), int(b)), []).append(world.codes[j])
    rows = [
        {
            "step": int(t),
            "quarter": quarter_label(scenario.start, int(t)),
            "state": world.codes[s],
            "bloc": world.bloc_codes[b],
            "event": EVENT_KINDS[k],
            "voted_no": no.get((int(t), int(s), int(b)), []) if EVENT_KINDS[k] == "rejected" else [],
        }
        for _, t, s, b, k in model.timeline.event_array()
    ]
    return Story(model.events, rows, out)


def replay(scenario: Scenario, replicate: int, seed: int) -> tuple[list[tuple[int, int, str, str]], dict]:
    """Re-run one replicate with its event log; returns (events, outcomes of that replicate)."""
    story = replay_story(scenario, replicate, seed)
    return story.events, story.outcomes
