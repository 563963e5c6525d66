"""Scenario shocks compiled to index arrays, their timing per replicate, and their effects on the state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.engine.rng import Streams
from simulator.scenario.language import Scenario
from simulator.scenario.world import World


@dataclass
class CompiledShock:
    """One shock with names resolved to indices."""

    index: int
    key: str  # stream name and label
    kind: str
    spec: object
    targets: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    others: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    bloc: int = -1
    affinity: list[tuple[np.ndarray, float]] = field(default_factory=list)
    attacker: int = -1


def compile_shocks(scenario: Scenario, world: World) -> list[CompiledShock]:
    """Resolve every shock's states, groups and blocs to indices."""
    out = []
    for k, s in enumerate(scenario.shocks):
        c = CompiledShock(index=k, key=s.name or f"#{k}", kind=s.type, spec=s)
        if getattr(s, "target", None) is not None:
            c.targets = world.resolve(s.target)
        if getattr(s, "other", None) is not None:
            c.others = world.resolve(s.other)
        if getattr(s, "against", None) is not None:
            c.others = world.resolve(s.against)
        if getattr(s, "bloc", None) is not None:
            c.bloc = world.bloc_index(s.bloc)
        if getattr(s, "attacker", None) is not None:
            c.attacker = world.index(s.attacker)
        for name, delta in (getattr(s, "affinity", None) or {}).items():
            c.affinity.append((world.resolve(name), float(delta)))
        out.append(c)
    return out


def scheduled_steps(shocks: list[CompiledShock], seed: int, replicates: np.ndarray) -> np.ndarray:
    """Step at which each 'at'/'window' shock fires, (R, n_shocks); -1 for probability shocks."""
    R = len(replicates)
    out = np.full((R, len(shocks)), -1, dtype=np.int64)
    streams = Streams(seed, replicates)
    for k, c in enumerate(shocks):
        s = c.spec
        if s.at is not None:
            out[:, k] = s.at
        elif s.probability is None and s.window is not None:
            lo, hi = s.window
            u = streams.uniform(f"shock:{c.key}:time", 0)
            out[:, k] = lo + np.minimum((u * (hi - lo + 1)).astype(np.int64), hi - lo)
    return out


def fires(c: CompiledShock, step: int, scheduled: np.ndarray, fired: np.ndarray, streams: Streams) -> np.ndarray:
    """(R,) bool: does shock c happen at this step in each replicate."""
    s = c.spec
    if s.probability is None:
        return scheduled[:, c.index] == step
    if s.window is not None and not s.window[0] <= step <= s.window[1]:
        return np.zeros(len(streams.replicates), dtype=bool)
    hit = streams.uniform(f"shock:{c.key}:fire", step) < s.probability
    return hit if s.repeat else hit & ~fired[:, c.index]
