"""Bloc power: commitment-weighted pooled power minus a coordination loss (docs/MODEL.md#bloc-power)."""

from __future__ import annotations

import numpy as np

from simulator.engine.mechanisms import seqsum


def contributions(member: np.ndarray, commitment: np.ndarray, power: np.ndarray, active: np.ndarray) -> np.ndarray:
    """c_ib P_i for members of active blocs, else 0. Shapes (R,S,B), (R,S,B), (R,S), (R,B)."""
    return np.where(member & active[:, None, :], commitment * power[:, :, None], 0.0)


def pooled(contrib: np.ndarray) -> np.ndarray:
    """Raw pooled power per bloc, (R, B)."""
    return seqsum(contrib, 1)


def coordination_loss(
    contrib: np.ndarray, raw: np.ndarray, integration: np.ndarray, loss_max: np.ndarray
) -> np.ndarray:
    """lambda_b = lambda_max (1 - integration_b)(1 - HHI_b); HHI of the members' power shares.

    HHI_b = sum_i (c_i / R_b)^2, computed as (sum_i c_i^2) / R_b^2: one pass over the members
    (1 where R_b^2 is 0).
    """
    rr = raw * raw
    hhi = np.where(rr > 0, seqsum(contrib * contrib, 1) / np.where(rr > 0, rr, 1.0), 1.0)
    return loss_max[:, None] * (1.0 - integration) * (1.0 - hhi)


def effective_power(raw: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """E_b = raw_b (1 - lambda_b)."""
    return raw * (1.0 - loss)


def umbrella(member: np.ndarray, commitment: np.ndarray, own_nuclear: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Nuclear umbrella of each bloc: the strongest commitment of a nuclear-armed member, (R, B)."""
    nuc = np.where(member & active[:, None, :] & own_nuclear[None, :, None], commitment, 0.0)
    return nuc.max(axis=1)
