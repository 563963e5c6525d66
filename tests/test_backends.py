"""Equivalence: the compiled (numba) backend equals the numpy path bit for bit, on every scenario."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine.fast import default_backend, numba_available, resolve_backend
from simulator.engine.model import AllianceModel
from simulator.errors import InputError
from simulator.scenario.language import load_scenario
from tests.conftest import CASES, ROOT
from tests.conftest import case_scenario as scenario

REPLICATES = np.arange(24)
STATE = (
    "member", "active", "formed", "commitment", "share", "capital", "power", "threat", "effective", "raw", "loss",
    "umbrella", "integration", "affinity", "threat_scale", "spend_factor", "fired", "barred",
)  # fmt: skip

needs_numba = pytest.mark.skipif(not numba_available(), reason="numba is not installed")


def assert_same_run(a: AllianceModel, b: AllianceModel) -> None:
    """Two models of the same replicates ended in the same state, step by step, to the last bit."""
    assert np.array_equal(a.replicates, b.replicates)
    for name in STATE:
        assert np.array_equal(getattr(a.state, name), getattr(b.state, name), equal_nan=True), name
    assert np.array_equal(a.trajectory, b.trajectory), "effective bloc power per step"
    assert np.array_equal(a.members_trajectory, b.members_trajectory), "member counts per step"


@needs_numba
@pytest.mark.parametrize("case", CASES)
def test_numba_equals_numpy(case):
    sc = scenario(case)
    ref = AllianceModel(sc, replicates=REPLICATES, backend="numpy").run()
    fast = AllianceModel(sc, replicates=REPLICATES, backend="numba").run()
    assert (ref.backend, fast.backend) == ("numpy", "numba")
    assert_same_run(ref, fast)


@needs_numba
def test_event_log_of_a_compiled_run_is_the_numpy_run_with_events():
    """Recording events runs the numpy path; its states and log match the compiled run's replicates."""
    sc = scenario("stress")
    fast = AllianceModel(sc, replicates=REPLICATES, backend="numba").run()
    logged = AllianceModel(sc, replicates=REPLICATES, backend="numba", record_events=True).run()
    plain = AllianceModel(sc, replicates=REPLICATES, backend="numpy", record_events=True).run()
    assert logged.backend == "numpy" and logged.events
    assert_same_run(fast, logged)
    assert logged.events == plain.events


@needs_numba
@pytest.mark.parametrize("case", ["stress", ROOT / "scenarios" / "us_exit.yaml"], ids=["stress", "us_exit"])
def test_numba_replicate_alone_equals_in_a_block(case):
    sc = scenario(case)
    block = AllianceModel(sc, replicates=np.arange(40), backend="numba").run()
    part = AllianceModel(sc, replicates=np.arange(7, 19), backend="numba").run()
    alone = AllianceModel(sc, replicates=np.array([31]), backend="numba").run()
    for rows, other in ((np.arange(7, 19), part), (np.array([31]), alone)):
        for name in ("member", "active", "formed", "share", "capital", "power", "effective"):
            assert np.array_equal(getattr(block.state, name)[rows], getattr(other.state, name)), name
        assert np.array_equal(block.trajectory[rows], other.trajectory)


def test_backend_choice():
    assert default_backend() == ("numba" if numba_available() else "numpy")
    assert resolve_backend(None) == default_backend()
    assert resolve_backend("numpy") == "numpy"
    assert resolve_backend("numba") == ("numba" if numba_available() else "numpy")
    with pytest.raises(InputError, match="unknown backend 'cuda'; valid: numba, numpy"):
        resolve_backend("cuda")


def test_backend_is_a_parameter_of_blocks_and_runs(tmp_path):
    """The backend reaches the model through run_scenario and run_block (no environment variable)."""
    from simulator.runs.blocks import run_block
    from simulator.runs.run import run_scenario

    sc = load_scenario(ROOT / "scenarios" / "us_exit.yaml", ["steps=10"])
    assert run_block(sc, 0, 0, 2, backend="numpy").backend == "numpy"
    info = run_scenario(sc, tmp_path / "run", replicates=4, block_size=2, backend="numpy")
    assert info.manifest["backend"] == "numpy"
    with pytest.raises(InputError, match="unknown backend"):
        run_scenario(sc, tmp_path / "bad", replicates=4, backend="gpu")
    assert not (tmp_path / "bad").exists()


@needs_numba
@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("stress", []),
        ("us_exit", []),
        ("us_exit", ["parameters.choice_noise=0.02"]),  # decisions close to indifference
        ("us_exit", ["parameters.inertia=0.2", "parameters.w_security=30", "parameters.membership_cost=-1"]),
        ("greenland_split", ["parameters.w_affinity=3", "parameters.w_attitude=3"]),
    ],
    ids=["stress", "us_exit", "low_noise", "weak_inertia", "strong_affinity"],
)
def test_choice_filter_settles_only_what_the_exact_utility_decides(case, overrides):
    """kernels.choices' interval filter changes no decision: the runs with it on and off are identical."""
    from simulator.engine.fast import phases as fast_phases

    sc = scenario(case) if case == "stress" else load_scenario(ROOT / "scenarios" / f"{case}.yaml", overrides)
    runs = []
    for use_filter in (False, True):
        model = AllianceModel(sc, replicates=np.arange(64), backend="numba")
        ctx = fast_phases.context(model)
        ctx.use_filter = use_filter
        runs.append((model.run(), ctx.tally.copy()))
    (off, off_tally), (on, on_tally) = runs
    assert_same_run(off, on)
    assert off_tally[1] == 0 and off_tally[0] == on_tally[0] > 0
    assert on_tally[1] > 0.3 * on_tally[0], "the filter settled almost nothing: this case would not test it"


def _random_choice_inputs(seed: int, per_replicate_affinity: bool) -> dict:
    """Consistent random inputs of kernels.choices: a random ensemble state, its bloc view from
    kernels.bloc_view, and parameters drawn across their whole valid ranges (simulator.scenario.params)."""
    from simulator.engine.fast import kernels as k

    rng = np.random.default_rng(seed)
    R, S, B = 16, 12, 4
    u = rng.uniform
    member = rng.random((R, S, B)) < 0.5
    active = rng.random((R, B)) < 0.8
    commitment = np.where(rng.random((R, S, B)) < 0.3, u(0, 1, (R, S, B)), 1.0)
    power = np.exp(rng.normal(0, 1.5, (R, S)))
    threat = np.where(rng.random((R, S)) < 0.2, 0.0, np.exp(rng.normal(0, 1.5, (R, S))))
    own_nuclear = rng.random(S) < 0.25
    eu_member = rng.random(S) < 0.5
    out = {name: np.empty((R, B)) for name in ("raw", "hhi", "loss", "effective", "umbrella", "us", "eu", "tbar")}
    contrib = np.empty((R, S, B))
    k.bloc_view(
        member, commitment, power, active, u(0, 1, (R, B)), u(0, 1, R), threat, own_nuclear, eu_member, 0,
        np.ones(R, dtype=bool), contrib, *out.values(),
    )  # fmt: skip
    K = R if per_replicate_affinity else 1
    aff = u(-1, 1, (K, S, S)) * (rng.random((K, S, S)) < 0.7)
    aff = (aff + aff.transpose(0, 2, 1)) / 2
    aff[:, np.arange(S), np.arange(S)] = 0.0
    lo, hi = k.affinity_bounds(aff)
    weight = lambda high: u(0, high, R)  # noqa: E731
    return dict(
        revise_keys=rng.integers(0, 2**63, R, dtype=np.uint64), rate=u(0.2, 1.0, (R, S)), step=int(rng.integers(0, 40)),
        open_b=np.arange(B, dtype=np.int64), member=member, active=active, barred=rng.random((R, S, B)) < 0.1,
        eligible=rng.random((S, B)) < 0.8, admission=rng.integers(0, 5, B).astype(np.int64), contrib=contrib,
        raw=out["raw"], loss=out["loss"], umbrella=out["umbrella"], us_share=out["us"], eu_share=out["eu"],
        tbar=out["tbar"], md=u(0, 1, B), overlap=u(0, 1, R), spending_norm=u(0, 5, B), own_nuclear=own_nuclear,
        affinity=aff, arow=(np.arange(R) if per_replicate_affinity else np.zeros(R)).astype(np.int64), aff_lo=lo,
        aff_hi=hi, power_=power, threat_=threat, share=u(0, 5, (R, S)), us_att=u(-1, 1, (R, S)),
        eu_att=u(-1, 1, (R, S)), neutrality=u(0, 1, (R, S)), gamma=np.where(rng.random(R) < 0.5, 1.0, u(0.1, 5, R)),
        keys=rng.integers(0, 2**63, (B, R), dtype=np.uint64), w_security=weight(50), w_nuclear=weight(10),
        w_affinity=weight(10), w_attitude=weight(10), w_burden=weight(5), w_entanglement=weight(10),
        w_neutrality=weight(10), membership_cost=u(-5, 5, R), inertia=weight(10),
        choice_noise=np.exp(u(np.log(0.01), np.log(10), R)), anchor_in=u(-3, 0, (R, S, B)),
        anchor_out=u(0, 6, (R, S, B)), stance=rng.logistic(0, 1, (R, S, B)),
        persistence=np.where(rng.random(R) < 0.3, 0.0, u(0, 1, R)),
        memory=np.where(rng.random(R) < 0.3, 0.0, u(0, 1, R)), switch_cost=u(0, 10, (R, B)),
    )  # fmt: skip


@needs_numba
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), per_replicate_affinity=st.booleans())
def test_choice_filter_equals_the_exact_decisions_on_random_states(seed, per_replicate_affinity):
    """Random ensemble states and parameters across their valid ranges: the filter changes no decision."""
    from simulator.engine.fast import kernels as k

    args = _random_choice_inputs(seed, per_replicate_affinity)
    R, S, B = args["member"].shape
    decided = []
    anchor0 = args.pop("anchor_out")
    for use_filter in (False, True):
        leaving, applying = np.zeros((R, S, B), dtype=bool), np.zeros((R, S, B), dtype=bool)
        tally = np.zeros(2, dtype=np.int64)
        anchor = anchor0.copy()  # decision memory updates it in place
        k.choices(**args, use_filter=use_filter, leaving=leaving, applying=applying, tally=tally, anchor_out=anchor)
        decided.append((leaving, applying, tally, anchor))
    (leave_off, apply_off, _, anchor_off), (leave_on, apply_on, tally, anchor_on) = decided
    assert np.array_equal(leave_off, leave_on) and np.array_equal(apply_off, apply_on)
    assert np.array_equal(anchor_off, anchor_on)  # the remembered reference points too
    assert tally[0] > 0
