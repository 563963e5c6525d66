"""Landscape theory of aggregation (Axelrod & Bennett 1993): exact minima, basins and descent."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.errors import InputError, suggest
from simulator.scenario.limits import MAX_ABS_NUMBER
from simulator.scenario.yamlio import LocatedDoc, load_yaml_file, pydantic_errors

MAX_EXHAUSTIVE = 25  # default cap on actors for exhaustive enumeration (2^24 configurations)
HARD_MAX_EXHAUSTIVE = 28  # 2^27 configurations, about 1.4 GiB peak (9-10 bytes per configuration)
_CHUNK_BITS = 16  # configurations per chunk: 2^16 (n x 2^16 float64 = 13 MB at n = 25)
_DESCENT_BATCH = 1 << 14  # random starts descended together


@dataclass(frozen=True, eq=False)
class Landscape:
    """Actors with sizes and symmetric pairwise propensities.

    Attributes:
        names: Actor names, unique, in input order (actor 0 is the reference actor).
        sizes: Positive sizes ``s_i``, shape (n,).
        propensity: Symmetric propensities ``p_ij`` with zero diagonal, shape (n, n).
        name: A label for output.
    """

    names: tuple[str, ...]
    sizes: np.ndarray
    propensity: np.ndarray
    name: str = ""

    @classmethod
    def from_arrays(cls, names: Sequence[str], sizes: Any, propensity: Any, name: str = "") -> Landscape:
        """Validate and build a landscape; the diagonal of ``propensity`` is ignored (d_ii = 0)."""
        names = tuple(str(a) for a in names)
        s = np.asarray(sizes, dtype=float)
        p = np.array(propensity, dtype=float)
        n = len(names)
        if n < 1:
            raise InputError("a landscape needs at least one actor")
        if len(set(names)) != n:
            dup = next(a for a in names if names.count(a) > 1)
            raise InputError(f"duplicate actor '{dup}'")
        if s.shape != (n,) or p.shape != (n, n):
            raise InputError(f"expected {n} sizes and a {n}x{n} propensity matrix")
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(p))):
            raise InputError("sizes and propensities must be finite numbers")
        if np.any(s <= 0):
            raise InputError(f"sizes must be positive (actor '{names[int(np.argmin(s))]}')")
        if not np.allclose(p, p.T, rtol=1e-12, atol=1e-12):
            raise InputError("propensities must be symmetric (p_ij = p_ji)")
        p = (p + p.T) / 2
        np.fill_diagonal(p, 0.0)
        s.setflags(write=False)
        p.setflags(write=False)
        return cls(names, s, p, name)

    @property
    def n(self) -> int:
        """Number of actors."""
        return len(self.names)

    @property
    def weights(self) -> np.ndarray:
        """Pair weights ``w_ij = s_i s_j p_ij``, so that ``E = sum_ij w_ij d_ij``."""
        return self.sizes[:, None] * self.sizes[None, :] * self.propensity

    @property
    def tolerance(self) -> float:
        """Smallest energy decrease that counts as a move: 0 (exact) for integer weights.

        Otherwise a bound on the rounding error of a flip gain, so that mathematically equal
        gains are treated as ties whatever the order of summation.
        """
        w = self.weights
        row = float(np.abs(w).sum(axis=1).max(initial=0.0))
        if np.array_equal(w, np.round(w)) and row * self.n < 2.0**52:
            return 0.0
        return 64.0 * self.n * np.finfo(float).eps * row


@dataclass(frozen=True, eq=False)
class Minimum:
    """A local minimum of the energy (a predicted alignment).

    Attributes:
        sides: Boolean side of each actor, False = the side of actor 0.
        energy: ``E`` of the configuration.
        basin: Share of configurations (or of random starts) whose steepest descent ends here.
        frustration: ``F_i`` of each actor in this configuration.
    """

    sides: np.ndarray
    energy: float
    basin: float
    frustration: np.ndarray

    def camps(self, names: Sequence[str]) -> tuple[list[str], list[str]]:
        """The two sides as name lists, the side holding actor 0 first."""
        return (
            [a for a, b in zip(names, self.sides, strict=True) if not b],
            [a for a, b in zip(names, self.sides, strict=True) if b],
        )


@dataclass(frozen=True, eq=False)
class LandscapeResult:
    """Minima of a landscape, lowest energy first.

    Attributes:
        landscape: The landscape analysed.
        minima: Local minima sorted by energy, then larger basin, then side pattern.
        method: ``"exhaustive"`` or ``"descent"``.
        samples: Configurations enumerated (2^(n-1)) or random starts descended.
        seed: Seed of the random starts (descent only).
        energies: Energy of every configuration, indexed by code (exhaustive, if kept).
    """

    landscape: Landscape
    minima: list[Minimum]
    method: str
    samples: int
    seed: int | None = None
    energies: np.ndarray | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape: actors, and minima with energy, sides and basin."""
        names = self.landscape.names
        return {
            "actors": list(names),
            "minima": [
                {"energy": float(m.energy), "sides": list(m.camps(names)), "basin": float(m.basin)} for m in self.minima
            ],
        }


# ---------------------------------------------------------------------------------------------
# Pure functions over configurations. ``sides`` is a boolean array (..., n): True = side B.


def canonical(sides: np.ndarray) -> np.ndarray:
    """Orient configurations so that actor 0 is on side A (False)."""
    sides = np.asarray(sides, dtype=bool)
    return sides ^ sides[..., :1]


def frustration(landscape: Landscape, sides: np.ndarray) -> np.ndarray:
    """``F_i = sum_j s_j p_ij d_ij`` for each actor, shape (..., n)."""
    sides = np.asarray(sides, dtype=bool)
    apart = sides[..., :, None] != sides[..., None, :]
    return (apart * (landscape.propensity * landscape.sizes[None, :])).sum(axis=-1)


def energy(landscape: Landscape, sides: np.ndarray) -> np.ndarray:
    """``E = sum_i s_i F_i = (sum_ij w_ij - sigma' W sigma) / 2`` with ``sigma = +-1``."""
    sigma = 1.0 - 2.0 * np.asarray(sides, dtype=bool)
    w = landscape.weights
    return (w.sum() - ((sigma @ w) * sigma).sum(axis=-1)) / 2.0


def flip_gains(landscape: Landscape, sides: np.ndarray) -> np.ndarray:
    """Change of ``E`` if each actor alone switched sides: ``2 sigma_i h_i``, ``h = W sigma``."""
    sigma = 1.0 - 2.0 * np.asarray(sides, dtype=bool)
    return 2.0 * sigma * (sigma @ landscape.weights)


def decode(codes: np.ndarray, n: int) -> np.ndarray:
    """Configurations of integer codes: bit k-1 of the code is the side of actor k >= 1."""
    codes = np.asarray(codes, dtype=np.uint64)
    bits = (codes[..., None] >> np.arange(max(n - 1, 0), dtype=np.uint64)) & np.uint64(1)
    return np.concatenate([np.zeros((*codes.shape, 1), bool), bits.astype(bool)], axis=-1)


def _steepest(gains: np.ndarray, tol: float, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether some switch lowers ``E`` (gain < -tol), and which: the steepest, lowest index on ties.

    Gains within ``tol`` of the most negative one count as tied (``tol`` is 0 for integer data).
    """
    low = gains.min(axis=axis)
    tied = gains <= np.expand_dims(low + tol, axis)
    if tol:
        tied &= gains < -tol
    return low < -tol, np.argmax(tied, axis=axis)


def descend(landscape: Landscape, sides: np.ndarray) -> np.ndarray:
    """Steepest descent from each configuration (rows of ``sides``) to a local minimum.

    Each step switches the actor whose move lowers ``E`` most (lowest index on ties); a
    move must lower ``E`` strictly. Returns canonical configurations, shape (m, n).
    """
    w, tol = landscape.weights, landscape.tolerance
    sigma = 1.0 - 2.0 * np.array(sides, dtype=bool).reshape(-1, landscape.n)
    local = sigma @ w
    gains = 2.0 * sigma * local
    active = np.arange(sigma.shape[0])
    while active.size:
        moving, actor = _steepest(gains[active], tol, axis=1)
        active, actor = active[moving], actor[moving]
        sigma[active, actor] *= -1.0
        local[active] += 2.0 * sigma[active, actor][:, None] * w[actor]
        gains[active] = 2.0 * sigma[active] * local[active]
    return canonical(sigma < 0)


def _make_minima(landscape: Landscape, sides: np.ndarray, basins: np.ndarray, energies: np.ndarray) -> list[Minimum]:
    order = sorted(range(len(sides)), key=lambda i: (energies[i], -basins[i], tuple(sides[i])))
    frus = frustration(landscape, sides)
    return [Minimum(sides[i], float(energies[i]), float(basins[i]), frus[i]) for i in order]


def enumerate_landscape(landscape: Landscape, *, keep_energies: bool = False) -> LandscapeResult:
    """Exact analysis over all 2^(n-1) configurations (actor 0 fixed on side A).

    Configurations are processed in chunks of 2^16 that share the sides of the high actors:
    the local field ``h = W sigma`` is a per-chunk table plus a per-chunk constant. The
    steepest-descent successor of every configuration is one array; pointer jumping
    (``root = root[root]`` until fixed) sends every configuration to its minimum.

    Args:
        landscape: The landscape; at most ``HARD_MAX_EXHAUSTIVE`` actors.
        keep_energies: Also return the energy of every configuration, indexed by code.

    Returns:
        All local minima with exact basins (shares of the 2^(n-1) configurations).
    """
    n, w, tol = landscape.n, landscape.weights, landscape.tolerance
    if n > HARD_MAX_EXHAUSTIVE:
        raise InputError(
            f"{n} actors is too many for exhaustive enumeration (at most {HARD_MAX_EXHAUSTIVE}); "
            "use descent from random starts"
        )
    bits = n - 1
    total = 1 << bits
    low = min(bits, _CHUNK_BITS)  # actors 1..low vary inside a chunk, the rest across chunks
    width = 1 << low
    in_chunk = np.arange(width, dtype=np.uint32)
    sigma = np.ones((n, width))
    sigma[1 : low + 1] = 1.0 - 2.0 * ((in_chunk >> np.arange(low, dtype=np.uint32)[:, None]) & 1)
    local_low = w[:, : low + 1] @ sigma[: low + 1]  # field of actors 0..low, shape (n, width)
    gain_low = 2.0 * sigma * local_low
    twice_sigma = 2.0 * sigma
    flip = np.empty(n, dtype=np.uint32)
    flip[0] = total - 1  # switching actor 0 = switching everyone else, then re-orienting
    flip[1:] = np.left_shift(np.uint32(1), np.arange(bits, dtype=np.uint32))
    root = np.empty(total, dtype=np.uint32)  # steepest-descent successor, then minimum reached
    is_min = np.empty(total, dtype=bool)
    energies = np.empty(total) if keep_energies else None
    half_weight = w.sum() / 2.0
    gains = np.empty((n, width))
    for chunk in range(total >> low):
        high = 1.0 - 2.0 * ((chunk >> np.arange(bits - low)) & 1)  # sides of actors low+1..n-1
        local_high = w[:, low + 1 :] @ high
        np.multiply(twice_sigma, local_high[:, None], out=gains)
        gains += gain_low
        gains[low + 1 :] *= high[:, None]
        moving, actor = _steepest(gains, tol, axis=0)
        codes = in_chunk | np.uint32(chunk << low)
        span = slice(chunk << low, (chunk + 1) << low)
        root[span] = np.where(moving, codes ^ flip[actor], codes)
        np.logical_not(moving, out=is_min[span])
        if energies is not None:
            energies[span] = half_weight - gains.sum(axis=0) / 4.0  # E = sum(w)/2 - sum(gains)/4
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    codes = np.flatnonzero(is_min).astype(np.uint32)
    counts = np.zeros(codes.size, dtype=np.int64)
    for start in range(0, total, 1 << 22):  # bounded memory: no int64 copy of all of root
        counts += np.bincount(np.searchsorted(codes, root[start : start + (1 << 22)]), minlength=codes.size)
    basins = counts / total
    sides = decode(codes, n)
    return LandscapeResult(
        landscape,
        _make_minima(landscape, sides, basins, energy(landscape, sides)),
        "exhaustive",
        total,
        energies=energies,
    )


def sample_landscape(landscape: Landscape, starts: int, seed: int) -> LandscapeResult:
    """Steepest descent from ``starts`` uniformly random configurations.

    ``basin`` is then the share of starts that ended in each minimum, an unbiased estimate of
    the exact basin. One stream: ``np.random.default_rng(seed)``, drawn in fixed batches.
    """
    if starts < 1:
        raise InputError(f"starts must be at least 1 (got {starts})")
    rng = np.random.default_rng(seed)
    ends: dict[bytes, np.ndarray] = {}
    counts: dict[bytes, int] = {}
    for first in range(0, starts, _DESCENT_BATCH):
        batch = min(_DESCENT_BATCH, starts - first)
        reached = descend(landscape, rng.integers(0, 2, size=(batch, landscape.n), dtype=bool))
        for row, k in zip(*np.unique(reached, axis=0, return_counts=True), strict=True):
            ends.setdefault(row.tobytes(), row)
            counts[row.tobytes()] = counts.get(row.tobytes(), 0) + int(k)
    sides = np.array(list(ends.values()), dtype=bool)
    basins = np.array([counts[key] for key in ends]) / starts
    minima = _make_minima(landscape, sides, basins, energy(landscape, sides))
    return LandscapeResult(landscape, minima, "descent", starts, seed=seed)


# ---------------------------------------------------------------------------------------------
# Landscape files and the world.


class _ActorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(strict=True, min_length=1)]
    size: Annotated[float, Field(strict=True, gt=0, le=MAX_ABS_NUMBER, allow_inf_nan=False)]


class _LandscapeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(strict=True)] = ""
    description: Annotated[str, Field(strict=True)] = ""
    source: Annotated[str, Field(strict=True)] = ""
    actors: Annotated[list[_ActorSpec], Field(min_length=2)]
    propensities: list[Any] = []


class _LandscapeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    landscape: _LandscapeSpec


def _check_shape(doc: LocatedDoc) -> None:
    """Mappings where mappings belong, and no unknown keys (with the valid ones listed)."""

    def check(node: Any, loc: tuple[str | int, ...], model: type[BaseModel], what: str) -> None:
        if not isinstance(node, dict):
            raise doc.error(f"expected {what}, got {node!r}", loc)
        for key in node:
            if key not in model.model_fields:
                msg = f"unknown key '{key}'" + suggest(str(key), model.model_fields)
                raise doc.error(msg, (*loc, key))

    check(doc.data, (), _LandscapeFile, "a mapping with a 'landscape' key")
    spec = doc.data.get("landscape")
    check(spec, ("landscape",), _LandscapeSpec, "a mapping with 'actors' and 'propensities'")
    actors = spec.get("actors")
    for i, actor in enumerate(actors if isinstance(actors, list) else []):
        check(actor, ("landscape", "actors", i), _ActorSpec, "an actor {name: ..., size: ...}")


def _bounded_number(value: Any) -> bool:
    """Whether a YAML value is a finite number within +-MAX_ABS_NUMBER (an integer too large for a
    float, 10**400, is not; one numpy cannot take as a float64 array element, 10**30, is converted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and abs(number) <= MAX_ABS_NUMBER


def load_landscape(path: str | Path, *, max_actors: int | None = None) -> Landscape:
    """Read a landscape file; every error names the file, line and key.

    Args:
        path: YAML file with a ``landscape`` mapping (``actors``, ``propensities``).
        max_actors: If given, more actors than this is an error (exhaustive mode's limit).
    """
    doc = load_yaml_file(path)
    _check_shape(doc)
    try:
        spec = _LandscapeFile.model_validate(doc.data).landscape
    except ValidationError as exc:
        raise pydantic_errors(doc, exc) from None
    where = ("landscape", "actors")
    first: dict[str, int] = {}
    for i, actor in enumerate(spec.actors):
        if actor.name in first:
            line = doc.line_of((*where, first[actor.name]))
            raise doc.error(f"duplicate actor '{actor.name}' (first on line {line})", (*where, i))
        first[actor.name] = i
    n = len(spec.actors)
    if max_actors is not None and n > max_actors:
        raise doc.error(
            f"{n} actors is too many for exhaustive enumeration (2^{n - 1} configurations; "
            f"limit {max_actors}); use --descent, or raise --max-exhaustive",
            where,
        )
    propensity = np.zeros((n, n))
    seen: dict[frozenset[str], int] = {}
    for i, item in enumerate(spec.propensities):
        loc = ("landscape", "propensities", i)
        if not isinstance(item, list) or len(item) != 3:
            raise doc.error(f"a propensity is a list of three: actor, actor, value; got {item!r}", loc)
        a, b, value = item
        for j, actor in enumerate((a, b)):
            if not isinstance(actor, str) or actor not in first:
                raise doc.error(f"unknown actor '{actor}'" + suggest(str(actor), first), (*loc, j))
        if a == b:
            raise doc.error(f"self-pair {a}-{b}: a propensity needs two different actors", loc)
        if not _bounded_number(value):
            raise doc.error(f"propensity must be a finite number within +-{MAX_ABS_NUMBER:g}, got {value!r}", (*loc, 2))
        pair = frozenset((a, b))
        if pair in seen:
            line = doc.line_of(("landscape", "propensities", seen[pair]))
            raise doc.error(f"pair {a}-{b} listed twice (first on line {line})", loc)
        seen[pair] = i
        propensity[first[a], first[b]] = propensity[first[b], first[a]] = value
    sizes = [a.size for a in spec.actors]
    label = spec.name or Path(path).stem
    return Landscape.from_arrays([a.name for a in spec.actors], sizes, propensity, label)


def world_landscape(top: int | None) -> tuple[Landscape, int]:
    """The baseline world as a landscape (size = power, propensity = affinity).

    Args:
        top: Keep the ``top`` largest states by size (ties: input order); None or 0 = all.

    Returns:
        The landscape (states ordered by size, largest first) and the number of states in all.
    """
    names, sizes, propensity = baseline_landscape()
    sizes = np.asarray(sizes, dtype=float)
    order = np.argsort(-sizes, kind="stable")[: top or None]
    p = np.asarray(propensity, dtype=float)[np.ix_(order, order)]
    label = "Europe baseline" + (f", {len(order)} largest by power" if len(order) < len(names) else "")
    return Landscape.from_arrays([names[i] for i in order], sizes[order], p, label), len(names)


def baseline_landscape() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Actors for the landscape model: the baseline states, size = power, propensity = affinity."""
    from simulator.engine.mechanisms.power import initial_power
    from simulator.scenario.params import defaults
    from simulator.scenario.world import build_world

    world = build_world()
    power = initial_power(world, defaults())
    return list(world.codes), power, world.affinity.copy()
