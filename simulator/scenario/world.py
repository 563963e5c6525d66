"""Builds the initial world arrays (states, blocs, affinities, distances) from data and a scenario."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.scenario.baseline import Baseline, baseline_for, expand_target
from simulator.scenario.language import BlocSpec, Scenario
from simulator.scenario.rules import ADMISSION_CODES

EARTH_RADIUS_KM = 6371.0


@dataclass
class World:
    """Everything the model needs that does not change within a replicate, as arrays."""

    codes: list[str]
    names: list[str]
    regions: list[str]
    # capabilities (length S)
    milex_usd_m: np.ndarray
    share0: np.ndarray  # % of GDP
    gdp_usd_bn: np.ndarray
    population_m: np.ndarray
    active_k: np.ndarray
    reserve_k: np.ndarray
    warheads: np.ndarray
    tanks: np.ndarray
    aircraft: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    democracy: np.ndarray
    combat: np.ndarray  # bool
    disputed: np.ndarray  # bool: an unresolved territorial conflict (state_flags.csv territorial_conflict)
    own_nuclear: np.ndarray  # bool
    us_attitude: np.ndarray
    eu_attitude: np.ndarray
    neutrality: np.ndarray
    neutral_floor: np.ndarray  # neutrality fixed by constitution or law (neutral_tradition): opinion shocks stop there
    eu_member: np.ndarray  # bool
    distance_km: np.ndarray  # (S, S)
    affinity: np.ndarray  # (S, S), zero diagonal
    # blocs (length B)
    bloc_codes: list[str]
    bloc_specs: list[BlocSpec]
    members0: np.ndarray  # (S, B) bool
    active0: np.ndarray  # (B,) bool
    mutual_defence: np.ndarray
    spending_norm: np.ndarray
    integration0: np.ndarray
    integration_growth: np.ndarray
    integration_max: np.ndarray
    admission: np.ndarray  # (B,) int, ADMISSION_CODES
    leader: np.ndarray  # (B,) int, -1 if none
    eligible: np.ndarray  # (S, B) bool
    dynamic: np.ndarray  # (B,) bool
    accession_quarters: np.ndarray  # (B,) int: quarters an application stands before a vote can admit
    admits_disputed: np.ndarray  # (B,) bool: false: a state with a territorial conflict is not admitted
    accession_median: np.ndarray  # (B,) quarters, 0 = no duration distribution (accession_quarters only)
    accession_shape: np.ndarray  # (B,) log-logistic shape of the accession duration
    candidate_quarters: np.ndarray  # (B,) int: quarters after an application its 'candidate' event is recorded; -1 none
    applications0: np.ndarray  # (S, B) bool: applications standing at the start (data/history/memberships.csv)
    pending0: np.ndarray  # (S, B) int: quarters each has stood by then
    aspirant_median: np.ndarray  # (B,) quarters from a Membership Action Plan to accession; 0 = none
    aspirant_shape: np.ndarray  # (B,) log-logistic shape of that duration
    aspirants0: np.ndarray  # (S, B) bool: the standing applications that are Membership Action Plans
    min_founders: np.ndarray  # (B,) int, 0 = not foundable
    min_power_share: np.ndarray
    adversary: int
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    # outcome definitions
    european_blocs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    key_states: list[str] = field(default_factory=list)
    bruegel_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # arrays derived from the world alone, shared by its models (simulator.engine.model._world_cache); not an
    # __init__ argument, so dataclasses.replace gives a changed world an empty cache of its own
    derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_states(self) -> int:
        return len(self.codes)

    @property
    def n_blocs(self) -> int:
        return len(self.bloc_codes)

    def index(self, code: str) -> int:
        return self.codes.index(code)

    def state_index(self, code: str) -> int:
        """Index of a state, or -1 when it is not in this world."""
        return self.codes.index(code) if code in self.codes else -1

    def bloc_index(self, code: str) -> int:
        return self.bloc_codes.index(code)

    def resolve(self, target: str | list[str]) -> np.ndarray:
        """Indices of the states a target names (state codes, groups, blocs' baseline members)."""
        items = [target] if isinstance(target, str) else list(target)
        out: list[int] = []
        for item in items:
            idx = [self.index(item)] if item in self.codes else list(self.groups[item])
            out.extend(i for i in idx if i not in out)
        return np.array(out, dtype=np.int64)


def haversine_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distances between all pairs of points (km)."""
    la, lo = np.radians(lat), np.radians(lon)
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin(dlon / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    # rounded to the metre: numpy's SIMD sin/cos/arcsin differ in the last bit between CPUs, and a
    # difference of 1e-13 km must not change the model's arithmetic (see docs/ARCHITECTURE.md)
    return np.round(d, 3)


def resolve_blocs(scenario: Scenario | None, base: Baseline) -> dict[str, BlocSpec]:
    """Baseline blocs with the scenario's changes, additions and removals applied."""
    blocs = {k: v.model_copy(deep=True) for k, v in base.blocs.items()}
    if scenario is None:
        return blocs
    for name in scenario.blocs.remove:
        blocs.pop(name, None)
    for name, change in scenario.blocs.modify.items():
        updates = change.model_dump(exclude_none=True)  # the keys given (a null is refused by BlocChange)
        blocs[name] = BlocSpec.model_validate({**blocs[name].model_dump(), **updates})
    for name, spec in scenario.blocs.add.items():
        blocs[name] = spec.model_copy(deep=True)
    return blocs


def build_world(scenario: Scenario | None = None, base: Baseline | None = None) -> World:
    """Build the world of a scenario (or the plain baseline when ``scenario`` is None).

    A scenario with ``world.as_of`` gets the data of that quarter (simulator.scenario.history).
    """
    base = base or baseline_for(scenario)
    df = base.states.copy()
    if scenario is not None:
        for code, ov in scenario.world.overrides.items():
            for key, value in ov.model_dump(exclude_none=True).items():  # given keys (StateOverride refuses null)
                df.loc[code, key] = value
        extras = []
        for extra in scenario.world.add_states:
            row = extra.model_dump()
            row.pop("source")
            row.update(
                capital="",
                border_russia_belarus=False,
                nuclear_status="own" if extra.nuclear_warheads > 0 else "none",
                neutral_tradition=extra.neutrality > 0.5,
                eu_candidate=False,
                nato_member="no",
                eu_member="no",
            )
            extras.append(row)
        if extras:
            add = pd.DataFrame(extras).set_index("iso3", drop=False)
            df = pd.concat([df, add.reindex(columns=df.columns)], axis=0)
    codes = list(df.index)
    S = len(codes)
    blocs = resolve_blocs(scenario, base)
    bloc_codes = list(blocs)
    specs = [blocs[b] for b in bloc_codes]
    B = len(bloc_codes)

    groups_named = dict(base.groups)
    for b in bloc_codes:
        groups_named.setdefault(b, blocs[b].members)
    idx = {c: i for i, c in enumerate(codes)}
    groups = {g: np.array([idx[c] for c in members if c in idx], dtype=np.int64) for g, members in groups_named.items()}

    def f(col: str) -> np.ndarray:
        return df[col].astype(float).to_numpy().copy()

    members0 = np.zeros((S, B), dtype=bool)
    eligible = np.zeros((S, B), dtype=bool)
    for k, spec in enumerate(specs):
        for c in spec.members:
            members0[idx[c], k] = True
        if spec.eligible:
            for c in expand_target(spec.eligible, codes, groups_named, blocs):
                eligible[idx[c], k] = True
        else:
            eligible[:, k] = True
    # the EU of this scenario (its blocs.modify and as_of included), not the eu_member column of the data
    eu_member = members0[:, bloc_codes.index("EU")].copy() if "EU" in bloc_codes else np.zeros(S, dtype=bool)

    lat, lon = f("capital_lat"), f("capital_lon")
    world = World(
        codes=codes,
        names=list(df["name"].astype(str)),
        regions=list(df["region"].astype(str)),
        milex_usd_m=f("milex_usd_m"),
        share0=f("milex_pct_gdp"),
        gdp_usd_bn=f("gdp_usd_bn"),
        population_m=f("population_m"),
        active_k=f("active_personnel_k"),
        reserve_k=f("reserve_personnel_k"),
        warheads=f("nuclear_warheads"),
        tanks=f("tanks"),
        aircraft=f("combat_aircraft"),
        lat=lat,
        lon=lon,
        democracy=f("democracy"),
        combat=df["combat_experience"].astype(bool).to_numpy(),
        disputed=disputed_at_start(codes, base),
        own_nuclear=f("nuclear_warheads") > 0,
        us_attitude=f("us_attitude"),
        eu_attitude=f("eu_attitude"),
        neutrality=f("neutrality"),
        neutral_floor=np.where(df["neutral_tradition"].astype(bool).to_numpy(), f("neutrality"), 0.0),
        eu_member=eu_member,
        distance_km=haversine_km(lat, lon),
        affinity=np.zeros((S, S)),
        bloc_codes=bloc_codes,
        bloc_specs=specs,
        members0=members0,
        active0=np.array([s.active for s in specs], dtype=bool),
        mutual_defence=np.array([s.mutual_defence for s in specs]),
        spending_norm=np.array([s.spending_norm for s in specs]),
        integration0=np.array([s.integration for s in specs]),
        integration_growth=np.array([s.integration_growth for s in specs]),
        integration_max=np.array([s.integration_max for s in specs]),
        admission=np.array([ADMISSION_CODES[s.admission] for s in specs], dtype=np.int64),
        leader=np.array([idx[s.leader] if s.leader else -1 for s in specs], dtype=np.int64),
        eligible=eligible,
        dynamic=np.array([s.dynamic for s in specs], dtype=bool),
        accession_quarters=np.array([s.accession_quarters for s in specs], dtype=np.int64),
        admits_disputed=np.array([s.admits_disputed for s in specs], dtype=bool),
        accession_median=np.array(
            [s.accession_duration.median_quarters if s.accession_duration else 0.0 for s in specs]
        ),
        accession_shape=np.array([s.accession_duration.shape if s.accession_duration else 1.0 for s in specs]),
        candidate_quarters=np.array(
            [-1 if s.candidate_quarters is None else s.candidate_quarters for s in specs], dtype=np.int64
        ),
        applications0=np.zeros((S, B), dtype=bool),
        pending0=np.zeros((S, B), dtype=np.int64),
        aspirant_median=np.array([s.aspirant_duration.median_quarters if s.aspirant_duration else 0.0 for s in specs]),
        aspirant_shape=np.array([s.aspirant_duration.shape if s.aspirant_duration else 1.0 for s in specs]),
        aspirants0=np.zeros((S, B), dtype=bool),
        min_founders=np.array([s.founding.min_founders if s.founding else 0 for s in specs], dtype=np.int64),
        min_power_share=np.array([s.founding.min_power_share if s.founding else 0.0 for s in specs]),
        adversary=bloc_codes.index(base.adversary) if base.adversary in bloc_codes else -1,
        groups=groups,
    )
    world.applications0, world.pending0, world.aspirants0 = standing_at_start(world, base)
    world.affinity = build_affinity(world, base)
    outcomes = scenario.outcomes if scenario is not None else None
    euro = outcomes.european_blocs if outcomes else ["EDU"]
    world.european_blocs = np.array([bloc_codes.index(b) for b in euro if b in bloc_codes], dtype=np.int64)
    world.key_states = [c for c in (outcomes.key_states if outcomes else ["UKR", "GBR", "TUR"]) if c in idx]
    mask = np.zeros(S, dtype=bool)
    mask[world.resolve(outcomes.bruegel_group if outcomes else ["EU", "GBR"])] = True
    world.bruegel_mask = mask
    return world


def build_affinity(world: World, base: Baseline) -> np.ndarray:
    """Pairwise affinity: shared memberships + regime similarity + named relations (docs/MODEL.md)."""
    comp = base.relations.components
    S = world.n_states
    aff = np.zeros((S, S))
    w = comp.shared_membership.weight_per_bloc
    for b in comp.shared_membership.blocs:
        if b in world.bloc_codes:
            m = world.members0[:, world.bloc_index(b)].astype(float)
            aff += w * np.outer(m, m)
    wr = comp.regime_similarity.weight
    aff += wr * (1.0 - np.abs(world.democracy[:, None] - world.democracy[None, :])) - wr / 2
    idx = {c: i for i, c in enumerate(world.codes)}
    for pair in base.relations.pairs:
        a = _names_to_idx(pair.a, idx, world.groups)
        b = _names_to_idx(pair.b, idx, world.groups)
        touched = {(min(i, j), max(i, j)) for i in a for j in b if i != j}
        for i, j in sorted(touched):
            aff[i, j] += pair.value
            aff[j, i] += pair.value
    np.fill_diagonal(aff, 0.0)
    return aff


def _names_to_idx(name: str, idx: dict[str, int], groups: dict[str, np.ndarray]) -> list[int]:
    if name in idx:
        return [idx[name]]
    if name in groups:
        return list(groups[name])
    return []


def disputed_at_start(codes: list[str], base: Baseline) -> np.ndarray:
    """(S,) the states with an unresolved territorial conflict on the world's date (today's: 1 Jan 2026).

    From the ``territorial_conflict`` rows of data/history/state_flags.csv; states outside the data
    (``world.add_states``) have none.
    """
    from simulator.scenario.history import flag_on, quarter_start

    day = quarter_start(base.as_of) if base.as_of else quarter_start("2026Q1")
    return np.array([bool(flag_on(day, c, "territorial_conflict")) for c in codes], dtype=bool)


def standing_at_start(world: World, base: Baseline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Applications standing on the world's date (applied, a candidate or a Membership Action Plan, not yet
    a member), their age, and which of them are Membership Action Plans (history.standing_paths_on).

    From data/history/memberships.csv on the first day of ``as_of`` (today's world: 1 Jan 2026). Only
    blocs of the world that are active and admit applications; states outside the data have none.
    """
    from simulator.scenario.history import quarter_start, standing_paths_on

    day = quarter_start(base.as_of) if base.as_of else quarter_start("2026Q1")
    apps = np.zeros((world.n_states, world.n_blocs), dtype=bool)
    pending = np.zeros((world.n_states, world.n_blocs), dtype=np.int64)
    aspirants = np.zeros((world.n_states, world.n_blocs), dtype=bool)
    idx = {c: i for i, c in enumerate(world.codes)}
    for (state, bloc), (since, path) in standing_paths_on(day).items():
        if state in idx and bloc in world.bloc_codes:
            b = world.bloc_index(bloc)
            i = idx[state]
            if world.active0[b] and world.dynamic[b] and not world.members0[i, b] and world.eligible[i, b]:
                apps[i, b] = True
                pending[i, b] = max(1, (day.year - since.year) * 4 + (day.month - since.month) // 3)
                aspirants[i, b] = path == "map"
    return apps, pending, aspirants
