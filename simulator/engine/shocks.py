"""Scenario shocks compiled to index arrays, their event texts and their timing per replicate.

Their effects on the state are the handler tables of simulator.engine.phases (SHOCK_HANDLERS) and of
the reference twin (simulator.engine.reference); the event text of a shock is written once, here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    text: str = ""  # the event text, "<key>: <what happens>" (shock_text)


class _Names(NamedTuple):
    """The names an event text uses: comma-joined state codes, the bloc code and the attacker's code."""

    targets: str
    others: str
    bloc: str
    attacker: str


# What each kind of shock does, in words (presentation: shared by the engine and the reference twin).
_TEXTS: dict[str, Callable[[Any, _Names], str]] = {
    "withdraw": lambda s, n: f"{n.targets} leave {n.bloc}",
    "expel": lambda s, n: f"{n.targets} expelled from {n.bloc}",
    "join": lambda s, n: f"{n.targets} join {n.bloc}",
    "found": lambda s, n: f"{n.bloc} founded by {n.targets}",
    "commitment": lambda s, n: (
        f"{n.targets} commitment to {n.bloc} " + (f"= {s.value}" if s.value is not None else f"{s.change:+g}")
    ),
    "relation": lambda s, n: f"affinity {n.targets} <-> {n.others} {s.change:+g}",
    "spending": lambda s, n: (
        f"{n.targets} spending target " + (f"x{s.factor:g}" if s.factor is not None else f"{s.pct_gdp:g}% of GDP")
    ),
    "mobilisation": lambda s, n: f"{n.targets} mobilise (power x{s.factor:g})",
    "threat": lambda s, n: f"threat perceived by {n.targets} x{s.factor:g}",
    "attack": lambda s, n: f"{n.attacker} attacks {n.targets}",
    "government": lambda s, n: f"government change in {n.targets}",
    "veto": lambda s, n: (
        f"{n.targets} {'lift veto on' if s.lift else 'veto'} {n.others or 'all applicants'} for {n.bloc}"
    ),
    "integration": lambda s, n: f"{n.bloc} integration {s.change:+g}",
    "settlement": lambda s, n: f"territorial conflict of {n.targets} settled",
}


def shock_text(c: CompiledShock, world: World) -> str:
    """The event text of a compiled shock: ``<key>: <what happens>``."""
    names = _Names(
        targets=",".join(world.codes[i] for i in c.targets),
        others=",".join(world.codes[i] for i in c.others),
        bloc=world.bloc_codes[c.bloc] if c.bloc >= 0 else "",
        attacker=world.codes[c.attacker] if c.attacker >= 0 else "",
    )
    return f"{c.key}: " + _TEXTS[c.kind](c.spec, names)


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
        c.text = shock_text(c, world)
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
