"""The phases of simulator.engine.phases on compiled kernels: same order, same draws, bit-identical results.

Shocks and everything that records events stay on the numpy path (a model that records events
runs the numpy backend). Powers and logarithms are simulator.engine.portable's, compiled into the kernels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulator.engine import phases as ref
from simulator.engine.fast import kernels as k
from simulator.engine.mechanisms import choice as ch
from simulator.engine.mechanisms.utility import BlocView

FOUNDING_ROUNDS = ref.FOUNDING_ROUNDS


class Context:
    """Per-model constants and caches of the compiled path (world arrays in kernel-ready form)."""

    def __init__(self, m):
        w = m.world
        self.buffers: dict[str, np.ndarray] = {}
        self.founding_noise: dict[int, np.ndarray] = {}
        self.stance: np.ndarray | None = None  # (R, S, nb) persistent choice stances (_stances)
        self.affinities: tuple | None = None  # _affinities
        self.view: BlocView | None = None  # the bloc view's output arrays (blocs)
        self.hhi: np.ndarray | None = None
        self.stacks: dict[str, np.ndarray] = {}  # stacked_keys
        self.latent = np.flatnonzero(w.min_founders > 0)  # blocs that can be founded
        self.use_filter = True  # kernels.choices settles the choices an interval bound decides
        self.tally = np.zeros(2, dtype=np.int64)  # choices needed, and settled by the filter
        self.threat_nz: tuple | None = None
        self.founded: np.ndarray | None = None  # (R,B) bool: blocs founded this step (founding, read by commit)
        self.eligible = np.ascontiguousarray(w.eligible)
        self.open_blocs = np.flatnonzero(w.dynamic).astype(np.int64)
        self.no_veto = np.zeros((1, 1, 1, 1), dtype=bool)

    def buffer(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """A work array reused from step to step (no allocation, no page faults); contents undefined."""
        buf = self.buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self.buffers[name] = np.empty(shape, dtype=dtype)
        return buf

    def cleared(self, name: str, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """``buffer`` filled with zeros."""
        buf = self.buffer(name, shape, dtype)
        buf.fill(0)
        return buf

    def stacked_keys(self, m, prefix: str, codes) -> np.ndarray:
        """(len(codes), R) replicate keys of the streams '<prefix>:<code>', stacked once per model (the
        codes of a prefix do not change within a model)."""
        keys = self.stacks.get(prefix)
        if keys is None:
            keys = self.stacks[prefix] = np.stack([m.streams.replicate_keys(f"{prefix}:{code}") for code in codes])
        return keys


def context(m) -> Context:
    """The model's Context, made on first use (AllianceModel._fast)."""
    ctx = m._fast
    if ctx is None:
        ctx = m._fast = Context(m)
    return ctx


def _affinities(m) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The affinities in kernel form: ``(aff, arow, aff_t, lo, hi)``.

    ``aff`` (K, S, S) holds one shared matrix (K = 1, while every replicate has the world's) or one
    per replicate, ``arow`` (R,) the matrix of each replicate, ``aff_t`` the transposed matrices
    ([k, j, i] = a_ij; symmetric matrices, the usual case, are their own transpose), and ``lo``,
    ``hi`` (K, S) the bounds of kernels.choices' filter (kernels.affinity_bounds). Cached until the
    affinities change: every change goes through phases._add_affinity, which replaces the threat
    weights, so the ids of the two arrays are the key (holding the threat weights keeps the id unique).
    """
    st = m.state
    c = context(m)
    key = (id(st.affinity), id(st.threat_wt))
    if c.affinities is None or c.affinities[0] != key:
        a = st.affinity
        if a.ndim == 3 and a.strides[0] == 0:  # the world's matrix, shared by every replicate
            aff = np.ascontiguousarray(a[:1])
            arow = np.zeros(a.shape[0], dtype=np.int64)
            aff_t = np.ascontiguousarray(a[0].T)[None]
        else:
            aff = np.ascontiguousarray(a)
            arow = np.arange(a.shape[0], dtype=np.int64)
            symmetric = np.array_equal(aff, aff.transpose(0, 2, 1))
            aff_t = aff if symmetric else np.ascontiguousarray(aff.transpose(0, 2, 1))
        lo, hi = k.affinity_bounds(aff)
        c.affinities = (key, aff, arow, aff_t, lo, hi, st.threat_wt)
    return c.affinities[1:6]


# ------------------------------------------------------------------ 2. spending
def spending(m, t: int) -> None:
    st, w = m.state, m.world
    p = m.params
    share = np.ascontiguousarray(st.share, dtype=np.float64)
    capital = np.ascontiguousarray(st.capital, dtype=np.float64)
    k.spending(
        st.member, st.active, w.spending_norm, w.share0, st.threat, st.threat0, st.spend_factor, st.spend_fixed,
        p["threat_response"], p["norm_pull"], p["fiscal_cap"], p["spending_adjustment"], p["capital_depreciation"],
        w.gdp_usd_bn, share, capital,
    )  # fmt: skip
    st.share, st.capital = share, capital


# ------------------------------------------------------------------ 3-5. power, threat, blocs
def power(m, t: int) -> None:
    st, w, n, fixed = m.state, m.world, m.norms, m.shares
    c = context(m)
    p = m.params
    out = c.buffer("power", st.capital.shape)
    k.power(
        st.capital, st.mobilisation, n.quarterly_spend, p["capital_depreciation"], st.combat, p["combat_quality"],
        w.active_k, w.reserve_k, p["reserve_weight"], n.active, n.reserve, fixed.equipment, fixed.gdp, fixed.population,
        p["w_capital"], p["w_personnel"], p["w_equipment"], p["w_economy"], p["w_population"], out,
    )  # fmt: skip
    st.power = out


def threat(m, t: int) -> None:
    st = m.state
    c = context(m)
    wt = st.threat_wt
    out = c.buffer("threat", st.power.shape)
    if wt.ndim == 2:  # one weight matrix: its non-zeros, by source
        if c.threat_nz is None or c.threat_nz[0] is not wt:
            j, i = np.nonzero(wt)  # row-major: increasing j, then i
            c.threat_nz = (wt, j.astype(np.int64), i.astype(np.int64), np.ascontiguousarray(wt[j, i]))
        _, j, i, weight = c.threat_nz
        k.threat_shared(j, i, weight, st.power, st.threat_scale, out)
    else:
        sources = np.flatnonzero((wt != 0.0).any(axis=(0, 2))).astype(np.int64)
        k.threat(wt, np.arange(m.R, dtype=np.int64), sources, st.power, st.threat_scale, out)
    st.threat = out


def blocs(m, t: int, changed: np.ndarray | None = None) -> None:
    """Bloc aggregates (all replicates, or only the loss where ``changed`` is False)."""
    st, w = m.state, m.world
    c = context(m)
    R, S, B = st.member.shape
    if changed is None:
        changed = c.buffer("all", (R,), bool)
        changed.fill(True)
    v = c.view
    if v is None or v.member is not st.member:  # the output arrays, reused from step to step
        contrib = c.buffer("contrib", (R, S, B))
        raw, c.hhi, loss, effective, umbrella, us_share, eu_share, tbar = (
            c.buffer(name, (R, B))
            for name in ("raw", "hhi", "loss", "effective", "umbrella", "us_share", "eu_share", "tbar")
        )
        v = c.view = BlocView(st.member, contrib, raw, loss, effective, umbrella, us_share, eu_share, tbar)
    k.bloc_view(
        st.member, np.ascontiguousarray(st.commitment), st.power, st.active, np.ascontiguousarray(st.integration),
        m.params["coordination_loss_max"], st.threat, w.own_nuclear, w.eu_member, m.guarantor, changed,
        v.contrib, v.raw, c.hhi, v.loss, v.effective, v.umbrella, v.us_share, v.eu_share, v.tbar,
    )  # fmt: skip
    st.view = v
    st.contrib, st.raw, st.loss, st.effective, st.umbrella = v.contrib, v.raw, v.loss, v.effective, v.umbrella


def refresh_power(m) -> None:
    power(m, 0)
    threat(m, 0)
    blocs(m, 0)


# ------------------------------------------------------------------ 6. choices
def choices(m, t: int) -> None:
    st = m.state
    c = context(m)
    p = m.params
    R, S, B = st.member.shape
    p_rev = ch.revision_probability(p["revision_rate"], st.threat, st.threat_prev, p["crisis_revision"])
    st.threat_prev = st.threat.copy()
    st.leaving = c.cleared("leaving", (R, S, B), bool)
    st.applying = c.cleared("applying", (R, S, B), bool)
    if m.timeline is not None:  # recording only: every state's utility of every bloc (draws nothing)
        m.timeline.record_utilities(t, _utilities(m, c))
    if len(c.open_blocs):
        _choose(m, t, c, p_rev)
    ref.update_applications(m)


def _utilities(m, c) -> np.ndarray:
    """(R,S,B) U_ib of every state for every bloc (kernels.utilities; = phases.all_utilities)."""
    st, w, p = m.state, m.world, m.params
    v = st.view
    aff, arow, _, _, _ = _affinities(m)
    out = c.buffer("utilities", st.member.shape)
    k.utilities(
        st.member, v.contrib, v.raw, v.loss, v.umbrella, v.us_share, v.eu_share, v.tbar, w.mutual_defence,
        p["overlap_value"], w.spending_norm, w.own_nuclear, aff, arow, st.power, st.threat, st.share, st.us_attitude,
        st.eu_attitude, st.neutrality, p["csf_exponent"], p["w_security"], p["w_nuclear"], p["w_affinity"],
        p["w_attitude"], p["w_burden"], p["w_entanglement"], p["w_neutrality"], p["membership_cost"], p["inertia"], out,
    )  # fmt: skip
    return out


def _stances(m) -> np.ndarray:
    """(R, S, nb) the persistent stance of every state on every open bloc (stream 'stance:<bloc>', step -1).

    Drawn once per model, and only when some replicate gives them weight (zeros otherwise: the
    kernel does not read them at persistence 0).
    """
    c = context(m)
    if c.stance is None:
        R, S, ob = m.R, m.world.n_states, c.open_blocs
        c.stance = np.zeros((R, S, len(ob)))
        if (m.params["choice_persistence"] != 0.0).any():
            rows = np.repeat(np.arange(R), S)
            cells = np.tile(np.arange(S), R)
            for k, b in enumerate(ob):
                draws = m.streams.logistic_at(f"stance:{m.world.bloc_codes[b]}", -1, rows, cells)
                c.stance[:, :, k] = draws.reshape(R, S)
    return c.stance


def _choose(m, t: int, c, p_rev: np.ndarray) -> None:
    st, w, p = m.state, m.world, m.params
    ob = c.open_blocs
    keys = c.stacked_keys(m, "choice", [w.bloc_codes[b] for b in ob])
    v = st.view
    aff, arow, _, lo, hi = _affinities(m)
    revise = m.streams.replicate_keys("revise")
    # a state with a territorial conflict does not apply to a bloc that would not admit it: for new
    # applications it is barred (standing ones are kept by update_applications, which reads st.barred)
    shut = st.barred
    if not w.admits_disputed.all() and st.disputed.any():
        shut = st.barred | (st.disputed[:, :, None] & ~w.admits_disputed[None, None, :])
    k.choices(
        revise, p_rev, t, ob, st.member, st.active, shut, c.eligible, w.admission,
        v.contrib, v.raw, v.loss, v.umbrella, v.us_share, v.eu_share, v.tbar, w.mutual_defence, p["overlap_value"],
        w.spending_norm, w.own_nuclear, aff, arow, lo, hi, st.power, st.threat, st.share, st.us_attitude,
        st.eu_attitude, st.neutrality, p["csf_exponent"], keys, p["w_security"], p["w_nuclear"], p["w_affinity"],
        p["w_attitude"], p["w_burden"], p["w_entanglement"], p["w_neutrality"], p["membership_cost"], p["inertia"],
        p["choice_noise"], c.use_filter, st.leaving, st.applying, c.tally, m.anchor_in, m.anchor_out,
        _stances(m), p["choice_persistence"], p["decision_memory"], m.switch_cost,
    )  # fmt: skip


# ------------------------------------------------------------------ 7. admission
def admission(m, t: int) -> None:
    st, w = m.state, m.world
    c = context(m)
    p = m.params
    R, S, B = st.member.shape
    st.admitted = c.cleared("admitted", (R, S, B), bool)
    st.voting = ref.voting_applications(m)
    keys = c.stacked_keys(m, "vote", w.bloc_codes)
    aff, arow, _, _, _ = _affinities(m)
    veto = st.veto if st.veto is not None else c.no_veto
    bonus = ch.bargaining(st.pending, p["bargain_rate"][:, None, None], p["bargain_max"][:, None, None])
    record = m.timeline is not None  # who voted no on a rejected application (recording only)
    size = max(256, len(c.buffers.get("no_votes", ())))
    while True:  # a second pass only if the buffer was too small (the kernel's outcome is the same)
        no_votes = c.buffer("no_votes", (size if record else 0, 4), np.int32)
        n = k.admission(
            st.voting, st.member, w.admission, w.leader, keys, st.contrib, st.threat, aff, arow, veto,
            st.veto is not None, w.mutual_defence, p["vote_noise"], p["w_vote_entanglement"], p["veto_threshold"],
            p["qmv_states"], p["qmv_power"], st.admitted, bonus, record, no_votes,
        )  # fmt: skip
        if n <= len(no_votes):
            break
        size = 2 * n
    st.no_votes = no_votes[:n].copy() if record else None
    if not w.admits_disputed.all() and st.disputed.any():  # nor is it admitted (phases.admission)
        st.admitted &= ~(st.disputed[:, :, None] & ~w.admits_disputed[None, None, :])


# ------------------------------------------------------------------ 8. founding
def _founding_noise(m, b: int) -> np.ndarray:
    """(R, S) persistent founding stances for bloc b (drawn at step -1; computed once per model)."""
    c = context(m)
    noise = c.founding_noise.get(b)
    if noise is None:
        R, S = m.R, m.world.n_states
        rows = np.arange(R)
        cells = np.broadcast_to(np.arange(S), (R, S))
        u = m.streams.uniform_at(f"found:{m.world.bloc_codes[b]}", -1, rows, cells)
        draws = np.ascontiguousarray(u / (1.0 - u))
        k.log_inplace(draws.reshape(-1))  # = Streams.logistic_at, compiled
        noise = c.founding_noise[b] = draws * m.params["founding_noise"][:, None]
    return noise


def founding(m, t: int) -> None:
    st, w = m.state, m.world
    c = context(m)
    p = m.params
    st.founders = c.cleared("founders", st.member.shape, bool)
    c.founded = c.cleared("founded", st.active.shape, bool)
    v = st.view
    for b in c.latent:
        code = w.bloc_codes[b]
        rows = k.founding_attempts(
            st.active, b, m.streams.replicate_keys(f"found_attempt:{code}"), t, p["founding_rate"]
        )
        if len(rows) == 0:
            continue
        _, arow_all, aff_t, _, _ = _affinities(m)
        arow_t = arow_all[rows]
        noise = _founding_noise(m, b)
        willing = c.buffer("willing", (m.R, w.n_states), bool)[: len(rows)]
        willing[:] = w.eligible[:, b]
        k.founding_rows(
            rows, willing, b, st.member, v.contrib, v.raw, v.loss, v.umbrella, w.mutual_defence, p["overlap_value"],
            w.spending_norm, w.own_nuclear, aff_t, arow_t, st.power, st.threat, st.share, st.us_attitude,
            st.eu_attitude, st.neutrality, st.integration, p["coordination_loss_max"], w.eu_member, m.guarantor,
            p["csf_exponent"], p["w_nuclear"], p["w_affinity"], p["w_attitude"], p["w_burden"], p["w_entanglement"],
            p["w_neutrality"], p["inertia"], noise, p["w_security"], p["membership_cost"], p["founding_cost"],
            c.eligible, w.min_founders[b], w.min_power_share[b], FOUNDING_ROUNDS,
        )  # fmt: skip
        k.founding_outcome(
            rows, willing, c.eligible, b, st.power, w.min_founders[b], w.min_power_share[b], st.founders, c.founded
        )  # fmt: skip


# ------------------------------------------------------------------ 9. commit
def commit(m, t: int) -> None:
    st, w = m.state, m.world
    c = context(m)
    st.integration = np.ascontiguousarray(st.integration)
    changed = c.buffer("changed", (m.R,), bool)
    k.commit(
        st.member, st.leaving, st.admitted, st.founders, c.founded, st.active, st.formed, st.integration,
        w.integration_max, w.integration_growth, t, changed,
    )  # fmt: skip
    blocs(m, t, changed)


def record(m, step: int) -> None:
    """Per-step trajectories (model._record on the compiled path)."""
    st = m.state
    k.record(st.effective, st.member, st.active, m.trajectory, m.members_trajectory, step)


# The compiled phases, substituted by name into the one phase order of simulator.engine.phases.PHASES
# (shocks stay on the numpy path).
_COMPILED: dict[str, Callable] = {
    "spending": spending, "power": power, "threat": threat, "blocs": blocs, "choices": choices,
    "admission": admission, "founding": founding, "commit": commit,
}  # fmt: skip
PHASES: list[tuple[str, Callable]] = [(name, _COMPILED.get(name, fn)) for name, fn in ref.PHASES]
