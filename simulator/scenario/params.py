"""Model parameters: names, defaults, bounds and meaning (docs/MODEL.md explains each)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamSpec:
    """One model parameter."""

    default: float
    low: float
    high: float
    unit: str
    meaning: str


PARAMS: dict[str, ParamSpec] = {
    # power
    "capital_depreciation": ParamSpec(
        0.025, 0.0, 0.5, "1/quarter", "depreciation of the military capital stock per quarter"
    ),
    "reserve_weight": ParamSpec(0.25, 0.0, 1.0, "", "weight of a reservist relative to an active soldier"),
    "w_capital": ParamSpec(0.35, 0.0, 1.0, "", "CINC-like weight of the military capital share"),
    "w_personnel": ParamSpec(0.25, 0.0, 1.0, "", "weight of the personnel share"),
    "w_equipment": ParamSpec(0.15, 0.0, 1.0, "", "weight of the equipment (tanks, combat aircraft) share"),
    "w_economy": ParamSpec(0.15, 0.0, 1.0, "", "weight of the GDP share"),
    "w_population": ParamSpec(0.10, 0.0, 1.0, "", "weight of the population share"),
    "combat_quality": ParamSpec(0.25, 0.0, 2.0, "", "power bonus of current high-intensity combat experience"),
    # threat
    "threat_decay_km": ParamSpec(
        1500.0, 100.0, 20000.0, "km", "distance over which hostile power loses 1/e of its threat"
    ),
    "attack_hostility": ParamSpec(
        0.2, 0.0, 2.0, "", "fall of a wary state's affinity to an attacker per unit of severity x nearness to the front"
    ),
    "attack_opinion": ParamSpec(
        3.0, 0.0, 20.0, "", "shift of neutral opinion per squared unit of severity x nearness to front and attacker"
    ),
    # bloc power
    "coordination_loss_max": ParamSpec(
        0.30, 0.0, 0.9, "", "coordination loss of a fully fragmented, unintegrated bloc"
    ),
    # utility
    "w_security": ParamSpec(6.0, 0.0, 50.0, "", "weight of the gain in deterrence probability"),
    "csf_exponent": ParamSpec(1.0, 0.1, 5.0, "", "decisiveness of the contest success function"),
    "overlap_value": ParamSpec(0.25, 0.0, 1.0, "", "value of guarantees beyond the strongest one"),
    "w_nuclear": ParamSpec(1.0, 0.0, 10.0, "", "weight of a nuclear umbrella for a non-nuclear state"),
    "w_affinity": ParamSpec(1.0, 0.0, 10.0, "", "weight of the power-weighted affinity to members"),
    "w_attitude": ParamSpec(0.8, 0.0, 10.0, "", "weight of attitudes to the US and to the EU"),
    "w_burden": ParamSpec(0.15, 0.0, 5.0, "1/pp of GDP", "cost per point of GDP the bloc norm is above own spending"),
    "w_entanglement": ParamSpec(0.5, 0.0, 10.0, "", "weight of the risk of being drawn into members' conflicts"),
    "w_neutrality": ParamSpec(
        2.0, 0.0, 10.0, "", "cost of an alliance commitment to a state with a neutrality preference"
    ),
    "membership_cost": ParamSpec(0.2, -5.0, 5.0, "", "fixed cost of belonging to a bloc"),
    "inertia": ParamSpec(3.0, 0.0, 10.0, "", "status-quo bonus of staying in a bloc one is in"),
    "choice_noise": ParamSpec(0.4, 0.01, 10.0, "", "scale of the logistic noise of membership choices"),
    "choice_persistence": ParamSpec(
        0.0,
        0.0,
        1.0,
        "",
        "weight of a state's persistent stance on a bloc (drawn once per replicate) in its choice noise",
    ),
    "switch_cost": ParamSpec(1.3, 0.0, 10.0, "", "gain in utility over the start a non-member needs before it applies"),
    "switch_by_commitment": ParamSpec(
        0.0,
        0.0,
        1.0,
        "",
        "share of the switching cost that scales with the bloc's mutual-defence commitment (1: cost x commitment)",
    ),
    "decision_memory": ParamSpec(
        1.0,
        0.0,
        1.0,
        "",
        "share of the way a declined application moves the reference point up to the utility it was declined at",
    ),
    "crisis_revision": ParamSpec(
        1.0, 0.0, 10.0, "", "extra chance to reconsider per unit of relative rise of perceived threat in a quarter"
    ),
    "revision_rate": ParamSpec(
        0.0625,
        0.0,
        1.0,
        "1/quarter",
        "probability that a state reconsiders its memberships in a quarter",
    ),
    # admission and founding
    "veto_threshold": ParamSpec(-0.25, -2.0, 2.0, "", "affinity below which a member votes against an applicant"),
    "vote_noise": ParamSpec(
        0.15, 0.0, 5.0, "", "scale of a member's persistent stance on an applicant (logistic, drawn once per replicate)"
    ),
    "w_vote_entanglement": ParamSpec(
        0.2, 0.0, 10.0, "", "weight of the risk of admitting an applicant more threatened than the voter"
    ),
    "bargain_rate": ParamSpec(
        0.1, 0.0, 2.0, "1/quarter", "rise of every voter's view of an applicant per quarter its application stands"
    ),
    "bargain_max": ParamSpec(0.5, 0.0, 5.0, "", "the most that bargaining adds to a voter's view of an applicant"),
    "qmv_states": ParamSpec(0.55, 0.0, 1.0, "", "share of members needed under qualified majority"),
    "qmv_power": ParamSpec(0.65, 0.0, 1.0, "", "share of member power needed under qualified majority"),
    "founding_cost": ParamSpec(0.7, 0.0, 10.0, "", "political and institutional cost of founding a new bloc"),
    "founding_noise": ParamSpec(
        0.15, 0.01, 10.0, "", "scale of a state's persistent logistic stance on founding a bloc"
    ),
    "founding_rate": ParamSpec(
        0.25,
        0.0,
        1.0,
        "1/quarter",
        "probability that founding a latent bloc is on the table in a quarter",
    ),
    # spending
    "threat_response": ParamSpec(0.5, 0.0, 5.0, "", "elasticity of target spending to the change in threat"),
    "norm_pull": ParamSpec(0.5, 0.0, 1.0, "", "share of the gap to the strictest bloc norm a state closes"),
    "spending_adjustment": ParamSpec(0.1, 0.0, 1.0, "1/quarter", "speed at which spending moves to its target"),
    "fiscal_cap": ParamSpec(
        5.0, 0.5, 50.0, "% of GDP", "highest peacetime spending share (wartime states keep theirs)"
    ),
    # outcomes
    "usd_per_eur": ParamSpec(
        1.0824, 0.5, 2.0, "USD/EUR", "exchange rate for the Bruegel comparison (ECB 2024 average)"
    ),
}


def defaults() -> dict[str, float]:
    """Default value of every parameter."""
    return {k: v.default for k, v in PARAMS.items()}
