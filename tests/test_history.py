"""Dated worlds: the world as of a past quarter, the timeline outputs, and their errors."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from simulator.engine.model import AllianceModel
from simulator.engine.reference import ReferenceModel
from simulator.scenario.baseline import load_baseline
from simulator.scenario.history import dated_baseline, load_history, members_on, quarter_start
from simulator.scenario.language import load_scenario, load_scenario_text
from simulator.scenario.world import build_world
from tests.conftest import ROOT

INVASION = ROOT / "scenarios" / "history" / "invasion_2022.yaml"


def dated(as_of: str, extra: str = "") -> str:
    return f"name: dated\ndescription: a dated world\nworld:\n  as_of: {as_of}\nsteps: 6\nseed: 3\n{extra}"


def test_memberships_of_2026_equal_todays_blocs():
    base = load_baseline()
    h = load_history()
    for bloc in ("NATO", "EU", "JEF", "CWILL", "UNION"):
        assert sorted(members_on(dt.date(2026, 1, 1), bloc, h)) == sorted(base.blocs[bloc].members), bloc


def test_memberships_by_date_follow_the_accessions():
    h = load_history()
    nato = lambda day: set(members_on(day, "NATO", h))  # noqa: E731
    assert len(nato(dt.date(2008, 4, 1))) == 26
    assert {"ALB", "HRV"} <= nato(dt.date(2009, 4, 1)) - nato(dt.date(2009, 3, 31))
    assert "FIN" in nato(dt.date(2023, 4, 4)) and "FIN" not in nato(dt.date(2023, 4, 3))
    assert "SWE" in nato(dt.date(2024, 3, 7)) and "SWE" not in nato(dt.date(2024, 3, 6))
    eu = lambda day: set(members_on(day, "EU", h))  # noqa: E731
    assert "GBR" in eu(dt.date(2020, 1, 31)) and "GBR" not in eu(dt.date(2020, 2, 1))
    assert "HRV" in eu(dt.date(2013, 7, 1)) and len(eu(dt.date(2008, 1, 1))) == 27


def test_states_as_of_2021q4(sim):
    res = sim("states", "--as-of", "2021Q4", "--json")
    assert res.code == 0, res.err
    rows = {r["iso3"]: r for r in json.loads(res.out)}
    nato = {c for c, r in rows.items() if "NATO" in r["blocs"]}
    assert len(nato) == 30 and not {"FIN", "SWE"} & nato
    assert not any("CWILL" in r["blocs"] for r in rows.values())
    caps = load_history().capabilities.set_index(["iso3", "year"])
    for code in ("RUS", "UKR"):
        assert rows[code]["milex_usd_m"] == pytest.approx(caps.loc[(code, 2021), "milex_usd_m"])
    text = sim("states", "--as-of", "2021Q4")
    assert text.code == 0 and "World as of 2021Q4" in text.out and "CWILL" in text.out.split("latent")[1]


def test_states_as_of_2008q2_has_nato_of_26(sim):
    rows = json.loads(sim("states", "--as-of", "2008Q2", "--json").out)
    assert sum("NATO" in r["blocs"] for r in rows) == 26
    one = sim("states", "FIN", "--as-of", "2008Q2", "--sources")
    assert one.code == 0 and "2008" in one.out and "carried" in one.out


@pytest.mark.parametrize("bad", ["1999Q1", "2004Q4", "2099Q1", "2021Q5"])
def test_states_as_of_out_of_range_is_one_line(sim, bad):
    res = sim("states", "--as-of", bad)
    assert res.code == 2 and "--as-of" in res.err and "Traceback" not in res.err


def test_relations_hold_only_in_their_period():
    before = build_world(load_scenario_text(dated("2021Q4"), "a.yaml"))
    after = build_world(load_scenario_text(dated("2022Q2"), "b.yaml"))
    today = build_world()
    i, j = before.index("RUS"), before.index("FRA")
    # RUS-EUROPE: -0.4 (2014-02-27 to 2022-02-24), then -0.8: the difference is the entries' difference
    assert after.affinity[i, j] - before.affinity[i, j] == pytest.approx(-0.4)
    assert today.affinity[i, j] == pytest.approx(after.affinity[i, j])
    base = dated_baseline("2021Q4")
    day = quarter_start("2021Q4")
    for pair in base.relations.pairs:
        assert (pair.since is None or pair.since <= day) and (pair.until is None or day < pair.until)
    assert len(base.relations.pairs) < len(base.relations_all.pairs)


def test_dated_world_flags_and_opinion():
    w = build_world(load_scenario_text(dated("2021Q4"), "a.yaml"))
    assert w.combat[w.index("RUS")] and w.combat[w.index("UKR")] and not w.combat[w.index("FIN")]
    # Finnish neutrality follows the polls on NATO membership (about a quarter in favour before 2022)
    assert 0.6 < w.neutrality[w.index("FIN")] < 0.85
    assert w.neutrality[w.index("FIN")] > build_world().neutrality[w.index("FIN")]
    assert not w.active0[w.bloc_index("CWILL")] and w.active0[w.bloc_index("NATO")]


@pytest.mark.parametrize(("quarter", "expected"), [("2008Q3", 0.81), ("2014Q1", 0.64), ("2016Q1", 0.52)])
def test_swedish_neutrality_is_dated_before_sweden_joined(quarter, expected):
    """Sweden joined NATO in 2024: its dated neutrality comes from Swedish polls (SOM 2007: 19 % a
    good proposal; MSB 2013: 36 %; MSB 2014: 48 %), never from today's member value."""
    w = build_world(load_scenario_text(dated(quarter), "a.yaml"))
    assert w.neutrality[w.index("SWE")] == pytest.approx(expected)
    assert w.neutrality[w.index("SWE")] > 4 * build_world().neutrality[w.index("SWE")]


def test_eu_share_follows_the_scenarios_eu():
    sc = load_scenario_text("name: x\ndescription: y\nblocs:\n  modify:\n    EU: {members: [FRA, DEU]}\n", "x.yaml")
    w = build_world(sc)
    assert set(np.array(w.codes)[w.eu_member]) == {"FRA", "DEU"}


def test_found_is_valid_on_a_bloc_made_latent(sim, tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(
        "name: f\ndescription: d\nblocs:\n  modify:\n    CWILL: {active: false, members: [], "
        "founding: {min_founders: 2}}\nshocks:\n  - {type: found, bloc: CWILL, target: [FRA, GBR], at: 1}\n"
    )
    res = sim("validate", path)
    assert res.code == 0, res.err


def test_quarters_in_at_and_window():
    sc = load_scenario_text(
        dated(
            "2021Q4",
            "shocks:\n  - {type: attack, attacker: RUS, target: UKR, at: 2022Q1}\n"
            "  - {type: threat, target: POL, factor: 1.1, window: [2022Q2, 2022Q4]}\n",
        ),
        "q.yaml",
    )
    assert sc.start == "2021Q4" and sc.shocks[0].at == 1 and list(sc.shocks[1].window) == [2, 4]


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (dated("2004Q4"), 4, "before 2005Q1"),
        (dated("2099Q1"), 4, "in the future"),
        (
            dated("2021Q4", "shocks:\n  - {type: attack, attacker: RUS, target: UKR, at: 2023Q2}\n"),
            8,
            "outside the run",
        ),
        (
            dated("2021Q4", "shocks:\n  - {type: attack, attacker: RUS, target: UKR, at: 2020Q1}\n"),
            8,
            "outside the run",
        ),
        (dated("2021Q4", "start: 2022Q1\n"), 7, "differs from world.as_of"),
    ],
)
def test_bad_dates_are_file_line_errors(sim, tmp_path, body, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    res = sim("validate", path)
    assert res.code == 2 and f"bad.yaml:{line}" in res.err and message in res.err, res.err
    assert "Traceback" not in res.err


@pytest.fixture(scope="module")
def invasion_run(tmp_path_factory):
    from simulator.runs.run import run_scenario

    out = tmp_path_factory.mktemp("inv") / "run"
    run_scenario(load_scenario(INVASION), out, replicates=60, seed=5, block_size=25)
    return out


def test_dated_scenario_runs_end_to_end(invasion_run):
    for name in ("events.parquet", "states.parquet", "summary.json", "replicates.parquet"):
        assert (invasion_run / name).exists(), name
    summary = json.loads((invasion_run / "summary.json").read_text())
    assert summary["as_of"] == "2021Q4" and summary["start"] == "2021Q4"
    states = pd.read_parquet(invasion_run / "states.parquet")
    pol = states[(states.state == "POL") & (states.metric == "spending_pct_gdp")]
    assert list(pol.quarter[:2]) == ["2021Q4", "2022Q1"] and (pol.q05 <= pol.q50).all() and (pol.q50 <= pol.q95).all()


def test_events_agree_with_summary(invasion_run):
    events = pd.read_parquet(invasion_run / "events.parquet")
    summary = json.loads((invasion_run / "summary.json").read_text())
    n = 60
    for kind, section in (("applied", "first_application"), ("admitted", "accession")):
        rows = events[events.event == kind]
        assert len(summary["timeline"][section]) == rows.state.nunique()
        for (state, bloc), group in rows.groupby(["state", "bloc"], observed=True):
            entry = summary["timeline"][section][state][bloc]
            assert entry["p_by_end"] == pytest.approx(group.replicate.nunique() / n)
            first = group.astype({"quarter": str}).groupby("replicate").quarter.min()
            for quarter, p in entry["cumulative"].items():
                assert p == pytest.approx((first <= quarter).sum() / n), (state, bloc, quarter)


def test_events_agree_with_replay(sim, invasion_run):
    events = pd.read_parquet(invasion_run / "events.parquet")
    for k in (0, 7, 31):
        res = sim("replay", invasion_run, "--replicate", k, "--json")
        assert res.code == 0, res.err
        timeline = json.loads(res.out)["timeline"]
        mine = events[events.replicate == k][["step", "quarter", "state", "bloc", "event"]].astype(str)
        theirs = pd.DataFrame(timeline, columns=["step", "quarter", "state", "bloc", "event"]).astype(str)
        assert mine.reset_index(drop=True).equals(theirs.reset_index(drop=True))
        voted_no = events[events.replicate == k].voted_no.map(list).tolist()
        assert voted_no == [r["voted_no"] for r in timeline]
        # every join and exit the engine logged is in the timeline
        story = json.loads(res.out)["events"]
        joins = sum(e["kind"] == "join" for e in story)
        assert joins == sum(r["event"] == "admitted" for r in timeline)


def test_timeline_is_the_same_on_both_engine_paths():
    sc = load_scenario(INVASION)
    a = AllianceModel(sc, np.arange(30), backend="numpy", record_timeline=True).run()
    b = AllianceModel(sc, np.arange(30), backend="numba", record_timeline=True).run()
    assert np.array_equal(a.timeline.event_array(), b.timeline.event_array())
    assert np.array_equal(a.timeline.no_vote_array(), b.timeline.no_vote_array())  # who voted no
    assert np.array_equal(a.timeline.utility_hist, b.timeline.utility_hist)
    for k in a.timeline.hist:
        assert np.array_equal(a.timeline.hist[k], b.timeline.hist[k]), k
    plain = AllianceModel(sc, np.arange(30), backend="numba").run()
    assert np.array_equal(plain.state.member, b.state.member) and np.array_equal(plain.state.share, b.state.share)


def test_reference_equals_engine_on_a_dated_scenario():
    sc = load_scenario(INVASION)
    engine = AllianceModel(sc, replicates=np.arange(3), record_events=True).run()
    for row in range(3):
        ref = ReferenceModel(sc, replicate=row).run()
        assert np.array_equal(engine.state.member[row], ref.member)
        assert np.array_equal(engine.state.share[row], ref.share)
        assert np.array_equal(engine.state.power[row], ref.power)
        assert [e for e in engine.events if e[0] == row] == ref.events


def test_every_history_scenario_validates(sim):
    for path in sorted((ROOT / "scenarios" / "history").glob("*.yaml")):
        res = sim("validate", path)
        assert res.code == 0, (path, res.err)
        assert yaml.safe_load(path.read_text())["world"]["as_of"]
