"""``sim.run``: one scenario's Monte Carlo ensemble, in memory or into a run directory, as `sim run` runs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from simulator.api.results import Run, load, memory_run
from simulator.api.scenarios import ScenarioSource, as_scenario
from simulator.errors import InputError
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED


def _check_count(name: str, value: int | None, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name}= must be a whole number from {low} to {high:,} (got {value!r})")


def run(
    scenario: ScenarioSource,
    replicates: int | None = None,
    seed: int | None = None,
    set: Mapping[str, Any] | None = None,  # noqa: A002 (the CLI's --set)
    out: str | Path | None = None,
    force: bool = False,
    figures: bool = False,
    workers: int = 1,
    block_size: int = 1000,
    backend: str | None = None,
    posterior: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Run:
    """Run a scenario's ensemble; the same seed and replicates give the numbers of ``sim run``, bit for bit.

    Args:
        scenario: a scenario file, a dict with a scenario file's keys, or a Scenario.
        replicates, seed: the scenario's unless given (``-n``, ``--seed``).
        set: overrides of dotted keys, as ``--set``: ``{"parameters.inertia": 2.5}``.
        out: write the run directory there (as ``sim run --out``); None keeps the run in memory
            (``Run.save`` writes it later, the same files).
        force: replace an existing run directory written by sim (``--force``).
        figures: with ``out``, draw the figures into OUT/figures as ``sim run`` does.
        workers, block_size, backend: as ``sim run`` (they change the speed, never the numbers).
        posterior: a ``sim calibrate`` directory each replicate draws its parameters from.
        progress: called with the number of replicates finished after each block.
    """
    from simulator.runs.run import run_ensemble, run_scenario

    _check_count("replicates", replicates, 1, MAX_REPLICATES)
    _check_count("seed", seed, 0, MAX_SEED)
    _check_count("workers", workers, 1, 1024)
    _check_count("block_size", block_size, 1, MAX_REPLICATES)
    spec = as_scenario(scenario, set)
    if posterior is not None:
        from simulator.runs.calibrate import with_posterior

        spec, _ = with_posterior(spec, Path(posterior))
    if out is None:
        if figures:
            raise InputError("figures=True needs out= (a run kept in memory draws with res.plot)")
        ensemble = run_ensemble(spec, replicates, seed, block_size, workers, progress, backend)
        return memory_run(ensemble)

    def draw(tmp: Path) -> None:
        if figures:
            from analysis.figures import run_figures

            run_figures(tmp, tmp / "figures")

    info = run_scenario(
        spec, Path(out), replicates, seed, block_size, workers, overwrite=force, progress=progress,
        after_write=draw, backend=backend,
    )  # fmt: skip
    return load(info.out_dir)
