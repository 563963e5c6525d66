"""The ensemble engine: reproducibility however the work is split, run directories, mechanisms."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulator.engine.mechanisms import blocs as bl
from simulator.engine.mechanisms import seqsum
from simulator.engine.model import AllianceModel
from simulator.runs.run import run_scenario
from simulator.scenario.language import load_scenario
from tests.conftest import ROOT, SCENARIOS


def short(name: str, steps: int = 12):
    return load_scenario(ROOT / "scenarios" / name, [f"steps={steps}"] if steps else None)


def test_replicate_alone_equals_replicate_in_a_block_of_1000():
    sc = short("us_exit.yaml", 10)
    block = AllianceModel(sc, np.arange(1000)).run()
    for k in (0, 417, 999):
        alone = AllianceModel(sc, np.array([k])).run()
        assert np.array_equal(alone.state.member[0], block.state.member[k])
        assert np.array_equal(alone.state.share[0], block.state.share[k])
        assert np.array_equal(alone.trajectory[0], block.trajectory[k])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_scenario_runs(path):
    sc = load_scenario(path, ["steps=16"])
    m = AllianceModel(sc, np.arange(16)).run()
    assert m.steps == 16
    assert np.isfinite(m.state.effective).all()
    assert (m.state.share >= 0).all()
    # members of inactive blocs do not count
    assert np.array_equal(m.members_trajectory[:, -1, :], (m.state.member & m.state.active[:, None, :]).sum(axis=1))


@pytest.mark.slow
def test_run_directory_is_identical_across_block_sizes_and_workers(tmp_path):
    sc = short("us_exit.yaml", 10)
    a = run_scenario(sc, tmp_path / "a", replicates=60, block_size=60)
    b = run_scenario(sc, tmp_path / "b", replicates=60, block_size=7)
    c = run_scenario(sc, tmp_path / "c", replicates=60, block_size=13, workers=2)
    ta = pd.read_parquet(tmp_path / "a" / "replicates.parquet")
    for other in ("b", "c"):
        tb = pd.read_parquet(tmp_path / other / "replicates.parquet")
        pd.testing.assert_frame_equal(ta, tb, check_exact=True)
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["outcomes"] == a.summary["outcomes"]
    assert b.summary["outcomes"] == a.summary["outcomes"] == c.summary["outcomes"]
    tra = pd.read_parquet(tmp_path / "a" / "trajectories.parquet")
    trc = pd.read_parquet(tmp_path / "c" / "trajectories.parquet")
    pd.testing.assert_frame_equal(tra, trc, check_exact=True)


def test_run_directory_contents_and_atomicity(tmp_path, sim):
    out = tmp_path / "run"
    res = sim("run", ROOT / "scenarios" / "baseline.yaml", "-n", "20", "--steps", "4", "--out", out, "--no-figures")
    assert res.code == 0, res.err
    for name in (
        "replicates.parquet",
        "summary.json",
        "scenario.resolved.yaml",
        "manifest.json",
        "trajectories.parquet",
    ):
        assert (out / name).exists(), name
    man = json.loads((out / "manifest.json").read_text())
    assert man["replicates"] == 20 and man["seed"] == 2026 and man["scenario_hash"]
    df = pd.read_parquet(out / "replicates.parquet")
    assert list(df["replicate"]) == list(range(20))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcomes"]["us_in_nato"]["p"] == df["us_in_nato"].mean()
    # an existing directory is not overwritten without --force, and is left intact
    res2 = sim("run", ROOT / "scenarios" / "baseline.yaml", "-n", "5", "--steps", "4", "--out", out, "--no-figures")
    assert res2.code == 2 and "exists" in res2.err
    assert len(pd.read_parquet(out / "replicates.parquet")) == 20
    res3 = sim(
        "run", ROOT / "scenarios" / "baseline.yaml", "-n", "5", "--steps", "4", "--out", out, "--no-figures", "--force"
    )
    assert res3.code == 0 and len(pd.read_parquet(out / "replicates.parquet")) == 5
    assert not list(tmp_path.glob(".*partial*"))


def test_interrupted_run_leaves_no_complete_looking_directory(tmp_path, monkeypatch):
    import simulator.runs.run as runner

    calls = {"n": 0}
    real = runner.iterate_blocks

    def failing(*args, **kwargs):
        for block in real(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            yield block

    monkeypatch.setattr(runner, "iterate_blocks", failing)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(short("baseline.yaml", 3), tmp_path / "run", replicates=30, block_size=10)
    assert not (tmp_path / "run").exists()
    assert not list(tmp_path.iterdir())


def test_replay_prints_the_story(tmp_path, sim):
    out = tmp_path / "run"
    assert (
        sim("run", ROOT / "scenarios" / "us_exit.yaml", "-n", "5", "--steps", "12", "--out", out, "--no-figures").code
        == 0
    )
    res = sim("replay", out, "--replicate", "3")
    assert res.code == 0, res.err
    text = " ".join(res.out.split())
    assert "2028Q1" in text and "USA leaves NATO (us_exit)" in text and "USA leave NATO" not in text
    bad = sim("replay", out, "--replicate", "9")
    assert bad.code == 2 and "replicates 0..4" in bad.err
    js = sim("replay", out, "--replicate", "3", "--json")
    events = json.loads(js.out)["events"]
    assert any(e["kind"] == "withdraw" and e["step"] == 8 and e["sentence"] == "USA leaves NATO (us_exit)"
               for e in events)  # fmt: skip


def test_coordination_loss_falls_with_integration_and_concentration():
    contrib = np.array([[[1.0], [1.0], [1.0], [1.0]]])  # 4 equal members
    raw = bl.pooled(contrib)
    lmax = np.array([0.3])
    low = bl.coordination_loss(contrib, raw, np.array([[0.1]]), lmax)
    high = bl.coordination_loss(contrib, raw, np.array([[0.9]]), lmax)
    assert high[0, 0] < low[0, 0]
    assert low[0, 0] == pytest.approx(0.3 * 0.9 * 0.75)
    single = np.array([[[4.0], [0.0], [0.0], [0.0]]])
    assert bl.coordination_loss(single, bl.pooled(single), np.array([[0.1]]), lmax)[0, 0] == 0.0


def test_seqsum_is_sequential():
    x = np.array([[1e16, 1.0, -1e16, 1.0]])
    acc = 0.0
    for v in x[0]:
        acc += v
    assert seqsum(x, 1)[0] == acc


def test_admission_codes_of_the_world_are_the_mechanisms():
    """One table of admission codes: the world encodes with it, the engine reads it, every rule has a code."""
    from typing import get_args

    from simulator.engine.mechanisms import admission
    from simulator.scenario import world
    from simulator.scenario.language import ADMISSION_CODES, AdmissionRule

    assert admission.RULE_CODES is ADMISSION_CODES and world.ADMISSION_CODES is ADMISSION_CODES
    assert set(ADMISSION_CODES) == set(get_args(AdmissionRule))
    assert len(set(ADMISSION_CODES.values())) == len(ADMISSION_CODES)


def test_guarantor_and_reference_alliance_come_from_the_scenario():
    """outcomes.guarantor and .reference_alliance replace the US and NATO in the engine, its twin and outcomes."""
    from simulator.engine.outcomes import reduce_outcomes
    from simulator.engine.reference import ReferenceModel

    sc = short("us_exit.yaml", 12).model_copy(deep=True)
    sc.outcomes.guarantor, sc.outcomes.reference_alliance = "FRA", "EU"
    m = AllianceModel(sc, np.arange(6), record_events=True).run()
    fra, eu = m.world.index("FRA"), m.world.bloc_index("EU")
    assert m.guarantor == fra
    out = reduce_outcomes(m)
    assert np.array_equal(out["us_in_nato"], m.state.member[:, fra, eu] & m.state.active[:, eu])
    ref = ReferenceModel(sc, replicate=3).run()
    assert ref.us_index == fra
    assert np.array_equal(m.state.effective[3], ref.effective) and np.array_equal(m.state.member[3], ref.member)
    default = AllianceModel(short("us_exit.yaml", 12), np.arange(6)).run()
    assert default.guarantor == default.world.index("USA")
    assert not np.array_equal(default.state.effective, m.state.effective)  # the guarantor weighs us_attitude
