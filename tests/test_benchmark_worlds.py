"""The benchmark suite's synthetic worlds stay runnable as the World grows fields (python -m benchmarks)."""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator.engine.model import AllianceModel
from simulator.scenario.language import load_scenario_text
from simulator.scenario.world import build_world


def test_a_synthetic_world_of_60_states_runs_on_both_paths():
    from benchmarks.synthetic import synthetic_world

    scenario = load_scenario_text("name: s\ndescription: synthetic\nsteps: 3\nseed: 1\n", "s.yaml")
    base = build_world(scenario)
    world = synthetic_world(base, 60)
    S = world.n_states
    assert S == 60
    for f in dataclasses.fields(world):  # every per-state array has grown with the states
        value = getattr(world, f.name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == base.n_states:
            raise AssertionError(f"World.{f.name} still has {base.n_states} rows")
    runs = [AllianceModel(scenario, 20, world=world, backend=b).run() for b in ("numpy", "numba")]
    assert np.array_equal(runs[0].state.member, runs[1].state.member)
    assert np.array_equal(runs[0].state.share, runs[1].state.share)
