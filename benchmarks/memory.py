"""Peak memory of ``sim run`` against the number of replicates: ``python -m benchmarks.memory``.

Each size runs ``sim run scenarios/us_exit.yaml -n N --no-figures`` in a fresh process (the whole
command: interpreter, imports, the world, the compiled kernels, the run, the summary) and reads
that process's peak resident set size from the kernel when it ends (``ru_maxrss`` of
``os.wait4``). With ``--workers W`` the figure is the largest of the command and its worker
processes (the kernel folds the peaks of waited-for children in as a maximum, not a sum).

    python -m benchmarks.memory                          # 10,000, 100,000 and 1,000,000 replicates
    python -m benchmarks.memory --sizes 2000 20000       # quicker
    python -m benchmarks.memory --steps 10               # a shorter horizon (about 4x faster)
    python -m benchmarks.memory --outputs-only           # what grows with N, without the engine work

At about 1 s per 1,000 replicates on one core, the million takes a quarter of an hour or more.
``--outputs-only`` runs the same ``run_scenario`` (the library call of ``sim run``: Parquet
writers, summary, timeline accumulators, run directory) on one real block of replicates computed
once and handed out again for every block, with its replicate numbers shifted. Everything that
can grow with the number of replicates is then measured at full size; the engine's per-block work,
which is the same for every block, is not repeated.
The figures should agree within about 10 % (memory is bounded by the block, not by the number
of replicates); the last line says by how much they differ. docs/PERFORMANCE.md ("Memory") quotes
them. The numba kernels are compiled (or loaded from their cache) by a short run first, so that
compilation does not count in the first size's peak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "us_exit.yaml"
SIZES = [10_000, 100_000, 1_000_000]
SIM = "from simulator.cli import main; main()"
OUTPUTS = "from benchmarks.memory import outputs_only; outputs_only()"


def outputs_only() -> None:
    """Child of ``--outputs-only``: ``run_scenario`` on one real block repeated (argv: scenario, N, block, steps, out)."""
    import dataclasses

    import simulator.runs.run as runner
    from simulator.runs.blocks import run_block
    from simulator.scenario.language import load_scenario

    scenario_path, n, block, steps, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    scenario = load_scenario(Path(scenario_path), [f"steps={steps}"] if steps != "0" else None)
    seed = scenario.seed
    one = run_block(scenario, seed, 0, block, timeline=True)

    def repeated(scenario, seed, blocks, workers=1, timeline=False, backend=None):
        for start, stop in blocks:
            k = stop - start
            columns = {name: v[:k] for name, v in one.columns.items()}
            columns["replicate"] = columns["replicate"] + start
            events, no_votes = one.events[one.events[:, 0] < k].copy(), one.no_votes[one.no_votes[:, 0] < k].copy()
            events[:, 0] += start
            no_votes[:, 0] += start
            yield dataclasses.replace(one, start=start, stop=stop, columns=columns, events=events, no_votes=no_votes)

    runner.iterate_blocks = repeated
    runner.run_scenario(scenario, Path(out), replicates=n, block_size=block)


def measure(replicates: int, out: Path, block: int, workers: int, steps: int | None, outputs: bool = False) -> dict:
    """Peak RSS (MiB) and wall time of one ``sim run`` (or ``--outputs-only`` child) in a fresh process."""
    if outputs:
        cmd = [sys.executable, "-c", OUTPUTS, str(SCENARIO), str(replicates), str(block), str(steps or 0), str(out)]
    else:
        cmd = [sys.executable, "-c", SIM, "run", str(SCENARIO), "-n", str(replicates), "--no-figures"]
        cmd += ["--out", str(out), "--block-size", str(block), "--workers", str(workers)]
        cmd += ["--steps", str(steps)] if steps else []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"sim run -n {replicates} failed ({proc.returncode}):\n{stderr.decode(errors='replace')}")
    return {
        "replicates": replicates,
        "block": block,
        "workers": workers,
        "steps": steps,
        "outputs_only": outputs,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "seconds": seconds,
        "replicate_parquet_mib": (out / "replicates.parquet").stat().st_size / 2**20,
        "row_groups": -(-replicates // block),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Peak memory of sim run against replicates (see benchmarks/memory.py)."
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="replicates of each run")
    parser.add_argument("--block", type=int, default=1000, help="replicates per block (sim run --block-size)")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (sim run --workers)")
    parser.add_argument("--steps", type=int, help="horizon in quarters (default: the scenario's 40)")
    parser.add_argument("--outputs-only", action="store_true", help="one real block repeated (see the docstring)")
    parser.add_argument("--json", type=Path, help="also write the records to this file")
    args = parser.parse_args(argv)

    records = []
    with tempfile.TemporaryDirectory(prefix="sim-memory-") as tmp:
        measure(50, Path(tmp) / "warmup", args.block, 1, args.steps)  # numba cache, pyc files
        for n in args.sizes:
            print(f"# sim run -n {n:,} ...", file=sys.stderr, flush=True)
            record = measure(n, Path(tmp) / f"run-{n}", args.block, args.workers, args.steps, args.outputs_only)
            records.append(record)
            print(
                f"{n:>11,} replicates: peak RSS {record['peak_rss_mib']:7.0f} MiB, {record['seconds']:8.1f} s, "
                f"replicates.parquet {record['replicate_parquet_mib']:7.1f} MiB in {record['row_groups']:,} row groups",
                flush=True,
            )
    peaks = [r["peak_rss_mib"] for r in records]
    spread = (max(peaks) - min(peaks)) / min(peaks)
    print(f"largest peak is {spread:.1%} above the smallest ({min(peaks):.0f} to {max(peaks):.0f} MiB)")
    if args.json:
        args.json.write_text(json.dumps({"records": records, "spread": spread}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
