"""Calibration (ABC-SMC), parameter samples and `sim run --posterior` (docs/VALIDATION.md "Calibration")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulator.engine.model import AllianceModel
from simulator.engine.reference import ReferenceModel
from simulator.engine.rng import Streams
from simulator.engine.sampling import posterior_rows, sample_parameters
from simulator.errors import InputError
from simulator.runs import calibrate as cal
from simulator.runs.evaluators import InProcess
from simulator.scenario.language import ParameterSample, load_scenario, load_scenario_text
from tests.conftest import ROOT

INVASION = ROOT / "scenarios" / "history" / "invasion_2022.yaml"
CALM = ROOT / "scenarios" / "history" / "calm_2016.yaml"


def small(extra: str = "") -> str:
    return f"name: s\ndescription: small\nsteps: 4\nseed: 5\n{extra}"


def test_parse_priors():
    p = cal.parse_priors(["switch_cost=0.5:4,crisis_revision=0:3", "inertia"])
    assert [(x.name, x.low, x.high) for x in p] == [
        ("switch_cost", 0.5, 4.0),
        ("crisis_revision", 0.0, 3.0),
        ("inertia", 0.75, 10.0),  # a quarter to four times the default 3, within the bounds 0..10
    ]
    for bad, msg in [
        (["swich_cost=1:2"], "did you mean 'switch_cost'"),
        (["switch_cost=2:1"], "increasing"),
        (["switch_cost=1"], "name=low:high"),
        (["switch_cost=0:99"], "inside its bounds"),
        (["inertia", "inertia=1:2"], "twice"),
        ([], "at least one"),
    ]:
        with pytest.raises(InputError, match=msg):
            cal.parse_priors(bad)


def test_parameter_sample_validation():
    with pytest.raises(ValueError, match="outside"):
        ParameterSample(parameters=["inertia"], rows=[[11.0]])
    with pytest.raises(ValueError, match="unknown parameter"):
        ParameterSample(parameters=["inertiaa"], rows=[[1.0]])
    with pytest.raises(ValueError, match="weights"):
        ParameterSample(parameters=["inertia"], rows=[[1.0], [2.0]], weights=[1.0])
    with pytest.raises(ValueError, match="row 0 has 2 values"):
        ParameterSample(parameters=["inertia"], rows=[[1.0, 2.0]])


def test_a_replicate_draws_the_same_row_however_the_work_is_split():
    sample = ParameterSample(parameters=["inertia", "switch_cost"], rows=[[1.0, 0.5], [2.0, 1.5], [4.0, 3.0]],
                             weights=[0.2, 0.3, 0.5])  # fmt: skip
    sc = load_scenario_text(small(), "s.yaml").model_copy(update={"posterior": sample})
    whole = sample_parameters(sc, Streams(5, np.arange(4000)))
    part = sample_parameters(sc, Streams(5, np.arange(1000, 1010)))
    assert np.array_equal(whole["inertia"][1000:1010], part["inertia"])
    rows = posterior_rows(sample, Streams(5, np.arange(4000)))
    assert np.allclose(np.bincount(rows, minlength=3) / 4000, [0.2, 0.3, 0.5], atol=0.03)
    # the parameters of a row travel together
    assert np.array_equal(whole["switch_cost"], np.array([0.5, 1.5, 3.0])[rows])
    by_index = sample.model_copy(update={"assign": "replicate"})
    assert np.array_equal(posterior_rows(by_index, Streams(5, np.arange(7))), [0, 1, 2, 0, 1, 2, 0])


def test_reference_equals_engine_with_a_posterior():
    sample = ParameterSample(parameters=["inertia", "choice_noise"], rows=[[1.0, 0.9], [5.0, 0.2]], weights=[1, 1])
    sc = load_scenario_text(small(), "s.yaml").model_copy(update={"posterior": sample})
    engine = AllianceModel(sc, replicates=np.arange(4), record_events=True).run()
    for row in range(4):
        ref = ReferenceModel(sc, replicate=row).run()
        assert np.array_equal(engine.state.member[row], ref.member)
        assert np.array_equal(engine.state.share[row], ref.share)
        assert [e for e in engine.events if e[0] == row] == ref.events


def test_unbiased_distance_and_fact_counts():
    # events (replicate, step, state, bloc, kind): replicate r belongs to particle r mod 2
    ev = np.array([[0, 1, 3, 0, 0], [0, 2, 3, 0, 0], [2, 1, 3, 0, 0], [1, 1, 3, 0, 0], [3, 0, 4, 1, 2]])
    facts = [cal.Fact("e", "a", 3, 0, (0,), 1.0), cal.Fact("e", "b", 4, 1, (2, 4, 5), 0.0)]
    counts = cal.fact_counts(ev, facts, 2)
    # particle 0 (replicates 0, 2): fact a in both; particle 1 (1, 3): fact a in 1, fact b in 3
    assert counts.tolist() == [[2, 0], [1, 1]]


def synthetic_facts(scenario, truth: float, replicate: int = 0) -> list[cal.Fact]:
    """Facts simulated by the model itself at switch_cost = truth: one realization (one replicate of a
    run with another seed) of every NATO, EU and coalition application a non-member could make."""
    from simulator.engine.timeline import KIND_CODE
    from simulator.runs.blocks import world_for

    w = world_for(scenario)
    sc = scenario.model_copy(update={"parameters": {**scenario.parameters, "switch_cost": truth}})
    m = AllianceModel(sc, np.array([replicate]), seed=99, record_timeline=True).run()
    ev = m.timeline.event_array()
    facts = []
    for bloc in ("NATO", "EU", "CWILL"):
        b = w.bloc_index(bloc)
        for s in np.flatnonzero(~w.members0[:, b] & w.eligible[:, b]):
            hit = ((ev[:, 2] == s) & (ev[:, 3] == b) & (ev[:, 4] == KIND_CODE["applied"])).any()
            facts.append(cal.Fact("synthetic", f"{w.codes[s]} {bloc}", int(s), b, (KIND_CODE["applied"],), float(hit)))
    return facts


def test_calibration_recovers_a_known_parameter():
    """The standard check of an inference pipeline: data simulated at a known value, then inferred.

    Two truths of switch_cost, each observed in three independent realizations of the episode (three
    "episodes" with the same world); each posterior (40 particles, 3 generations) must cover its
    truth with its 5-95 % interval, be much narrower than the prior, and the two must be ordered.
    """
    sc = load_scenario(INVASION)
    priors = cal.parse_priors(["switch_cost=0.25:4"])
    means = []
    for truth in (0.8, 2.5):
        given = [synthetic_facts(sc, truth, r) for r in range(3)]
        for facts in given:
            assert 0 < sum(f.y for f in facts) < len(facts)  # informative: some apply, some do not
        with InProcess() as ev:
            episodes = [(f"synthetic{r}", sc) for r in range(3)]
            sim = cal.Simulator(episodes, ["switch_cost"], 10, 3, ev, given=given)
            pops = cal.abc_smc(sim, priors, particles=40, generations=3, quantile=0.5, seed=1)
        post = pops[-1]
        s = cal.summarise(post, priors)["switch_cost"]
        assert s["q05"] <= truth <= s["q95"], (truth, s)
        assert s["sd"] < 0.5 * s["prior_sd"], (truth, s)
        assert pops[-1].epsilon <= pops[0].epsilon
        assert np.isclose(post.weights.sum(), 1.0) and (post.weights > 0).all()
        means.append(s["mean"])
    assert means[0] < means[1]


def test_calibrate_and_run_with_the_posterior(sim, tmp_path):
    out = tmp_path / "cal"
    res = sim("calibrate", CALM, "-p", "switch_cost=0.5:4", "--particles", "8", "-n", "3", "--generations", "2",
              "--workers", "0", "--seed", "4", "--out", out)  # fmt: skip
    assert res.code == 0, res.out + res.err
    rep = json.loads((out / "calibration.json").read_text())
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == ["switch_cost", "weight", "distance"] and len(post) == 8
    assert np.isclose(post["weight"].sum(), 1.0)
    assert len(rep["generations"]) == 2 and (out / "figures" / "pairs.png").stat().st_size > 10_000
    # the same seed gives the same posterior, in this process or on two workers
    again = sim("calibrate", CALM, "-p", "switch_cost=0.5:4", "--particles", "8", "-n", "3", "--generations", "2",
                "--workers", "2", "--seed", "4", "--out", tmp_path / "cal2")  # fmt: skip
    assert again.code == 0, again.out + again.err
    assert pd.read_parquet(tmp_path / "cal2" / "posterior.parquet").equals(post)
    run = tmp_path / "run"
    res = sim("run", ROOT / "scenarios" / "baseline.yaml", "-n", "30", "--steps", "4", "--no-figures",
              "--posterior", out, "--out", run)  # fmt: skip
    assert res.code == 0, res.out + res.err
    resolved = (run / "scenario.resolved.yaml").read_text()
    assert "posterior:" in resolved and "sha256:" in resolved
    # --force does not replace a directory that is not a calibration
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    res = sim("calibrate", CALM, "-p", "switch_cost=0.5:4", "--out", tmp_path / "mine", "--force")
    assert res.code == 2 and "no calibration.json" in (res.out + res.err)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    # nor a calibration directory that also holds a file of the user's
    (out / "thesis.tex").write_text("precious")
    res = sim("calibrate", CALM, "-p", "switch_cost=0.5:4", "--particles", "8", "-n", "3", "--out", out, "--force")
    assert res.code == 2 and "'thesis.tex'" in (res.out + res.err)
    assert (out / "thesis.tex").read_text() == "precious" and (out / "calibration.json").exists()


def test_bad_posterior_and_parameters_are_one_line_errors(sim, tmp_path):
    res = sim("run", ROOT / "scenarios" / "baseline.yaml", "--posterior", tmp_path / "nope")
    assert res.code == 2 and "not found" in (res.out + res.err) and "Traceback" not in (res.out + res.err)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "posterior.parquet").write_text("not parquet")
    res = sim("run", ROOT / "scenarios" / "baseline.yaml", "--posterior", tmp_path / "bad")
    assert res.code == 2 and "not a readable Parquet" in (res.out + res.err)
    res = sim("calibrate", CALM, "-p", "swich_cost=1:2", "--out", tmp_path / "c")
    assert res.code == 2 and "did you mean" in (res.out + res.err)


def test_posterior_notes_the_parameters_it_replaces_and_errors_keep_colons(sim, tmp_path):
    (tmp_path / "p").mkdir()
    pd.DataFrame({"inertia": [2.0, 3.0], "weight": [0.5, 0.5], "distance": [0.1, 0.2]}).to_parquet(
        tmp_path / "p" / "posterior.parquet", index=False
    )
    res = sim("run", ROOT / "scenarios" / "baseline.yaml", "-n", "10", "--steps", "2", "--no-figures",
              "--set", "parameters.inertia=1.5", "--posterior", tmp_path / "p", "--out", tmp_path / "r")  # fmt: skip
    assert res.code == 0, res.err
    assert "the posterior draws inertia" in res.err
    res = sim("calibrate", CALM, "-p", "switch_cost=a:b:c", "--out", tmp_path / "c")
    assert res.code == 2 and "switch_cost=a:b:c" in res.err  # ':b:' is not turned into an emoji
