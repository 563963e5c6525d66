"""Membership decisions that respond to change: the status quo the start reveals, crises, standing applications.

See docs/MODEL.md#decisions. Pure functions over arrays; the reference twin restates them for scalars.
"""

from __future__ import annotations

import numpy as np

from simulator.engine import portable


def bloc_switch_cost(switch_cost: np.ndarray, by_commitment: np.ndarray, mutual_defence: np.ndarray) -> np.ndarray:
    """(R, B) the gain over the reference a non-member needs before it applies to each bloc.

    c_b = switch_cost * ((1 - phi) + phi * md_b): with phi = 1 the cost of a change of alignment is
    proportional to the commitment it brings (Art. 5 of the North Atlantic Treaty, md = 1, against a
    framework such as the JEF, md = 0.2): giving up non-alignment for a mutual-defence treaty is a
    national decision (Finland's and Sweden's applications followed a government security report
    and a parliamentary vote), joining a framework nation or applying to the EU is a lesser one.
    With phi = 0 every bloc costs the same.
    """
    phi = by_commitment[:, None]
    return switch_cost[:, None] * ((1.0 - phi) + phi * mutual_defence[None, :])


def status_quo_anchor(
    u0: np.ndarray, member: np.ndarray, active: np.ndarray, switch_cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The utilities choices are measured from: (for members, for non-members), each (R, S, B).

    The memberships of the start are taken as choices (revealed preference): a member whose
    modelled utility of staying is negative has reasons the model does not see, so it is measured
    from ``min(u0, 0)``; a non-member whose utility of joining is positive likewise from
    ``max(u0, 0)``; and a non-member needs a further gain of ``switch_cost`` before it applies (an
    application is a national decision, not a drift). Blocs inactive at the start, and memberships
    that change later, are measured from 0 (members) and ``switch_cost`` (non-members).

    Args:
        u0: (R, S, B) utilities at the start (members' including their inertia).
        member: (R, S, B) memberships at the start.
        active: (R, B) blocs active at the start.
        switch_cost: (R, B) the gain over the start a non-member needs (bloc_switch_cost).
    """
    sc = switch_cost[:, None, :]
    act = active[:, None, :]
    anchor_in = np.where(member & act, np.minimum(u0, 0.0), 0.0)
    anchor_out = np.where(~member & act, np.maximum(u0, 0.0), 0.0) + sc
    return anchor_in, anchor_out


def remembered_anchor(anchor: np.ndarray, u: np.ndarray, switch_cost: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """A non-member's reference point after it declined to apply at utility ``u``.

    a' = a + lambda * max(0, max(u, 0) + switch_cost - a): a declined decision reveals the status quo
    anew, as the start does (status_quo_anchor), so the next application needs a further gain of
    ``switch_cost`` over the utility at which the state last said no. With lambda = 1 a choice
    weighed and declined at one level of utility is not re-rolled at that level every quarter (a
    shock that is not enough on the day does not become enough by waiting); with lambda = 0 the
    reference stays where the start put it. The reference only rises: a fall of utility after a
    decline does not make the next application easier than the start did.
    """
    gap = (np.maximum(u, 0.0) + switch_cost) - anchor
    return anchor + memory * np.maximum(gap, 0.0)


def revision_probability(rate: np.ndarray, threat: np.ndarray, previous: np.ndarray, crisis: np.ndarray) -> np.ndarray:
    """(R, S) chance to reconsider memberships: the base rate, raised by a jump in perceived threat.

    p = rate + (1 - rate) * clip(crisis * (T / T_prev - 1), 0, 1): a state whose threat rose by
    1/crisis of its level since the last quarter reconsiders for certain (a crisis forces a decision).
    """
    rel = np.where(previous > 0.0, threat / np.where(previous > 0.0, previous, 1.0) - 1.0, 0.0)
    r = rate[:, None]
    return r + (1.0 - r) * np.clip(crisis[:, None] * rel, 0.0, 1.0)


def standing_applications(
    standing: np.ndarray,
    pending: np.ndarray,
    applying: np.ndarray,
    active: np.ndarray,
    member: np.ndarray,
    barred: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Applications stand until decided; returns (standing, quarters pending), both (R, S, B).

    New applications join the standing ones; an application to an inactive bloc, of a member, or of
    a barred state lapses. Withdrawals are scenario events (a ``withdraw`` shock bars the state), not
    drift: once a government has applied, a quarter of doubt does not take the application back.
    """
    now = (standing | applying) & active[:, None, :] & ~member & ~barred
    return now, np.where(now, pending + 1, 0)


def choice_draw(draw: np.ndarray, stance: np.ndarray, persistence: np.ndarray) -> np.ndarray:
    """The logistic part of a membership choice: (1 - rho) * this quarter's draw + rho * a persistent stance.

    ``stance`` is drawn once per replicate for each state and bloc (stream 'stance:<bloc>', step
    -1), so a state that is against a bloc stays against it unless its utility changes: with
    rho = 0 every quarter is a fresh coin toss, and a small per-quarter chance of applying adds up
    over a long calm horizon (Finland after Crimea). At rho = 0 the value is the draw exactly.
    """
    return (1.0 - persistence) * draw + persistence * stance


def bargaining(pending: np.ndarray, rate: np.ndarray, most: np.ndarray) -> np.ndarray:
    """What concessions add to every voter's view of an applicant: min(rate * quarters pending, most)."""
    return np.minimum(rate * pending, most)


def opinion_shift(neutrality: np.ndarray, floor: np.ndarray, exposure: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Neutral opinion after an attack: n * exp(-strength * exposure^2), not below the legal floor.

    ``exposure`` is severity x nearness to the front x nearness to the attacker; squared, so that a
    full-scale war moves opinion and a limited one barely does (Finnish support for NATO went from
    about 20% to 26% after 2014, to about 75% after February 2022). The floor is the neutrality a
    constitution or law fixes (docs/MODEL.md#opinion), which a war abroad does not move.
    """
    return np.maximum(floor, neutrality * portable.exp(-strength * (exposure * exposure)))
