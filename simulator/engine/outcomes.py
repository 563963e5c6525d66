"""Outcomes of each replicate, reduced from the final state inside the worker (docs/MODEL.md#outcomes)."""

from __future__ import annotations

import numpy as np

from simulator.engine.mechanisms import seqsum

# Bruegel & Kiel Institute (Burilkov & Wolff, 21 Feb 2025): replacing the US in Europe needs capacity
# equal to 300,000 US troops and about EUR 250 bn a year of extra spending.
BRUEGEL_TROOPS_K = 300.0
BRUEGEL_EXTRA_EUR_BN = 250.0

BLOC_FIELDS = (
    "active", "members", "formed_step", "spending_usd_bn", "personnel_k", "reserves_k", "warheads",
    "tanks", "aircraft", "raw_power", "effective_power", "coordination_loss", "power_ratio",
)  # fmt: skip


def reduce_outcomes(model) -> dict[str, np.ndarray]:
    """Outcome columns, each of length R, from a model that has run its horizon."""
    st, w, p = model.state, model.world, model.params
    R = model.R
    out: dict[str, np.ndarray] = {"replicate": model.replicates.astype(np.int64)}
    mem = st.member & st.active[:, None, :]
    spend_usd_bn = st.share * w.gdp_usd_bn / 100.0  # (R,S) a year
    adv = w.adversary
    adv_power = st.effective[:, adv] if adv >= 0 else np.zeros(R)
    for b, code in enumerate(w.bloc_codes):
        m = mem[:, :, b]
        out[f"{code}.active"] = st.active[:, b].copy()
        out[f"{code}.members"] = m.sum(axis=1).astype(np.int64)
        out[f"{code}.formed_step"] = np.where(
            st.formed[:, b] >= 0, st.formed[:, b], np.nan
        )  # NaN: not founded in the run
        out[f"{code}.spending_usd_bn"] = seqsum(np.where(m, spend_usd_bn, 0.0), 1)
        out[f"{code}.personnel_k"] = seqsum(np.where(m, w.active_k, 0.0), 1)
        out[f"{code}.reserves_k"] = seqsum(np.where(m, w.reserve_k, 0.0), 1)
        out[f"{code}.warheads"] = seqsum(np.where(m, w.warheads, 0.0), 1)
        out[f"{code}.tanks"] = seqsum(np.where(m, w.tanks, 0.0), 1)
        out[f"{code}.aircraft"] = seqsum(np.where(m, w.aircraft, 0.0), 1)
        out[f"{code}.raw_power"] = st.raw[:, b].copy()
        out[f"{code}.effective_power"] = st.effective[:, b].copy()
        out[f"{code}.coordination_loss"] = st.loss[:, b].copy()
        out[f"{code}.power_ratio"] = np.where(
            adv_power > 0, st.effective[:, b] / np.where(adv_power > 0, adv_power, 1.0), np.inf
        )
    us = model.guarantor  # the external guarantor (outcomes.guarantor, default USA); -1 if not in the world
    # a European alliance without the guarantor: a designated bloc founded during the run, active, guarantor not in it
    euro = np.zeros(R, dtype=bool)
    euro_power = np.zeros(R)
    euro_members = np.zeros(R, dtype=np.int64)
    euro_step = np.full(R, -1, dtype=np.int64)
    key_in = {code: np.zeros(R, dtype=bool) for code in w.key_states}
    for b in w.european_blocs:
        ok = st.active[:, b] & (st.formed[:, b] >= 0)
        if us >= 0:
            ok &= ~mem[:, us, b]
        better = ok & (st.effective[:, b] > euro_power)
        euro_power = np.where(better, st.effective[:, b], euro_power)
        euro_members = np.where(better, mem[:, :, b].sum(axis=1), euro_members)
        euro_step = np.where(ok & ((euro_step < 0) | (st.formed[:, b] < euro_step)), st.formed[:, b], euro_step)
        euro |= ok
        for code in w.key_states:
            key_in[code] |= ok & mem[:, w.index(code), b]
    out["euro_alliance_formed"] = euro
    out["euro_alliance_step"] = np.where(euro, euro_step, np.nan)
    out["euro_alliance_members"] = euro_members
    out["euro_alliance_power"] = euro_power
    out["euro_alliance_power_if_formed"] = np.where(euro, euro_power, np.nan)
    out["euro_alliance_power_ratio"] = np.where(
        adv_power > 0, euro_power / np.where(adv_power > 0, adv_power, 1.0), np.inf
    )
    for code, v in key_in.items():
        out[f"{code}_in_euro_alliance"] = v
    alliance = model.spec.outcomes.reference_alliance  # default NATO
    if alliance in w.bloc_codes and us >= 0:  # named for the defaults: the guarantor in the reference alliance
        out["us_in_nato"] = mem[:, us, w.bloc_index(alliance)].copy()
    # the Bruegel-Kiel comparison: extra spending of the group against 2025, in EUR bn a year
    extra_usd = seqsum(np.where(w.bruegel_mask, (st.share - w.share0) * w.gdp_usd_bn / 100.0, 0.0), 1)
    extra_eur = extra_usd / p["usd_per_eur"]
    out["bruegel_extra_spending_eur_bn"] = extra_eur
    out["bruegel_spending_gap_eur_bn"] = BRUEGEL_EXTRA_EUR_BN - extra_eur
    troops = extra_eur / BRUEGEL_EXTRA_EUR_BN * BRUEGEL_TROOPS_K
    out["bruegel_troop_equivalents_k"] = troops
    out["bruegel_troop_gap_k"] = BRUEGEL_TROOPS_K - troops
    for b, code in enumerate(w.bloc_codes):
        for i, state in enumerate(w.codes):
            out[f"member.{code}.{state}"] = mem[:, i, b].copy()
    return out


def key_outcomes(columns: list[str]) -> list[str]:
    """The headline outcomes shown in summaries, in display order."""
    first = [
        "euro_alliance_formed",
        "euro_alliance_step",
        "euro_alliance_members",
        "euro_alliance_power",
        "euro_alliance_power_if_formed",
        "euro_alliance_power_ratio",
    ]
    keyed = [c for c in columns if c.endswith("_in_euro_alliance")]
    rest = [
        "us_in_nato",
        "bruegel_extra_spending_eur_bn",
        "bruegel_spending_gap_eur_bn",
        "bruegel_troop_equivalents_k",
        "bruegel_troop_gap_k",
    ]
    return [c for c in first + keyed + rest if c in columns]
