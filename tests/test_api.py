"""The Python API (docs/PYTHON.md): bit-identical to `sim run`, tidy tables, every way in, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import simulator as sim
from simulator.errors import InputError
from tests.conftest import ROOT, STRESS, TINY, US_EXIT, call_sim, write

FILES = ("replicates", "events", "trajectories", "states", "utilities", "step_histograms")
N, SEED, BLOCK = 24, 11, 10  # three blocks, the last one short


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same run by `sim run` and by sim.run in memory, then saved: (cli dir, Run, saved dir)."""
    base = tmp_path_factory.mktemp("api")
    r = call_sim("run", US_EXIT, "-n", N, "--seed", SEED, "--block-size", BLOCK, "--no-figures", "--out", base / "cli")
    assert r.code == 0, r.err
    res = sim.run(str(US_EXIT), replicates=N, seed=SEED, block_size=BLOCK)
    saved = res.save(base / "api", figures=False)
    return base / "cli", res, saved


def test_import_simulator_loads_no_layer():
    code = "import simulator, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('simulator', 'analysis', 'pandas', 'numpy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert eval(out) == ["simulator", "simulator._lazy"]  # noqa: S307 (our own printed list)


def test_a_run_in_memory_is_bit_identical_to_sim_run(pair):
    cli, res, _ = pair
    assert res.path is None
    pd.testing.assert_frame_equal(res.wide, pd.read_parquet(cli / "replicates.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(res.events, pd.read_parquet(cli / "events.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(res.trajectories, pd.read_parquet(cli / "trajectories.parquet"), check_exact=True)
    assert json.loads(json.dumps(res.summary_dict, default=float).replace("NaN", "null")) == json.loads(
        (cli / "summary.json").read_text(encoding="utf-8")
    )


def test_saving_a_run_writes_the_files_of_sim_run_byte_for_byte(pair):
    cli, _, saved = pair
    for stem in FILES:
        assert (saved / f"{stem}.parquet").read_bytes() == (cli / f"{stem}.parquet").read_bytes(), stem
    for name in ("summary.json", "scenario.resolved.yaml"):
        assert (saved / name).read_text(encoding="utf-8") == (cli / name).read_text(encoding="utf-8")
    assert call_sim("verify", saved).code == 0
    loaded = sim.load(saved)
    pd.testing.assert_frame_equal(loaded.replicates, pair[1].replicates, check_exact=True)


def test_a_run_with_out_is_the_directory_sim_run_writes(pair, tmp_path):
    cli, _, _ = pair
    res = sim.run(US_EXIT, replicates=N, seed=SEED, block_size=BLOCK, out=tmp_path / "run")
    assert res.path == tmp_path / "run"
    assert (tmp_path / "run" / "replicates.parquet").read_bytes() == (cli / "replicates.parquet").read_bytes()


def test_tidy_tables_agree_with_the_wide_table(pair):
    _, res, _ = pair
    wide = res.wide
    assert len(res.replicates) == N and not any(c.startswith("member.") for c in res.replicates.columns)
    assert res.replicates.columns[0] == "replicate" and "euro_alliance_formed" in res.replicates.columns[:3]
    blocs = res.blocs
    assert len(blocs) == N * len(res.summary_dict["bloc_names"])
    edu = blocs[blocs["bloc"] == "EDU"].set_index("replicate")
    np.testing.assert_array_equal(edu["members"].to_numpy(), wide["EDU.members"].to_numpy())
    members = [c for c in wide.columns if c.startswith("member.")]
    assert len(res.memberships) == int(wide[members].to_numpy().sum())
    row = res.summary.set_index("outcome").loc["euro_alliance_formed"]
    assert row["kind"] == "probability" and row["p"] == wide["euro_alliance_formed"].mean()
    assert row["p_lo"] <= row["p"] <= row["p_hi"]
    amount = res.summary.set_index("outcome").loc["EDU.effective_power"]
    assert amount["kind"] == "amount" and amount["q05"] <= amount["median"] <= amount["q95"]
    mp = res.membership_probability
    assert mp.set_index(["bloc", "state"]).loc[("EU", "FRA"), "p"] == wide["member.EU.FRA"].mean()
    experiments, outcomes = res.experiments()
    assert list(experiments.columns) == ["replicate"] and len(outcomes["euro_alliance_formed"]) == N


def test_a_figure_in_memory_is_a_png_a_notebook_shows(pair, tmp_path):
    _, res, _ = pair
    figure = res.plot.power_fan()
    assert figure.data[:8] == b"\x89PNG\r\n\x1a\n" and figure._repr_png_() == figure.data
    assert figure.save(tmp_path).name == "power_fan.png"
    with pytest.raises(AttributeError, match="figures: power_distribution"):
        res.plot.pie_chart  # noqa: B018


def test_dicts_scenarios_and_files_take_the_same_path(tmp_path):
    import yaml

    data = yaml.safe_load(US_EXIT.read_text(encoding="utf-8"))
    settings = {"steps": 10, "parameters.inertia": 2.5}
    a = sim.run(US_EXIT, replicates=4, seed=3, set=settings)
    b = sim.run(data, replicates=4, seed=3, set=settings)
    c = sim.run(sim.as_scenario(data, set=settings), replicates=4, seed=3)
    for other in (b, c):
        pd.testing.assert_frame_equal(a.wide, other.wide, check_exact=True)
    assert a.scenario.parameters["inertia"] == 2.5 and a.scenario.steps == 10


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sim.run(US_EXIT, replicates=0), "replicates= must be a whole number from 1"),
        (lambda: sim.run(US_EXIT, seed=-1), "seed= must be a whole number from 0"),
        (
            lambda: sim.run(US_EXIT, set={"parameters.inertai": 2}),
            "unknown parameter 'inertai'; did you mean 'inertia'",
        ),
        (lambda: sim.run(US_EXIT, set={"parameters.inertia": 99}), "out of range; valid: 0.0 to 10.0"),
        (lambda: sim.run({"name": "x"}), "description"),
        (lambda: sim.run(42), "a scenario is a file path, a dict or a Scenario"),
        (lambda: sim.run(ROOT / "nope.yaml"), "file not found"),
        (lambda: sim.run(US_EXIT, figures=True), "figures=True needs out="),
    ],
)
def test_bad_input_raises_input_error_with_the_cli_message(call, message):
    with pytest.raises(InputError, match=None) as err:
        call()
    assert message in str(err.value)


def test_inputs_are_the_draws_the_engine_made():
    from simulator.engine.model import AllianceModel
    from simulator.runs.inputs import replicate_inputs
    from simulator.scenario.language import load_scenario_text

    scenario = load_scenario_text(STRESS)
    inputs = replicate_inputs(scenario, 5, np.arange(6))
    assert {"parameters.inertia", "parameters.founding_cost", "shocks.exit.at"} <= set(inputs.columns)
    assert "parameters.founding_rate" not in inputs.columns  # a constant
    model = AllianceModel(scenario, np.arange(6), seed=5, backend="numpy")  # its draws, without running it
    np.testing.assert_array_equal(inputs["parameters.inertia"], model.params["inertia"])
    exit_k = [c.key for c in model.shocks].index("exit")
    np.testing.assert_array_equal(inputs["shocks.exit.at"], model.scheduled[:, exit_k])


def test_a_run_with_a_distribution_reports_its_draws_as_experiments():
    res = sim.run(
        US_EXIT, replicates=5, seed=2, set={"steps": 10, "parameters.inertia": {"dist": "uniform", "low": 1, "high": 2}}
    )
    experiments, outcomes = res.experiments(["euro_alliance_formed"])
    assert list(experiments.columns) == ["replicate", "parameters.inertia"]
    assert experiments["parameters.inertia"].between(1, 2).all() and experiments["parameters.inertia"].nunique() == 5
    assert list(outcomes) == ["euro_alliance_formed"]


def test_a_sweep_in_memory_equals_the_sweep_directory(reference, tmp_path):
    sweep_file, out = reference
    swept = sim.sweep(sweep_file)
    assert swept.path is None and not list(tmp_path.iterdir())
    on_disk = sim.load_sweep(out)
    pd.testing.assert_frame_equal(swept.replicates, on_disk.replicates, check_exact=True)
    pd.testing.assert_frame_equal(swept.summary, on_disk.summary, check_exact=True)
    experiments, outcomes = swept.experiments()
    assert list(experiments.columns) == ["point", "replicate", *swept.parameters]
    assert len(experiments) == 4 * 20 and all(len(v) == 80 for v in outcomes.values())
    assert "euro_alliance_formed" in outcomes


def test_compare_takes_runs_or_directories(pair):
    cli, res, _ = pair
    cmp = sim.compare(cli, res)
    assert cmp.paired and (cmp.table["diff"] == 0).all()


def test_sweep_files_in_the_tiny_form_load(tmp_path):
    with pytest.raises(InputError, match="replicates= must be"):
        sim.sweep(write(tmp_path, TINY), replicates=0)
