"""Engine benchmarks: throughput, the plain reference peer, cost against the number of states, memory, phases.

Run from the repository root (one command; a full run takes a few minutes, --quick about one):

    python -m benchmarks            # or: python benchmarks/run.py
    python -m benchmarks --quick

It prints a table and the JSON record, and writes the record to benchmarks/results/latest.json
(docs/PERFORMANCE.md quotes it). Everything runs on one core of this machine: single process, and
numpy/numba single-threaded (the script sets the BLAS/OpenMP thread variables to 1 before numpy
loads). What is measured:

- engine throughput on scenarios/us_exit.yaml for 100 / 1,000 / 10,000 / 100,000 replicates, run
  as the Monte Carlo driver runs them (models of at most ``--block`` replicates, one after the
  other; model construction included, Parquet writing not), with the compiled backend and with
  the pure-numpy reference path; an ensemble shorter than a second is run again until a second
  has passed, and its figures are per run;
- the plain per-agent reference (simulator.engine.reference.ReferenceModel: one replicate per Mesa
  model, Python loops) on ``--reference`` replicates, in the same run, and the ratios;
- cost per replicate-step against the number of states: the baseline world, then synthetic
  worlds of about 100 and 200 states (benchmarks/synthetic.py);
- peak memory of ``run_scenario`` in a fresh process (peak RSS during the run) with 10,000 and
  100,000 replicates, results streamed to Parquet block by block, and with a 10x larger block;
- where the time goes: the model's own per-phase timers (AllianceModel.phase_seconds).

The first call of the compiled kernels in a process loads them from numba's cache (or compiles
them, once per installation); that time is reported separately as ``warmup_seconds``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import synthetic_world  # noqa: E402
from simulator.engine.fast import numba_available  # noqa: E402
from simulator.engine.model import AllianceModel  # noqa: E402
from simulator.engine.reference import ReferenceModel  # noqa: E402
from simulator.runs.blocks import DEFAULT_BLOCK, world_for  # noqa: E402
from simulator.scenario.language import load_scenario  # noqa: E402
from simulator.scenario.world import World  # noqa: E402

SCENARIO = ROOT / "scenarios" / "us_exit.yaml"
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
FULL = {
    "numba": [100, 1_000, 10_000, 100_000],
    "numpy": [100, 1_000],
    "reference": 8,
    "states": [48, 100, 200],
    "scaling_replicates": {"numba": 2_000, "numpy": 200},
    "memory": [10_000, 100_000],
}
QUICK = {
    "numba": [100, 1_000, 10_000],
    "numpy": [100],
    "reference": 3,
    "states": [48, 100, 200],
    "scaling_replicates": {"numba": 500, "numpy": 50},
    "memory": [2_000, 20_000],
}


# ------------------------------------------------------------------ measurements
def machine() -> dict:
    """Where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": None,
        "git": None,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    if numba_available():
        import numba

        info["numba"] = numba.__version__
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        info["git"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    return info


def engine_run(scenario, world: World, replicates: int, backend: str, block: int, min_seconds: float = 1.0) -> dict:
    """Run ``replicates`` replicates in models of at most ``block``, one after the other.

    An ensemble that takes less than ``min_seconds`` is run again (the same replicates) until that
    much time has passed; the figures are per run (total time / runs), so that a 20 ms ensemble
    is not timed by one clock reading.
    """
    phases: dict[str, float] = {}
    runs = 0
    start = time.perf_counter()
    while True:
        for first in range(0, replicates, block):
            reps = np.arange(first, min(first + block, replicates))
            model = AllianceModel(scenario, reps, world=world, backend=backend).run()
            for name, seconds in model.phase_seconds.items():
                phases[name] = phases.get(name, 0.0) + seconds
        runs += 1
        if time.perf_counter() - start >= min_seconds:
            break
    seconds = (time.perf_counter() - start) / runs
    phases = {name: s / runs for name, s in phases.items()}
    steps = replicates * scenario.steps
    return {
        "backend": backend,
        "replicates": replicates,
        "states": world.n_states,
        "block": min(block, replicates),
        "runs": runs,
        "seconds": seconds,
        "replicates_per_second": replicates / seconds,
        "replicate_steps_per_second": steps / seconds,
        "us_per_replicate_step": seconds / steps * 1e6,
        "phase_seconds": phases,
    }


def reference_run(scenario, replicates: int) -> dict:
    """The plain per-agent Mesa reference: one ReferenceModel per replicate, as a Mesa user would."""
    ReferenceModel(scenario, replicate=0)  # imports and first-call costs out of the timing
    start = time.perf_counter()
    for k in range(replicates):
        ReferenceModel(scenario, replicate=k).run()
    seconds = time.perf_counter() - start
    steps = replicates * scenario.steps
    return {
        "replicates": replicates,
        "seconds": seconds,
        "replicates_per_second": replicates / seconds,
        "replicate_steps_per_second": steps / seconds,
        "us_per_replicate_step": seconds / steps * 1e6,
    }


def memory_run(replicates: int, block: int) -> dict:
    """Peak RSS of a fresh process running run_scenario (benchmarks/memory_child.py)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory_child", str(replicates), str(block), str(SCENARIO)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def phase_table(run: dict) -> dict:
    """Seconds, share and microseconds per replicate-step of every phase of one engine run."""
    total = sum(run["phase_seconds"].values())
    steps = run["replicates"] * (run["replicate_steps_per_second"] / run["replicates_per_second"])
    return {
        name: {"seconds": s, "share": s / total, "us_per_replicate_step": s / steps * 1e6}
        for name, s in sorted(run["phase_seconds"].items(), key=lambda kv: -kv[1])
    }


# ------------------------------------------------------------------ the suite
def run_suite(cfg: dict, block: int, log) -> dict:
    scenario = load_scenario(SCENARIO)
    world = world_for(scenario)
    record: dict = {
        "machine": machine(),
        "scenario": SCENARIO.name,
        "steps": scenario.steps,
        "states": world.n_states,
        "blocs": world.n_blocs,
        "default_block": DEFAULT_BLOCK,
        "block": block,
    }
    backends = ["numba", "numpy"] if numba_available() else ["numpy"]
    start = time.perf_counter()
    AllianceModel(scenario, 4, world=world, backend=backends[0]).run()
    record["warmup_seconds"] = time.perf_counter() - start

    log("reference (plain per-agent Mesa model) ...")
    record["reference"] = reference_run(scenario, cfg["reference"])

    record["engine"] = []
    for backend in backends:
        for n in cfg[backend]:
            log(f"engine {backend}: {n:,} replicates ...")
            record["engine"].append(engine_run(scenario, world, n, backend, block))
    ref = record["reference"]["replicates_per_second"]
    record["ratio"] = {f"{r['backend']}@{r['replicates']}": r["replicates_per_second"] / ref for r in record["engine"]}

    record["scaling"] = []
    for backend in backends:
        n = cfg["scaling_replicates"][backend]
        for states in cfg["states"]:
            log(f"cost against states: {backend}, {states} states ...")
            w = synthetic_world(world, states)
            AllianceModel(scenario, 2, world=w, backend=backend).run()
            run = engine_run(scenario, w, n, backend, block)
            run.pop("phase_seconds")
            record["scaling"].append(run)

    record["memory"] = [memory_run(0, block)]
    for n in cfg["memory"]:
        log(f"peak memory: {n:,} replicates in blocks of {block:,} ...")
        record["memory"].append(memory_run(n, block))
    n = cfg["memory"][-1]
    log(f"peak memory: {n:,} replicates in blocks of {10 * block:,} ...")
    record["memory"].append(memory_run(n, 10 * block))

    largest = {
        b: max((r for r in record["engine"] if r["backend"] == b), key=lambda r: r["replicates"]) for b in backends
    }
    record["phases"] = {b: {"replicates": r["replicates"], "phases": phase_table(r)} for b, r in largest.items()}
    for r in record["engine"]:
        r.pop("phase_seconds")
    return record


# ------------------------------------------------------------------ output
def render(rec: dict) -> str:
    """The record as plain-text tables."""
    m = rec["machine"]
    ref = rec["reference"]
    lines = [
        f"coalition-sim benchmarks: {rec['scenario']} ({rec['states']} states, {rec['blocs']} blocs, "
        f"{rec['steps']} steps), one core",
        f"machine: {m['cpu']} ({m['logical_cpus']} logical CPUs), {m['os']}, Python {m['python']}, "
        f"numpy {m['numpy']}, numba {m['numba']}, git {m['git']}, load average {m['load_average']}",
        f"compiled-kernel warm-up (cache load, once per process): {rec['warmup_seconds']:.2f} s",
        "",
        "Throughput (single process)",
        f"{'implementation':<34}{'replicates':>11}{'block':>8}{'runs':>6}{'seconds':>10}{'rep/s':>11}"
        f"{'rep-steps/s':>14}{'us/rep-step':>13}{'x reference':>13}",
        f"{'reference: plain per-agent Mesa':<34}{ref['replicates']:>11,}{1:>8}{1:>6}{ref['seconds']:>10.2f}"
        f"{ref['replicates_per_second']:>11.2f}{ref['replicate_steps_per_second']:>14,.0f}"
        f"{ref['us_per_replicate_step']:>13.1f}{1:>13.0f}",
    ]
    for r in rec["engine"]:
        lines.append(
            f"{'ensemble engine, ' + r['backend']:<34}{r['replicates']:>11,}{r['block']:>8,}{r['runs']:>6}"
            f"{r['seconds']:>10.2f}"
            f"{r['replicates_per_second']:>11,.0f}{r['replicate_steps_per_second']:>14,.0f}"
            f"{r['us_per_replicate_step']:>13.2f}{r['replicates_per_second'] / ref['replicates_per_second']:>13,.0f}"
        )
    lines += ["", "Cost per replicate-step against the number of states (synthetic worlds beyond 48)"]
    lines.append(f"{'backend':<10}{'states':>8}{'replicates':>12}{'us/rep-step':>14}{'vs 48 states':>14}")
    for r in rec["scaling"]:
        base = next(x for x in rec["scaling"] if x["backend"] == r["backend"] and x["states"] == rec["states"])
        lines.append(
            f"{r['backend']:<10}{r['states']:>8}{r['replicates']:>12,}{r['us_per_replicate_step']:>14.2f}"
            f"{r['us_per_replicate_step'] / base['us_per_replicate_step']:>13.2f}x"
        )
    lines += ["", "Peak memory of run_scenario in a fresh process (results streamed to Parquet per block)"]
    lines.append(f"{'replicates':>11}{'block':>8}{'peak RSS MiB':>14}{'before run MiB':>16}{'seconds':>10}")
    for r in rec["memory"]:
        lines.append(
            f"{r['replicates']:>11,}{r['block']:>8,}{r['peak_rss_mib']:>14.0f}{r['rss_before_mib']:>16.0f}"
            f"{r['seconds']:>10.1f}"
        )
    for backend, p in rec["phases"].items():
        lines += ["", f"Where the time goes: {backend} backend, {p['replicates']:,} replicates (model phase timers)"]
        lines.append(f"{'phase':<12}{'seconds':>10}{'share':>8}{'us/rep-step':>13}")
        for name, v in p["phases"].items():
            lines.append(f"{name:<12}{v['seconds']:>10.2f}{v['share']:>8.1%}{v['us_per_replicate_step']:>13.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Engine benchmarks (see benchmarks/run.py).")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--block", type=int, default=DEFAULT_BLOCK, help="replicates per model (the driver's block)")
    parser.add_argument("--reference", type=int, help="replicates of the plain reference to time")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON record")
    args = parser.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.reference:
        cfg["reference"] = args.reference

    def log(msg: str) -> None:
        print(f"# {msg}", file=sys.stderr, flush=True)

    record = run_suite(cfg, args.block, log)
    record["quick"] = args.quick
    print(render(record))
    print()
    print(json.dumps(record, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
