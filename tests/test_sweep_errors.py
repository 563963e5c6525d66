"""Every way `sim sweep` stops is one line: exit 2 for what the user or the cluster must fix, 70 for a bug.

Each failure keeps the finished parts and says how many tasks are saved and the command that
finishes the sweep (`--resume`). These run in this process (the in-process evaluator, or the
evaluators' start-up alone); the failures of real Dask processes (a lost scheduler, killed
workers, a batch system that refuses the job) are in tests/test_sweep_distributed.py and
tests/test_reliability.py.
"""

from __future__ import annotations

import errno
from types import SimpleNamespace

import pytest

from tests.conftest import TINY, call_sim, write


def one_line(res, code: int = 2) -> str:
    """The single `error:` line of a failed command with exit ``code``, and no traceback."""
    lines = res.err.strip().splitlines()
    assert res.code == code, (res.code, res.err)
    assert len(lines) == 1 and lines[0].startswith("error: "), res.err
    assert "Traceback" not in res.err
    return lines[0]


@pytest.fixture
def tiny(tmp_path):
    return write(tmp_path, TINY)


def failing_task(monkeypatch, error: BaseException, point: int = 2) -> None:
    """Tasks of ``point`` raise ``error`` (as a worker's result would re-raise it); the others run."""
    import simulator.runs.sweep.driver as driver

    real = driver.run_task

    def task(scenario_json, seed, task, backend=None):
        if task.point == point:
            raise error
        return real(scenario_json, seed, task, backend)

    monkeypatch.setattr(driver, "run_task", task)


def resumes(tmp_path, tiny, monkeypatch, saved: int = 4) -> None:
    """The parts are kept and the printed command finishes the sweep."""
    monkeypatch.undo()
    res = call_sim("sweep", tiny, "--workers", "0", "--out", tmp_path / "sw", "--resume")
    assert res.code == 0, res.err
    assert f"{saved} of 8 tasks were already done" in " ".join(res.out.split())


def test_a_bug_in_a_task_is_one_line_exit_70_with_the_saved_tasks(tmp_path, tiny, monkeypatch):
    failing_task(monkeypatch, RuntimeError("boom"))
    line = one_line(call_sim("sweep", tiny, "--workers", "0", "--out", tmp_path / "sw"), code=70)
    assert "internal error (RuntimeError: boom); this is a bug, please report it" in line
    assert "4 of 8 tasks are saved in" in line
    assert f"finish with: sim sweep {tiny} --out {tmp_path / 'sw'} --resume" in line
    resumes(tmp_path, tiny, monkeypatch)


def test_a_bug_shows_its_traceback_with_debug(tmp_path, tiny, monkeypatch):
    failing_task(monkeypatch, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom") as err:  # main() re-raises it for Python to print
        call_sim("--debug", "sweep", tiny, "--workers", "0", "--out", tmp_path / "sw")
    assert any("4 of 8 tasks are saved" in note for note in err.value.__notes__)


def killed_worker():
    from distributed.scheduler import KilledWorker

    return KilledWorker("sim-sweep-2-0-ab12", SimpleNamespace(address="tcp://127.0.0.1:4000"), 3)


def cancelled():
    from distributed.client import FutureCancelledError

    return FutureCancelledError("sim-sweep-2-0-ab12", "scheduler-connection-lost", "Client lost the connection.")


def comm_closed():
    from distributed.comm.core import CommClosedError

    return CommClosedError("in <TCP (closed) ConnectionPool.gather local=tcp://127.0.0.1:1>: Stream is closed")


EXPECTED = [
    ("killed_worker", killed_worker, "4 workers that ran task sim-sweep-2-0-ab12 died while running it"),
    ("cancelled", cancelled, "the Dask scheduler cancelled a task (sim-sweep-2-0-ab12 cancelled for reason"),
    ("comm_closed", comm_closed, "the connection to the Dask scheduler was lost (CommClosedError"),
    ("timeout", lambda: TimeoutError("no reply in 30 s"), "the connection to the Dask scheduler was lost"),
    ("memory", MemoryError, "out of memory"),
    ("disk", lambda: OSError(errno.ENOSPC, "No space left on device"), "No space left on device (while working on"),
]


@pytest.mark.parametrize("case,make,says", EXPECTED, ids=[c[0] for c in EXPECTED])
def test_a_cluster_failure_in_a_task_is_one_line_exit_2_with_the_resume_command(
    tmp_path, tiny, monkeypatch, case, make, says
):
    failing_task(monkeypatch, make())
    line = one_line(call_sim("sweep", tiny, "--workers", "0", "--out", tmp_path / "sw"))
    assert line.startswith("error: the sweep stopped: ") and says in line, line
    assert "internal error" not in line and "4 of 8 tasks are saved" in line
    assert f"after fixing the cause, finish with: sim sweep {tiny} --out {tmp_path / 'sw'} --resume" in line
    resumes(tmp_path, tiny, monkeypatch)


def test_ctrl_c_is_one_line_exit_130_with_the_resume_command(tmp_path, tiny, monkeypatch):
    failing_task(monkeypatch, KeyboardInterrupt())
    res = call_sim("sweep", tiny, "--workers", "0", "--out", tmp_path / "sw")
    lines = res.err.strip().splitlines()
    assert res.code == 130 and len(lines) == 1, res.err
    assert lines[0] == (
        f"interrupted; 4 of 8 tasks are saved in {tmp_path / 'sw'}; finish with: sim sweep {tiny} "
        f"--out {tmp_path / 'sw'} --resume"
    )
    resumes(tmp_path, tiny, monkeypatch)


def test_a_local_cluster_that_does_not_start_is_one_line(tmp_path, tiny, monkeypatch):
    import distributed

    def broken(**kwargs):
        raise RuntimeError("Cluster failed to start: Nanny failed to start")

    monkeypatch.setattr(distributed, "LocalCluster", broken)
    line = one_line(call_sim("sweep", tiny, "--workers", "2", "--out", tmp_path / "sw"))
    assert "the local Dask cluster of 2 worker processes did not start (RuntimeError: Cluster failed" in line
    assert "--workers 0" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [tiny.name]  # nothing written


@pytest.mark.parametrize(
    "name,text,says",
    [
        ("garbled.json", "{garbled", "is not a readable scheduler file (Expecting property name"),
        ("empty.json", "{}", "is not a scheduler file (it has no 'address')"),
        ("missing.json", None, "is neither a scheduler address nor an existing file"),
    ],
)
def test_a_bad_scheduler_file_is_one_line(tmp_path, tiny, name, text, says):
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    line = one_line(call_sim("sweep", tiny, "--scheduler", path, "--timeout", "1", "--out", tmp_path / "sw"))
    assert f"--scheduler '{path}' {says}" in line and "tcp://HOST:PORT" in line
    assert not (tmp_path / "sw").exists()


def test_a_batch_cluster_without_its_submit_command_is_one_line(tmp_path, tiny, monkeypatch):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    line = one_line(call_sim("sweep", tiny, "--cluster", "slurm", "--out", tmp_path / "sw"))
    assert "--cluster slurm submits its workers with 'sbatch', which is not on this machine's PATH" in line
    assert not (tmp_path / "sw").exists()


def test_a_bad_sweep_file_and_a_damaged_plan_are_one_line(tmp_path, tiny):
    line = one_line(call_sim("sweep", tmp_path / "nope.yaml", "--workers", "0"))
    assert "nope.yaml: file not found" in line
    res = call_sim("sweep", tiny, "--workers", "0", "--out", tmp_path / "sw")
    assert res.code == 0, res.err
    out = tmp_path / "sw2"
    out.mkdir()
    (out / "plan.json").write_text("{garbled", encoding="utf-8")
    line = one_line(call_sim("sweep", tiny, "--workers", "0", "--out", out, "--resume"))
    assert f"'{out / 'plan.json'}' is unreadable; choose another --out" in line
