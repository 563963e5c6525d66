"""Membership utility: security, nuclear umbrella, affinity, attitudes, burden, entanglement, neutrality.

See docs/MODEL.md#membership-utility for the formula and its sources. The utility is evaluated for
chosen (replicate, state) pairs only (the states that revise in a step), against per-replicate bloc
aggregates (a ``BlocView``); every reduction runs in index order so that results do not depend on how
replicates are grouped and equal the plain per-agent reference to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.engine import portable
from simulator.engine.mechanisms import blocs as bl
from simulator.engine.mechanisms import seqsum


@dataclass
class BlocView:
    """Per-replicate aggregates of every bloc (leading axis: the rows of this view)."""

    member: np.ndarray  # (R',S,B) bool
    contrib: np.ndarray  # (R',S,B) committed power of members of active blocs
    raw: np.ndarray  # (R',B)
    loss: np.ndarray  # (R',B) coordination loss
    effective: np.ndarray  # (R',B)
    umbrella: np.ndarray  # (R',B)
    us_share: np.ndarray  # (R',B) share of the bloc's power from the US
    eu_share: np.ndarray  # (R',B) share from EU members
    tbar: np.ndarray  # (R',B) power-weighted mean threat of members


def bloc_view(
    member, commitment, power, active, integration, loss_max, threat, own_nuclear, eu_member, us_index
) -> BlocView:
    """Aggregates of every bloc from memberships, commitments and state power/threat, (R',...)."""
    contrib = bl.contributions(member, commitment, power, active)
    raw = bl.pooled(contrib)
    loss = bl.coordination_loss(contrib, raw, integration, loss_max)
    safe_raw = np.where(raw > 0, raw, 1.0)
    R, _, B = contrib.shape
    us_share = contrib[:, us_index, :] / safe_raw if us_index >= 0 else np.zeros((R, B))
    eu_share = seqsum(np.where(eu_member[None, :, None], contrib, 0.0), 1) / safe_raw
    tbar = seqsum(contrib * threat[:, :, None], 1) / safe_raw
    return BlocView(
        member=member, contrib=contrib, raw=raw, loss=loss, effective=bl.effective_power(raw, loss),
        umbrella=bl.umbrella(member, commitment, own_nuclear, active), us_share=us_share, eu_share=eu_share, tbar=tbar,
    )  # fmt: skip


@dataclass
class StateView:
    """Per-replicate state quantities the utility reads, (R, S) each; affinity (R, S, S)."""

    power: np.ndarray
    threat: np.ndarray
    share: np.ndarray
    affinity: np.ndarray
    us_attitude: np.ndarray
    eu_attitude: np.ndarray
    neutrality: np.ndarray


def deterrence(x: np.ndarray, threat: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Tullock contest success function: x^g / (x^g + T^g); 1 when there is no threat.

    The powers are simulator.engine.portable.power (exact for g == 1, identical on every CPU).
    """
    xg = portable.power(x, gamma)
    tg = portable.power(threat, gamma)
    den = xg + tg
    return np.where(den > 0, xg / np.where(den > 0, den, 1.0), 0.5)


def with_without(value: np.ndarray, member: np.ndarray, overlap: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Protection with and without each bloc from per-bloc pledges ``value`` (n, B).

    With overlap: X(M) = max_{b in M} v_b + overlap * (sum_{b in M} v_b - max_{b in M} v_b).
    Without overlap (None): X(M) = max_{b in M} v_b.
    """
    n, B = value.shape
    vm = np.where(member, value, 0.0)
    order = np.sort(vm, axis=1)
    top1 = order[:, -1:]
    top2 = order[:, -2:-1] if B > 1 else np.zeros((n, 1))
    max_without = np.where(member & (vm == top1), top2, top1)
    max_with = np.where(member, top1, np.maximum(top1, value))
    if overlap is None:
        return max_with, max_without
    total = seqsum(vm, 1)[:, None]
    sum_without = np.where(member, total - value, total)
    sum_with = np.where(member, total, total + value)
    ov = overlap[:, None]
    return max_with + ov * (sum_with - max_with), max_without + ov * (sum_without - max_without)


def affinity_to_members(
    affinity: np.ndarray, contrib: np.ndarray, vrow: np.ndarray, srow: np.ndarray, state: np.ndarray, blocs: list[int]
) -> np.ndarray:
    """sum_j a_ij c_jb P_j in index order for pairs (replicate, state) and the given blocs, (n, len(blocs)).

    Sources j whose committed power is zero in every row are skipped: adding an exact zero
    does not change a float sum, so the result equals the plain loop over all j.
    """
    n = len(state)
    out = np.zeros((n, len(blocs)))
    sub = contrib[:, :, blocs]
    sources = np.flatnonzero((sub != 0.0).any(axis=(0, 2)))
    if n == 0 or len(sources) == 0:
        return out
    sub_t = np.ascontiguousarray(sub[:, sources, :].transpose(1, 0, 2))  # (k, R', nb)
    if affinity.strides[0] == 0:  # one affinity matrix shared by every replicate
        aff_t = np.ascontiguousarray(affinity[0][np.ix_(state, sources)].T)  # (k, n)
    else:
        aff_t = np.ascontiguousarray(affinity[srow[:, None], state[:, None], sources[None, :]].T)
    for k in range(len(sources)):
        out += aff_t[k][:, None] * sub_t[k][vrow]
    return out


def utilities_at(
    view: BlocView,
    vrow: np.ndarray,
    srow: np.ndarray,
    state: np.ndarray,
    sv: StateView,
    p: dict[str, np.ndarray],
    mutual_defence: np.ndarray,
    spending_norm: np.ndarray,
    own_nuclear: np.ndarray,
    blocs: list[int] | None = None,
) -> np.ndarray:
    """U_ib for pairs (replicate, state): view row ``vrow``, replicate ``srow``, state ``state``, (n, B).

    Inertia is included for current members. With ``blocs``, the affinity term is computed only for
    those columns (the others are not valid then).
    """
    md = mutual_defence[None, :]
    member = view.member[vrow, state, :]
    contrib_i = view.contrib[vrow, state, :]
    loss = view.loss[vrow]
    g = md * (1.0 - loss) * (view.raw[vrow] - contrib_i)
    x_with, x_without = with_without(g, member, p["overlap_value"][srow])
    own = sv.power[srow, state][:, None]
    thr = sv.threat[srow, state][:, None]
    gamma = p["csf_exponent"][srow, None]
    security = p["w_security"][srow, None] * (
        deterrence(own + x_with, thr, gamma) - deterrence(own + x_without, thr, gamma)
    )

    nuc_b = md * view.umbrella[vrow]
    n_with, n_without = with_without(nuc_b, member, None)
    tp = thr + own
    need = np.where(own_nuclear[state][:, None], 0.0, thr / np.where(tp > 0, tp, 1.0))
    nuclear = p["w_nuclear"][srow, None] * need * (n_with - n_without)

    cols = list(range(member.shape[1])) if blocs is None else list(blocs)
    num = np.zeros(member.shape)
    num[:, cols] = affinity_to_members(sv.affinity, view.contrib, vrow, srow, state, cols)
    den = view.raw[vrow] - contrib_i
    affinity = p["w_affinity"][srow, None] * np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)

    attitude = p["w_attitude"][srow, None] * (
        sv.us_attitude[srow, state][:, None] * view.us_share[vrow]
        + sv.eu_attitude[srow, state][:, None] * view.eu_share[vrow]
    )
    burden = p["w_burden"][srow, None] * np.maximum(0.0, spending_norm[None, :] - sv.share[srow, state][:, None])
    tbar = view.tbar[vrow]
    tsum = tbar + thr
    entangle = p["w_entanglement"][srow, None] * np.maximum(0.0, tbar - thr) / np.where(tsum > 0, tsum, 1.0)
    neutral = p["w_neutrality"][srow, None] * sv.neutrality[srow, state][:, None] * md
    inertia = p["inertia"][srow, None] * member
    return (
        security
        + nuclear
        + affinity
        + attitude
        - burden
        - entangle
        - neutral
        - p["membership_cost"][srow, None]
        + inertia
    )
