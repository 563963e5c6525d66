"""Benchmark of the landscape model: exhaustive enumeration at n = 16, 20, 24 and descent at n = 48.

Run: ``python benchmarks/bench_landscape.py [--sizes 16 20 24] [--repeat 3]``. Landscapes are
random with integer sizes (1..100) and propensities (-5..5) from a fixed seed; times are the
best of ``--repeat`` runs, peak memory is what numpy allocated (tracemalloc).
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np

from simulator.landscape import Landscape, enumerate_landscape, sample_landscape


def random_landscape(n: int, seed: int = 20240601) -> Landscape:
    """A reproducible random landscape with integer data (exact arithmetic)."""
    rng = np.random.default_rng([seed, n])
    upper = np.triu(rng.integers(-5, 6, (n, n)), 1)
    return Landscape.from_arrays([f"S{i}" for i in range(n)], rng.integers(1, 101, n), upper + upper.T)


def timed(run, repeat: int) -> tuple[float, float, object]:
    """Best wall time of ``repeat`` runs, the peak traced memory (MiB) of one, and its result."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, result


def main() -> None:
    """Print one line per benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 20, 24])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--descent-n", type=int, default=48)
    parser.add_argument("--starts", type=int, default=10_000)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}")
    for n in args.sizes:
        land = random_landscape(n)
        seconds, peak, result = timed(lambda land=land: enumerate_landscape(land), args.repeat)
        print(
            f"landscape exhaustive n={n}: {seconds:.3f} s "
            f"({result.samples:,} configurations, {len(result.minima)} minima, peak {peak:.0f} MiB)"
        )
    land = random_landscape(args.descent_n)
    seconds, peak, result = timed(lambda: sample_landscape(land, args.starts, seed=0), args.repeat)
    print(
        f"landscape descent n={args.descent_n}: {seconds:.3f} s "
        f"({args.starts:,} starts, {len(result.minima)} minima, peak {peak:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
