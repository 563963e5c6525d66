"""Power: a CINC-like composite of capability shares times a quality factor (docs/MODEL.md#power)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.engine.mechanisms import seqsum


@dataclass(frozen=True)
class Normalisers:
    """World totals at the baseline that turn capabilities into shares (constant over a run)."""

    active: float
    reserve: float
    tanks: float
    aircraft: float
    gdp: float
    population: float
    quarterly_spend: float  # sum over states of baseline quarterly spending (USD m)


def quarterly_spending(share_pct: np.ndarray, gdp_usd_bn: np.ndarray) -> np.ndarray:
    """Quarterly military spending in USD m from a share of GDP (%) and GDP (USD bn a year)."""
    return share_pct * gdp_usd_bn * 2.5  # /100 * 1000 / 4


def personnel(active_k: np.ndarray, reserve_k: np.ndarray, reserve_weight: np.ndarray | float) -> np.ndarray:
    """Personnel in thousands of active-equivalents."""
    return active_k + reserve_weight * reserve_k


def normalisers(world) -> Normalisers:
    """Baseline totals (sequential sums, shared by both implementations)."""

    def total(v: np.ndarray) -> float:
        return float(seqsum(np.asarray(v, dtype=float), 0))

    return Normalisers(
        active=total(world.active_k),
        reserve=total(world.reserve_k),
        tanks=max(total(world.tanks), 1.0),
        aircraft=max(total(world.aircraft), 1.0),
        gdp=total(world.gdp_usd_bn),
        population=total(world.population_m),
        quarterly_spend=total(quarterly_spending(world.share0, world.gdp_usd_bn)),
    )


@dataclass(frozen=True)
class FixedShares:
    """The capability shares that do not change within a run (length S each)."""

    equipment: np.ndarray  # mean of the state's shares of the world's tanks and combat aircraft
    gdp: np.ndarray
    population: np.ndarray


def fixed_shares(world, n: Normalisers) -> FixedShares:
    """Equipment, GDP and population shares of every state (the fixed terms of ``composite_power``)."""
    return FixedShares(
        equipment=0.5 * (world.tanks / n.tanks + world.aircraft / n.aircraft),
        gdp=world.gdp_usd_bn / n.gdp,
        population=world.population_m / n.population,
    )


def capital_update(capital: np.ndarray, spend_q: np.ndarray, depreciation: np.ndarray) -> np.ndarray:
    """Perpetual-inventory military capital: K' = (1 - delta) K + quarterly spending."""
    return (1.0 - depreciation) * capital + spend_q


def composite_power(
    capital: np.ndarray,
    capital_norm: np.ndarray,
    pers: np.ndarray,
    equipment_share: np.ndarray,
    gdp_share: np.ndarray,
    pop_share: np.ndarray,
    quality: np.ndarray,
    mobilisation: np.ndarray,
    reserve_weight: np.ndarray | float,
    w: tuple[np.ndarray, ...],
    n: Normalisers,
) -> np.ndarray:
    """Power in points (the 48-state world at baseline sums to about 100).

    P = 100 * q * m * (wK K/K* + wP p/p* + wE e + wY y + wN n) / (wK + wP + wE + wY + wN),
    with p* = total active + reserve_weight * total reserve.
    """
    wk, wp, we, wy, wn = w
    total_w = wk + wp + we + wy + wn
    pers_total = n.active + reserve_weight * n.reserve
    composite = (
        wk * (capital / capital_norm)
        + wp * (pers / pers_total)
        + we * equipment_share
        + wy * gdp_share
        + wn * pop_share
    )
    return 100.0 * quality * mobilisation * composite / total_w


def initial_power(world, params: dict[str, float]) -> np.ndarray:
    """Baseline power of every state for one parameter set (used by the landscape tool)."""
    n = normalisers(world)
    spend_q = quarterly_spending(world.share0, world.gdp_usd_bn)
    delta = params["capital_depreciation"]
    capital = spend_q / delta
    shares = fixed_shares(world, n)
    quality = 1.0 + params["combat_quality"] * world.combat
    w = tuple(params[k] for k in ("w_capital", "w_personnel", "w_equipment", "w_economy", "w_population"))
    return composite_power(
        capital,
        n.quarterly_spend / delta,
        personnel(world.active_k, world.reserve_k, params["reserve_weight"]),
        shares.equipment,
        shares.gdp,
        shares.population,
        quality,
        np.ones_like(capital),
        params["reserve_weight"],
        w,
        n,
    )
