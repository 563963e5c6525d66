"""Equivalence: the ensemble engine equals the plain per-agent reference, and a replicate alone equals it in a block."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.model import AllianceModel
from simulator.engine.reference import ReferenceModel
from simulator.scenario.language import Scenario, load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
REPLICATES = np.arange(4)

# Every shock type and timing rule, every distribution, a QMV bloc, a latent leader-admission bloc
# and an extra state: the paths the shipped scenarios may not reach.
STRESS = """
name: stress
description: every shock type, timing rule and distribution
steps: 24
seed: 7
world:
  overrides:
    HUN: {us_attitude: -0.2}
  add_states:
    - {iso3: XKX, name: Kosovo, region: Europe, capital_lat: 42.67, capital_lon: 21.17, milex_usd_m: 100,
       milex_pct_gdp: 1.0, gdp_usd_bn: 10, population_m: 1.8, active_personnel_k: 2.5, source: test}
blocs:
  modify:
    CWILL: {admission: qualified_majority}
  add:
    NORTH:
      name: Northern Defence Union
      kind: alliance
      active: false
      admission: leader
      leader: SWE
      mutual_defence: 0.8
      spending_norm: 2.5
      integration: 0.2
      integration_growth: 0.05
      integration_max: 0.8
      eligible: [NORDIC, BALTIC, POL, DEU, GBR, NLD]
      founding: {min_founders: 2, min_power_share: 0.1}
parameters:
  revision_rate: {dist: uniform, low: 0.3, high: 0.6}
  founding_rate: 0.6
  csf_exponent: {dist: triangular, low: 0.6, mode: 1.3, high: 2.5}
  choice_noise: {dist: normal, mean: 0.8, sd: 0.3, low: 0.1, high: 2.0}
  vote_noise: {dist: beta, a: 2, b: 5, low: 0.05, high: 1.0}
  founding_cost: {dist: choice, values: [0.0, 0.3, 0.7], weights: [1, 2, 1]}
  inertia: {dist: uniform, low: 0.5, high: 2.0}
shocks:
  - {name: notice, type: commitment, target: USA, bloc: NATO, value: 0.5, at: 1}
  - {name: cut, type: commitment, target: EUROPE, bloc: NATO, change: -0.3, window: [2, 6]}
  - {name: exit, type: withdraw, target: USA, bloc: NATO, window: [3, 8]}
  - {name: kick, type: expel, target: TUR, bloc: CWILL, probability: 0.2}
  - {name: ukr_join, type: join, target: UKR, bloc: CWILL, at: 2}
  - {name: edu, type: found, bloc: EDU, target: [FRA, DEU, POL], probability: 0.1, window: [5, 15]}
  - {name: rift, type: relation, target: HUN, other: [UKR, POL], change: -1.0, at: 3}
  - {name: rearm, type: spending, target: BALTIC, factor: 1.5, at: 2}
  - {name: war_budget, type: spending, target: POL, pct_gdp: 6.0, window: [4, 10]}
  - {name: mobilise, type: mobilisation, target: [FIN, EST], factor: 1.3, probability: 0.05, repeat: true}
  - {name: attack, type: attack, attacker: RUS, target: [EST, LVA], severity: 2.0, probability: 0.08}
  - {name: fear, type: threat, target: EUROPE, factor: 1.1, at: 5}
  - {name: gov, type: government, target: [HUN, SVK], us_attitude: 0.3, eu_attitude: -0.4, neutrality: 0.2,
     affinity: {UKR: -0.5, RUS: 0.4}, window: [1, 12]}
  - {name: hun_veto, type: veto, target: HUN, bloc: NATO, against: [UKR, GEO], at: 0}
  - {name: tur_veto, type: veto, target: TUR, bloc: CWILL, at: 1}
  - {name: tur_lift, type: veto, target: TUR, bloc: CWILL, lift: true, window: [6, 14]}
  - {name: integ, type: integration, bloc: NATO, change: -0.2, at: 4}
  - {name: edu_integ, type: integration, bloc: EDU, change: 0.1, probability: 0.1, repeat: true}
"""

CASES = [pytest.param(path, id=path.stem) for path in SCENARIOS] + [pytest.param("stress", id="stress")]


@cache
def scenario(case: Path | str) -> Scenario:
    return load_scenario_text(STRESS, "stress.yaml") if case == "stress" else load_scenario(case)


def events_of(model: AllianceModel, replicate: int) -> list[tuple[int, int, str, str]]:
    """The event log of one replicate, in the order the engine emitted it."""
    return [e for e in model.events if e[0] == replicate]


def test_scenarios_found():
    assert SCENARIOS, "no scenario files in scenarios/"


@pytest.mark.parametrize("case", CASES)
def test_reference_equals_engine(case):
    sc = scenario(case)
    engine = AllianceModel(sc, replicates=REPLICATES, record_events=True).run()
    st = engine.state
    for row, k in enumerate(REPLICATES):
        ref = ReferenceModel(sc, replicate=int(k)).run()
        assert np.array_equal(st.member[row], ref.member), f"replicate {k}: memberships"
        assert np.array_equal(st.active[row], ref.active), f"replicate {k}: active blocs"
        assert np.array_equal(st.formed[row], ref.formed), f"replicate {k}: formation steps"
        assert np.array_equal(st.share[row], ref.share), f"replicate {k}: spending shares"
        assert np.array_equal(st.capital[row], ref.capital), f"replicate {k}: capital"
        assert np.array_equal(st.power[row], ref.power), f"replicate {k}: power"
        assert np.array_equal(st.effective[row], ref.effective), f"replicate {k}: effective bloc power"
        assert np.array_equal(engine.trajectory[row], np.array(ref.trajectory, dtype=np.float32)), (
            f"replicate {k}: effective bloc power per step"
        )
        assert np.array_equal(engine.members_trajectory[row], np.array(ref.members_trajectory)), (
            f"replicate {k}: member counts per step"
        )
        assert events_of(engine, int(k)) == ref.events, f"replicate {k}: event log"


def assert_rows_equal(block: AllianceModel, rows: np.ndarray, other: AllianceModel) -> None:
    """Rows ``rows`` of ``block`` equal ``other`` (which holds exactly those replicates), bit for bit."""
    assert np.array_equal(block.replicates[rows], other.replicates)
    a, b = block.state, other.state
    for name in ("member", "active", "formed", "commitment", "share", "capital", "power", "threat", "effective"):
        assert np.array_equal(getattr(a, name)[rows], getattr(b, name)), name
    assert np.array_equal(block.trajectory[rows], other.trajectory)
    assert np.array_equal(block.members_trajectory[rows], other.members_trajectory)
    for k in other.replicates:
        assert events_of(block, int(k)) == events_of(other, int(k)), f"events of replicate {k}"


@pytest.mark.parametrize("case", CASES)
def test_replicate_alone_equals_in_block(case):
    sc = scenario(case)
    block = AllianceModel(sc, replicates=np.arange(8), record_events=True).run()
    alone = AllianceModel(sc, replicates=np.array([2]), record_events=True).run()
    assert_rows_equal(block, np.array([2]), alone)


@pytest.mark.parametrize("case", CASES)
def test_block_slice_equals_larger_block(case):
    sc = scenario(case)
    large = AllianceModel(sc, replicates=np.arange(21), record_events=True).run()
    part = AllianceModel(sc, replicates=np.arange(5, 13), record_events=True).run()
    assert_rows_equal(large, np.arange(5, 13), part)
