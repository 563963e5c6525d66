"""Territorial conflicts and invitations (docs/MODEL.md "Admission"; docs/VALIDATION.md second revision)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine.model import AllianceModel
from simulator.engine.timeline import KIND_CODE
from simulator.scenario.language import load_scenario_text
from simulator.scenario.world import build_world


def text(extra: str = "", as_of: str | None = None, steps: int = 12) -> str:
    world = f"world:\n  as_of: {as_of}\n" if as_of else ""
    return f"name: t\ndescription: rules\nsteps: {steps}\nseed: 11\n{world}{extra}"


def world(as_of: str | None = None):
    return build_world(load_scenario_text(text(as_of=as_of), "t.yaml"))


def test_territorial_conflicts_by_date():
    now, y2013, y2021 = world(), world("2013Q4"), world("2021Q4")
    for code in ("UKR", "GEO", "MDA", "CYP", "SRB"):
        assert now.disputed[now.index(code)], code
    assert not y2013.disputed[y2013.index("UKR")] and y2021.disputed[y2021.index("UKR")]
    assert not now.disputed[now.index("FIN")] and not now.disputed[now.index("POL")]
    assert not now.admits_disputed[now.bloc_index("NATO")] and now.admits_disputed[now.bloc_index("EU")]


def test_an_invitation_is_a_standing_application():
    """Montenegro: a Membership Action Plan from Dec 2009 (the MAP path), invited on 2 Dec 2015 (the invited path)."""
    y2009, before, after = world("2009Q4"), world("2015Q4"), world("2016Q1")
    nato, mne = before.bloc_index("NATO"), before.index("MNE")
    assert not y2009.applications0[mne, nato]  # the plan dates from 4 Dec 2009
    assert before.applications0[mne, nato] and before.aspirants0[mne, nato]
    assert before.pending0[mne, nato] == 23  # 4 Dec 2009 to 1 Oct 2015: 23 whole quarters
    assert after.applications0[mne, nato] and not after.aspirants0[mne, nato]  # invited: its own date, short floor
    assert after.pending0[mne, nato] == 1


def test_only_a_membership_action_plan_is_an_aspirant_application():
    """The Bucharest promise (GEO, UKR 2008) and Bosnia's conditional MAP (never taken up) are not applications."""
    w = world("2014Q1")
    nato = w.bloc_index("NATO")
    standing = {w.codes[i] for i in np.flatnonzero(w.applications0[:, nato])}
    assert standing == {"MKD", "MNE"}
    assert all(w.aspirants0[w.index(c), nato] for c in standing)
    assert not w.aspirants0[:, w.bloc_index("EU")].any()


def test_a_membership_action_plan_has_its_own_duration():
    """The floor of a MAP standing at the start is drawn from NATO's aspirant_duration, conditional on its age."""
    from simulator.engine.mechanisms.admission import accession_duration

    sc = load_scenario_text(text(as_of="2014Q1", steps=4), "t.yaml")
    m = AllianceModel(sc, np.arange(2000))
    w = m.world
    nato, mne, fin = w.bloc_index("NATO"), w.index("MNE"), w.index("FIN")
    floor = m.accession_floor[:, :, nato]
    assert (floor[:, fin] == w.accession_quarters[nato]).all()  # a new application: the fast path
    stood = int(w.pending0[mne, nato])
    assert (floor[:, mne] > stood).all()  # conditional on the 17 quarters it has stood
    u = m.streams.uniform_at("aspirant:NATO", -1, np.arange(2000), np.full(2000, mne))
    expected = accession_duration(u, np.full(2000, stood), w.aspirant_median[nato], w.aspirant_shape[nato], 2)
    assert (floor[:, mne] == expected).all()
    # the fitted distribution: about half the plans of that age end within four more years
    share = float(np.mean(floor[:, mne] <= stood + 16))
    assert 0.4 < share < 0.95, share


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_nato_does_not_admit_a_state_at_war_until_a_settlement(backend):
    """Ukraine's application of 2022 stands in the 2026 world: never admitted while the war is unresolved."""
    plain = load_scenario_text(text(), "t.yaml")
    m = AllianceModel(plain, np.arange(200), backend=backend).run()
    ukr, nato = m.world.index("UKR"), m.world.bloc_index("NATO")
    assert m.world.applications0[ukr, nato]
    assert not m.state.member[:, ukr, nato].any()
    settled = load_scenario_text(text("shocks:\n  - {name: peace, type: settlement, target: UKR, at: 0}\n"), "t.yaml")
    s = AllianceModel(settled, np.arange(200), backend=backend).run()
    assert s.state.member[:, ukr, nato].mean() > 0.05  # the votes decide again


@pytest.mark.parametrize("war", [False, True])
def test_a_war_stops_new_applications_to_nato(war):
    """Crimea 2014: an attack that starts a war gives the target a territorial conflict; it does not apply."""
    shock = (
        "shocks:\n  - {name: crimea, type: attack, attacker: RUS, target: UKR, severity: 1.5, "
        f"war: {str(war).lower()}, at: 0}}\n"
    )
    sc = load_scenario_text(text(shock, as_of="2014Q1", steps=8), "t.yaml")
    m = AllianceModel(sc, np.arange(300), record_timeline=True).run()
    ev = m.timeline.event_array()
    ukr, nato = m.world.index("UKR"), m.world.bloc_index("NATO")
    applied = ev[(ev[:, 2] == ukr) & (ev[:, 3] == nato) & (ev[:, 4] == KIND_CODE["applied"])]
    share = len(np.unique(applied[:, 0])) / 300
    if war:
        assert share == 0.0
    else:
        assert share > 0.2  # the same attack without the territorial conflict: Ukraine applies
    assert m.state.disputed[:, ukr].all() == war


def test_accession_duration_draws():
    """The log-logistic durations: median as given, conditional draws never below the time stood."""
    from simulator.engine.mechanisms.admission import accession_duration

    u = (np.arange(20_000) + 0.5) / 20_000
    fresh = accession_duration(u, np.zeros_like(u), 49.2, 3.62, 10)
    assert abs(np.median(fresh) - 49.2) <= 1.0 and fresh.min() == 10
    stood = accession_duration(u, np.full_like(u, 64.0), 49.2, 3.62, 10)
    assert stood.min() >= 64 and np.median(stood) > np.median(fresh)


def test_eu_applications_that_stood_long_do_not_all_join_at_once():
    """Serbia, Montenegro, North Macedonia and Albania applied in 2004-2009: in the 2026 world they
    are not all admitted in the first quarter (as they were with a fixed eight-year floor)."""
    m = AllianceModel(load_scenario_text(text(steps=4), "t.yaml"), np.arange(300)).run()
    eu = m.world.bloc_index("EU")
    for code in ("SRB", "MNE", "MKD", "ALB"):
        assert m.world.applications0[m.world.index(code), eu]
        assert m.state.member[:, m.world.index(code), eu].mean() < 0.25, code
