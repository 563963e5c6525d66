"""Sweeps in one process: file validation, designs, common random numbers, outputs, resume, CLI."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from simulator.errors import InputError
from simulator.runs.blocks import run_block
from simulator.runs.evaluators import ClusterOptions, DaskJobqueue, InProcess, make_evaluator
from simulator.runs.results import COMPLETE_MARKER
from simulator.runs.stats import wilson
from simulator.runs.sweep.diff import result_differences
from simulator.runs.sweep.driver import run_sweep, sweep_status
from simulator.runs.sweep.spec import design_values, load_sweep, sweep_points, unit_sample
from simulator.runs.sweep.tasks import PARTS_DIR, plan_sweep
from simulator.scenario.language import load_scenario
from tests.conftest import ROOT, US_EXIT, write


class StopAfter(InProcess):
    """An in-process evaluator interrupted (as by Ctrl-C) after ``n`` tasks."""

    def __init__(self, n: int) -> None:
        self.n = n

    def as_completed(self, calls):
        for k, item in enumerate(super().as_completed(calls)):
            if k == self.n:
                raise KeyboardInterrupt
            yield item


# ---------------------------------------------------------------- validation
def sweep_text(design_lines: str = "", params: str = "    parameters.inertia: [1, 2]", extra: str = "") -> str:
    return f"sweep:\n  name: x\n  scenario: {US_EXIT}\n{design_lines}{extra}  parameters:\n{params}\n"


ERRORS = [
    (sweep_text(extra="  desing: grid\n"), "unknown key 'desing'; did you mean 'design'?", 4),
    (sweep_text("  design: latin\n"), "unknown design 'latin'; valid: grid, lhs, random, saltelli, sobol", 4),
    (sweep_text("  design: lhs\n", "    parameters.inertia: {range: [1, 2]}"), "design 'lhs' needs 'points'", 4),
    (sweep_text("  points: 8\n"), "'points' applies to sampled designs", 4),
    (sweep_text(params="    parameters.inertia: {values: []}"), "values is empty", 5),
    (sweep_text(params="    parameters.inertai: [1, 2]"), "unknown parameter 'inertai'; did you mean 'inertia'?", 5),
    (sweep_text(params="    shocks.us_notise.value: [0.1]"), "no item 'us_notise'", 5),
    (sweep_text(params="    shocks.us_notise.value: [0.1]"), "did you mean 'us_notice'?", 5),
    (sweep_text(params="    shocks.us_notice.value: [0.5, 1.5]"), "'shocks.us_notice.value' = 1.5", 5),
    (sweep_text(params="    blocs.modify.EDUU.integration: [0.2]"), "unknown bloc 'EDUU'; did you mean 'EDU'?", 5),
    (sweep_text(params="    parameters.inertia: {range: [1, 2]}"), "a range in a grid needs 'num'", 5),
    (sweep_text(params="    parameters.inertia: {range: [2, 1], num: 3}"), "range needs low < high", 5),
    (sweep_text(params="    parameters.inertia: {range: [1, 2], nmu: 3}"), "did you mean 'num'?", 5),
    (sweep_text(params="    parameters.inertia: {dist: uniform, low: 1, high: 2}"), "a grid needs 'values'", 5),
    (
        sweep_text("  design: lhs\n  points: 4\n", "    parameters.inertia: {dist: unifrom, low: 1, high: 2}"),
        "unknown distribution 'unifrom'; did you mean 'uniform'?",
        7,
    ),
    (
        sweep_text("  design: lhs\n  points: 4\n", "    parameters.inertia: {dist: uniform, low: 1, hgh: 2}"),
        "unknown key 'hgh' for uniform; did you mean 'high'?",
        7,
    ),
    (
        sweep_text("  design: lhs\n  points: 4\n", "    shocks.us_notice.value: {dist: normal, mean: 0.5, sd: 0.3}"),
        "bound it with low and high",
        7,
    ),
    (
        sweep_text("  design: random\n  points: 4\n", "    shocks.us_notice.at: {range: [2, 6]}"),
        "add 'integer: true'",
        7,
    ),
    (sweep_text("  design: lhs\n  points: 4\n", "    parameters.inertia: {range: [1, 2], num: 3}"), "'num' applies", 7),
    (sweep_text("  design: saltelli\n  points: 6\n"), "power of 2", 5),
    (sweep_text(extra="  replicates: 0\n"), "'replicates'", 4),
    (sweep_text(extra="  set: {stepz: 10}\n"), "unknown key 'stepz'; did you mean 'steps'?", 4),
    ("sweeep:\n  name: x\n", "one key 'sweep'", 1),
]


@pytest.mark.parametrize(("text", "message", "line"), ERRORS)
def test_sweep_file_errors_name_file_line_and_choices(tmp_path, text, message, line):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_sweep(path)
    err = info.value
    assert message in err.message, err.message
    assert err.file == str(path)
    assert err.line == line, str(err)


def test_missing_scenario_file_points_at_the_scenario_key(tmp_path):
    path = write(tmp_path, "sweep:\n  name: x\n  scenario: ../nowhere/us_exit.yaml\n  parameters:\n    a.b: [1]\n")
    with pytest.raises(InputError) as info:
        load_sweep(path)
    assert "not found" in str(info.value) and info.value.line == 3


def test_combination_errors_name_the_point(tmp_path):
    # each value alone is valid; a horizon of 10 steps with the exit at step 15 is not
    params = "    steps: [10, 40]\n    shocks.us_exit.at: [8, 15]"
    sweep = load_sweep(write(tmp_path, sweep_text(params=params)))
    with pytest.raises(InputError) as info:
        sweep_points(sweep)
    assert "the combination steps=10, shocks.us_exit.at=15" in str(info.value) and "horizon" in str(info.value)


def test_sobol_with_points_not_a_power_of_two_warns(tmp_path):
    sweep = load_sweep(
        write(tmp_path, sweep_text("  design: sobol\n  points: 5\n", "    parameters.inertia: {range: [1, 2]}"))
    )
    assert sweep.warnings and "power of 2" in sweep.warnings[0] and "4 or 8" in sweep.warnings[0]


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_sweeps_are_valid(path):
    sweep = load_sweep(path)
    points = plan_sweep(sweep).points
    assert sweep.description and not sweep.warnings
    assert len(points) >= 16 and len({json.dumps(p.values, sort_keys=True) for p in points}) == len(points)


# ---------------------------------------------------------------- designs
def test_grid_is_the_product_of_levels_in_declared_order(tmp_path):
    params = (
        "    parameters.inertia: [1, 2]\n"
        "    parameters.threat_decay_km: {range: [100, 10000], num: 3, scale: log}\n"
        "    shocks.us_exit.at: {range: [6, 10], num: 3, integer: true}"
    )
    sweep = load_sweep(write(tmp_path, sweep_text(params=params)))
    values = design_values(sweep)
    assert len(values) == 2 * 3 * 3
    assert [v["parameters.inertia"] for v in values[:9]] == [1] * 9
    assert [v["shocks.us_exit.at"] for v in values[:3]] == [6, 8, 10]
    assert all(isinstance(v["shocks.us_exit.at"], int) for v in values)
    assert [v["parameters.threat_decay_km"] for v in values[:9:3]] == pytest.approx([100, 1000, 10000])


@pytest.mark.parametrize("design", ["random", "lhs", "sobol"])
def test_sampled_designs_are_pure_in_their_seed_and_respect_bounds(tmp_path, design):
    params = (
        "    parameters.inertia: {range: [1, 2]}\n"
        "    parameters.founding_cost: {dist: triangular, low: 0.3, mode: 0.5, high: 1.2}\n"
        "    shocks.us_exit.at: {values: [6, 8]}"
    )
    text = sweep_text(f"  design: {design}\n  points: 16\n  seed: 5\n", params)
    first = design_values(load_sweep(write(tmp_path, text)))
    again = design_values(load_sweep(write(tmp_path, text, "again.yaml")))
    other = design_values(load_sweep(write(tmp_path, text.replace("seed: 5", "seed: 6"), "other.yaml")))
    assert first == again and first != other and len(first) == 16
    assert all(1 <= v["parameters.inertia"] <= 2 and 0.3 <= v["parameters.founding_cost"] <= 1.2 for v in first)
    assert {v["shocks.us_exit.at"] for v in first} == {6, 8}


def test_latin_hypercube_puts_one_point_in_each_stratum():
    u = unit_sample("lhs", 10, 3, seed=1)
    for j in range(3):
        assert sorted(np.floor(u[:, j] * 10).astype(int)) == list(range(10))


def test_saltelli_gives_n_times_d_plus_2_points(tmp_path):
    params = "    parameters.inertia: {range: [1, 2]}\n    parameters.founding_cost: {range: [0.3, 1.2]}"
    sweep = load_sweep(write(tmp_path, sweep_text("  design: saltelli\n  points: 8\n", params)))
    assert len(design_values(sweep)) == 8 * (2 + 2)


# ---------------------------------------------------------------- running
def test_outputs_are_keyed_sorted_and_complete(reference):
    _, out = reference
    for name in ("points", "replicates", "summary", "trajectories"):
        assert (out / f"{name}.parquet").exists()
    assert not (out / PARTS_DIR).exists()  # combined, then deleted
    points = pq.read_table(out / "points.parquet").to_pandas()
    assert list(points.columns) == ["point", "shocks.threat_rise.factor", "shocks.nato_credibility.change"]
    assert points.to_dict("records")[1] == {
        "point": 1,
        "shocks.threat_rise.factor": 1.2,
        "shocks.nato_credibility.change": 0.0,
    }
    reps = pq.read_table(out / "replicates.parquet").to_pandas()
    keys = list(zip(reps["point"], reps["replicate"], strict=True))
    assert keys == [(p, r) for p in range(4) for r in range(20)]  # sorted, no duplicate, none missing
    assert (reps.groupby("point")["shocks.threat_rise.factor"].first().tolist()) == [1.2, 1.2, 2.0, 2.0]
    man = json.loads((out / COMPLETE_MARKER).read_text())
    assert man["kind"] == "sweep" and man["points"] == 4 and man["replicates_per_point"] == 20
    assert man["seed"] == load_scenario(US_EXIT).seed and man["sweep"]["design"] == "grid"


def test_summary_matches_the_replicates(reference):
    _, out = reference
    reps = pq.read_table(out / "replicates.parquet").to_pandas()
    summary = pq.read_table(out / "summary.parquet").to_pandas().set_index("point")
    for point, rows in reps.groupby("point"):
        k = int(rows["euro_alliance_formed"].sum())
        lo, hi = wilson(k, 20)
        s = summary.loc[point]
        assert s["n"] == 20
        assert s["euro_alliance_formed.p"] == k / 20
        assert (s["euro_alliance_formed.lo"], s["euro_alliance_formed.hi"]) == (lo, hi)
        power = rows["EDU.effective_power"].to_numpy()
        assert s["EDU.effective_power.mean"] == pytest.approx(power.mean(), rel=1e-12)
        assert s["EDU.effective_power.q95"] == pytest.approx(np.quantile(power, 0.95), rel=1e-12)
    traj = pq.read_table(out / "trajectories.parquet").to_pandas()
    assert set(traj["point"]) == {0, 1, 2, 3} and traj["step"].max() == 10 and (traj["n"] == 20).all()


def test_common_random_numbers_a_point_equals_its_plain_run(reference):
    """Point 0 is the base scenario: its replicates are bit-identical to a plain run of it."""
    _, out = reference
    base = load_scenario(US_EXIT, ["steps=10"])
    plain = run_block(base, base.seed, 0, 20).columns
    rows = pq.read_table(out / "replicates.parquet", filters=[("point", "=", 0)])
    for name in ("replicate", "euro_alliance_formed", "EDU.effective_power", "bruegel_extra_spending_eur_bn"):
        assert np.array_equal(rows.column(name).to_numpy(), plain[name], equal_nan=True), name


def test_interrupted_sweep_resumes_to_identical_results(tmp_path, reference):
    sweep_file, ref = reference
    out = tmp_path / "out"
    plan = plan_sweep(load_sweep(sweep_file))
    with pytest.raises(KeyboardInterrupt), StopAfter(3) as ev:
        run_sweep(plan, out, ev)
    assert sweep_status(plan, out).tasks_done == 3 and not (out / COMPLETE_MARKER).exists()
    with pytest.raises(InputError, match="pass --resume"), InProcess() as ev:
        run_sweep(plan, out, ev)
    with InProcess() as ev:
        info = run_sweep(plan, out, ev, resume=True)
    assert (info.tasks_run, info.tasks_resumed) == (5, 3)
    assert result_differences(ref, out) == []


def test_resume_after_a_crash_while_combining_reruns_nothing(tmp_path, reference):
    sweep_file, ref = reference
    out = tmp_path / "out"
    plan = plan_sweep(load_sweep(sweep_file))
    with InProcess() as ev:
        run_sweep(plan, out, ev, keep_parts=True)
    for name in (COMPLETE_MARKER, "replicates.parquet", "summary.parquet"):
        (out / name).unlink()
    with InProcess() as ev:
        info = run_sweep(plan, out, ev, resume=True)
    assert info.tasks_run == 0 and result_differences(ref, out) == []
    with InProcess() as ev:  # resuming a finished sweep does nothing
        assert run_sweep(plan, out, ev, resume=True).tasks_run == 0
    with pytest.raises(InputError, match="already holds this finished sweep"), InProcess() as ev:
        run_sweep(plan, out, ev)


def test_resume_refuses_a_different_sweep(tmp_path, reference):
    sweep_file, ref = reference
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    (out / COMPLETE_MARKER).unlink()
    plan = plan_sweep(load_sweep(sweep_file, replicates=30))
    with pytest.raises(InputError, match="replicates per point 30 here, 20 there"), InProcess() as ev:
        run_sweep(plan, out, ev, resume=True)
    plan = plan_sweep(load_sweep(sweep_file), seed=99)
    with pytest.raises(InputError, match="seed 99 here"), InProcess() as ev:
        run_sweep(plan, out, ev, resume=True)


def test_existing_directory_that_is_not_a_sweep_is_refused(tmp_path, reference):
    sweep_file, _ = reference
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a sweep directory"), InProcess() as ev:
        run_sweep(plan_sweep(load_sweep(sweep_file)), tmp_path / "out", ev)


def test_pandas_polars_and_duckdb_read_the_results(reference):
    _, out = reference
    import pandas as pd

    assert len(pd.read_parquet(out / "replicates.parquet")) == 80
    polars = pytest.importorskip("polars")
    assert polars.read_parquet(out / "summary.parquet").height == 4
    duckdb = pytest.importorskip("duckdb")
    sql = (
        f'SELECT p."shocks.threat_rise.factor" AS f, avg(r.euro_alliance_formed::INT) AS p '
        f"FROM '{out}/replicates.parquet' r JOIN '{out}/points.parquet' p USING (point) GROUP BY 1 ORDER BY 1"
    )
    assert [row[0] for row in duckdb.sql(sql).fetchall()] == [1.2, 2.0]


# ---------------------------------------------------------------- evaluators and CLI
def test_make_evaluator_choices():
    assert isinstance(make_evaluator(workers=0), InProcess)
    assert make_evaluator(workers=2).description.startswith("Dask LocalCluster, 2 worker")
    assert make_evaluator(scheduler="tcp://127.0.0.1:1").description.startswith("Dask scheduler")
    with pytest.raises(InputError, match="did you mean 'slurm'"):
        make_evaluator(cluster="slurn")


def test_cli_sweep_in_process_json(sim, tmp_path, reference):
    sweep_file, ref = reference
    res = sim("sweep", sweep_file, "--workers", "0", "--out", tmp_path / "cli", "--json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["points"] == 4 and data["replicates_per_point"] == 20 and data["evaluator"] == "in-process"
    row = data["summary"][0]
    assert 0 <= row["euro_alliance_formed.lo"] <= row["euro_alliance_formed.p"] <= row["euro_alliance_formed.hi"] <= 1
    assert result_differences(ref, tmp_path / "cli") == []
    again = sim("sweep", sweep_file, "--workers", "0", "--out", tmp_path / "cli")
    assert again.code == 2 and "already holds this finished sweep" in again.err


def test_cli_table_and_usage_errors(sim, tmp_path, reference):
    sweep_file, _ = reference
    res = sim("sweep", sweep_file, "--workers", "0", "--out", tmp_path / "t", "--replicates", "10")
    assert res.code == 0, res.err
    assert "tiny: 4 points × 10 futures (grid design)" in res.out and "European" in res.out
    for args, message in (
        (["--scheduler", "tcp://127.0.0.1:1", "--cluster", "slurm"], "either --scheduler or --cluster"),
        (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers sizes the embedded cluster"),
        (["--print-job-script"], "--print-job-script needs --cluster"),
        (["--resume"], "--resume needs --out"),
    ):
        bad = sim("sweep", sweep_file, *args)
        assert bad.code == 2 and message in bad.err and "Traceback" not in bad.err
    bad = sim("sweep", write(tmp_path, sweep_text(extra="  desing: grid\n"), "bad.yaml"), "--workers", "0")
    assert bad.code == 2 and "bad.yaml:4" in bad.err and "did you mean 'design'" in bad.err


def test_jobqueue_job_script(sim, reference):
    pytest.importorskip("dask_jobqueue")
    options = ClusterOptions(cores=8, memory="16GB", walltime="02:00:00", queue="compute", account="proj42")
    script = DaskJobqueue("slurm", options, loopback=True).job_script()
    for part in ("#SBATCH -p compute", "#SBATCH -A proj42", "--cpus-per-task=8", "-t 02:00:00", "OMP_NUM_THREADS=1"):
        assert part in script
    assert "dask_worker" in script and "--nthreads 1" in script and "--nworkers 8" in script
    assert sys.executable in script
    sweep_file, _ = reference
    res = sim("sweep", sweep_file, "--cluster", "pbs", "--cluster-cores", "2", "--print-job-script")
    assert res.code == 0 and "#PBS" in res.out and "ncpus=2" in res.out


def test_jobqueue_missing_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    with pytest.raises(InputError, match=r"pip install 'coalition-sim\[cluster\]'"):
        DaskJobqueue("slurm", ClusterOptions()).job_script()
