"""Membership utility: security, nuclear umbrella, affinity, attitudes, burden, entanglement, neutrality.

See docs/MODEL.md#membership-utility for the formula and its sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.mechanisms import seqsum


@dataclass
class UtilityInputs:
    """Everything the utility needs for one step (leading axis R)."""

    member: np.ndarray  # (R,S,B) bool
    contrib: np.ndarray  # (R,S,B)
    raw: np.ndarray  # (R,B)
    loss: np.ndarray  # (R,B)
    umbrella: np.ndarray  # (R,B)
    power: np.ndarray  # (R,S)
    threat: np.ndarray  # (R,S)
    share: np.ndarray  # (R,S) spending % GDP
    affinity: np.ndarray  # (R,S,S)
    us_attitude: np.ndarray  # (R,S)
    eu_attitude: np.ndarray  # (R,S)
    neutrality: np.ndarray  # (R,S)


def deterrence(x: np.ndarray, threat: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Tullock contest success function: x^g / (x^g + T^g); 1 when there is no threat."""
    xg = np.power(x, gamma)
    tg = np.power(threat, gamma)
    den = xg + tg
    return np.where(den > 0, xg / np.where(den > 0, den, 1.0), 0.5)


def guarantees(inp: UtilityInputs, mutual_defence: np.ndarray) -> np.ndarray:
    """G_ib = m_b (1 - lambda_b)(raw_b - c_ib P_i): the others' effective power that b pledges to i."""
    others = inp.raw[:, None, :] - inp.contrib
    return mutual_defence[None, None, :] * (1.0 - inp.loss[:, None, :]) * others


def protection_with_without(g: np.ndarray, member: np.ndarray, overlap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protection beyond own power with and without each bloc, (R,S,B) each.

    X(M) = max_{b in M} G_b + overlap * (sum_{b in M} G_b - max_{b in M} G_b)
    """
    R, S, B = g.shape
    gm = np.where(member, g, 0.0)
    total = seqsum(gm, 2)  # (R,S)
    order = np.sort(gm, axis=2)
    top1 = order[:, :, -1]
    top2 = order[:, :, -2] if B > 1 else np.zeros((R, S))
    is_top = member & (gm == top1[:, :, None])
    # without b (b a member): remove it; with b (b not a member): add it
    max_without = np.where(is_top, top2[:, :, None], top1[:, :, None])
    sum_without = np.where(member, total[:, :, None] - g, total[:, :, None])
    max_without = np.where(member, max_without, top1[:, :, None])
    max_with = np.where(member, top1[:, :, None], np.maximum(top1[:, :, None], g))
    sum_with = np.where(member, total[:, :, None], total[:, :, None] + g)
    ov = overlap[:, None, None]
    return max_with + ov * (sum_with - max_with), max_without + ov * (sum_without - max_without)


def utilities(
    inp: UtilityInputs,
    blocs,
    p: dict[str, np.ndarray],
    us_index: int,
    eu_member: np.ndarray,
    own_nuclear: np.ndarray,
) -> np.ndarray:
    """U_ib for every state and bloc, (R,S,B). Inertia is included for current members."""
    R, S, B = inp.contrib.shape
    md = blocs.mutual_defence
    g = guarantees(inp, md)
    x_with, x_without = protection_with_without(g, inp.member, p["overlap_value"])
    own = inp.power[:, :, None]
    thr = inp.threat[:, :, None]
    gamma = p["csf_exponent"][:, None, None]
    security = p["w_security"][:, None, None] * (
        deterrence(own + x_with, thr, gamma) - deterrence(own + x_without, thr, gamma)
    )

    # nuclear umbrella: strongest pledged umbrella with and without b
    nuc_b = md[None, None, :] * inp.umbrella[:, None, :] * np.ones((1, S, 1))
    nuc_m = np.where(inp.member, nuc_b, 0.0)
    order = np.sort(nuc_m, axis=2)
    n1 = order[:, :, -1][:, :, None]
    n2 = (order[:, :, -2] if B > 1 else np.zeros((R, S)))[:, :, None]
    n_without = np.where(inp.member & (nuc_m == n1), n2, n1)
    n_with = np.where(inp.member, n1, np.maximum(n1, nuc_b))
    tp = inp.threat + inp.power
    need = np.where(own_nuclear[None, :], 0.0, inp.threat / np.where(tp > 0, tp, 1.0))
    nuclear = p["w_nuclear"][:, None, None] * need[:, :, None] * (n_with - n_without)

    # affinity to the other members, weighted by their committed power (landscape-style)
    num = np.matmul(inp.affinity, inp.contrib)  # (R,S,B)
    den = inp.raw[:, None, :] - inp.contrib
    aff = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    affinity = p["w_affinity"][:, None, None] * aff

    safe_raw = np.where(inp.raw > 0, inp.raw, 1.0)
    us_share = inp.contrib[:, us_index, :] / safe_raw if us_index >= 0 else np.zeros((R, B))
    eu_share = seqsum(np.where(eu_member[None, :, None], inp.contrib, 0.0), 1) / safe_raw
    attitude = p["w_attitude"][:, None, None] * (
        inp.us_attitude[:, :, None] * us_share[:, None, :] + inp.eu_attitude[:, :, None] * eu_share[:, None, :]
    )

    burden = p["w_burden"][:, None, None] * np.maximum(0.0, blocs.spending_norm[None, None, :] - inp.share[:, :, None])

    tbar = seqsum(inp.contrib * inp.threat[:, :, None], 1) / safe_raw  # (R,B)
    tsum = tbar[:, None, :] + thr
    entangle = (
        p["w_entanglement"][:, None, None] * np.maximum(0.0, tbar[:, None, :] - thr) / np.where(tsum > 0, tsum, 1.0)
    )

    neutral = p["w_neutrality"][:, None, None] * inp.neutrality[:, :, None] * md[None, None, :]
    inertia = p["inertia"][:, None, None] * inp.member
    return (
        security
        + nuclear
        + affinity
        + attitude
        - burden
        - entangle
        - neutral
        - p["membership_cost"][:, None, None]
        + inertia
    )
