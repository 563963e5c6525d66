"""Synthetic worlds of ~100 and ~200 states for the cost-against-size benchmark (not data: a benchmark load).

A synthetic world is the scenario's baseline world plus new European states, each drawn from the
baseline's own distributions: a template state is picked among the non-nuclear European states
(not Russia or Belarus); the new state copies its memberships, eligibility, group memberships,
attitudes, democracy and combat experience, scales its capabilities by lognormal noise (sigma
0.3, so sizes keep the baseline's spread), takes a capital uniformly within Europe's bounding box
(35-70 N, 10 W-40 E) and inherits its template's affinities plus normal noise (sd 0.1). Two new
states with the same template get that template's mean affinity to its partners. The result is
symmetric with a zero diagonal, as the real affinity matrix. Blocs grow with their members, so
pooling, voting and founding work on the larger world just as on the baseline.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator.scenario.world import World, haversine_km

EUROPE_LAT = (35.0, 70.0)
EUROPE_LON = (-10.0, 40.0)
SCALED = ("milex_usd_m", "gdp_usd_bn", "population_m", "active_k", "reserve_k", "tanks", "aircraft")
COPIED = (
    "share0", "democracy", "combat", "disputed", "own_nuclear", "us_attitude", "eu_attitude", "neutrality",
    "neutral_floor", "eu_member",
)  # fmt: skip


def templates(world: World) -> np.ndarray:
    """Indices of the states new states are modelled on: European, non-nuclear, not the adversary's core."""
    europe = set(world.groups.get("EUROPE", np.arange(world.n_states)).tolist())
    skip = {world.state_index(c) for c in ("RUS", "BLR")}
    return np.array(
        [i for i in range(world.n_states) if i in europe and i not in skip and not world.own_nuclear[i]], dtype=np.int64
    )


def synthetic_world(base: World, n_states: int, seed: int = 2026) -> World:
    """``base`` grown to ``n_states`` states with new states drawn from its distributions (see module doc)."""
    S0 = base.n_states
    extra = n_states - S0
    if extra <= 0:
        return base
    rng = np.random.default_rng([seed, n_states])
    pool = templates(base)
    tpl = rng.choice(pool, size=extra)
    idx = np.concatenate([np.arange(S0), tpl])  # every state's template (itself for the baseline)
    codes = base.codes + [f"X{k:03d}" for k in range(extra)]
    fields: dict[str, object] = {
        "codes": codes,
        "names": base.names + [f"Synthetic {k} (after {base.codes[t]})" for k, t in enumerate(tpl)],
        "regions": base.regions + [base.regions[t] for t in tpl],
    }
    for name in SCALED:
        values = getattr(base, name)
        noise = rng.lognormal(0.0, 0.3, extra)
        fields[name] = np.concatenate([values, values[tpl] * noise])
    for name in COPIED:
        values = getattr(base, name)
        fields[name] = np.concatenate([values, values[tpl]])
    fields["warheads"] = np.concatenate([base.warheads, np.zeros(extra)])
    lat = np.concatenate([base.lat, rng.uniform(*EUROPE_LAT, extra)])
    lon = np.concatenate([base.lon, rng.uniform(*EUROPE_LON, extra)])
    fields.update(lat=lat, lon=lon, distance_km=haversine_km(lat, lon))
    fields["affinity"] = _affinity(base.affinity, idx, S0, rng)
    fields["members0"] = base.members0[idx]
    fields["eligible"] = base.eligible[idx]
    fields["applications0"] = base.applications0[idx]  # a new state stands where its template stands
    fields["pending0"] = base.pending0[idx]
    fields["aspirants0"] = base.aspirants0[idx]
    fields["bruegel_mask"] = base.bruegel_mask[idx]
    fields["groups"] = {
        g: np.concatenate([m, S0 + np.flatnonzero(np.isin(tpl, m))]).astype(np.int64) for g, m in base.groups.items()
    }
    return dataclasses.replace(base, **fields)


def _affinity(aff: np.ndarray, idx: np.ndarray, S0: int, rng: np.random.Generator) -> np.ndarray:
    """Template affinities with noise, symmetric, zero diagonal."""
    S = len(idx)
    out = aff[np.ix_(idx, idx)].copy()
    # two states after the same template: that template's mean affinity to the states it is close to
    friendly = np.array([aff[t][aff[t] > 0].mean() if (aff[t] > 0).any() else 0.0 for t in range(aff.shape[0])])
    same = (idx[:, None] == idx[None, :]) & ~np.eye(S, dtype=bool)
    out[same] = friendly[idx[np.nonzero(same)[0]]]
    noise = np.triu(rng.normal(0.0, 0.1, (S, S)), 1)
    noise[:S0, :S0] = 0.0  # the baseline's own relations stay as they are
    out += noise + noise.T
    np.fill_diagonal(out, 0.0)
    return out
