"""The Monte Carlo run: blocks of replicates streamed to a run directory (`sim run`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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
    write_tables,
)
from simulator.runs.timeline import EventWriter, FirstEvents, StateAccumulator, UtilityAccumulator
from simulator.scenario.language import Scenario, revalidated


@dataclass
class RunInfo:
    """Where a run went and what it found."""

    out_dir: Path
    summary: dict
    manifest: dict


@dataclass
class Ensemble:
    """A finished ensemble: everything a run directory holds, before (or instead of) writing it.

    ``replicates`` and ``events`` are the writers the blocks went through: streamed to the run
    directory, or (``run_ensemble(..., directory=None)``, the Python API) kept as one Arrow table per
    block, which ``write_ensemble`` writes later as the same files, byte for byte.
    """

    scenario: Scenario  # with its replicates and seed set to the run's
    replicates: ReplicateWriter
    events: EventWriter
    summary: dict  # summary.json
    frames: dict[str, pd.DataFrame]  # file stem -> table: trajectories, step_histograms, states, utilities
    timings: dict
    backend: str
    started: float
    block_size: int
    workers: int

    @property
    def in_memory(self) -> bool:
        return self.replicates.path is None


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
    with atomic_directory(out_dir, overwrite) as tmp:
        ensemble = run_ensemble(scenario, replicates, seed, block_size, workers, progress, backend, directory=tmp)
        man = write_ensemble(ensemble, tmp, after_write)
    return RunInfo(Path(out_dir), ensemble.summary, man)


def run_ensemble(
    scenario: Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    block_size: int = DEFAULT_BLOCK,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    backend: str | None = None,
    directory: Path | None = None,
) -> Ensemble:
    """Run the blocks of an ensemble and reduce them as they arrive.

    ``directory``: the (temporary) run directory that replicates.parquet and events.parquet stream
    into, a block at a time (memory flat in replicates); None keeps them in memory.
    """
    if backend is not None:
        check_backend(backend)
    n = scenario.replicates if replicates is None else replicates
    seed = scenario.seed if seed is None else seed
    scenario = revalidated(scenario, replicates=n, seed=seed)
    world = world_for(scenario)
    started = time.time()
    blocks = plan_blocks(n, block_size)
    writer = ReplicateWriter(directory / "replicates.parquet" if directory is not None else None)
    events = EventWriter(
        directory / "events.parquet" if directory is not None else None,
        world.codes, world.bloc_codes, scenario.start, scenario.steps,
    )  # fmt: skip
    per_state = StateAccumulator()
    utilities = UtilityAccumulator()
    firsts = FirstEvents(world.n_states, world.n_blocs, scenario.steps)
    steps = StepAccumulator()
    outcomes = SummaryAccumulator(directory, world.bloc_codes, world.codes)
    backends: set[str] = set()
    t0 = time.perf_counter()
    try:
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
        summary = outcomes.summary()
    finally:
        outcomes.close()
    frames = {
        "trajectories": steps.frame(world.bloc_codes, scenario.start),
        "step_histograms": steps.histogram_frame(world.bloc_codes),
        "states": per_state.frame(world.codes, scenario.start),
        "utilities": utilities.frame(world.codes, world.bloc_codes, scenario.start),
    }
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
    timings = {
        "run_seconds": run_seconds,
        "replicates_per_second": n / run_seconds if run_seconds > 0 else None,
        "replicate_steps_per_second": n * scenario.steps / run_seconds if run_seconds > 0 else None,
        "phase_seconds": steps.phase_seconds,
    }
    return Ensemble(
        scenario, writer, events, summary, frames, timings, ",".join(sorted(backends)), started, block_size, workers
    )


def write_ensemble(ensemble: Ensemble, directory: Path, after_write: Callable[[Path], None] | None = None) -> dict:
    """Write the files of a run directory into ``directory`` (manifest.json last); returns the manifest.

    An ensemble kept in memory writes its replicate and event tables here, as the streaming writers
    would have (one row group per block: the same bytes).
    """
    directory = Path(directory)
    if ensemble.in_memory:
        write_tables(directory / "replicates.parquet", ensemble.replicates.tables, compression="zstd")
        write_tables(directory / "events.parquet", ensemble.events.tables, ensemble.events.schema)
    for stem, frame in ensemble.frames.items():
        frame.to_parquet(directory / f"{stem}.parquet", index=False)
    write_json(directory / "summary.json", ensemble.summary)
    (directory / "scenario.resolved.yaml").write_text(scenario_yaml(ensemble.scenario), encoding="utf-8")
    if after_write:
        after_write(directory)
    scenario = ensemble.scenario
    man = manifest(
        scenario, scenario.seed, scenario.replicates, ensemble.block_size, ensemble.workers, ensemble.started,
        ensemble.timings,
    )  # fmt: skip
    man["backend"] = ensemble.backend
    write_json(directory / "manifest.json", man)
    return man


def save_ensemble(
    ensemble: Ensemble, out_dir: Path, overwrite: bool = False, after_write: Callable[[Path], None] | None = None
) -> RunInfo:
    """Write an ensemble kept in memory as a run directory, atomically (as ``run_scenario`` would have)."""
    if not ensemble.in_memory:
        raise ValueError("this ensemble was streamed to its run directory already")
    with atomic_directory(out_dir, overwrite) as tmp:
        man = write_ensemble(ensemble, tmp, after_write)
    return RunInfo(Path(out_dir), ensemble.summary, man)


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
