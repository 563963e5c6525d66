"""Counter-based random draws: every draw is a pure function of (seed, stream, replicate, step, index).

There is no generator state. A draw hashes its coordinates with the SplitMix64 finaliser
(Steele, Lea & Flood 2014), so replicate k gets the same numbers whether it runs alone, in a
block of any size, on any worker, or again after a resume; and a new stream name leaves the
draws of every existing stream unchanged (the stream key is a hash of its name, as in Starsim).
"""

from __future__ import annotations

import hashlib

import numpy as np

from simulator.engine import portable

# The constants of the draws, shared with the compiled kernels (simulator.engine.fast.kernels).
M1 = np.uint64(0xBF58476D1CE4E5B9)  # SplitMix64 multipliers
M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spaces replicates and steps
S30, S27, S31 = np.uint64(30), np.uint64(27), np.uint64(31)  # SplitMix64 shifts
S11 = np.uint64(11)  # 64 - 53: the top 53 bits make a double
INV53 = 1.0 / 9007199254740992.0  # 2**-53


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, elementwise over a uint64 array (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> S30)) * M1
        z = (z ^ (z >> S27)) * M2
    return z ^ (z >> S31)


def stream_key(seed: int, stream: str) -> np.uint64:
    """The 64-bit key of a named stream under a root seed (stable across versions)."""
    digest = hashlib.blake2b(stream.encode(), digest_size=8).digest()
    return np.uint64((int.from_bytes(digest, "little") ^ (int(seed) * int(GOLDEN))) % 2**64)


def replicate_keys(seed: int, stream: str, replicates: np.ndarray) -> np.ndarray:
    """(R,) uint64 keys of a named stream, one per replicate: mix(replicate * GOLDEN + stream_key)."""
    with np.errstate(over="ignore"):
        return mix(np.asarray(replicates, dtype=np.uint64) * GOLDEN + stream_key(seed, stream))


class Streams:
    """Draws for one ensemble block: replicate indices ``replicates`` under ``seed``."""

    def __init__(self, seed: int, replicates: np.ndarray):
        self.seed = int(seed)
        self.replicates = np.asarray(replicates, dtype=np.uint64)
        self._keys: dict[str, np.ndarray] = {}

    def replicate_keys(self, stream: str) -> np.ndarray:
        """(R,) keys of ``stream`` for this block's replicates (cached; read-only by convention)."""
        key = self._keys.get(stream)
        if key is None:
            key = self._keys[stream] = replicate_keys(self.seed, stream, self.replicates)
        return key

    def bits(self, stream: str, step: int, shape: tuple[int, ...] = ()) -> np.ndarray:
        """uint64 hashes of shape (R, *shape) for ``stream`` at ``step``; cell index is row-major."""
        with np.errstate(over="ignore"):
            base = mix(self.replicate_keys(stream) + np.uint64(step + 1) * GOLDEN)
            n = int(np.prod(shape)) if shape else 1
            cells = mix(np.arange(1, n + 1, dtype=np.uint64) * M2)
            out = mix(base[:, None] + cells[None, :])
        return out.reshape((len(self.replicates), *shape))

    def bits_at(self, stream: str, step: int, rows: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """uint64 hashes for replicate rows ``rows`` (n,) and cell indices ``cells`` (n, ...)."""
        with np.errstate(over="ignore"):
            base = mix(self.replicate_keys(stream)[rows] + np.uint64(step + 1) * GOLDEN)
            c = mix((np.asarray(cells, dtype=np.uint64) + np.uint64(1)) * M2)
            base = base.reshape(base.shape + (1,) * (c.ndim - base.ndim))
            return mix(base + c)

    def uniform_at(self, stream: str, step: int, rows: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Uniform draws for chosen replicate rows and cells (same values as ``uniform``)."""
        b = self.bits_at(stream, step, rows, cells)
        return ((b >> S11).astype(np.float64) + 0.5) * INV53

    def logistic_at(self, stream: str, step: int, rows: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Logistic draws for chosen replicate rows and cells (same values as ``logistic``)."""
        u = self.uniform_at(stream, step, rows, cells)
        return portable.log(u / (1.0 - u))

    def uniform(self, stream: str, step: int, shape: tuple[int, ...] = ()) -> np.ndarray:
        """Uniform draws in (0, 1) of shape (R, *shape)."""
        b = self.bits(stream, step, shape)
        return ((b >> S11).astype(np.float64) + 0.5) * INV53

    def logistic(self, stream: str, step: int, shape: tuple[int, ...] = ()) -> np.ndarray:
        """Standard logistic draws of shape (R, *shape)."""
        u = self.uniform(stream, step, shape)
        return portable.log(u / (1.0 - u))


def uniform_at(seed: int, stream: str, replicate: int, step: int, cell: int) -> float:
    """One uniform draw, computed on its own (the reference implementation reads draws this way)."""
    with np.errstate(over="ignore"):
        base = mix(replicate_keys(seed, stream, np.array([replicate])) + np.uint64(step + 1) * GOLDEN)
        c = mix(np.array([cell + 1], dtype=np.uint64) * M2)
        b = mix(base + c)
    return float(((b >> S11).astype(np.float64)[0] + 0.5) * INV53)


def logistic_at(seed: int, stream: str, replicate: int, step: int, cell: int) -> float:
    """One standard logistic draw, computed on its own."""
    u = uniform_at(seed, stream, replicate, step, cell)
    return portable.log1(u / (1.0 - u))
