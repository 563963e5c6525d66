"""Every shock type takes effect as docs/MODEL.md#shocks says."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine.model import AllianceModel
from simulator.scenario.language import load_scenario_text

HEAD = "name: shock_test\ndescription: one shock\nsteps: 6\nseed: 3\nshocks:\n"


def run(shock: str | None, n: int = 8, steps: int | None = None) -> AllianceModel:
    text = HEAD + (f"  - {shock}\n" if shock else "  []\n").replace("shocks:\n  []", "shocks: []")
    if shock is None:
        text = HEAD.replace("shocks:\n", "shocks: []\n")
    if steps:
        text = text.replace("steps: 6", f"steps: {steps}")
    return AllianceModel(load_scenario_text(text), np.arange(n), record_events=True).run()


@pytest.fixture(scope="module")
def plain():
    return run(None)


def idx(m, code):
    return m.world.index(code)


def bloc(m, code):
    return m.world.bloc_index(code)


def test_withdraw_and_stays_out(plain):
    m = run("{type: withdraw, target: USA, bloc: NATO, at: 1}")
    assert not m.state.member[:, idx(m, "USA"), bloc(m, "NATO")].any()
    assert plain.state.member[:, idx(plain, "USA"), bloc(plain, "NATO")].all()
    assert m.state.barred[:, idx(m, "USA"), bloc(m, "NATO")].all()


def test_expel_group():
    m = run("{type: expel, target: BALTIC, bloc: NATO, at: 2}")
    for c in ("EST", "LVA", "LTU"):
        assert not m.state.member[:, idx(m, c), bloc(m, "NATO")].any()


def test_join_bypasses_the_vote():
    m = run("{type: join, target: UKR, bloc: NATO, at: 1}")
    assert m.state.member[:, idx(m, "UKR"), bloc(m, "NATO")].all()


def test_found_activates_a_latent_bloc_with_its_founders():
    m = run("{type: found, bloc: EDU, target: [FRA, DEU, POL], at: 2}")
    b = bloc(m, "EDU")
    assert m.state.active[:, b].all() and (m.state.formed[:, b] <= 2).all()  # founded by the shock or before it
    for c in ("FRA", "DEU", "POL"):
        assert m.state.member[:, idx(m, c), b].all()


def test_commitment_value_and_change():
    m = run("{type: commitment, target: USA, bloc: NATO, value: 0.25, at: 1}")
    assert (m.state.commitment[:, idx(m, "USA"), bloc(m, "NATO")] == 0.25).all()
    m2 = run("{type: commitment, target: EUROPE, bloc: NATO, change: -0.4, at: 1}")
    assert np.allclose(m2.state.commitment[:, idx(m2, "DEU"), bloc(m2, "NATO")], 0.6)
    assert (m2.state.commitment[:, idx(m2, "USA"), bloc(m2, "NATO")] == 1.0).all()


def test_commitment_lowers_bloc_power(plain):
    m = run("{type: commitment, target: USA, bloc: NATO, value: 0.0, at: 1}")
    b = bloc(m, "NATO")
    assert (m.state.effective[:, b] < plain.state.effective[:, b] * 0.7).all()


def test_relation_change_is_symmetric_and_once_per_pair(plain):
    m = run("{type: relation, target: USA, other: DNK, change: -0.5, at: 1}")
    u, d = idx(m, "USA"), idx(m, "DNK")
    base = plain.world.affinity[u, d]
    assert np.allclose(m.state.affinity[:, u, d], base - 0.5) and np.allclose(m.state.affinity[:, d, u], base - 0.5)
    g = run("{type: relation, target: NORDIC, other: NORDIC, change: 0.2, at: 1}")
    a, b = idx(g, "FIN"), idx(g, "SWE")
    assert np.allclose(g.state.affinity[:, a, b], plain.world.affinity[a, b] + 0.2)
    assert (g.state.affinity[:, a, a] == 0).all()


def test_spending_factor_and_fixed_share(plain):
    m = run("{type: spending, target: DEU, factor: 1.5, at: 0}")
    i = idx(m, "DEU")
    assert (m.state.share[:, i] > plain.state.share[:, i]).all()
    f = run("{type: spending, target: ESP, pct_gdp: 3.5, at: 0}", steps=30)
    j = idx(f, "ESP")
    assert (f.state.share[:, j] > 3.3).all() and (f.state.share[:, j] <= 3.5).all()


def test_mobilisation_raises_power_and_threat(plain):
    m = run("{type: mobilisation, target: RUS, factor: 1.5, at: 1}")
    r, e = idx(m, "RUS"), idx(m, "EST")
    assert np.allclose(m.state.power[:, r], 1.5 * plain.state.power[:, r], rtol=1e-3)
    assert (m.state.threat[:, e] > plain.state.threat[:, e]).all()


def test_threat_scales_perception(plain):
    m = run("{type: threat, target: POL, factor: 2.0, at: 0}")
    i = idx(m, "POL")
    assert (m.state.threat[:, i] > 1.9 * plain.state.threat[:, i]).all()


def test_attack_raises_threat_most_for_the_target_and_near_it(plain):
    m = run("{type: attack, attacker: RUS, target: EST, severity: 1.0, at: 1}")
    e, lv, pt = idx(m, "EST"), idx(m, "LVA"), idx(m, "PRT")
    rise = m.state.threat_scale[0] - 1.0
    assert rise[e] > rise[lv] > rise[pt] > 0
    assert (m.state.affinity[:, idx(m, "RUS"), e] < plain.world.affinity[idx(m, "RUS"), e]).all()


def test_government_change_shifts_preferences(plain):
    m = run(
        "{type: government, target: HUN, us_attitude: -0.5, eu_attitude: 0.4, neutrality: 0.3, affinity: {UKR: 0.6}, at: 1}"
    )
    h, u = idx(m, "HUN"), idx(m, "UKR")
    assert np.allclose(m.state.us_attitude[:, h], plain.world.us_attitude[h] - 0.5)
    assert np.allclose(m.state.eu_attitude[:, h], plain.world.eu_attitude[h] + 0.4)
    assert np.allclose(m.state.affinity[:, h, u], plain.world.affinity[h, u] + 0.6)


def test_veto_and_lift():
    m = run("{name: v, type: veto, target: HUN, bloc: NATO, against: UKR, at: 1}")
    assert m.state.veto[:, bloc(m, "NATO"), idx(m, "HUN"), idx(m, "UKR")].all()
    text = (
        HEAD
        + "  - {name: v, type: veto, target: HUN, bloc: NATO, at: 1}\n  - {name: l, type: veto, target: HUN, bloc: NATO, lift: true, at: 3}\n"
    )
    m2 = AllianceModel(load_scenario_text(text), np.arange(4)).run()
    assert not m2.state.veto[:, bloc(m2, "NATO"), idx(m2, "HUN"), :].any()


def test_integration_change(plain):
    m = run("{type: integration, bloc: NATO, change: -0.3, at: 1}")
    b = bloc(m, "NATO")
    assert np.allclose(m.state.integration[:, b], plain.state.integration[:, b] - 0.3)


def test_timing_window_and_probability():
    text = (
        HEAD.replace("steps: 6", "steps: 20")
        + "  - {name: w, type: threat, target: POL, factor: 2.0, window: [3, 9]}\n"
    )
    m = AllianceModel(load_scenario_text(text), np.arange(200), record_events=True).run()
    steps = np.array([e[1] for e in m.events if e[2] == "threat"])
    assert len(steps) == 200 and steps.min() >= 3 and steps.max() <= 9 and len(set(steps)) > 4
    text = (
        HEAD.replace("steps: 6", "steps: 20")
        + "  - {name: p, type: threat, target: POL, factor: 2.0, probability: 0.1}\n"
    )
    m = AllianceModel(load_scenario_text(text), np.arange(400), record_events=True).run()
    fired = {e[0] for e in m.events if e[2] == "threat"}
    expected = 1 - 0.9**20
    assert abs(len(fired) / 400 - expected) < 0.08
    text = (
        HEAD.replace("steps: 6", "steps: 20")
        + "  - {name: p, type: threat, target: POL, factor: 1.1, probability: 0.3, repeat: true}\n"
    )
    m = AllianceModel(load_scenario_text(text), np.arange(100), record_events=True).run()
    per_rep = np.bincount([e[0] for e in m.events if e[2] == "threat"], minlength=100)
    assert per_rep.max() > 1 and abs(per_rep.mean() - 6.0) < 1.5


def test_every_shock_type_has_a_handler_and_an_event_text():
    """The engine's and the twin's handler tables and the event texts cover every shock type of the language."""
    from simulator.engine import phases, reference, shocks
    from simulator.scenario.language import SHOCK_TYPES

    assert set(phases.SHOCK_HANDLERS) == set(reference._SHOCKS) == set(shocks._TEXTS) == set(SHOCK_TYPES)


def test_an_attack_that_starts_a_war_gives_combat_experience():
    """attack with war: true makes attacker and targets combat-experienced from then on (power quality)."""
    import numpy as np

    from simulator.engine.model import AllianceModel
    from simulator.scenario.language import load_scenario_text

    def run(war: bool) -> AllianceModel:
        text = (
            "name: w\ndescription: a war starts\nworld: {as_of: 2008Q2}\nsteps: 4\nseed: 1\nshocks:\n"
            f"  - {{type: attack, attacker: RUS, target: GEO, severity: 1.5, war: {str(war).lower()}, at: 1}}\n"
        )
        return AllianceModel(load_scenario_text(text, "w.yaml"), np.arange(3)).run()

    calm, war = run(False), run(True)
    geo = calm.world.index("GEO")
    assert not calm.world.combat[geo] and (calm.state.combat[:, geo] == 0).all()
    assert (war.state.combat[:, geo] == 1).all()
    # Georgia's power rises by the combat quality bonus, nothing else differs at the same draws
    assert (war.state.power[:, geo] > calm.state.power[:, geo]).all()
