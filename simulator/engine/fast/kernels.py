"""Compiled (numba) kernels of the hot phases: the numpy path's arithmetic, element by element, in its order.

Each kernel loops over replicates (and states, blocs) with scalar code that performs exactly the
floating-point operations of the vectorised numpy expressions in simulator.engine.phases and
simulator.engine.mechanisms, in the same order and grouping, with no fast-math: sums over states run in
index order (``seqsum``), and products and quotients are grouped as numpy evaluates them left to
right. Results are therefore bit-identical to the numpy path (tests/test_backends.py).

Transcendental functions (log, pow) are simulator.engine.portable's ``log1`` / ``pow1``, compiled here
from the very same Python functions (``plog``, ``ppow``): plain IEEE arithmetic plus frexp/ldexp,
no fast-math, so LLVM neither reorders nor fuses them and they equal the numpy path's
``portable.log`` / ``portable.power`` (and the reference's) bit for bit, on every CPU. Random bits
are integer SplitMix64 hashes (simulator.engine.rng), exact in any language.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simulator.engine import portable
from simulator.engine.mechanisms.admission import CLOSED, LEADER, OPEN, QMV, UNANIMITY
from simulator.engine.phases import VOTE_STRIDE
from simulator.engine.rng import GOLDEN, INV53, M1, M2, S11, S27, S30, S31

_ONE = np.uint64(1)


# ------------------------------------------------------------------ portable transcendentals
_MANTISSA = np.int64(0x000FFFFFFFFFFFFF)
_HALF_EXPONENT = np.int64(0x3FE0000000000000)  # the exponent bits of 0.5
_TWO54 = 18014398509481984.0


@njit(cache=True, error_model="numpy", inline="always")
def frexp_positive(x):
    """math.frexp of a positive finite x from its bits (exact, equal to frexp; no libm call, so
    loops of it vectorise): subnormals are first scaled by 2**54, which is exact."""
    bits = np.float64(x).view(np.int64)
    sub = (bits >> 52) == 0
    y = x * _TWO54 if sub else x
    bits = np.float64(y).view(np.int64)
    e = (bits >> 52) - 1022 - (54 if sub else 0)
    m = np.int64((bits & _MANTISSA) | _HALF_EXPONENT).view(np.float64)
    return m, e


@njit(cache=True, error_model="numpy", inline="always")
def plog(x):
    """portable.log1 (same operations in the same order; frexp from the bits) for positive finite x."""
    m, e = frexp_positive(x)
    if m < portable._SQRT_HALF:
        m = m * 2.0
        e = e - 1
    ef = float(e)
    z = (m - 1.0) / (m + 1.0)
    z2 = z * z
    poly = 1.0 / 23.0
    for k in range(21, 0, -2):
        poly = 1.0 / k + z2 * poly
    return ef * portable._LN2_HI + (ef * portable._LN2_LO + 2.0 * z * poly)


pexp = njit(cache=True, error_model="numpy", inline="always")(portable.exp1)


@njit(cache=True, error_model="numpy")
def log_inplace(x):
    """x[k] = portable.log1(x[k]) over a 1-d array (a vectorised loop: about 2.5 ns a value)."""
    for k in range(x.shape[0]):
        x[k] = plog(x[k])


@njit(cache=True, error_model="numpy", inline="always")
def ppow(x, g):
    """portable.pow1 on the compiled log and exp (numba cannot call the Python ones)."""
    if g == 1.0:
        return x
    if not x > 0.0:
        return 0.0
    return pexp(g * plog(x))


@njit(cache=True, error_model="numpy")
def log_array(x, out):
    """out[k] = portable.log1(x[k]) (used by the tests)."""
    for k in range(x.shape[0]):
        out[k] = plog(x[k])


@njit(cache=True, error_model="numpy")
def exp_array(x, out):
    """out[k] = portable.exp1(x[k]) (used by the tests)."""
    for k in range(x.shape[0]):
        out[k] = pexp(x[k])


@njit(cache=True, error_model="numpy")
def pow_array(x, g, out):
    """out[k] = portable.pow1(x[k], g[k]) (used by the tests)."""
    for k in range(x.shape[0]):
        out[k] = ppow(x[k], g[k])


# ------------------------------------------------------------------ random bits (simulator.engine.rng)
@njit(cache=True, error_model="numpy", inline="always")
def mix(z):
    """SplitMix64 finaliser (wrapping uint64 arithmetic)."""
    z = (z ^ (z >> S30)) * M1
    z = (z ^ (z >> S27)) * M2
    return z ^ (z >> S31)


@njit(cache=True, error_model="numpy", inline="always")
def step_base(key, step):
    """The per-(replicate, step) hash of a stream: mix(key + (step + 1) * golden)."""
    return mix(key + np.uint64(step + 1) * GOLDEN)


@njit(cache=True, error_model="numpy", inline="always")
def uniform(base, cell):
    """The uniform draw of ``cell`` under a step base (same value as Streams.uniform_at)."""
    b = mix(base + mix((np.uint64(cell) + _ONE) * M2))
    return (np.float64(b >> S11) + 0.5) * INV53


@njit(cache=True, error_model="numpy", inline="always")
def cell_hash(cell):
    """The hash of a cell index, mix((cell + 1) * M2): shared by every replicate and step."""
    return mix((np.uint64(cell) + _ONE) * M2)


@njit(cache=True, error_model="numpy", inline="always")
def uniform_hashed(base, hashed_cell):
    """``uniform`` from a precomputed ``cell_hash``."""
    b = mix(base + hashed_cell)
    return (np.float64(b >> S11) + 0.5) * INV53


@njit(cache=True, error_model="numpy", inline="always")
def logit_argument(base, cell):
    """u / (1 - u) for the uniform draw u of ``cell``: numpy takes its log (a logistic draw)."""
    u = uniform(base, cell)
    return u / (1.0 - u)


@njit(cache=True, error_model="numpy")
def revise_mask(keys, step, rate, n_states):
    """(R, S) bool: which states revise their memberships at ``step`` (stream 'revise')."""
    R = keys.shape[0]
    out = np.empty((R, n_states), dtype=np.bool_)
    for r in range(R):
        base = step_base(keys[r], step)
        for i in range(n_states):
            out[r, i] = uniform(base, i) < rate[r]
    return out


# ------------------------------------------------------------------ 2-4. spending, power, threat
@njit(cache=True, error_model="numpy")
def spending(
    member, active, norm_b, share0, threat, threat0, factor, fixed,
    k_threat, k_norm, fiscal_cap, speed, depreciation, gdp, share, capital,
):  # fmt: skip
    """Spending reaction and capital accumulation, in place on ``share`` and ``capital``."""
    R, S, B = member.shape
    norm = np.empty(S)
    normed = np.flatnonzero(norm_b > 0.0)  # blocs without a norm (0) cannot raise the maximum
    for r in range(R):
        mem = member[r]
        act = active[r]
        for i in range(S):  # the strictest norm of the active blocs the state is in (norms are >= 0)
            x = 0.0
            for b in normed:
                v = norm_b[b] if (mem[i, b] & act[b]) else 0.0
                x = v if v > x else x
            norm[i] = x
        t_r, t0_r, f_r, fx_r, g_r, k_r = threat[r], threat0[r], factor[r], fixed[r], share[r], capital[r]
        kt, kn, cap_r, sp, dep = k_threat[r], k_norm[r], fiscal_cap[r], speed[r], depreciation[r]
        for i in range(S):
            base = share0[i]
            t0 = t0_r[i]
            ratio = t_r[i] / (t0 if t0 > 0 else 1.0) if t0 > 0 else 1.0
            reaction = kt * (ratio - 1.0) * base
            gap = norm[i] - base
            pull = kn * (gap if gap > 0.0 else 0.0)
            cap = cap_r if cap_r >= base else base
            target = (base + reaction + pull) * f_r[i]
            target = target if target > 0.0 else 0.0
            target = target if target < cap else cap
            f = fx_r[i]
            target = f if f == f else target  # a spending shock fixed the share (not NaN)
            g = g_r[i]
            g = g + sp * (target - g)
            g_r[i] = g
            k_r[i] = (1.0 - dep) * k_r[i] + g * gdp[i] * 2.5


@njit(cache=True, error_model="numpy")
def power(
    capital, mobilisation, q_spend, depreciation, combat, combat_quality, active_k, reserve_k, reserve_weight,
    n_active, n_reserve, equipment, gdp_share, pop_share, wk, wp, we, wy, wn, out,
):  # fmt: skip
    """CINC-like composite power of every state into ``out`` (R, S)."""
    R, S = capital.shape
    for r in range(R):
        capital_norm = q_spend / depreciation[r]
        rw = reserve_weight[r]
        total_w = wk[r] + wp[r] + we[r] + wy[r] + wn[r]
        pers_total = n_active + rw * n_reserve
        for i in range(S):
            quality = 1.0 + combat_quality[r] * combat[r, i]
            pers = active_k[i] + rw * reserve_k[i]
            composite = (
                wk[r] * (capital[r, i] / capital_norm)
                + wp[r] * (pers / pers_total)
                + we[r] * equipment[i]
                + wy[r] * gdp_share[i]
                + wn[r] * pop_share[i]
            )
            out[r, i] = 100.0 * quality * mobilisation[r, i] * composite / total_w


@njit(cache=True, error_model="numpy")
def threat(weights_t, wrow, sources, power_, scale, out):
    """T_i = s_i * sum_j W_ij P_j over ``sources`` in index order; weights_t[wrow[r], j, i] = W_ij."""
    R, S = power_.shape
    acc = np.empty(S)
    for r in range(R):
        w = wrow[r]
        acc[:] = 0.0
        for k in range(sources.shape[0]):
            j = sources[k]
            pj = power_[r, j]
            for i in range(S):
                acc[i] += weights_t[w, j, i] * pj
        for i in range(S):
            out[r, i] = scale[r, i] * acc[i]


@njit(cache=True, error_model="numpy")
def threat_shared(src, dst, weight, power_, scale, out):
    """T_i = s_i * sum_j W_ij P_j with one weight matrix for all replicates, given as its non-zeros
    (src j, dst i, W_ij) in increasing j: each T_i adds its terms in index order (skipped terms are
    exact zeros). Replicates are processed in chunks, the chunk on the inner (vector) loop.
    """
    R, S = power_.shape
    C = min(64, R)
    pt = np.empty((S, C))
    acc = np.empty((S, C))
    for r0 in range(0, R, C):
        nc = min(C, R - r0)
        for q in range(nc):
            for j in range(S):
                pt[j, q] = power_[r0 + q, j]
        acc[:, :] = 0.0
        for t in range(src.shape[0]):
            j, i, w = src[t], dst[t], weight[t]
            for q in range(nc):
                acc[i, q] += w * pt[j, q]
        for q in range(nc):
            for i in range(S):
                out[r0 + q, i] = scale[r0 + q, i] * acc[i, q]


# ------------------------------------------------------------------ 5. blocs
@njit(cache=True, error_model="numpy")
def bloc_view(
    member, commitment, power_, active, integration, loss_max, threat_, own_nuclear, eu_member, us, changed,
    contrib, raw, hhi, loss, effective, umbrella, us_share, eu_share, tbar,
):  # fmt: skip
    """Every bloc's aggregates in every replicate (outputs filled in place).

    The sums of simulator.engine.mechanisms.utility.bloc_view, each in index order over states, all in one
    pass over the states. Terms of non-members are exact zeros and are skipped: every term is
    >= +0.0 (commitments, power and threat are non-negative), so a sum started at 0.0 without them
    equals ``seqsum`` bit for bit. Replicates with ``changed[r]`` False kept their members,
    commitments, power and threat since the outputs were last computed: only the coordination
    loss (integration) is recomputed.
    """
    R, S, B = member.shape
    for r in range(R):
        for b in range(B):
            if changed[r]:
                acc = 0.0
                sq = 0.0
                eu = 0.0
                tb = 0.0
                umb = 0.0
                act = active[r, b]
                for i in range(S):
                    if member[r, i, b] and act:
                        com = commitment[r, i, b]
                        c = com * power_[r, i]
                        contrib[r, i, b] = c
                        acc += c
                        sq += c * c
                        if eu_member[i]:
                            eu += c
                        tb += c * threat_[r, i]
                        if own_nuclear[i] and com > umb:
                            umb = com
                    else:
                        contrib[r, i, b] = 0.0
                safe = acc if acc > 0 else 1.0
                rr = acc * acc
                raw[r, b] = acc
                hhi[r, b] = sq / rr if rr > 0 else 1.0
                umbrella[r, b] = umb
                us_share[r, b] = contrib[r, us, b] / safe if us >= 0 else 0.0
                eu_share[r, b] = eu / safe
                tbar[r, b] = tb / safe
            lo = loss_max[r] * (1.0 - integration[r, b]) * (1.0 - hhi[r, b])
            loss[r, b] = lo
            effective[r, b] = raw[r, b] * (1.0 - lo)


# ------------------------------------------------------------------ 6. utility pieces
@njit(cache=True, error_model="numpy", inline="always")
def _top_two_step(t1, t2, total, v, first):
    """One step of ``top_two``: the running largest, second largest and sum after value v (branch-free:
    t2 = max(t2, min(t1, v)); t1 = max(t1, v))."""
    lo = t1 if t1 < v else v
    t2 = lo if lo > t2 else t2
    t1 = v if v > t1 else t1
    total = v if first else total + v
    return t1, t2, total


@njit(cache=True, error_model="numpy", inline="always")
def top_two(value, member):
    """The largest and second largest pledge of the blocs a state is in (0 elsewhere), and their sum."""
    B = value.shape[0]
    t1 = -np.inf
    t2 = -np.inf
    total = 0.0
    for k in range(B):
        t1, t2, total = _top_two_step(t1, t2, total, value[k] if member[k] else 0.0, k == 0)
    return t1, (t2 if B > 1 else 0.0), total


@njit(cache=True, error_model="numpy", inline="always")
def with_without(value, member, b, t1, t2, total, overlap, use_overlap):
    """Protection with and without bloc ``b`` (utility.with_without, one column) from ``top_two``."""
    vb = value[b] if member[b] else 0.0
    max_without = t2 if (member[b] and vb == t1) else t1
    max_with = t1 if (member[b] or t1 >= value[b]) else value[b]
    if not use_overlap:
        return max_with, max_without
    sum_without = total - value[b] if member[b] else total
    sum_with = total if member[b] else total + value[b]
    return max_with + overlap * (sum_with - max_with), max_without + overlap * (sum_without - max_without)


@njit(cache=True, error_model="numpy", inline="always")
def deterrence(xg, tg):
    """Contest success x^g / (x^g + T^g) from the powers (``ppow``)."""
    den = xg + tg
    return xg / den if den > 0 else 0.5


@njit(cache=True, error_model="numpy", inline="always")
def utility_terms(
    nuclear_need, w_nuclear, n_with, n_without, num, den, w_affinity, w_attitude, us_att, us_share_b, eu_att,
    eu_share_b, w_burden, norm_b, share, w_entanglement, tbar_b, thr, w_neutrality, neutrality, md_b, inertia,
    is_member, out, e,
):  # fmt: skip
    """The terms of U_ib after security, as utility.utilities_at computes them: out[e] = nuclear,
    affinity, attitude, burden, entanglement, neutrality, inertia (summed by ``utility_sum``)."""
    out[e, 0] = w_nuclear * nuclear_need * (n_with - n_without)
    out[e, 1] = w_affinity * (num / den if den > 0 else 0.0)
    out[e, 2] = w_attitude * (us_att * us_share_b + eu_att * eu_share_b)
    gap = norm_b - share
    out[e, 3] = w_burden * (gap if gap > 0.0 else 0.0)
    tsum = tbar_b + thr
    over = tbar_b - thr
    out[e, 4] = w_entanglement * (over if over > 0.0 else 0.0) / (tsum if tsum > 0 else 1.0)
    out[e, 5] = w_neutrality * neutrality * md_b
    out[e, 6] = inertia * (1.0 if is_member else 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def utility_sum(security, t, e, membership_cost):
    """U_ib = security + nuclear + affinity + attitude - burden - entanglement - neutrality - cost + inertia."""
    return security + t[e, 0] + t[e, 1] + t[e, 2] - t[e, 3] - t[e, 4] - t[e, 5] - membership_cost + t[e, 6]


# ------------------------------------------------------------------ 6. choices
@njit(cache=True, error_model="numpy")
def choice_needed(active, member, closed, barred, eligible):
    """Whether a state's utility of a bloc can change anything: it may leave it or apply to it."""
    return active & (member | ((not closed) & (not barred) & eligible))


@njit(cache=True, error_model="numpy", inline="always")
def _interval(x):
    """The interval [min(0, x), max(0, x)]."""
    return (x if x < 0.0 else 0.0), (x if x > 0.0 else 0.0)


@njit(cache=True, error_model="numpy")
def choices(
    revise_keys, rate, step, open_b, member, active, barred, eligible, admission, contrib, raw, loss, umbrella,
    us_share, eu_share, tbar, md, overlap, spending_norm, own_nuclear, affinity, arow, aff_lo, aff_hi, power_, threat_,
    share, us_att, eu_att, neutrality, gamma, keys, w_security, w_nuclear, w_affinity, w_attitude, w_burden,
    w_entanglement, w_neutrality, membership_cost, inertia, choice_noise, use_filter, leaving, applying, tally,
    anchor_in, anchor_out, stance, persistence, memory, switch_cost,
):  # fmt: skip
    """The choices phase in one pass per replicate: who revises, and the utilities of their choices.

    Revision is the uniform draw of stream 'revise' below the revision rate. Only the (state, open
    bloc) choices that can change a membership are evaluated (``choice_needed``). Their utilities
    follow utility.utilities_at, plus the logistic draw of stream 'choice:<bloc>' (``keys`` (nb, R)
    are its replicate keys), mixed with the persistent stance ``stance`` (R, S, nb) by
    ``persistence`` (choice.choice_draw), times the choice noise: members with a negative value
    leave, others apply (set in place).

    Per replicate: the draws of the needed choices first (their logs in one vectorised loop); then
    a filter (``use_filter``) that settles the choices whose outcome an interval bound on the
    utility already decides (see below); then, for the choices left, the affinity sums bloc by bloc
    over the bloc's members only (up to four revising states share a pass over the members;
    non-members contribute exact zeros, so each sum in index order over the members equals the sum
    over all states), then the exact utilities.

    The filter (a filtered predicate, as in exact geometric computation): the utility is
    U = security + nuclear + affinity + attitude - burden - entanglement - neutrality - cost + inertia.
    Attitude, burden, entanglement, neutrality, cost and inertia are computed exactly as the utility
    computes them; the three costly terms are bounded: security lies in w_security * [0, 1] (with
    and without the bloc, protection can only grow, and deterrence is increasing in it), nuclear in
    w_nuclear * need * [0, md_b * umbrella_b], and affinity, a weighted mean of the state's
    affinities to the other members with non-negative weights, between w_affinity times the least
    and the greatest affinity of the state to any other state (``aff_lo``, ``aff_hi``; infinite,
    so never deciding, where a state's affinity to itself is not zero). A choice is settled only
    if the whole interval [lo, hi] + noise lies on one side of zero by more than 1e-7 times the
    sum of the magnitudes of its terms, far beyond any rounding of either computation (about 1e-15
    relative); NaN or infinite bounds never settle. The guarantees the bounds rest on (overlap in
    [0, 1], a positive contest exponent, coordination loss at most 1, non-negative umbrellas and
    mutual-defence values) are checked per replicate, and the filter is off where they fail.
    Contributions and threats are non-negative by construction (powers, threat weights and
    commitments are). A settled choice has the outcome the exact utility would give, so results
    stay bit-identical (tests/test_backends.py compares the filter on and off, and with the numpy path).
    ``tally`` (2,) counts the needed choices: [0] all of them, [1] those the filter settled.

    Decision memory (``memory`` (R,), choice.remembered_anchor, with ``switch_cost`` (R, B)): where it is not zero, a non-member
    that declines to apply moves its reference point ``anchor_out`` (updated in place) towards the
    utility it declined at, so the filter does not settle a non-member's "no" there (the update
    needs the exact utility).
    """
    R, S, B = member.shape
    nb = open_b.shape[0]
    hashed = np.empty(S, dtype=np.uint64)
    for i in range(S):
        hashed[i] = cell_hash(i)
    md_ok = True
    for b in range(B):
        md_ok &= md[b] >= 0.0
    ii = np.empty(S, dtype=np.int64)
    need = np.empty((S, nb), dtype=np.bool_)
    dix = np.empty((S, nb), dtype=np.int64)
    cp = np.empty(S * nb, dtype=np.int64)
    ck = np.empty(S * nb, dtype=np.int64)
    pneed = np.empty(S)
    draws = np.empty(S * nb)
    num = np.empty(S * nb)
    bases = np.empty(nb, dtype=np.uint64)
    idx = np.empty(S, dtype=np.int64)
    cv = np.empty(S)
    grp = np.empty(S, dtype=np.int64)
    g = np.empty(B)
    nuc = np.empty(B)
    mem = np.empty(B, dtype=np.bool_)
    terms = np.empty((1, 7))
    for r in range(R):
        base = step_base(revise_keys[r], step)
        n = 0
        for i in range(S):
            ii[n] = i
            n += uniform_hashed(base, hashed[i]) < rate[r, i]
        if n == 0:
            continue
        for k in range(nb):
            bases[k] = step_base(keys[k, r], step)
        # the needed choices, compacted into (cp, ck), and the arguments of their logistic draws
        nd = 0
        for p in range(n):
            i = ii[p]
            for k in range(nb):
                b = open_b[k]
                nd_k = choice_needed(
                    active[r, b], member[r, i, b], admission[b] == CLOSED, barred[r, i, b], eligible[i, b]
                )
                u = uniform_hashed(bases[k], hashed[i])
                draws[nd] = u / (1.0 - u)
                cp[nd] = p
                ck[nd] = k
                dix[p, k] = nd
                need[p, k] = nd_k
                nd += nd_k
        if nd == 0:
            continue
        log_inplace(draws[:nd])  # the logistic draws, log(u / (1 - u))
        rho = persistence[r]
        lam = memory[r]
        if rho != 0.0:  # mixed with the persistent stances (choice.choice_draw); at 0 the draw itself
            for e in range(nd):
                draws[e] = (1.0 - rho) * draws[e] + rho * stance[r, ii[cp[e]], ck[e]]
        a = arow[r]
        noise = choice_noise[r]
        for p in range(n):
            i = ii[p]
            tp = threat_[r, i] + power_[r, i]
            x = threat_[r, i] / (tp if tp > 0 else 1.0)
            pneed[p] = 0.0 if own_nuclear[i] else x
        ok_r = use_filter and md_ok and 0.0 <= overlap[r] <= 1.0 and gamma[r] > 0.0
        for b in range(B):
            ok_r &= loss[r, b] <= 1.0 and umbrella[r, b] >= 0.0
        nu = nd
        if ok_r:  # settle what the bounds decide
            nu = 0
            sec_lo, sec_hi = _interval(w_security[r])
            wa = w_affinity[r]
            for e in range(nd):
                p = cp[e]
                k = ck[e]
                i = ii[p]
                b = open_b[k]
                ism = member[r, i, b]
                thr = threat_[r, i]
                rb = raw[r, b]
                den = rb - contrib[r, i, b]
                x1 = wa * aff_lo[a, i]
                x2 = wa * aff_hi[a, i]
                pos = den > 0
                t1lo = (x1 if x1 < x2 else x2) if pos else 0.0
                t1hi = (x2 if x1 < x2 else x1) if pos else 0.0
                t0lo, t0hi = _interval(w_nuclear[r] * pneed[p] * (md[b] * umbrella[r, b]))
                utility_terms(
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    w_attitude[r],
                    us_att[r, i],
                    us_share[r, b],
                    eu_att[r, i],
                    eu_share[r, b],
                    w_burden[r],
                    spending_norm[b],
                    share[r, i],
                    w_entanglement[r],
                    tbar[r, b],
                    thr,
                    w_neutrality[r],
                    neutrality[r, i],
                    md[b],
                    inertia[r],
                    ism,
                    terms,
                    0,
                )  # the exact terms; nuclear and affinity are bounded instead
                att, bur, ent, neu, ine = terms[0, 2], terms[0, 3], terms[0, 4], terms[0, 5], terms[0, 6]
                anc = anchor_in[r, i, b] if ism else anchor_out[r, i, b]
                rest = att - bur - ent - neu - membership_cost[r] + ine - anc
                dn = draws[e] * noise
                lo = sec_lo + t0lo + t1lo + rest + dn
                hi = sec_hi + t0hi + t1hi + rest + dn
                mag = (
                    abs(sec_lo) + abs(sec_hi) + abs(t0lo) + abs(t0hi) + abs(t1lo) + abs(t1hi) + abs(att) + abs(bur)
                    + abs(ent) + abs(neu) + abs(membership_cost[r]) + abs(ine) + abs(anc) + abs(dn)
                )  # fmt: skip
                tol = 1e-7 * mag
                sound = den >= 1e-6 * rb or not pos  # a tiny denominator could magnify rounding
                yes = sound and lo > tol
                no = sound and hi < -tol and (ism or lam == 0.0)  # a remembered "no" needs the exact utility
                unsure = not (yes or no)
                need[p, k] = unsure
                nu += unsure
                if yes and not ism:
                    applying[r, i, b] = True
                if no and ism:
                    leaving[r, i, b] = True
        tally[0] += nd
        tally[1] += nd - nu
        if nu == 0:
            continue
        for k in range(nb):
            ng = 0
            for p in range(n):
                grp[ng] = p
                ng += need[p, k]
            if ng == 0:
                continue
            b = open_b[k]
            c = 0
            for j in range(S):
                cj = contrib[r, j, b]
                idx[c] = j
                cv[c] = cj
                c += cj != 0.0
            for g0 in range(0, ng, 4):
                m = min(4, ng - g0)
                i0 = ii[grp[g0]]
                i1 = ii[grp[g0 + 1]] if m > 1 else i0
                i2 = ii[grp[g0 + 2]] if m > 2 else i0
                i3 = ii[grp[g0 + 3]] if m > 3 else i0
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                for t in range(c):
                    j = idx[t]
                    cj = cv[t]
                    s0 += affinity[a, i0, j] * cj
                    s1 += affinity[a, i1, j] * cj
                    s2 += affinity[a, i2, j] * cj
                    s3 += affinity[a, i3, j] * cj
                num[grp[g0] * nb + k] = s0
                if m > 1:
                    num[grp[g0 + 1] * nb + k] = s1
                if m > 2:
                    num[grp[g0 + 2] * nb + k] = s2
                if m > 3:
                    num[grp[g0 + 3] * nb + k] = s3
        for p in range(n):
            left = False
            for k in range(nb):
                left |= need[p, k]
            if not left:
                continue
            i = ii[p]
            own = power_[r, i]
            thr = threat_[r, i]
            for b in range(B):
                g[b] = md[b] * (1.0 - loss[r, b]) * (raw[r, b] - contrib[r, i, b])
                mem[b] = member[r, i, b]
                nuc[b] = md[b] * umbrella[r, b]
            t1, t2, total = top_two(g, mem)
            n1, n2, ntotal = top_two(nuc, mem)
            tg = ppow(thr, gamma[r])
            for k in range(nb):
                if not need[p, k]:
                    continue
                b = open_b[k]
                xw, xo = with_without(g, mem, b, t1, t2, total, overlap[r], True)
                security = w_security[r] * (
                    deterrence(ppow(own + xw, gamma[r]), tg) - deterrence(ppow(own + xo, gamma[r]), tg)
                )
                n_with, n_without = with_without(nuc, mem, b, n1, n2, ntotal, 0.0, False)
                utility_terms(
                    pneed[p], w_nuclear[r], n_with, n_without, num[p * nb + k], raw[r, b] - contrib[r, i, b],
                    w_affinity[r], w_attitude[r], us_att[r, i], us_share[r, b], eu_att[r, i], eu_share[r, b],
                    w_burden[r], spending_norm[b], share[r, i], w_entanglement[r], tbar[r, b], thr, w_neutrality[r],
                    neutrality[r, i], md[b], inertia[r], mem[b], terms, 0,
                )  # fmt: skip
                u = utility_sum(security, terms, 0, membership_cost[r])
                anc = anchor_in[r, i, b] if mem[b] else anchor_out[r, i, b]
                val = (u - anc) + draws[dix[p, k]] * noise
                if mem[b]:
                    leaving[r, i, b] = val < 0.0
                else:
                    yes = val > 0.0
                    applying[r, i, b] = yes
                    if not yes and lam != 0.0:  # the declined application moves the reference point
                        anc = anchor_out[r, i, b]
                        gap = ((0.0 if u <= 0.0 else u) + switch_cost[r, b]) - anc
                        anchor_out[r, i, b] = anc + lam * (0.0 if gap <= 0.0 else gap)


@njit(cache=True, error_model="numpy")
def utilities(
    member, contrib, raw, loss, umbrella, us_share, eu_share, tbar, md, overlap, spending_norm, own_nuclear, affinity,
    arow, power_, threat_, share, us_att, eu_att, neutrality, gamma, w_security, w_nuclear, w_affinity, w_attitude,
    w_burden, w_entanglement, w_neutrality, membership_cost, inertia, out,
):  # fmt: skip
    """out (R,S,B): U_ib of every state for every bloc, exactly as ``choices`` (and utility.utilities_at)
    computes it; for the record of the timeline only (simulator.engine.timeline), decides nothing."""
    R, S, B = member.shape
    g = np.empty(B)
    nuc = np.empty(B)
    mem = np.empty(B, dtype=np.bool_)
    terms = np.empty((1, 7))
    num = np.empty((S, B))
    idx = np.empty(S, dtype=np.int64)
    cv = np.empty(S)
    ck = np.empty(2 * B)
    cd = np.empty(2 * B)
    for r in range(R):
        a = arow[r]
        for b in range(B):  # affinity sums over the bloc's members, in index order (as in choices)
            c = 0
            for j in range(S):
                cj = contrib[r, j, b]
                idx[c] = j
                cv[c] = cj
                c += cj != 0.0
            for i in range(S):
                s0 = 0.0
                for t in range(c):
                    s0 += affinity[a, i, idx[t]] * cv[t]
                num[i, b] = s0
        for i in range(S):
            own = power_[r, i]
            thr = threat_[r, i]
            tp = thr + own
            x = thr / (tp if tp > 0 else 1.0)
            pneed = 0.0 if own_nuclear[i] else x
            for b in range(B):
                g[b] = md[b] * (1.0 - loss[r, b]) * (raw[r, b] - contrib[r, i, b])
                mem[b] = member[r, i, b]
                nuc[b] = md[b] * umbrella[r, b]
            t1, t2, total = top_two(g, mem)
            n1, n2, ntotal = top_two(nuc, mem)
            tg = ppow(thr, gamma[r])
            nc = 0  # deterrence of each distinct protection (the blocs share a few values): same floats, fewer powers
            for b in range(B):
                xw, xo = with_without(g, mem, b, t1, t2, total, overlap[r], True)
                dw = np.nan
                do = np.nan
                for q in range(nc):
                    if ck[q] == own + xw:
                        dw = cd[q]
                    if ck[q] == own + xo:
                        do = cd[q]
                if dw != dw:
                    dw = deterrence(ppow(own + xw, gamma[r]), tg)
                    ck[nc] = own + xw
                    cd[nc] = dw
                    nc += 1
                if do != do:
                    do = deterrence(ppow(own + xo, gamma[r]), tg)
                    ck[nc] = own + xo
                    cd[nc] = do
                    nc += 1
                security = w_security[r] * (dw - do)
                n_with, n_without = with_without(nuc, mem, b, n1, n2, ntotal, 0.0, False)
                utility_terms(
                    pneed, w_nuclear[r], n_with, n_without, num[i, b], raw[r, b] - contrib[r, i, b],
                    w_affinity[r], w_attitude[r], us_att[r, i], us_share[r, b], eu_att[r, i], eu_share[r, b],
                    w_burden[r], spending_norm[b], share[r, i], w_entanglement[r], tbar[r, b], thr, w_neutrality[r],
                    neutrality[r, i], md[b], inertia[r], mem[b], terms, 0,
                )  # fmt: skip
                out[r, i, b] = utility_sum(security, terms, 0, membership_cost[r])


def affinity_bounds(affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, S) least and greatest affinity a_ij over j != i of each state (the bounds of ``choices``' filter).

    -inf and +inf (bounds that never decide) where a state's affinity to itself is not zero.
    """
    K, S, _ = affinity.shape
    d = np.arange(S)
    a = np.array(affinity, dtype=np.float64)
    diag = a[:, d, d].copy()
    a[:, d, d] = np.inf
    lo = a.min(axis=2)
    a[:, d, d] = -np.inf
    hi = a.max(axis=2)
    lo[diag != 0.0] = -np.inf
    hi[diag != 0.0] = np.inf
    return np.ascontiguousarray(lo), np.ascontiguousarray(hi)


# ------------------------------------------------------------------ 7. admission
@njit(cache=True, error_model="numpy", inline="always")
def _vote(affinity, ar, j, a, threat_, r, ta, md_b, w_ent, noise, scale, thresh, vetoed, bonus):
    """Member j's vote on applicant a (admission.vote_yes): affinity minus entanglement risk, plus noise."""
    tv = threat_[r, j]
    tot = tv + ta
    over = ta - tv
    risk = (over if over > 0.0 else 0.0) / (tot if tot > 0 else 1.0) * md_b * w_ent
    score = (affinity[ar, j, a] - risk) + bonus
    return (score + noise * scale > thresh) and not vetoed


@njit(cache=True, error_model="numpy")
def admission(
    applying, member, admission, leader, keys, contrib, threat_, affinity, arow, veto, has_veto, md, vote_noise,
    w_vote_entanglement, veto_threshold, qmv_states, qmv_power, admitted, bonus, record, no_votes,
):  # fmt: skip
    """Members vote on each application by the bloc's rule; a declared veto blocks it (``admitted`` in place).

    Applications are independent of each other, so their order is free: replicate by replicate,
    each set cell of ``applying``. The voters are the bloc's members, in index order. Each voter's
    stance on an applicant is the persistent logistic draw of stream 'vote:<bloc>' at step -1, cell
    voter * VOTE_STRIDE + applicant (``keys`` (B, R) are the streams' replicate keys). Only the votes
    a rule reads are drawn and counted: none under OPEN and CLOSED, the leader's under LEADER, all
    under QMV (the shares of voters and of their pooled power, each sum in index order over the
    voters; non-voters would add exact zeros), and under UNANIMITY the votes in chunks of eight until
    the first no, which settles the application. A skipped vote could not change the outcome, so
    the result equals the numpy path's, which draws and counts every vote.

    With ``record``, an application that fails is then gone over again, purely for the record: the
    members who said no (a declared veto always; a vote only where the rule reads it: every member
    under UNANIMITY and QMV, the leader under LEADER) are written to ``no_votes`` as rows (replicate
    row, applicant, bloc, voter), in that order, from the same persistent draws; nothing else changes.
    Returns the number of such rows (rows beyond the capacity of ``no_votes`` are counted, not written).
    """
    R, S, B = applying.shape
    SB = S * B
    ap8 = applying.reshape(-1).view(np.uint8)
    lg = np.empty(S)
    vix = np.empty(S, dtype=np.int64)
    C = 8
    n_no = 0
    for r in range(R):
        row = r * SB
        tot = 0
        for x in range(SB):
            tot += ap8[row + x]
        if tot == 0:
            continue
        ar = arow[r]
        scale = vote_noise[r]
        w_ent = w_vote_entanglement[r]
        thresh = veto_threshold[r]
        for x in range(SB):
            if ap8[row + x] == 0:
                continue
            a = x // B
            b = x - a * B
            rule = admission[b]
            lead = leader[b]
            md_b = md[b]
            nv = 0
            for j in range(S):  # the voters, in index order
                vix[nv] = j
                nv += member[r, j, b]
            declared = False
            if has_veto:
                for v in range(nv):
                    declared |= veto[r, b, vix[v], a]
            ta = threat_[r, a]
            bon = bonus[r, a, b]  # what bargaining adds to every voter's view (choice.bargaining)
            if rule == OPEN:
                ok = True
            elif rule == CLOSED:
                ok = False
            elif rule == UNANIMITY:  # every voter must say yes: stop at the first no
                kb = step_base(keys[b, r], -1)
                ok = True
                for v0 in range(0, nv, C):
                    m = min(C, nv - v0)
                    for t in range(m):
                        lg[t] = logit_argument(kb, vix[v0 + t] * VOTE_STRIDE + a)
                    log_inplace(lg[:m])
                    for t in range(m):
                        j = vix[v0 + t]
                        vetoed = has_veto and veto[r, b, j, a]
                        if not _vote(
                            affinity, ar, j, a, threat_, r, ta, md_b, w_ent, lg[t], scale, thresh, vetoed, bon
                        ):
                            ok = False
                            break
                    if not ok:
                        break
            elif rule == LEADER:  # the leader's vote, if the leader is a member
                ok = True
                if lead >= 0 and member[r, lead, b]:
                    kb = step_base(keys[b, r], -1)
                    lg[0] = logit_argument(kb, lead * VOTE_STRIDE + a)
                    log_inplace(lg[:1])
                    vetoed = has_veto and veto[r, b, lead, a]
                    ok = _vote(affinity, ar, lead, a, threat_, r, ta, md_b, w_ent, lg[0], scale, thresh, vetoed, bon)
            else:  # QMV: shares of the voters and of their power
                kb = step_base(keys[b, r], -1)
                for v in range(nv):
                    lg[v] = logit_argument(kb, vix[v] * VOTE_STRIDE + a)
                log_inplace(lg[:nv])
                n_yes = 0
                p_all = 0.0
                p_yes = 0.0
                for v in range(nv):
                    j = vix[v]
                    vetoed = has_veto and veto[r, b, j, a]
                    yes = _vote(affinity, ar, j, a, threat_, r, ta, md_b, w_ent, lg[v], scale, thresh, vetoed, bon)
                    c = contrib[r, j, b]
                    p_all += c
                    p_yes += c if yes else 0.0
                    n_yes += yes
                ok = nv == 0 or (n_yes >= qmv_states[r] * nv and p_yes >= qmv_power[r] * p_all)
            admitted[r, a, b] = ok and not declared
            if record and not (ok and not declared):
                reads_all = rule in (UNANIMITY, QMV)
                for v in range(nv):
                    j = vix[v]
                    vetoed = has_veto and veto[r, b, j, a]
                    no = vetoed
                    if not no and (reads_all or (rule == LEADER and j == lead)):
                        lg[0] = logit_argument(step_base(keys[b, r], -1), j * VOTE_STRIDE + a)
                        log_inplace(lg[:1])
                        no = not _vote(
                            affinity, ar, j, a, threat_, r, ta, md_b, w_ent, lg[0], scale, thresh, vetoed, bon
                        )
                    if no:
                        if n_no < no_votes.shape[0]:
                            no_votes[n_no, 0] = r
                            no_votes[n_no, 1] = a
                            no_votes[n_no, 2] = b
                            no_votes[n_no, 3] = j
                        n_no += 1
    return n_no


# ------------------------------------------------------------------ 8. founding
@njit(cache=True, error_model="numpy", inline="always")
def _founding_column(
    q, r, b, willing, power_, threat_, integration, loss_max, own_nuclear, eu_member, us, col, out
):  # fmt: skip
    """Bloc b's aggregates in row r if exactly the ``willing[q]`` states were its members (commitment 1).

    ``col`` (S,) receives the contributions; ``out`` = raw, loss, us_share, eu_share, tbar, umbrella.
    """
    S = willing.shape[1]
    acc = 0.0
    sq = 0.0
    eu = 0.0
    tb = 0.0
    umb = 0.0
    for i in range(S):
        c = 1.0 * power_[r, i] if willing[q, i] else 0.0
        col[i] = c
        acc = c if i == 0 else acc + c
        sq = c * c if i == 0 else sq + c * c
        e = c if eu_member[i] else 0.0
        eu = e if i == 0 else eu + e
        x = c * threat_[r, i]
        tb = x if i == 0 else tb + x
        u = 1.0 if (willing[q, i] and own_nuclear[i]) else 0.0
        if i == 0 or u > umb:
            umb = u
    safe = acc if acc > 0 else 1.0
    rr = acc * acc
    hhi = sq / rr if rr > 0 else 1.0
    out[0] = acc
    out[1] = loss_max[r] * (1.0 - integration[r, b]) * (1.0 - hhi)
    out[2] = col[us] / safe if us >= 0 else 0.0
    out[3] = eu / safe
    out[4] = tb / safe
    out[5] = umb


@njit(cache=True, error_model="numpy")
def founding_rows(
    rows, willing, b, member, contrib, raw, loss, umbrella, md, overlap, spending_norm, own_nuclear, affinity_t, arow,
    power_, threat_, share, us_att, eu_att, neutrality, integration, loss_max, eu_member, us, gamma, w_nuclear,
    w_affinity, w_attitude, w_burden, w_entanglement, w_neutrality, inertia, noise, w_security, membership_cost,
    founding_cost, eligible, min_founders, min_power_share, rounds,
):  # fmt: skip
    """Up to ``rounds`` rounds of best response on the bloc b of the willing, row by row (``willing`` in place).

    In each round every willing state of the row weighs the bloc of the willing (all utility terms,
    as utility.utilities_at) and still wants it if u - inertia - founding cost + noise > 0.
    ``affinity_t[arow[q], j, i]`` = a_ij (transposed): the affinity sums of all states of a row run
    together over the willing j in index order. Rows are independent: a row stops when its willing
    set no longer changes (it would repeat itself), or when its willing states are too few or too
    weak to found the bloc (founding_outcome). The willing set only shrinks and its power, a sum of
    non-negative terms in index order, with it, so further rounds could not change its outcome.

    What does not change between the rounds of a row is computed once per row and state: own power,
    threat and its power, nuclear need, and the other blocs' protection and
    umbrella values as the running state of ``top_two`` over the blocs before b plus the values after
    b. Each round then continues ``top_two`` with the bloc of the willing's value at its place, so
    every maximum and sum runs over the blocs in the same order as ``top_two`` over all of them.
    """
    Q, S = willing.shape
    B = member.shape[2]
    nsuf = B - b - 1
    col = np.empty(S)
    agg = np.empty(6)
    num = np.empty(S)
    still = np.empty(S, dtype=np.bool_)
    # per state of a row, fixed across its rounds
    gp = np.empty((S, 3))  # top-two state (t1, t2, total) of the other blocs' values before b
    gs = np.empty((S, nsuf))  # values of the blocs after b
    nucp = np.empty((S, 2))  # the same for the nuclear umbrellas (their sum is not used)
    nucs = np.empty((S, nsuf))
    own_ = np.empty(S)
    thr_ = np.empty(S)
    tg_ = np.empty(S)
    need_ = np.empty(S)
    terms = np.empty((1, 7))
    for q in range(Q):
        r = rows[q]
        a = arow[q]
        gam = gamma[r]
        for i in range(S):
            if not willing[q, i]:
                continue
            t1 = -np.inf
            t2 = -np.inf
            total = 0.0
            n1 = -np.inf
            n2 = -np.inf
            for k in range(B):
                if k == b:
                    continue
                v = md[k] * (1.0 - loss[r, k]) * (raw[r, k] - contrib[r, i, k]) if member[r, i, k] else 0.0
                w = md[k] * umbrella[r, k] if member[r, i, k] else 0.0
                if k < b:
                    t1, t2, total = _top_two_step(t1, t2, total, v, k == 0)
                    n1, n2, _ = _top_two_step(n1, n2, 0.0, w, k == 0)
                else:
                    gs[i, k - b - 1] = v
                    nucs[i, k - b - 1] = w
            gp[i, 0] = t1
            gp[i, 1] = t2
            gp[i, 2] = total
            nucp[i, 0] = n1
            nucp[i, 1] = n2
            own = power_[r, i]
            thr = threat_[r, i]
            own_[i] = own
            thr_[i] = thr
            tp = thr + own
            need_[i] = 0.0 if own_nuclear[i] else thr / (tp if tp > 0 else 1.0)
            tg_[i] = ppow(thr, gam)
        for _ in range(rounds):
            _founding_column(
                q, r, b, willing, power_, threat_, integration, loss_max, own_nuclear, eu_member, us, col, agg
            )  # fmt: skip
            nuc_b = md[b] * agg[5]
            one_minus_loss = 1.0 - agg[1]
            num[:] = 0.0
            for j in range(S):
                if willing[q, j]:
                    cj = col[j]
                    for i in range(S):
                        num[i] += affinity_t[a, j, i] * cj
            for i in range(S):
                still[i] = False
                if not willing[q, i]:
                    continue
                own = own_[i]
                thr = thr_[i]
                vb = md[b] * one_minus_loss * (agg[0] - col[i])
                t1, t2, total = _top_two_step(gp[i, 0], gp[i, 1], gp[i, 2], vb, b == 0)
                n1, n2, _ = _top_two_step(nucp[i, 0], nucp[i, 1], 0.0, nuc_b, b == 0)
                for s in range(nsuf):
                    t1, t2, total = _top_two_step(t1, t2, total, gs[i, s], False)
                    n1, n2, _ = _top_two_step(n1, n2, 0.0, nucs[i, s], False)
                if B == 1:
                    t2 = 0.0
                    n2 = 0.0
                # with_without for a member of b (founders count as members of b)
                max_without = t2 if vb == t1 else t1
                ov = overlap[r]
                xw = t1 + ov * (total - t1)
                xo = max_without + ov * ((total - vb) - max_without)
                n_without = n2 if nuc_b == n1 else n1
                tg = tg_[i]
                security = w_security[r] * (deterrence(ppow(own + xw, gam), tg) - deterrence(ppow(own + xo, gam), tg))
                utility_terms(
                    need_[i], w_nuclear[r], n1, n_without, num[i], agg[0] - col[i], w_affinity[r], w_attitude[r],
                    us_att[r, i], agg[2], eu_att[r, i], agg[3], w_burden[r], spending_norm[b], share[r, i],
                    w_entanglement[r], agg[4], thr, w_neutrality[r], neutrality[r, i], md[b], inertia[r], True, terms, 0,
                )  # fmt: skip
                u = utility_sum(security, terms, 0, membership_cost[r])
                u = u - inertia[r] - founding_cost[r]
                still[i] = u + noise[r, i] > 0.0
            diff = False
            n = 0
            p_all = 0.0
            p_still = 0.0
            for i in range(S):
                diff |= still[i] != willing[q, i]
                n += still[i]
                if eligible[i, b]:
                    p_all += power_[r, i]
                if still[i]:
                    p_still += power_[r, i]
            if not diff:
                break
            for i in range(S):
                willing[q, i] = still[i]
            if not (n >= min_founders and p_still >= min_power_share * p_all):
                break


@njit(cache=True, error_model="numpy")
def founding_attempts(active, b, keys, step, rate):
    """Rows where founding bloc b is on the table: inactive and the 'found_attempt:<bloc>' draw below the rate."""
    R = active.shape[0]
    rows = np.empty(R, dtype=np.int64)
    n = 0
    for r in range(R):
        if not active[r, b] and uniform(step_base(keys[r], step), 0) < rate[r]:
            rows[n] = r
            n += 1
    return rows[:n]


@njit(cache=True, error_model="numpy")
def founding_outcome(rows, willing, eligible, b, power_, min_founders, min_power_share, founders, founded):
    """The willing found the bloc if they are enough and hold enough of the eligible states' power."""
    S = willing.shape[1]
    for q in range(rows.shape[0]):
        r = rows[q]
        n = 0
        p_all = 0.0
        p_will = 0.0
        for i in range(S):
            if eligible[i, b]:
                p_all += power_[r, i]
            if willing[q, i]:
                p_will += power_[r, i]
                n += 1
        if n >= min_founders and p_will >= min_power_share * p_all:
            founded[r, b] = True
            for i in range(S):
                founders[r, i, b] = willing[q, i]


# ------------------------------------------------------------------ 9. commit
@njit(cache=True, error_model="numpy")
def commit(
    member, leaving, admitted, founders, founded, active, formed, integration, integration_max, growth, step, changed
):  # fmt: skip
    """Memberships change together; founded blocs become active; integration grows (in place).

    ``changed[r]`` tells whether replicate r's memberships changed.
    """
    R, B = active.shape
    m, lv, ad, fo = member.reshape(-1), leaving.reshape(-1), admitted.reshape(-1), founders.reshape(-1)
    for x in range(m.shape[0]):
        m[x] = (m[x] & ~lv[x]) | ad[x] | fo[x]
    lv8, ad8, fo8 = lv.view(np.uint8), ad.view(np.uint8), fo.view(np.uint8)
    n = m.shape[0] // R
    for r in range(R):
        # an exit (of a member), an admission (of a non-member) or a founding changes the replicate
        total = 0
        base = r * n
        for x in range(n):
            total += lv8[base + x] + ad8[base + x] + fo8[base + x]
        changed[r] = total != 0
        for b in range(B):
            if founded[r, b]:
                formed[r, b] = step
                active[r, b] = True
                changed[r] = True
            if active[r, b]:
                x = integration[r, b] + growth[b]
                integration[r, b] = integration_max[b] if integration_max[b] <= x else x


@njit(cache=True, error_model="numpy")
def record(effective, member, active, trajectory, members_trajectory, k):
    """Effective bloc power and member counts of step ``k`` into the trajectories."""
    R, S, B = member.shape
    for r in range(R):
        for b in range(B):
            trajectory[r, k, b] = np.float32(effective[r, b])
            c = 0
            if active[r, b]:
                for i in range(S):
                    if member[r, i, b]:
                        c += 1
            members_trajectory[r, k, b] = c
