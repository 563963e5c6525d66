"""Membership decisions: decision memory and the switching cost by commitment (docs/MODEL.md "Decisions")."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine.fast import numba_available
from simulator.engine.mechanisms.choice import bloc_switch_cost, remembered_anchor
from simulator.engine.model import AllianceModel
from simulator.engine.timeline import KIND_CODE
from simulator.scenario.language import load_scenario_text

BACKENDS = ["numpy", "numba"] if numba_available() else ["numpy"]


def test_a_declined_application_moves_the_reference_point_by_hand():
    """a' = a + lambda * max(0, max(u, 0) + c - a), worked by hand."""
    a = np.array([2.0, 2.0, 2.0, 3.5, 2.0])
    u = np.array([0.985, 0.985, -0.4, 1.0, np.nan])
    c = np.full(5, 2.0)
    lam = np.array([1.0, 0.5, 1.0, 1.0, 1.0])
    out = remembered_anchor(a, u, c, lam)
    assert out[0] == 2.985  # the utility it said no at, plus the switching cost
    assert out[1] == 2.0 + 0.5 * ((0.985 + 2.0) - 2.0)  # half of the way
    assert out[2] == 2.0  # a negative utility is measured from 0, as at the start: no change
    assert out[3] == 3.5  # the reference only rises: a lower utility than before leaves it
    assert np.isnan(out[4])  # NaN is not hidden
    assert (remembered_anchor(a, u, c, np.zeros(5))[:4] == a[:4]).all()  # lambda = 0: the start's reference


def test_the_switching_cost_scales_with_the_commitment_by_hand():
    md = np.array([1.0, 0.5, 0.2])
    cost = bloc_switch_cost(np.array([2.0, 2.0, 1.0]), np.array([0.0, 1.0, 0.5]), md)
    assert cost.tolist() == [[2.0, 2.0, 2.0], [2.0, 1.0, 0.4], [1.0, 0.75, 0.6]]


def _crimea(memory: float) -> str:
    return (
        "name: t\ndescription: memory\nsteps: 12\nseed: 5\nworld:\n  as_of: 2014Q1\n"
        f"parameters:\n  decision_memory: {memory}\n  switch_cost: 1.0\n  revision_rate: 0.25\n"
        "shocks:\n  - {name: crimea, type: attack, attacker: RUS, target: UKR, severity: 1.5, war: true, at: 0}\n"
    )


def _first_applications(text: str, backend: str) -> tuple[np.ndarray, AllianceModel]:
    m = AllianceModel(load_scenario_text(text, "t.yaml"), np.arange(600), record_timeline=True, backend=backend)
    start = m.anchor_out.copy()
    m.run()
    ev = m.timeline.event_array()
    fin, nato = m.world.index("FIN"), m.world.bloc_index("NATO")
    applied = ev[(ev[:, 2] == fin) & (ev[:, 3] == nato) & (ev[:, 4] == KIND_CODE["applied"])]
    first = np.full(600, -1)
    for rep, step in applied[np.argsort(applied[:, 1], kind="stable"), :2][::-1]:
        first[rep] = step
    return first, m, start


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_shock_that_was_not_enough_on_the_day_does_not_become_enough_by_waiting(backend):
    """Crimea 2014 for Finland: the quarter of the shock is decided on the same draws with and without
    memory; afterwards, a Finland that said no is not re-rolled at the same level every quarter."""
    forget, m0, _ = _first_applications(_crimea(0.0), backend)
    remember, m1, start = _first_applications(_crimea(1.0), backend)
    assert np.array_equal(forget == 0, remember == 0) and (forget == 0).mean() > 0.05  # the crisis decision
    late0, late1 = (forget > 0).mean(), (remember > 0).mean()
    assert late0 > 0.10 and late1 < 0.5 * late0, (late0, late1)  # the re-rolls that add up over the years
    fin, nato = m1.world.index("FIN"), m1.world.bloc_index("NATO")
    declined = remember < 0
    raised = m1.anchor_out[declined, fin, nato] > start[declined, fin, nato]
    assert raised.mean() > 0.9  # every Finland that said no after the crisis revision remembers it
    assert (m1.anchor_out >= start).all()  # a reference point never falls
    assert np.array_equal(m0.anchor_out, start)  # without memory it never moves


def test_backends_agree_on_remembered_reference_points():
    if not numba_available():
        pytest.skip("numba is not installed: one backend only")
    _, a, _ = _first_applications(_crimea(0.7), "numpy")
    _, b, _ = _first_applications(_crimea(0.7), "numba")
    assert np.array_equal(a.anchor_out, b.anchor_out) and np.array_equal(a.state.member, b.state.member)
