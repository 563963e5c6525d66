"""One memory measurement, run in its own process: ``python -m benchmarks.memory_child N BLOCK``.

Runs ``sim run``'s library call (simulator.runs.run.run_scenario) on us_exit with N replicates in
blocks of BLOCK to a temporary directory and prints one JSON line: the resident size before the
run (interpreter, imports, world, loaded kernels), the peak resident size during the run (Linux
VmHWM, reset just before the run through /proc/self/clear_refs; ru_maxrss where that is not
possible, which then includes the import-time peak) and the time. N = 0 only imports.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path


def rss_mib() -> float:
    """Current resident set size (MiB), from /proc/self/statm."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mib() -> float:
    """Peak resident set size since the last reset (VmHWM), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    n, block = int(sys.argv[1]), int(sys.argv[2])
    scenario_path = sys.argv[3] if len(sys.argv) > 3 else "scenarios/us_exit.yaml"
    from simulator.engine.model import AllianceModel
    from simulator.runs.blocks import world_for
    from simulator.runs.run import run_scenario
    from simulator.scenario.language import load_scenario

    scenario = load_scenario(Path(scenario_path))
    world_for(scenario)
    AllianceModel(scenario, 2, world=world_for(scenario)).run()  # load the compiled kernels
    before = rss_mib()
    reset = reset_peak()
    seconds = 0.0
    if n:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_scenario(scenario, Path(tmp) / "run", replicates=n, block_size=block)
            seconds = time.perf_counter() - start
    record = {
        "replicates": n,
        "block": block,
        "rss_before_mib": before,
        "peak_rss_mib": peak_mib(),
        "peak_is_run_only": reset,
        "seconds": seconds,
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
