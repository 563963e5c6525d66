"""Sweeps on real Dask processes (loopback only): equivalence, a killed worker, a killed client, CLI errors.

The same tiny sweep must give bit-identical results in-process, on the embedded cluster with
1 and 2 workers, on an external ``dask scheduler`` with ``dask worker`` processes, after a worker
is killed mid-sweep, and after a killed ``sim sweep`` is resumed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from simulator.runs.evaluators import DaskScheduler, make_evaluator
from simulator.runs.results import COMPLETE_MARKER
from simulator.runs.sweep.diff import result_differences
from simulator.runs.sweep.driver import run_sweep
from simulator.runs.sweep.spec import load_sweep
from simulator.runs.sweep.tasks import PARTS_DIR, plan_sweep

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

BIN = Path(sys.executable).parent


def sim_command(*args: object) -> list[str]:
    exe = BIN / "sim"
    head = [str(exe)] if exe.exists() else [sys.executable, "-c", "from simulator.cli import main; main()"]
    return head + [str(a) for a in args]


@contextlib.contextmanager
def dask_cluster(tmp: Path, workers: int):
    """A ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes (no nanny) on loopback."""
    tmp.mkdir(parents=True, exist_ok=True)
    sched_file = tmp / "scheduler.json"
    logs = []
    procs: list[subprocess.Popen] = []

    def start(args: list[str], name: str) -> subprocess.Popen:
        log = open(tmp / f"{name}.log", "w")  # noqa: SIM115 - closed in the finally below
        logs.append(log)
        proc = subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        start(
            ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(sched_file)],
            "scheduler",
        )
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            assert time.monotonic() < deadline, (tmp / "scheduler.log").read_text()
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written before the scheduler has fully started listening
        worker_procs = [
            start(
                ["distributed.cli.dask_worker", "--scheduler-file", str(sched_file), "--nthreads", "1"]
                + ["--no-nanny", "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60"],
                f"worker{i}",
            )
            for i in range(workers)
        ]
        address = json.loads(sched_file.read_text())["address"]
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, worker_procs
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """An external Dask cluster with two workers, shared by the tests of this module."""
    with dask_cluster(tmp_path_factory.mktemp("dask"), 2) as (address, _):
        yield address


def no_duplicates(out: Path, points: int, replicates: int) -> bool:
    reps = pq.read_table(out / "replicates.parquet", columns=["point", "replicate"]).to_pandas()
    keys = list(zip(reps["point"], reps["replicate"], strict=True))
    return keys == [(p, r) for p in range(points) for r in range(replicates)]


@pytest.mark.parametrize("workers", [1, 2])
def test_embedded_local_cluster_is_bit_identical(tmp_path, reference, workers):  # noqa: F811
    sweep_file, ref = reference
    with make_evaluator(workers=workers) as ev:
        info = run_sweep(plan_sweep(load_sweep(sweep_file)), tmp_path / "out", ev)
    assert info.manifest["evaluator"].startswith(f"Dask LocalCluster, {workers} worker")
    assert result_differences(ref, tmp_path / "out") == []


def test_external_scheduler_through_the_cli_is_bit_identical(tmp_path, reference, external):  # noqa: F811
    sweep_file, ref = reference
    out = tmp_path / "out"
    res = subprocess.run(
        sim_command("sweep", sweep_file, "--scheduler", external, "--out", out, "--json"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["evaluator"] == f"Dask scheduler at {external}" and data["tasks_run"] == 8
    assert result_differences(ref, out) == []
    assert no_duplicates(out, 4, 20)


def test_a_worker_killed_mid_sweep_costs_a_retry_not_a_result(tmp_path, reference):  # noqa: F811
    sweep_file, ref = reference
    out = tmp_path / "out"
    # blocks of 2 replicates: 40 short tasks, so some are in flight when the worker dies
    plan = plan_sweep(load_sweep(sweep_file, block_size=2))
    with dask_cluster(tmp_path / "dask", 2) as (address, workers):
        errors: list[BaseException] = []

        def sweep() -> None:
            try:
                with DaskScheduler(address, timeout=30) as ev:
                    run_sweep(plan, out, ev, keep_parts=True)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        runner = threading.Thread(target=sweep)
        runner.start()
        deadline = time.monotonic() + 120
        while not list((out / PARTS_DIR).glob("*/*.parquet")):
            assert time.monotonic() < deadline and runner.is_alive(), errors
            time.sleep(0.05)
        from distributed import Client

        with Client(address, timeout=30) as client:
            pids = client.run(os.getpid)  # worker address -> pid
            busy = [w for w, keys in client.processing().items() if keys and w in pids] or list(pids)
            pid = pids[busy[0]]
        victim = next(p for p in workers if p.pid == pid)  # only a process this test started
        os.kill(victim.pid, signal.SIGKILL)
        assert len(list((out / PARTS_DIR).glob("*/*.parquet"))) < 40  # killed mid-sweep
        runner.join(timeout=180)
        assert not runner.is_alive() and not errors, errors
        assert victim.wait(timeout=10) == -signal.SIGKILL
        assert sum(p.poll() is None for p in workers) == 1
    assert (out / COMPLETE_MARKER).exists()
    assert result_differences(ref, out) == []
    assert no_duplicates(out, 4, 20)


def test_a_killed_client_resumes_to_identical_results(tmp_path, reference, external):  # noqa: F811
    """SIGKILL `sim sweep` after some parts are written; `--resume` (here on the external cluster) completes it."""
    sweep_file, ref = reference
    out = tmp_path / "out"
    first = subprocess.Popen(
        sim_command("sweep", sweep_file, "--workers", "0", "--block-size", "2", "--out", out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list((out / PARTS_DIR).glob("*/*.parquet"))) < 3:
            assert time.monotonic() < deadline and first.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert not (out / COMPLETE_MARKER).exists()
    done = len(list((out / PARTS_DIR).glob("*/*.parquet")))
    assert 3 <= done < 40
    again = subprocess.run(
        sim_command("sweep", sweep_file, "--block-size", "2", "--out", out, "--scheduler", external),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert again.returncode == 2 and "--resume" in again.stderr
    res = subprocess.run(
        sim_command("sweep", sweep_file, "--block-size", "2", "--out", out, "--resume", "--scheduler", external)
        + ["--json"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["tasks_resumed"] == done and data["tasks_run"] == 40 - done
    assert result_differences(ref, out) == []
    assert no_duplicates(out, 4, 20)


def test_unreachable_scheduler_is_one_clear_line(tmp_path, reference):  # noqa: F811
    sweep_file, _ = reference
    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    res = subprocess.run(
        sim_command("sweep", sweep_file, "--scheduler", address, "--timeout", "2", "--out", tmp_path / "x"),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: cannot reach the Dask scheduler at {address}")
    assert not (tmp_path / "x").exists()


def test_a_lost_scheduler_is_one_line_with_the_resume_command(tmp_path, reference):  # noqa: F811
    """The scheduler is killed mid-sweep: one line that says so, how many tasks are saved and how to finish."""
    from distributed import Client

    sweep_file, ref = reference
    out = tmp_path / "out"
    with dask_cluster(tmp_path / "dask", 1) as (address, _):
        with Client(address, timeout=30) as client:
            scheduler_pid = client.run_on_scheduler(os.getpid)
        proc = subprocess.Popen(
            sim_command("sweep", sweep_file, "--scheduler", address, "--timeout", "2", "--block-size", "2")
            + ["--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "300"},
        )
        deadline = time.monotonic() + 120
        while not list((out / PARTS_DIR).glob("*/*.parquet")):
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        os.kill(scheduler_pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "scheduler" in lines[0] and "tasks are saved in" in lines[0] and "internal error" not in lines[0]
    assert f"finish with: sim sweep {sweep_file} --out {out} --resume --block-size 2" in lines[0]
    res = subprocess.run(
        sim_command("sweep", sweep_file, "--workers", "0", "--block-size", "2", "--out", out, "--resume"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stderr
    assert result_differences(ref, out) == []


def test_a_batch_system_that_refuses_the_job_is_one_line(tmp_path, reference):  # noqa: F811
    """sbatch exits with an error (a wrong account): the sweep stops at once instead of waiting for workers."""
    pytest.importorskip("dask_jobqueue")
    sweep_file, _ = reference
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text("#!/bin/sh\necho 'sbatch: error: invalid account specified' >&2\nexit 1\n", encoding="utf-8")
    sbatch.chmod(0o755)
    out = tmp_path / "out"
    t0 = time.monotonic()
    res = subprocess.run(
        sim_command("sweep", sweep_file, "--cluster", "slurm", "--cluster-account", "nope", "--out", out),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "300"},
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "sbatch did not accept the worker job" in lines[0] and "invalid account specified" in lines[0]
    assert "0 of 8 tasks are saved" in lines[0] and "--resume" in lines[0]
    assert time.monotonic() - t0 < 60  # not the 60 s a batch cluster waits for lost workers


def test_a_taken_dashboard_port_prints_nothing(tmp_path, reference):  # noqa: F811
    """Dask's default dashboard port 8787 taken (another sweep, a notebook): no warning, the sweep just runs."""
    sweep_file, ref = reference
    with contextlib.ExitStack() as stack:
        holder = stack.enter_context(socket.socket())
        with contextlib.suppress(OSError):  # already taken by someone else: as good
            holder.bind(("0.0.0.0", 8787))
            holder.listen()
        res = subprocess.run(
            sim_command("sweep", sweep_file, "--workers", "1", "--out", tmp_path / "out"),
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "", res.stderr
    assert result_differences(ref, tmp_path / "out") == []
