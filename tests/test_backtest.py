"""Backtests: the observed: section, the scoring and the naive forecasters, and `sim backtest` end to end."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from simulator.runs.backtest import (
    Episode,
    base_rates,
    brier,
    clip,
    episode_rows,
    event_pmf,
    log_score,
    reliability,
    scores_frame,
    skill,
    summarise,
    timing,
)
from simulator.scenario.language import load_scenario, load_scenario_text
from tests.conftest import ROOT

HISTORY = ROOT / "scenarios" / "history"
EPISODES = sorted(HISTORY.glob("*.yaml"))


def episode_text(observed: str, as_of: str = "2021Q4", steps: int = 13) -> str:
    return (
        f"name: ep\ndescription: an episode\nworld:\n  as_of: {as_of}\nsteps: {steps}\nseed: 1\nobserved:\n{observed}"
    )


# ---------------------------------------------------------------- scoring on hand-computed cases
def test_brier_and_log_score_by_hand():
    assert brier(0.8, 1) == pytest.approx(0.04)
    assert log_score(0.8, 1) == pytest.approx(-math.log(0.8))
    assert brier(0.8, 0) == pytest.approx(0.64)
    assert log_score(0.8, 0) == pytest.approx(-math.log(0.2))
    # clipped to [0.001, 0.999]: a certain, wrong forecast has a finite log score
    assert clip([0.0, 1.0]).tolist() == [0.001, 0.999]
    assert brier(0.0, 1) == pytest.approx(0.999**2)
    assert log_score(0.0, 1) == pytest.approx(-math.log(0.001))
    assert log_score(1.0, 0) == pytest.approx(-math.log(0.001))
    assert log_score(0.0, 0) == pytest.approx(-math.log(0.999))
    assert skill(0.25, 0.5) == pytest.approx(0.5)
    assert skill(0.75, 0.5) == pytest.approx(-0.5)
    assert math.isnan(skill(0.1, 0.0))


def test_timing_by_hand():
    # P(first in quarter t): 0.2 in t=1, 0.4 in t=2, 0.2 in t=3 (P(by the end) = 0.8)
    pmf = np.array([0.0, 0.2, 0.4, 0.2, 0.0])
    t = timing(pmf, 2)
    assert t["median_step"] == 2 and t["median_error_q"] == 0 and t["median_abs_error_q"] == 0
    assert t["p_within_1q"] == pytest.approx(1.0)
    late = timing(pmf, 0)  # the event really happened in quarter 0: the model is 2 quarters late
    assert late["median_error_q"] == 2 and late["median_abs_error_q"] == 2
    assert late["p_within_1q"] == pytest.approx(0.2 / 0.8)
    never = timing(np.zeros(5), 2)
    assert all(math.isnan(v) for v in never.values())


def test_event_pmf_from_the_summary_timeline():
    summary = {
        "timeline": {
            "first_application": {"FIN": {"NATO": {"cumulative": {"2022Q1": 0.1, "2022Q3": 0.6, "2022Q4": 0.6}}}},
            "accession": {},
        }
    }
    pmf = event_pmf(summary, "application", "FIN", "NATO", "2021Q4", 5)
    assert pmf == pytest.approx([0.0, 0.1, 0.0, 0.5, 0.0])
    assert event_pmf(summary, "accession", "FIN", "NATO", "2021Q4", 5).sum() == 0
    assert event_pmf(summary, "application", "SWE", "NATO", "2021Q4", 5).sum() == 0


def test_base_rate_is_leave_one_out():
    outcomes = {
        "a": {"application": [1, 0, 0], "accession": [1]},
        "b": {"application": [0, 0], "accession": [1, 0]},
        "c": {"application": [1], "accession": []},
    }
    rates = base_rates(outcomes)
    assert rates["a"]["application"]["p"] == pytest.approx(1 / 3)  # b and c: 0, 0, 1
    assert rates["a"]["accession"]["p"] == pytest.approx(1 / 2)  # b: 1, 0
    assert rates["a"]["application"]["from"] == ["b", "c"]
    assert rates["c"]["accession"]["p"] == pytest.approx(2 / 3)  # a and b: 1, 1, 0
    # only one episode: over itself
    alone = base_rates({"a": outcomes["a"]})
    assert alone["a"]["application"]["p"] == pytest.approx(1 / 3) and alone["a"]["application"]["from"] == ["a"]
    # the others know nothing of the event: over all episodes
    sparse = base_rates({"a": {"application": [1, 1]}, "b": {"application": [0]}, "c": {}})
    assert sparse["c"]["application"]["p"] == pytest.approx(2 / 3)
    assert sparse["a"]["accession"] == {"p": 0.5, "n": 0, "from": []}


def test_reliability_bins_by_hand():
    table = reliability(np.array([0.05, 0.07, 0.55, 0.95, 1.0]), np.array([0, 1, 1, 1, 0]))
    assert table["n"].tolist() == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert table.loc[0, "observed"] == pytest.approx(0.5) and table.loc[0, "mean_p"] == pytest.approx(0.06)
    assert table.loc[9, "mean_p"] == pytest.approx((0.95 + 0.999) / 2)  # clipped
    assert math.isnan(table.loc[1, "observed"])


def test_model_persistence_and_base_rate_forecasts_by_hand():
    sc = load_scenario_text(
        episode_text(
            "  - {kind: applied, state: FIN, bloc: NATO, date: 2022-05-18, source: s}\n"
            "  - {kind: not_applied, state: AUT, bloc: NATO, source: s}\n"
            "  - {kind: joined, state: FIN, bloc: NATO, date: 2023-04-04, source: s}\n"
            "  - {kind: spending_pct_gdp, state: POL, year: 2022, value: 2.21, edition: NATO, source: s}\n"
        ),
        "ep.yaml",
    )
    ep = Episode("ep", "ep.yaml", sc, start_share={"POL": 2.2})
    summary = {
        "timeline": {
            # FIN applies in 2022Q2 (step 2) with 0.6, in 2022Q3 with 0.2: P = 0.8; AUT: 0.8 by 2022Q1
            "first_application": {
                "FIN": {"NATO": {"cumulative": {"2022Q2": 0.6, "2022Q3": 0.8, "2024Q4": 0.8}}},
                "AUT": {"NATO": {"cumulative": {"2022Q1": 0.8, "2024Q4": 0.8}}},
            },
            "accession": {},
        }
    }
    states = pd.DataFrame(
        {
            "quarter": ["2022Q4"],
            "state": ["POL"],
            "metric": ["spending_pct_gdp"],
            "q05": [2.0],
            "q50": [2.5],
            "q95": [3.0],
        }
    )
    rates = {"application": {"p": 0.25}, "accession": {"p": 0.5}}
    frame = scores_frame(episode_rows(ep, summary, states, rates))
    assert len(frame) == 4 * 3  # one row per fact and forecaster
    row = frame.set_index(["fact", "forecaster"])
    # applied FIN: model 0.8, observed 1
    assert row.loc[(0, "model"), "p"] == pytest.approx(0.8)
    assert row.loc[(0, "model"), "brier"] == pytest.approx(0.04)
    assert row.loc[(0, "model"), "log_score"] == pytest.approx(-math.log(0.8))
    assert row.loc[(0, "model"), "timing_median_error_q"] == 0  # median 2022Q2, really 2022Q2
    assert row.loc[(0, "model"), "timing_p_within_1q"] == pytest.approx(1.0)
    assert row.loc[(0, "model"), "predicted_median_quarter"] == "2022Q2"
    # persistence: nothing changes, P = 0 -> 0.001
    assert row.loc[(0, "persistence"), "p_clipped"] == pytest.approx(0.001)
    assert row.loc[(0, "persistence"), "brier"] == pytest.approx(0.999**2)
    assert row.loc[(1, "persistence"), "brier"] == pytest.approx(0.001**2)
    assert row.loc[(1, "persistence"), "log_score"] == pytest.approx(-math.log(0.999))
    # not_applied AUT: the same event with outcome 0; model 0.8 -> Brier 0.64
    assert row.loc[(1, "model"), "observed"] == 0 and row.loc[(1, "model"), "brier"] == pytest.approx(0.64)
    # base rate per event
    assert row.loc[(0, "base_rate"), "p"] == pytest.approx(0.25)
    assert row.loc[(0, "base_rate"), "brier"] == pytest.approx(0.75**2)
    assert row.loc[(2, "base_rate"), "p"] == pytest.approx(0.5)
    # joined FIN, never predicted: P = 0, no timing
    assert row.loc[(2, "model"), "p"] == 0 and math.isnan(row.loc[(2, "model"), "timing_p_within_1q"])
    # spending: band 2.0-3.0 holds 2.21; median error +0.29; persistence stays at 2.2
    assert bool(row.loc[(3, "model"), "inside_band"]) and row.loc[(3, "model"), "median_error"] == pytest.approx(0.29)
    assert row.loc[(3, "persistence"), "median_error"] == pytest.approx(-0.01)
    assert not bool(row.loc[(3, "persistence"), "inside_band"])
    s = summarise(frame)
    assert s["n_binary"] == 3 and s["happened"] == 2
    assert s["brier"]["model"] == pytest.approx((0.04 + 0.64 + 0.999**2) / 3)
    assert s["brier_skill"]["vs_persistence"] == pytest.approx(
        1 - s["brier"]["model"] / ((0.999**2 + 0.001**2 + 0.999**2) / 3)
    )
    assert s["timing"]["n"] == 2 and s["timing"]["n_predicted"] == 1
    assert s["spending"]["n"] == 1 and s["spending"]["inside_band"] == 1.0


# ---------------------------------------------------------------- the observed: section
def test_history_episodes_have_sourced_observed_facts():
    assert {p.stem for p in EPISODES} >= {"invasion_2022", "crimea_2014", "georgia_2008", "calm_2016"}
    for path in EPISODES:
        sc = load_scenario(path)
        assert sc.observed, path
        assert all(f.source.strip() for f in sc.observed)
        kinds = {f.kind for f in sc.observed}
        assert {"not_applied", "spending_pct_gdp"} <= kinds, path
    inv = {
        (f.kind, f.state, getattr(f, "bloc", None)): f for f in load_scenario(HISTORY / "invasion_2022.yaml").observed
    }
    assert inv[("applied", "FIN", "NATO")].date == "2022-05-18" and inv[("applied", "FIN", "NATO")].quarter == "2022Q2"
    assert inv[("joined", "SWE", "NATO")].date == "2024-03-07"
    assert ("not_joined", "UKR", "NATO") in inv


def test_a_quarter_is_accepted_as_a_date():
    sc = load_scenario_text(episode_text("  - {kind: applied, state: FIN, bloc: NATO, date: 2022Q2, source: s}\n"))
    assert sc.observed[0].date == "2022Q2" and sc.observed[0].quarter == "2022Q2"
    dumped = yaml.safe_load(yaml.safe_dump(sc.model_dump(mode="json")))
    assert dumped["observed"][0]["date"] == "2022Q2"


BAD_FACTS = [
    ("  - {kind: applied, state: FNI, bloc: NATO, date: 2022-05-18, source: s}\n", "unknown state 'FNI'"),
    ("  - {kind: applied, state: FIN, bloc: NATTO, date: 2022-05-18, source: s}\n", "unknown bloc 'NATTO'"),
    ("  - {kind: applied, state: FIN, bloc: NATO, date: 2025-05-18, source: s}\n", "outside the episode"),
    ("  - {kind: joined, state: FIN, bloc: NATO, date: 2021-05-18, source: s}\n", "outside the episode"),
    ("  - {kind: applied, state: FIN, bloc: NATO, date: 2022-05-18}\n", "needs a 'source'"),
    ("  - {kind: not_applied, state: AUT, bloc: NATO, source: '  '}\n", "needs a 'source'"),
    ("  - {kind: applid, state: FIN, bloc: NATO, date: 2022-05-18, source: s}\n", "unknown fact kind 'applid'"),
    ("  - {state: FIN, bloc: NATO, source: s}\n", "needs 'kind'"),
    ("  - {kind: applied, state: FIN, bloc: NATO, when: 2022-05-18, source: s}\n", "unknown key 'when'"),
    ("  - {kind: applied, state: FIN, bloc: NATO, date: 'May 2022', source: s}\n", "YYYY-MM-DD"),
    ("  - {kind: spending_pct_gdp, state: POL, year: 2026, value: 2, source: s}\n", "outside the episode"),
    ("  - {kind: applied, state: POL, bloc: NATO, date: 2022-05-18, source: s}\n", "already a member of NATO"),
]


@pytest.mark.parametrize(("fact", "message"), BAD_FACTS)
def test_bad_observed_entries_are_file_line_errors(sim, tmp_path, fact, message):
    path = tmp_path / "bad.yaml"
    path.write_text(episode_text("  - {kind: not_applied, state: IRL, bloc: NATO, source: s}\n" + fact))
    res = sim("validate", path)
    assert res.code == 2, res.err
    assert f"{path}:9:" in res.err and message in res.err, res.err
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) <= 2


def test_contradictory_facts_are_an_error(sim, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        episode_text(
            "  - {kind: applied, state: FIN, bloc: NATO, date: 2022-05-18, source: s}\n"
            "  - {kind: not_applied, state: FIN, bloc: NATO, source: s}\n"
        )
    )
    res = sim("validate", path)
    assert res.code == 2 and f"{path}:9:" in res.err and "contradicts fact 0 (line 8)" in res.err


def test_observed_must_be_a_list(sim, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(episode_text("  kind: applied\n"))
    res = sim("validate", path)
    assert res.code == 2 and "observed must be a list" in res.err


# ---------------------------------------------------------------- sim backtest
def test_backtest_needs_observed_facts(sim, tmp_path):
    res = sim("backtest", ROOT / "scenarios" / "baseline.yaml", "--replicates", 2, "--out", tmp_path / "bt")
    assert res.code == 2 and "observed" in res.err and "Traceback" not in res.err


def test_backtest_end_to_end(sim, tmp_path):
    out = tmp_path / "bt"
    t0 = time.perf_counter()
    res = sim("backtest", HISTORY / "calm_2016.yaml", "--replicates", 40, "--out", out)
    seconds = time.perf_counter() - t0
    assert res.code == 0, res.err
    assert "calm_2016" in res.out and "Brier: model" in res.out and "all episodes" in res.out
    assert seconds < 120
    for name in (
        "backtest.json",
        "scores.parquet",
        "backtest.md",
        "figures/reliability.png",
        "calm_2016/events.parquet",
    ):
        assert (out / name).exists(), name
    report = json.loads((out / "backtest.json").read_text())
    sc = load_scenario(HISTORY / "calm_2016.yaml")
    scores = pd.read_parquet(out / "scores.parquet")
    assert len(scores) == 3 * len(sc.observed)
    assert set(scores["forecaster"]) == {"model", "persistence", "base_rate"}
    (ep,) = report["episodes"]
    assert ep["replicates"] == 40 and ep["seed"] == sc.seed and report["clip"] == [0.001, 0.999]
    assert ep["base_rates"]["application"]["from"] == ["calm_2016"]  # one episode: over itself
    # the model's P(first application by the end) is the share of replicates with one in events.parquet
    events = pd.read_parquet(out / "calm_2016" / "events.parquet")
    model = scores[scores["forecaster"] == "model"].set_index("label")
    for state in ("FIN", "SWE", "AUT"):
        applied = events[(events["state"] == state) & (events["bloc"] == "NATO") & (events["event"] == "applied")]
        assert model.loc[f"not_applied {state} NATO", "p"] == pytest.approx(applied["replicate"].nunique() / 40)
    # persistence never predicts a change
    assert (scores.loc[scores["forecaster"] == "persistence", "p"].dropna() == 0).all()
    png = (out / "figures" / "reliability.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "backtest.md").read_text()
    assert "figures/reliability.png" in md and "| Score |" in md and "### calm_2016" in md
    # an existing --out is kept unless --force
    again = sim("backtest", HISTORY / "calm_2016.yaml", "--replicates", 5, "--out", out)
    assert again.code == 2 and "--force" in again.err
