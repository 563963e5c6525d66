"""The inputs each replicate of a run drew: parameters from distributions or a posterior, and shock quarters
drawn from a window (the "experiments" of a run, for scenario discovery)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.scenario.language import Scenario


def replicate_inputs(scenario: Scenario, seed: int, replicates: np.ndarray) -> pd.DataFrame:
    """One row per replicate, one column per input that varies between replicates.

    Columns are the scenario keys a sweep would name: ``parameters.NAME`` for a parameter drawn from
    a distribution or a posterior sample, ``shocks.NAME.at`` for a shock whose step is drawn from its
    ``window``. The draws are the engine's own (the same counter-based streams), so they are the
    values replicate k used, recomputed without running it.
    """
    from simulator.engine.rng import Streams
    from simulator.engine.sampling import sample_parameters
    from simulator.engine.shocks import compile_shocks, scheduled_steps
    from simulator.runs.blocks import world_for

    replicates = np.asarray(replicates, dtype=np.int64)
    data: dict[str, np.ndarray] = {"replicate": replicates}
    drawn = sample_parameters(scenario, Streams(seed, replicates))
    posterior = set(scenario.posterior.parameters) if scenario.posterior is not None else set()
    for name, values in drawn.items():
        value = scenario.parameters.get(name)
        if name in posterior or (value is not None and not isinstance(value, int | float)):
            data[f"parameters.{name}"] = values
    shocks = compile_shocks(scenario, world_for(scenario))
    steps = scheduled_steps(shocks, seed, replicates)
    for k, c in enumerate(shocks):
        if c.spec.at is None and c.spec.probability is None and c.spec.window is not None:
            data[f"shocks.{c.spec.name or c.index}.at"] = steps[:, k]
    return pd.DataFrame(data)
