"""The one documented phase order of a step (quarter), and each phase over the whole ensemble.

Activation is staged: every state decides from the same snapshot; exits, admissions and
foundings are committed together at the end of the step. Order (docs/MODEL.md#step):

1. shocks     scenario shocks due at this step take effect
2. spending   Richardson-style spending reaction; military capital accumulates
3. power      CINC-like power of every state
4. threat     hostile power decaying with distance
5. blocs      pooled, coordination-adjusted power of every bloc; nuclear umbrellas
6. choices    revising states weigh the utility of every bloc: exits and applications
7. admission  members vote on applicants by the bloc's rule
8. founding   latent blocs are founded when enough states are willing
9. commit     memberships change together; integration grows; bloc power is recomputed
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulator.engine.mechanisms import admission as adm
from simulator.engine.mechanisms import choice as ch
from simulator.engine.mechanisms import power as pw
from simulator.engine.mechanisms import seqsum
from simulator.engine.mechanisms import spending as sp
from simulator.engine.mechanisms import threat as th
from simulator.engine.mechanisms.utility import StateView, bloc_view, utilities_at
from simulator.engine.shocks import fires

FOUNDING_ROUNDS = 4
VOTE_STRIDE = 4096  # cell = voter * VOTE_STRIDE + applicant (stable when states are added)


# ------------------------------------------------------------------ 1. shocks
def shocks(m, t: int) -> None:
    st = m.state
    for c, steps in zip(m.shocks, m.shock_steps, strict=True):
        if steps is not None and t not in steps:
            continue  # a scheduled shock that fires in no replicate at this step
        rows = fires(c, t, m.scheduled, st.fired, m.streams)
        if not rows.any():
            continue
        st.fired[rows, c.index] = True
        apply_shock(m, c, rows, t)


def apply_shock(m, c, rows: np.ndarray, t: int) -> None:
    """Apply one shock in the replicates ``rows`` (bool (R,)) and record its event."""
    r = np.flatnonzero(rows)
    SHOCK_HANDLERS[c.kind](m, c, r, t)
    m.event(r, t, c.kind, c.text)


def _leave(m, c, r: np.ndarray, t: int) -> None:
    """withdraw, expel: the targets leave the bloc and may not apply again."""
    st, cells = m.state, np.ix_(r, c.targets, [c.bloc])
    st.member[cells] = False
    st.barred[cells] = True


def _join(m, c, r: np.ndarray, t: int) -> None:
    st, cells = m.state, np.ix_(r, c.targets, [c.bloc])
    st.member[cells] = True
    st.barred[cells] = False
    _activate(st, r, c.bloc, t)


def _found(m, c, r: np.ndarray, t: int) -> None:
    m.state.member[np.ix_(r, c.targets, [c.bloc])] = True
    _activate(m.state, r, c.bloc, t)


def _activate(st, r: np.ndarray, b: int, t: int) -> None:
    """Bloc b is active in the replicates ``r``; founded now where it was not."""
    new = ~st.active[r, b]
    st.formed[r[new], b] = t
    st.active[r, b] = True


def _commitment(m, c, r: np.ndarray, t: int) -> None:
    st, s, cells = m.state, c.spec, np.ix_(r, c.targets, [c.bloc])
    st.commitment[cells] = s.value if s.value is not None else np.clip(st.commitment[cells] + s.change, 0.0, 1.0)


def _relation(m, c, r: np.ndarray, t: int) -> None:
    _add_affinity(m, r, c.targets, c.others, c.spec.change)


def _spending(m, c, r: np.ndarray, t: int) -> None:
    st, s, cells = m.state, c.spec, np.ix_(r, c.targets)
    if s.factor is not None:
        st.spend_factor[cells] *= s.factor
    else:
        st.spend_fixed[cells] = s.pct_gdp


def _mobilisation(m, c, r: np.ndarray, t: int) -> None:
    m.state.mobilisation[np.ix_(r, c.targets)] *= c.spec.factor


def _threat(m, c, r: np.ndarray, t: int) -> None:
    m.state.threat_scale[np.ix_(r, c.targets)] *= c.spec.factor


def _government(m, c, r: np.ndarray, t: int) -> None:
    st, s, cells = m.state, c.spec, np.ix_(r, c.targets)
    st.us_attitude[cells] += s.us_attitude
    st.eu_attitude[cells] += s.eu_attitude
    st.neutrality[cells] = np.clip(st.neutrality[cells] + s.neutrality, 0.0, 1.0)
    for idx, delta in c.affinity:
        _add_affinity(m, r, c.targets, idx, delta)


def _veto(m, c, r: np.ndarray, t: int) -> None:
    st = m.state
    against = c.others if len(c.others) else np.arange(m.world.n_states)
    if st.veto is None:
        R, S, B = st.member.shape
        st.veto = np.zeros((R, B, S, S), dtype=bool)
    st.veto[np.ix_(r, [c.bloc], c.targets, against)] = not c.spec.lift


def _settlement(m, c, r: np.ndarray, t: int) -> None:
    m.state.disputed[np.ix_(r, c.targets)] = False


def _integration(m, c, r: np.ndarray, t: int) -> None:
    st = m.state
    st.integration[r, c.bloc] = np.clip(st.integration[r, c.bloc] + c.spec.change, 0.0, 1.0)


def _attack(m, c, r: np.ndarray, t: int) -> None:
    """An attack on the targets (docs/MODEL.md#attack): threat near the front, hostility, opinion."""
    a, targets, severity = c.attacker, c.targets, c.spec.severity
    st, w, p = m.state, m.world, m.params
    S = w.n_states
    if c.spec.war:  # a war starts: both sides gain combat experience (power quality from the next power phase)
        st.combat[np.ix_(r, [a, *targets])] = 1.0
        st.disputed[np.ix_(r, targets)] = True  # and the targets a territorial conflict, until a settlement

    def near(x: int) -> np.ndarray:  # (n, S): nearness of every state to x
        return np.broadcast_to(m.decay[None, :, x] if m.decay.ndim == 2 else m.decay[r, :, x], (len(r), S))

    if not st.affinity.flags.writeable:  # shared baseline view until the first relation shock
        st.affinity = st.affinity.copy()
    others = np.ones(S, dtype=bool)
    others[a] = False
    others[targets] = False
    attacker_near = near(a)
    for x in targets:
        front = near(x)
        # threat rises where the war is near and the attacker too (the exposure opinion uses below)
        st.threat_scale[r, :] += (severity * front) * attacker_near
        st.threat_scale[r, x] += severity
        # every state already wary of the attacker sees it as more hostile, the more the nearer the front
        wary = (st.affinity[r, a, :] < 0.0) & others[None, :]
        fear = np.where(wary, (p["attack_hostility"][r, None] * severity) * front, 0.0)
        st.affinity[r, a, :] -= fear
        st.affinity[r, :, a] -= fear
        # neutral opinion shifts where the war is near and the attacker too; law and constitutions hold
        exposure = (severity * front) * attacker_near
        st.neutrality[r, :] = ch.opinion_shift(
            st.neutrality[r, :], w.neutral_floor[None, :], exposure, p["attack_opinion"][r, None]
        )
    _add_affinity(m, r, np.array([a]), targets, -0.5 * severity)


# What each kind of shock does to the ensemble state (its event text is simulator.engine.shocks.shock_text).
SHOCK_HANDLERS: dict[str, Callable] = {
    "withdraw": _leave, "expel": _leave, "join": _join, "found": _found, "commitment": _commitment,
    "relation": _relation, "spending": _spending, "mobilisation": _mobilisation, "threat": _threat,
    "attack": _attack, "government": _government, "veto": _veto, "integration": _integration,
    "settlement": _settlement,
}  # fmt: skip


def _add_affinity(m, r: np.ndarray, a: np.ndarray, b: np.ndarray, delta: float) -> None:
    """Add ``delta`` to the affinity of every pair (i in a, j in b), i != j, both ways, once per pair."""
    st = m.state
    pairs = sorted({(min(i, j), max(i, j)) for i in a for j in b if i != j})
    if not pairs:
        return
    if not st.affinity.flags.writeable:  # shared baseline view until the first relation shock
        st.affinity = st.affinity.copy()
    i, j = np.array(pairs).T
    st.affinity[r[:, None], i[None, :], j[None, :]] += delta
    st.affinity[r[:, None], j[None, :], i[None, :]] += delta
    m.refresh_threat_weights()


# ------------------------------------------------------------------ 2. spending
def spending(m, t: int) -> None:
    st, w, p = m.state, m.world, m.params
    norm = sp.strictest_norm(st.member, st.active, w.spending_norm)
    target = sp.target_share(w.share0[None, :], st.threat, st.threat0, norm, st.spend_factor, st.spend_fixed, p)
    before = np.floor(st.share)
    st.share = sp.adjust(st.share, target, p["spending_adjustment"])
    st.capital = pw.capital_update(
        st.capital,
        pw.quarterly_spending(st.share, w.gdp_usd_bn),
        p["capital_depreciation"][:, None],
    )
    if m.record_events:
        after = np.floor(st.share)
        for r, i in zip(*np.nonzero(after != before), strict=True):
            word = "reaches" if after[r, i] > before[r, i] else "falls below"
            level = int(max(after[r, i], before[r, i]))
            m.events.append(
                (
                    int(m.replicates[r]),
                    t,
                    "spending",
                    f"{w.codes[i]} spending {word} {level}% of GDP ({st.share[r, i]:.2f}%)",
                )
            )


# ------------------------------------------------------------------ 3-5. power, threat, blocs
def power(m, t: int) -> None:
    st, w, p = m.state, m.world, m.params
    n, fixed = m.norms, m.shares
    quality = 1.0 + p["combat_quality"][:, None] * st.combat
    weights = tuple(p[k][:, None] for k in ("w_capital", "w_personnel", "w_equipment", "w_economy", "w_population"))
    rw = p["reserve_weight"][:, None]
    st.power = pw.composite_power(
        st.capital,
        n.quarterly_spend / p["capital_depreciation"][:, None],
        pw.personnel(w.active_k, w.reserve_k, rw),
        fixed.equipment,
        fixed.gdp,
        fixed.population,
        quality,
        st.mobilisation,
        rw,
        weights,
        n,
    )


def threat(m, t: int) -> None:
    st = m.state
    st.threat = th.perceived_threat(st.threat_wt, st.power, st.threat_scale)


def blocs(m, t: int) -> None:
    st, w, p = m.state, m.world, m.params
    st.view = bloc_view(
        st.member, st.commitment, st.power, st.active, st.integration, p["coordination_loss_max"], st.threat,
        w.own_nuclear, w.eu_member, m.guarantor,
    )  # fmt: skip
    v = st.view
    st.contrib, st.raw, st.loss, st.effective, st.umbrella = v.contrib, v.raw, v.loss, v.effective, v.umbrella


def refresh_power(m) -> None:
    """Power, threat and bloc power from the current state (used at initialisation)."""
    power(m, 0)
    threat(m, 0)
    blocs(m, 0)


# ------------------------------------------------------------------ 6. choices
def start_anchor(m) -> tuple[np.ndarray, np.ndarray]:
    """(R,S,B) x 2 the status quo the start reveals (mechanisms.choice.status_quo_anchor), after refresh_power."""
    st, w, p = m.state, m.world, m.params
    R, S, B = st.member.shape
    # At the start every replicate has the same state; only its parameter draws differ. When no
    # parameter varies, one replicate's utilities are every replicate's (same inputs, same floats).
    rows = 1 if all((v == v[0]).all() for v in p.values()) else R
    rr = np.repeat(np.arange(rows), S)
    ii = np.tile(np.arange(S), rows)
    u0 = utilities_at(st.view, rr, rr, ii, state_view(m), p, w.mutual_defence, w.spending_norm, w.own_nuclear)
    u0 = np.broadcast_to(u0.reshape(rows, S, B), (R, S, B))
    return ch.status_quo_anchor(u0, st.member, st.active, m.switch_cost)


def state_view(m) -> StateView:
    st = m.state
    return StateView(st.power, st.threat, st.share, st.affinity, st.us_attitude, st.eu_attitude, st.neutrality)


def choices(m, t: int) -> None:
    st, w, p = m.state, m.world, m.params
    R, S, B = st.member.shape
    p_rev = ch.revision_probability(p["revision_rate"], st.threat, st.threat_prev, p["crisis_revision"])
    st.threat_prev = st.threat.copy()
    revise = m.streams.uniform("revise", t, (S,)) < p_rev
    st.leaving = np.zeros((R, S, B), dtype=bool)
    st.applying = np.zeros((R, S, B), dtype=bool)
    open_blocs = [b for b in range(B) if w.dynamic[b]]
    if m.timeline is not None:  # recording only: every state's utility of every bloc (draws nothing)
        m.timeline.record_utilities(t, all_utilities(m))
    rr, ii = np.nonzero(revise)
    if open_blocs and len(rr):
        _choose(m, t, rr, ii, open_blocs)
    update_applications(m)


def all_utilities(m) -> np.ndarray:
    """(R,S,B) U_ib of every state for every bloc, as the choices phase computes them (utilities_at)."""
    st, w, p = m.state, m.world, m.params
    R, S, B = st.member.shape
    rr = np.repeat(np.arange(R), S)
    ii = np.tile(np.arange(S), R)
    u = utilities_at(st.view, rr, rr, ii, state_view(m), p, w.mutual_defence, w.spending_norm, w.own_nuclear)
    return u.reshape(R, S, B)


def voting_applications(m) -> np.ndarray:
    """(R,S,B) the standing applications that have stood longer than their accession floor (model.accession_floor)."""
    st = m.state
    return st.applying & (st.pending > m.accession_floor)


def update_applications(m) -> None:
    """New applications join the standing ones; the members vote on all of them (st.applying)."""
    st = m.state
    st.standing, st.pending = ch.standing_applications(
        st.standing, st.pending, st.applying, st.active, st.member, st.barred
    )
    st.applying = st.standing.copy()


def _choose(m, t: int, rr: np.ndarray, ii: np.ndarray, open_blocs: list[int]) -> None:
    st, w, p = m.state, m.world, m.params
    u = utilities_at(st.view, rr, rr, ii, state_view(m), p, w.mutual_defence, w.spending_norm, w.own_nuclear)
    scale = p["choice_noise"][rr]
    rho = p["choice_persistence"][rr]
    lam = p["decision_memory"][rr]
    for b in open_blocs:
        draw = m.streams.logistic_at(f"choice:{w.bloc_codes[b]}", t, rr, ii)
        # a persistent stance (drawn once per replicate, step -1) and this quarter's draw (ch.choice_draw);
        # with no weight on it anywhere, it is not drawn: (1 - 0) * draw + 0 * 0 is the draw itself
        stance = m.streams.logistic_at(f"stance:{w.bloc_codes[b]}", -1, rr, ii) if rho.any() else 0.0
        noise = ch.choice_draw(draw, stance, rho) * scale
        act = st.active[rr, b]
        mem = st.member[rr, ii, b]
        anchor = np.where(mem, m.anchor_in[rr, ii, b], m.anchor_out[rr, ii, b])
        val = (u[:, b] - anchor) + noise
        st.leaving[rr, ii, b] = act & mem & (val < 0.0)
        if w.admission[b] != adm.CLOSED:
            shut = st.barred[rr, ii, b] | (st.disputed[rr, ii] & ~w.admits_disputed[b])
            weighed = act & ~mem & ~shut & w.eligible[ii, b]
            st.applying[rr, ii, b] = weighed & (val > 0.0)
            if lam.any():  # a declined application moves the reference point (ch.remembered_anchor)
                no = weighed & ~(val > 0.0) & (lam != 0.0)
                r_, i_ = rr[no], ii[no]
                m.anchor_out[r_, i_, b] = ch.remembered_anchor(
                    m.anchor_out[r_, i_, b], u[no, b], m.switch_cost[r_, b], lam[no]
                )


# ------------------------------------------------------------------ 7. admission
def admission(m, t: int) -> None:
    st, w, p = m.state, m.world, m.params
    R, S, B = st.member.shape
    st.admitted = np.zeros((R, S, B), dtype=bool)
    st.voting = voting_applications(m)
    record_no = m.timeline is not None
    no_votes = []
    for b in range(B):
        rr, aa = np.nonzero(st.voting[:, :, b])
        if len(rr) == 0:
            continue
        rule = int(w.admission[b])
        voters = st.member[rr, :, b]  # (n, S)
        cells = np.arange(S)[None, :] * VOTE_STRIDE + aa[:, None]
        # a member's stance on an applicant is drawn once per replicate (step -1): vetoes persist
        noise = m.streams.logistic_at(f"vote:{w.bloc_codes[b]}", -1, rr, cells) * p["vote_noise"][rr, None]
        t_app = st.threat[rr, aa][:, None]
        risk = adm.entanglement_risk(st.threat[rr, :], t_app) * w.mutual_defence[b] * p["w_vote_entanglement"][rr, None]
        # objections are bargained over: the longer an application stands, the more every voter concedes
        bonus = ch.bargaining(st.pending[rr, aa, b], p["bargain_rate"][rr], p["bargain_max"][rr])
        score = (st.affinity[rr, :, aa] - risk) + bonus[:, None]  # (n, S): each voter's view of the applicant
        vetoed = st.veto[rr, b, :, aa] if st.veto is not None else np.zeros(voters.shape, dtype=bool)
        yes = adm.vote_yes(score, noise, p["veto_threshold"][rr, None], vetoed)
        leader = int(w.leader[b])
        leader_yes = yes[:, leader] if leader >= 0 else np.ones(len(rr), dtype=bool)
        if leader >= 0:
            leader_yes = leader_yes | ~voters[:, leader]
        ok = adm.decide(
            rule,
            yes,
            voters,
            st.contrib[rr, :, b],
            leader_yes,
            p["qmv_states"][rr],
            p["qmv_power"][rr],
        )
        # a declared veto (veto shock) blocks the admission whatever the rule; so does a territorial
        # conflict of the applicant where the bloc's rule excludes it (admits_disputed: false)
        disputed = st.disputed[rr, aa] & ~w.admits_disputed[b]
        ok = np.broadcast_to(ok, rr.shape) & ~(vetoed & voters).any(axis=1) & ~disputed
        st.admitted[rr[ok], aa[ok], b] = True
        if not (record_no or m.record_events) or ok.all():
            continue
        no = voters & (vetoed | (rule_reads(rule, leader, S)[None, :] & ~yes)) & ~ok[:, None]
        if record_no:
            k, j = np.nonzero(no)
            no_votes.append(np.stack([rr[k], aa[k], np.full(len(k), b), j], axis=1).astype(np.int32))
        if m.record_events:
            for k in range(len(rr)):
                who, bloc = w.codes[aa[k]], w.bloc_codes[b]
                if not ok[k]:
                    no_k = [w.codes[j] for j in np.flatnonzero(no[k])]
                    names = ",".join(no_k + (["territorial conflict"] if disputed[k] else [])) or "the rule"
                    m.events.append(
                        (
                            int(m.replicates[rr[k]]),
                            t,
                            "veto",
                            f"{names} block {who}'s application to {bloc}",
                        )
                    )

    if record_no:
        st.no_votes = np.concatenate(no_votes) if no_votes else np.zeros((0, 4), dtype=np.int32)


def rule_reads(rule: int, leader: int, n_states: int) -> np.ndarray:
    """(S,) bool: the voters whose vote a rule reads (a member's "no" counts only there; declared vetoes always)."""
    reads = np.zeros(n_states, dtype=bool)
    if rule in (adm.UNANIMITY, adm.QMV):
        reads[:] = True
    elif rule == adm.LEADER and leader >= 0:
        reads[leader] = True
    return reads


# ------------------------------------------------------------------ 8. founding
def founding(m, t: int) -> None:
    st, w, p = m.state, m.world, m.params
    R, S, B = st.member.shape
    st.founders = np.zeros((R, S, B), dtype=bool)
    for b in np.flatnonzero(w.min_founders > 0):
        code = w.bloc_codes[b]
        attempt = ~st.active[:, b] & (m.streams.uniform(f"found_attempt:{code}", t) < p["founding_rate"])
        rows = np.flatnonzero(attempt)
        if len(rows) == 0:
            continue
        elig = np.broadcast_to(w.eligible[:, b], (len(rows), S))
        noise = (
            m.streams.logistic_at(f"found:{code}", -1, rows, np.broadcast_to(np.arange(S), (len(rows), S)))
            * p["founding_noise"][rows, None]
        )
        # iterated best response from the full set: each eligible state asks whether it would join
        # a bloc of the states still willing; the unwilling drop out (FOUNDING_ROUNDS rounds)
        willing = elig.copy()
        act = st.active[rows].copy()
        act[:, b] = True
        com = st.commitment[rows].copy()
        com[:, :, b] = 1.0
        sv = state_view(m)
        for _ in range(FOUNDING_ROUNDS):
            mem = st.member[rows].copy()
            mem[:, :, b] = willing
            view = bloc_view(
                mem, com, st.power[rows], act, st.integration[rows], p["coordination_loss_max"][rows],
                st.threat[rows], w.own_nuclear, w.eu_member, m.guarantor,
            )  # fmt: skip
            vr, ii = np.nonzero(willing)
            sr = rows[vr]
            u = utilities_at(view, vr, sr, ii, sv, p, w.mutual_defence, w.spending_norm, w.own_nuclear, blocs=[b])[:, b]
            u = u - p["inertia"][sr] - p["founding_cost"][sr]
            still = np.zeros_like(willing)
            still[vr, ii] = u + noise[vr, ii] > 0.0
            if (still == willing).all():
                break
            willing = still
        pw_all = seqsum(np.where(elig, st.power[rows], 0.0), 1)
        pw_will = seqsum(np.where(willing, st.power[rows], 0.0), 1)
        ok = (willing.sum(axis=1) >= w.min_founders[b]) & (pw_will >= w.min_power_share[b] * pw_all)
        st.founders[rows[ok], :, b] = willing[ok]


# ------------------------------------------------------------------ 9. commit
def commit(m, t: int) -> None:
    st, w = m.state, m.world
    if m.record_events:
        _commit_events(m, t)
    st.member &= ~st.leaving
    st.member |= st.admitted
    new = st.founders.any(axis=1)  # (R,B)
    st.member |= st.founders
    st.formed[new] = t
    st.active |= new
    st.integration = np.where(
        st.active,
        np.minimum(w.integration_max, st.integration + w.integration_growth),
        st.integration,
    )
    blocs(m, t)


def _commit_events(m, t: int) -> None:
    st, w = m.state, m.world
    for kind, arr, verb in (("exit", st.leaving, "leaves"), ("join", st.admitted, "joins")):
        for r, i, b in zip(*np.nonzero(arr), strict=True):
            m.events.append((int(m.replicates[r]), t, kind, f"{w.codes[i]} {verb} {w.bloc_codes[b]}"))
    for r, b in zip(*np.nonzero(st.founders.any(axis=1)), strict=True):
        names = ",".join(w.codes[i] for i in np.flatnonzero(st.founders[r, :, b]))
        m.events.append((int(m.replicates[r]), t, "found", f"{w.bloc_codes[b]} founded by {names}"))


PHASES: list[tuple[str, Callable]] = [
    ("shocks", shocks),
    ("spending", spending),
    ("power", power),
    ("threat", threat),
    ("blocs", blocs),
    ("choices", choices),
    ("admission", admission),
    ("founding", founding),
    ("commit", commit),
]
