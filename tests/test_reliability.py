"""Files, resume and clusters (docs/RELIABILITY.md): every promise tested through the `sim` CLI.

Each failure case checks the exit code (2), that the message is one line naming the file or option,
and that nothing the user had was lost and nothing half-written was left behind.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from simulator.runs.rundir import lock_path
from tests.conftest import ROOT, TINY, US_EXIT, call_sim, write

FAST = ("-n", "20", "--steps", "12", "--no-figures")


def one_line(err: str) -> str:
    """The error message, checked to be exactly one line starting with 'error:'."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


def leftovers(directory: Path) -> list[str]:
    """Partial, old, lock and temporary files sim may leave beside its outputs."""
    return sorted(
        p.name
        for p in Path(directory).iterdir()
        if ".partial-" in p.name or ".old-" in p.name or p.name.endswith((".lock", ".tmp"))
    )


@pytest.fixture(scope="module")
def made_run(tmp_path_factory) -> Path:
    """A small us_exit run (20 replicates, 12 quarters, no figures), made once; tests work on copies."""
    out = tmp_path_factory.mktemp("made") / "run"
    res = call_sim("run", US_EXIT, *FAST, "--out", out)
    assert res.code == 0, res.err
    return out


@pytest.fixture
def run_copy(made_run, tmp_path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(made_run, out)
    return out


@pytest.fixture
def read_only(monkeypatch):
    """Make a directory read-only: chmod 555, and for root (whom modes do not stop) refuse writes under it."""
    made: list[Path] = []

    def make(path: Path) -> Path:
        path.chmod(0o555)
        made.append(path)
        if os.geteuid() != 0:
            return path
        root = os.path.abspath(path)

        def inside(p) -> bool:
            if not isinstance(p, str | bytes | os.PathLike):
                return False
            a = os.path.abspath(os.fsdecode(p))
            return a == root or a.startswith(root + os.sep)

        def denied(p) -> PermissionError:
            return PermissionError(errno.EACCES, "Permission denied", os.fsdecode(p))

        real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir

        def fake_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+") and inside(file):
                raise denied(file)
            return real_open(file, mode, *args, **kwargs)

        def fake_os_open(p, flags, *args, **kwargs):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(p):
                raise denied(p)
            return real_os_open(p, flags, *args, **kwargs)

        def fake_mkdir(p, *args, **kwargs):
            if inside(p):
                raise denied(p)
            return real_mkdir(p, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        monkeypatch.setattr(os, "mkdir", fake_mkdir)
        return path

    yield make
    for path in made:
        path.chmod(0o755)


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def no_figures(monkeypatch) -> None:
    """Reports without drawing (the figures take seconds and are not what these tests check)."""
    from analysis.figures import FigureSet

    monkeypatch.setattr("analysis.report.draw_run_figures", lambda *a, **k: FigureSet())


# ---------------------------------------------------------------- --out and --force
def test_force_never_replaces_a_directory_sim_did_not_write(tmp_path, sim):
    x = tmp_path / "x"
    (x / "docs").mkdir(parents=True)
    (x / "thesis.tex").write_text("precious")
    res = sim("run", US_EXIT, *FAST, "--out", x, "--force")
    assert res.code == 2
    line = one_line(res.err)
    assert "'" + str(x) + "'" in line and "--force" in line and "manifest.json" in line
    assert (x / "thesis.tex").read_text() == "precious" and (x / "docs").is_dir()
    assert leftovers(tmp_path) == []


def test_force_never_replaces_a_run_directory_holding_a_users_file(run_copy, sim):
    (run_copy / "notes.txt").write_text("mine")
    before = (run_copy / "replicates.parquet").read_bytes()
    res = sim("run", US_EXIT, *FAST, "--out", run_copy, "--force")
    assert res.code == 2 and "'notes.txt'" in one_line(res.err)
    assert (run_copy / "notes.txt").read_text() == "mine"
    assert (run_copy / "replicates.parquet").read_bytes() == before
    assert leftovers(run_copy.parent) == []


def test_force_replaces_a_run_directory_with_its_figures_and_report(run_copy, sim):
    (run_copy / "figures").mkdir()
    (run_copy / "figures" / "power_fan.png").write_bytes(b"png")
    (run_copy / "report.html").write_text("<html></html>")
    res = sim("run", US_EXIT, "-n", "10", "--steps", "12", "--no-figures", "--out", run_copy, "--force")
    assert res.code == 0, res.err
    assert pq.read_metadata(run_copy / "replicates.parquet").num_rows == 10
    assert not (run_copy / "report.html").exists()
    assert leftovers(run_copy.parent) == []


@pytest.mark.parametrize("where", [".", "/", "home", "file", "/dev/null", "sweep"])
def test_out_that_is_not_a_run_directory_is_refused(where, tmp_path, monkeypatch, sim):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "precious.txt").write_text("keep")
    out = {"home": str(Path.home()), "file": str(tmp_path / "precious.txt")}.get(where, where)
    if where == "sweep":  # a sweep directory is sim's, but not a run: --force does not replace it
        out = tmp_path / "sw"
        out.mkdir()
        (out / "manifest.json").write_text(json.dumps({"package": "coalition-sim", "kind": "sweep"}))
    res = sim("run", US_EXIT, *FAST, "--out", out, "--force")
    assert res.code == 2
    line = one_line(res.err)
    assert f"'{out}'" in line and ("--out" in line or "--force" in line)
    assert (tmp_path / "precious.txt").read_text() == "keep"
    assert leftovers(tmp_path) == [] and not list(Path.home().glob(".*.partial-*"))


def test_out_that_exists_is_kept_without_force(run_copy, sim):
    before = (run_copy / "replicates.parquet").read_bytes()
    res = sim("run", US_EXIT, *FAST, "--out", run_copy)
    assert res.code == 2 and "exists" in one_line(res.err) and "--force" in res.err
    assert (run_copy / "replicates.parquet").read_bytes() == before


# ---------------------------------------------------------------- one writer per target
def test_a_second_writer_gets_the_locked_error(tmp_path, sim):
    """Another process holds the lock of --out: `sim run` refuses at once; once the holder is killed, it runs."""
    target = tmp_path / "out"
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom simulator.runs.rundir import TargetLock, lock_path\n"
        "t = Path(sys.argv[1])\nTargetLock(lock_path(t), t).__enter__()\nprint('held', flush=True)\ntime.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = sim("run", US_EXIT, *FAST, "--out", target)
        assert res.code == 2
        line = one_line(res.err)
        assert "locked" in line and f"'{target}'" in line and f"pid {holder.pid}" in line
        assert not target.exists() and not list(tmp_path.glob(".*.partial-*"))
    finally:
        holder.kill()  # SIGKILL: the kernel releases the lock; the lock file stays behind
        holder.wait()
    assert lock_path(target).exists()
    res = sim("run", US_EXIT, *FAST, "--out", target)
    assert res.code == 0, res.err
    assert leftovers(tmp_path) == []


def test_stale_partials_of_dead_processes_are_cleaned(tmp_path, sim):
    out = tmp_path / "run"
    dead = tmp_path / ".run.partial-99999999"  # above any pid_max: no such process
    alive = tmp_path / f".run.partial-{os.getppid()}"  # a live process's: it may still be writing
    other = tmp_path / ".other.partial-99999999"  # another target's
    unlike = tmp_path / ".run.partial-abc"  # not our pattern
    for d in (dead, alive, other, unlike):
        d.mkdir()
        (d / "replicates.parquet").write_bytes(b"half")
    res = sim("run", US_EXIT, *FAST, "--out", out)
    assert res.code == 0, res.err
    assert not dead.exists()
    assert alive.exists() and other.exists() and unlike.exists()


def test_a_replacement_killed_halfway_gives_the_old_run_back(made_run, tmp_path, sim):
    """Killed between moving the old run aside and moving the new one in: the next write restores the old one."""
    out = tmp_path / "run"
    shutil.copytree(made_run, tmp_path / ".run.old-99999999")
    (tmp_path / ".run.partial-99999999").mkdir()
    res = sim("run", US_EXIT, *FAST, "--out", out)
    assert res.code == 2 and "exists" in one_line(res.err)  # it is back, so it is not overwritten without --force
    assert (out / "replicates.parquet").read_bytes() == (made_run / "replicates.parquet").read_bytes()
    assert sim("verify", out).code == 0 and leftovers(tmp_path) == []


# ---------------------------------------------------------------- disk full, read-only
def test_disk_full_during_a_run_keeps_the_old_run_and_leaves_nothing(run_copy, monkeypatch, sim):
    before = (run_copy / "replicates.parquet").read_bytes()
    monkeypatch.setattr("simulator.runs.run.write_json", enospc)
    res = sim("run", US_EXIT, *FAST, "--out", run_copy, "--force")
    assert res.code == 2
    line = one_line(res.err)
    assert f"'{run_copy}'" in line and "disk is full" in line
    assert (run_copy / "replicates.parquet").read_bytes() == before
    assert leftovers(run_copy.parent) == []


def test_read_only_output_directory(tmp_path, read_only, sim):
    (tmp_path / "ro").mkdir()
    parent = read_only(tmp_path / "ro")
    res = sim("run", US_EXIT, *FAST, "--out", parent / "run")
    assert res.code == 2
    line = one_line(res.err)
    assert f"'{parent / 'run'}'" in line and "--out" in line
    assert list(parent.iterdir()) == []


def test_read_only_run_directory_plot_and_report(run_copy, read_only, monkeypatch, sim):
    no_figures(monkeypatch)
    files = sorted(p.name for p in run_copy.iterdir())
    read_only(run_copy)
    res = sim("plot", run_copy)
    assert res.code == 2 and f"'{run_copy / 'figures'}'" in one_line(res.err)
    res = sim("report", run_copy)
    assert res.code == 2 and f"'{run_copy / 'report.html'}'" in one_line(res.err)
    assert sorted(p.name for p in run_copy.iterdir()) == files
    assert sim("verify", run_copy).code == 0


def test_disk_full_while_drawing_figures(run_copy, monkeypatch, sim):
    from matplotlib.figure import Figure

    def half_then_full(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        enospc()

    monkeypatch.setattr(Figure, "savefig", half_then_full)
    res = sim("plot", run_copy)
    assert res.code == 2
    line = one_line(res.err)
    assert f"'{run_copy / 'figures'}'" in line and "disk is full" in line
    figures = run_copy / "figures"  # no half-written figure or .tmp (nor the directory the failed plot made)
    assert not figures.exists() or list(figures.iterdir()) == []


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_disk_full_while_writing_a_report_leaves_no_tmp(fmt, run_copy, monkeypatch, sim):
    no_figures(monkeypatch)
    real = Path.write_text

    def half_then_full(self, data, *args, **kwargs):
        if self.name.endswith(".tmp"):
            real(self, data[: len(data) // 2], *args, **kwargs)
            enospc()
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", half_then_full)
    res = sim("report", run_copy, "--format", fmt)
    assert res.code == 2
    line = one_line(res.err)
    assert f"'{run_copy / ('report.' + fmt)}'" in line and "disk is full" in line
    assert not list(run_copy.glob("*report*")) and not list(run_copy.glob(".*.tmp"))


def test_schema_out_must_be_a_writable_file(tmp_path, read_only, sim):
    res = sim("schema", "--out", tmp_path)
    assert res.code == 2 and f"'{tmp_path}' is a directory" in one_line(res.err)
    res = sim("schema", "--out", "/dev/null")
    assert res.code == 2 and "'/dev/null'" in one_line(res.err)
    (tmp_path / "ro").mkdir()
    ro = read_only(tmp_path / "ro")
    res = sim("schema", "--out", ro / "s.json")
    assert res.code == 2 and f"'{ro / 's.json'}'" in one_line(res.err) and "--out" in res.err
    assert list(ro.iterdir()) == []
    assert sim("schema", "--out", tmp_path / "s.json").code == 0
    assert json.loads((tmp_path / "s.json").read_text())["title"]


# ---------------------------------------------------------------- checksums and damaged results
def test_verify_passes_an_intact_run_and_names_a_changed_file(run_copy, sim):
    res = sim("verify", run_copy)
    assert res.code == 0, res.err
    assert "files match" in res.out
    with open(run_copy / "summary.json", "ab") as f:
        f.write(b" ")
    res = sim("verify", run_copy)
    assert res.code == 2 and f"'{run_copy / 'summary.json'}'" in one_line(res.err)


@pytest.mark.parametrize("damage", ["garbled", "truncated", "manifest []", "no checksums, garbled"])
@pytest.mark.parametrize("command", ["verify", "plot", "report", "compare"])
def test_damaged_results_are_one_line_errors(damage, command, run_copy, made_run, monkeypatch, sim):
    no_figures(monkeypatch)
    path = run_copy / "replicates.parquet"
    data = bytearray(path.read_bytes())
    if damage == "manifest []":
        (run_copy / "manifest.json").write_text("[]")
        named = run_copy / "manifest.json"
    else:
        named = path
        if damage == "truncated":
            data = data[: len(data) // 2]
        else:  # every byte of the middle third flipped: pages, not the footer
            third = len(data) // 3
            data[third : 2 * third] = bytes(b ^ 0xFF for b in data[third : 2 * third])
        path.write_bytes(bytes(data))
        if damage.startswith("no checksums"):
            man = json.loads((run_copy / "manifest.json").read_text())
            del man["checksums"]
            (run_copy / "manifest.json").write_text(json.dumps(man))
    args = [made_run, run_copy] if command == "compare" else [run_copy]
    res = sim(command, *args)
    if command == "verify" and damage.startswith("no checksums"):
        assert res.code == 2 and "no checksums" in one_line(res.err)
        return
    assert res.code == 2, (res.out, res.err)
    assert str(named) in one_line(res.err)
    assert not (run_copy / "figures").exists() and not (run_copy / "report.html").exists()


@pytest.mark.parametrize("command", ["plot", "report", "compare"])
def test_duplicated_replicate_rows_are_an_error(command, run_copy, made_run, monkeypatch, sim):
    """Rows repeated by some tool that also rewrote the checksums: still not counted as replicates."""
    from simulator.runs.rundir import seal

    no_figures(monkeypatch)
    path = run_copy / "replicates.parquet"
    table = pq.read_table(path)
    pq.write_table(pa.concat_tables([table, table.slice(0, 3)]), path)
    seal(run_copy)  # checksums that match the doubled file
    args = [made_run, run_copy] if command == "compare" else [run_copy]
    res = sim(command, *args)
    assert res.code == 2
    line = one_line(res.err)
    assert str(path) in line and "more than once" in line


# ---------------------------------------------------------------- the Markdown report escapes scenario text
def test_report_shows_scenario_text_as_written_never_as_markup(tmp_path, monkeypatch, sim):
    no_figures(monkeypatch)
    evil = "<script>alert(1)</script> [click](javascript:alert(1)) <javascript:alert(2)> ![x](data:x)"
    scenario = yaml.safe_load(US_EXIT.read_text(encoding="utf-8"))
    scenario["description"] = evil
    scenario["assumptions"] = [evil, "<img src=x onerror=alert(3)>"]
    scenario["shocks"][0]["source"] = "[see](javascript:alert(4))"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    assert sim("run", path, *FAST, "--out", tmp_path / "run").code == 0
    res = sim("report", tmp_path / "run", "--format", "md")
    assert res.code == 0, res.err
    text = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(3)&gt;" in text
    for raw in ("<script", "<img", "](javascript:", "<javascript:", "](data:", "javascript:alert"):
        assert raw not in text, raw
    assert "\\[click\\](javascript\\:alert(1))" in text
    res = sim("report", tmp_path / "run", "--format", "html")
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert res.code == 0 and "<script" not in html and "&lt;script&gt;" in html


# ---------------------------------------------------------------- sweeps: verified resume
def _sweep(tmp_path: Path, *extra: object):
    sweep_file = write(tmp_path, TINY)
    return call_sim("sweep", sweep_file, "--workers", "0", "--out", tmp_path / "sw", *extra)


def _unfinish(out: Path) -> None:
    for name in ("manifest.json", "replicates.parquet", "summary.parquet", "trajectories.parquet"):
        (out / name).unlink()


def test_resume_recomputes_parts_that_do_not_prove_they_are_this_tasks(tmp_path):
    res = _sweep(tmp_path, "--keep-parts")
    assert res.code == 0, res.err
    out = tmp_path / "sw"
    assert call_sim("verify", out).code == 0
    good = (out / "replicates.parquet").read_bytes()
    _unfinish(out)
    parts = out / "parts"
    for suffix in (".parquet", ".tag.json", ".steps.npz"):  # point 1's part, tag and all, copied to point 0
        shutil.copyfile(parts / f"point=000001/block=000000{suffix}", parts / f"point=000000/block=000000{suffix}")
    truncated = parts / "point=000002" / "block=000001.parquet"
    truncated.write_bytes(truncated.read_bytes()[:100])
    (parts / "point=000003" / "block=000000.tag.json").unlink()  # untagged
    res = _sweep(tmp_path, "--resume", "--keep-parts")
    assert res.code == 0, res.err
    warning = [line for line in res.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "3 part files failed verification" in warning[0], res.err
    assert "point=000000/block=000000.parquet: it is the part of point 1" in warning[0]
    assert "point=000002/block=000001.parquet" in warning[0]
    assert (out / "replicates.parquet").read_bytes() == good
    assert call_sim("verify", out).code == 0


def test_disk_full_during_a_sweep_keeps_the_parts_and_says_how_to_finish(tmp_path, monkeypatch):
    import simulator.runs.sweep.parts as parts

    real, calls = parts._replace, []

    def fill_up(path, data):
        calls.append(path)
        if len(calls) > 9:  # three tasks written, then the disk is full
            enospc()
        real(path, data)

    monkeypatch.setattr(parts, "_replace", fill_up)
    res = _sweep(tmp_path)
    assert res.code == 2
    line = one_line(res.err)
    assert "disk is full" in line and "3 of 8 tasks are saved" in line and "--resume" in line
    assert not list((tmp_path / "sw" / "parts").rglob("*.tmp"))
    monkeypatch.setattr(parts, "_replace", real)
    res = _sweep(tmp_path, "--resume")
    assert res.code == 0 and "3 of 8 tasks were already done" in " ".join(res.out.split()), res.err


# ---------------------------------------------------------------- workers and clusters
def test_workers_are_capped_with_a_message(tmp_path, monkeypatch):
    from simulator.runs import evaluators

    res = call_sim("run", US_EXIT, *FAST, "--workers", "100000", "--out", tmp_path / "run")
    assert res.code == 0, res.err
    cap = evaluators.max_workers()
    assert "--workers 100,000 is more than 4 per core" in res.err and f"using {cap}" in res.err
    started = []

    class Recorded(evaluators.InProcess):  # the embedded cluster, without starting 4 x cores processes
        def __init__(self, n: int, lost_timeout: float = 10.0) -> None:
            started.append(n)

    monkeypatch.setattr(evaluators, "DaskLocal", Recorded)
    sweep_file = write(tmp_path, TINY)
    res = call_sim("sweep", sweep_file, "--workers", "100000", "--out", tmp_path / "sw2")
    assert res.code == 0, res.err
    assert started == [cap] and f"using {cap}" in res.err


def test_cluster_memory_must_be_an_amount(tmp_path):
    sweep_file = write(tmp_path, TINY)
    res = call_sim("sweep", sweep_file, "--cluster", "slurm", "--cluster-memory", "lots", "--print-job-script")
    assert res.code == 2 and "--cluster-memory 'lots'" in one_line(res.err) and "8GB" in res.err


@pytest.mark.slow
def test_sigkill_of_sim_run_leaves_no_worker_processes(tmp_path):
    """`sim run --workers 2` killed with SIGKILL: its pool workers exit; the next run cleans its partial."""
    import psutil

    out = tmp_path / "run"
    cmd = [sys.executable, "-c", "from simulator.cli import main; main()", "run", str(US_EXIT), "-n", "4000"]
    cmd += ["--block-size", "100", "--workers", "2", "--no-figures", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    partial = tmp_path / f".run.partial-{proc.pid}"
    while not (partial / "replicates.parquet").exists():  # the first block is back: the workers are at work
        assert time.monotonic() < deadline and proc.poll() is None, "the run did not start"
        time.sleep(0.1)
    workers = [c for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def running(p: psutil.Process) -> bool:
        try:
            return p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 20
    while any(running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(running(w) for w in workers), [w.pid for w in workers if running(w)]
    assert partial.is_dir() and not out.exists()
    res = call_sim("run", US_EXIT, *FAST, "--out", out)
    assert res.code == 0, res.err
    assert not partial.exists() and leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.distributed
def test_a_sweep_whose_workers_all_die_fails_after_the_timeout(tmp_path):
    """The only worker of an external cluster is killed mid-sweep: one line with the resume command, exit 2."""
    import threading

    from tests.test_sweep_distributed import dask_cluster

    sweep_file = write(tmp_path, TINY)
    out = tmp_path / "sw"
    with dask_cluster(tmp_path / "dask", 1) as (address, (worker,)):

        def kill_after_first_part() -> None:
            deadline = time.monotonic() + 120
            while not list((out / "parts").glob("*/*.parquet")) and time.monotonic() < deadline:
                time.sleep(0.02)
            worker.send_signal(signal.SIGKILL)

        killer = threading.Thread(target=kill_after_first_part)
        killer.start()
        t0 = time.monotonic()
        res = call_sim("sweep", sweep_file, "--scheduler", address, "--timeout", "2", "--block-size", "2", "--out", out)
        took = time.monotonic() - t0
        killer.join()
    assert res.code == 2, (res.out, res.err)
    line = one_line(res.err)
    assert "every Dask worker is gone" in line and "2 s (--timeout)" in line
    assert f"sim sweep {sweep_file} --out {out} --resume --block-size 2" in line
    assert took < 60
    assert list((out / "parts").glob("*/*.parquet"))  # the finished parts are kept for the resume
