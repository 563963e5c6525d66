"""The timeline outputs of a run: who voted no on a rejection, candidate events, utility quantiles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from simulator.engine import phases
from simulator.engine.fast import numba_available
from simulator.engine.model import AllianceModel
from simulator.engine.timeline import EVENT_KINDS, UTILITY_EDGES
from simulator.runs.stats import histogram_quantiles
from simulator.runs.timeline import STATE_QUANTILES, signed_histogram_quantiles
from simulator.scenario.language import load_scenario, load_scenario_text
from tests.conftest import ROOT

INVASION = ROOT / "scenarios" / "history" / "invasion_2022.yaml"
QUANTILES = [f"q{int(q * 100):02d}" for q in STATE_QUANTILES]
needs_numba = pytest.mark.skipif(not numba_available(), reason="numba is not installed")


def vetoed_invasion():
    """invasion_2022 with Hungary declaring a veto on Finland's and Sweden's NATO applications."""
    doc = yaml.safe_load(INVASION.read_text(encoding="utf-8"))
    doc["shocks"].append(
        {"name": "hun_veto", "type": "veto", "target": "HUN", "bloc": "NATO", "against": ["FIN", "SWE"], "at": 0}
    )
    doc.pop("observed", None)
    return load_scenario_text(yaml.safe_dump(doc))


@pytest.fixture(scope="module")
def vetoed_run(tmp_path_factory):
    from simulator.runs.run import run_scenario

    out = tmp_path_factory.mktemp("veto") / "run"
    run_scenario(vetoed_invasion(), out, replicates=40, seed=5, block_size=15)
    return out


def test_event_kinds_keep_their_codes():
    assert EVENT_KINDS[:7] == (
        "applied", "rejected", "admitted", "left", "founded", "joined_by_shock", "removed_by_shock",
    )  # fmt: skip
    assert EVENT_KINDS[7] == "candidate"


def test_a_declared_veto_is_in_voted_no(vetoed_run):
    events = pd.read_parquet(vetoed_run / "events.parquet")
    fin = events[(events.state == "FIN") & (events.bloc == "NATO")]
    assert not (fin.event == "admitted").any()  # the veto binds
    rejected = fin[fin.event == "rejected"]
    assert len(rejected) > 0
    assert all("HUN" in list(v) for v in rejected.voted_no)
    # other events carry an empty list; every rejection names at least one voter (no bloc here is closed)
    assert all(len(v) == 0 for v in events[events.event != "rejected"].voted_no)
    assert all(len(v) > 0 for v in events[events.event == "rejected"].voted_no)


def test_voted_no_are_members_who_said_no():
    """Each listed voter is a member whose vote (recomputed by the numpy mechanisms) was no."""
    sc = load_scenario(INVASION)
    m = AllianceModel(sc, np.arange(12), backend="numpy", record_timeline=True)
    seen = 0
    while m.steps < sc.steps:
        m.step()
        st, w = m.state, m.world
        for r, a, b, j in st.no_votes:
            assert st.member[r, j, b] or st.leaving[r, j, b], "a voter is a member at the vote"
            assert st.voting[r, a, b] and not st.admitted[r, a, b]
            assert phases.rule_reads(int(w.admission[b]), int(w.leader[b]), w.n_states)[j]
            seen += 1
    assert seen > 0


def test_events_agree_with_replay_including_who_voted_no(sim, vetoed_run):
    events = pd.read_parquet(vetoed_run / "events.parquet")
    cols = ["step", "quarter", "state", "bloc", "event"]
    for k in (0, 3, 17):
        res = sim("replay", vetoed_run, "--replicate", k, "--json")
        assert res.code == 0, res.err
        timeline = json.loads(res.out)["timeline"]
        mine = events[events.replicate == k].reset_index(drop=True)
        theirs = pd.DataFrame(timeline)
        assert mine[cols].astype(str).equals(theirs[cols].astype(str))
        assert [list(v) for v in mine.voted_no] == list(theirs.voted_no)
        text = sim("replay", vetoed_run, "--replicate", k)
        assert text.code == 0, text.err
        flat = " ".join(text.out.split())
        for row in timeline:
            if row["event"] == "rejected":
                assert f"voted no: {', '.join(row['voted_no'])}" in flat


@needs_numba
def test_backends_give_the_same_events_parquet(tmp_path):
    from simulator.runs.run import run_scenario

    sc = vetoed_invasion()
    tables = {}
    for backend in ("numpy", "numba"):
        run_scenario(sc, tmp_path / backend, replicates=20, seed=3, block_size=10, backend=backend)
        tables[backend] = {
            name: pd.read_parquet(tmp_path / backend / name) for name in ("events.parquet", "utilities.parquet")
        }
    for name in ("events.parquet", "utilities.parquet"):
        a, b = tables["numpy"][name], tables["numba"][name]
        assert a.astype(str).equals(b.astype(str)), name
    assert (tables["numba"]["events.parquet"].voted_no.map(len) > 0).any()


@needs_numba
def test_kernel_utilities_equal_the_numpy_utilities():
    from simulator.engine.fast import phases as fast

    sc = vetoed_invasion()
    m = AllianceModel(sc, np.arange(16), backend="numba")
    for _ in range(5):
        m.step()
        u = fast._utilities(m, fast.context(m)).copy()
        assert np.array_equal(u, phases.all_utilities(m))


def test_candidate_event_after_candidate_quarters(vetoed_run):
    sc = load_scenario(vetoed_run / "scenario.resolved.yaml")
    blocs = _blocs(sc)
    assert blocs["EU"].candidate_quarters == 4 and blocs["NATO"].candidate_quarters is None
    events = pd.read_parquet(vetoed_run / "events.parquet")
    cand = events[events.event == "candidate"]
    assert len(cand) > 0 and set(cand.bloc) == {"EU"}
    applied = events[events.event == "applied"]
    for _, row in cand.iterrows():
        mine = applied[(applied.replicate == row.replicate) & (applied.state == row.state) & (applied.bloc == "EU")]
        steps = set(mine.step)
        # the application stood every quarter up to the candidate quarter, the 4 before it (or since
        # the start, for one already standing then) but not the one before those
        assert set(range(max(0, row.step - 4), row.step + 1)) <= steps and row.step - 5 not in steps, row


def _blocs(sc):
    from simulator.scenario.world import build_world

    w = build_world(sc)
    return dict(zip(w.bloc_codes, w.bloc_specs, strict=True))


def test_utility_quantiles_for_every_state_bloc_quarter(vetoed_run):
    u = pd.read_parquet(vetoed_run / "utilities.parquet")
    sc = load_scenario(vetoed_run / "scenario.resolved.yaml")
    states = pd.read_parquet(vetoed_run / "states.parquet")
    n_states, n_blocs = states.state.nunique(), len(_blocs(sc))
    assert len(u) == sc.steps * n_states * n_blocs
    assert not u.duplicated(["step", "state", "bloc"]).any()
    assert (u.n == 40).all()
    q = u[QUANTILES].to_numpy()
    assert np.isfinite(q).all() and (np.diff(q, axis=1) >= 0).all()
    assert (q < 0).any() and (q > 0).any()  # utilities of both signs


def test_signed_quantiles_follow_the_sample():
    rng = np.random.default_rng(1)
    x = rng.normal(-0.5, 2.0, size=(20000, 1, 1))
    from simulator.engine.timeline import UTILITY_BINS, _add_signed_histogram

    counts = np.zeros((1, 1, UTILITY_BINS), dtype=np.int32)
    _add_signed_histogram(x, UTILITY_EDGES, counts)
    assert counts.sum() == x.size
    got = signed_histogram_quantiles(counts[0, 0], STATE_QUANTILES, UTILITY_EDGES)
    want = np.quantile(x, STATE_QUANTILES)
    assert np.allclose(got, want, rtol=0.04, atol=2e-3)
    # the edges are signed and symmetric; the unsigned quantiles stay what they were
    assert np.array_equal(UTILITY_EDGES, -UTILITY_EDGES[::-1])
    assert histogram_quantiles(np.array([0, 1, 0]), [0.5], np.array([0.0, 1.0, 2.0, 3.0]))[0] > 0
