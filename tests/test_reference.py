"""Equivalence: the ensemble engine equals the plain per-agent reference, and a replicate alone equals it in a block."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine.model import AllianceModel
from simulator.engine.reference import ReferenceModel
from tests.conftest import CASES, SCENARIOS
from tests.conftest import case_scenario as scenario

REPLICATES = np.arange(4)


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
