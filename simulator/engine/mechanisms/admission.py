"""Admission: members vote on applicants by the bloc's rule; vetoes emerge from low affinity (docs/MODEL.md#admission)."""

from __future__ import annotations

import numpy as np

from simulator.engine import portable
from simulator.engine.mechanisms import seqsum
from simulator.scenario.rules import ADMISSION_CODES

# The admission rules as the integer codes of World.admission (defined once, in the scenario language),
# read by the numpy phases, the compiled kernels and the reference twin.
RULE_CODES = ADMISSION_CODES
OPEN, UNANIMITY, QMV, LEADER, CLOSED = (
    RULE_CODES["open"],
    RULE_CODES["unanimity"],
    RULE_CODES["qualified_majority"],
    RULE_CODES["leader"],
    RULE_CODES["closed"],
)


def accession_duration(u: np.ndarray, stood: np.ndarray, median: float, shape: float, minimum: int) -> np.ndarray:
    """Quarters an application must stand before a vote can admit it, drawn from a log-logistic.

    F(t) = 1 / (1 + (t / median)^-shape). An application that has already stood ``stood`` quarters
    draws its total duration conditional on exceeding that: ``D = F^-1(F(a) + u (1 - F(a)))``
    (inverse-CDF sampling of the truncated distribution; ``u`` uniform in (0, 1)). Rounded up to
    whole quarters, never below the bloc's ``minimum`` (``accession_quarters``). Portable
    arithmetic (simulator.engine.portable), so every CPU draws the same quarters.
    """
    a = np.asarray(stood, dtype=float)
    za = portable.power(np.where(a > 0.0, a, 1.0) / median, shape)
    fa = np.where(a > 0.0, za / (1.0 + za), 0.0)
    q = fa + u * (1.0 - fa)
    d = median * portable.power(q / (1.0 - q), 1.0 / shape)
    return np.maximum(minimum, np.ceil(np.minimum(d, 100_000.0))).astype(np.int64)


def entanglement_risk(voter_threat: np.ndarray, applicant_threat: np.ndarray) -> np.ndarray:
    """max(0, T_a - T_m) / (T_a + T_m): how much more exposed the applicant is than the voter."""
    tot = voter_threat + applicant_threat
    return np.maximum(0.0, applicant_threat - voter_threat) / np.where(tot > 0, tot, 1.0)


def vote_yes(
    affinity_to_applicant: np.ndarray, noise: np.ndarray, threshold: np.ndarray, vetoed: np.ndarray
) -> np.ndarray:
    """A member votes yes when a_ma + noise > threshold and it has not declared a veto."""
    return (affinity_to_applicant + noise > threshold) & ~vetoed


def decide(
    rule: int,
    yes: np.ndarray,
    voters: np.ndarray,
    voter_power: np.ndarray,
    leader_yes: bool | np.ndarray,
    qmv_states: float,
    qmv_power: float,
) -> bool | np.ndarray:
    """Whether an applicant is admitted, given one bloc's rule and its members' votes.

    Arrays have the voters on their last axis.
    """
    n = voters.sum(axis=-1)
    if rule == OPEN:
        return np.ones_like(n, dtype=bool)
    if rule == CLOSED:
        return np.zeros_like(n, dtype=bool)
    if rule == LEADER:
        return np.asarray(leader_yes) | (n == 0)
    n_yes = (yes & voters).sum(axis=-1)
    if rule == UNANIMITY:
        return n_yes == n
    power_all = seqsum(np.where(voters, voter_power, 0.0), -1)
    power_yes = seqsum(np.where(yes & voters, voter_power, 0.0), -1)
    return (n == 0) | ((n_yes >= qmv_states * n) & (power_yes >= qmv_power * power_all))
