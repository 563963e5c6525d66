"""The built-in baseline world: states.csv, groups.yaml, blocs.yaml and relations.yaml."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.errors import InputError, suggest
from simulator.scenario.language import BlocSpec, Outcomes, Scenario
from simulator.scenario.yamlio import LocatedDoc, load_yaml_text, pydantic_errors

#: the capability columns of states.csv (data/history/capabilities.csv gives them by year)
CAPABILITIES = [
    "milex_usd_m",
    "milex_pct_gdp",
    "gdp_usd_bn",
    "population_m",
    "active_personnel_k",
    "reserve_personnel_k",
    "nuclear_warheads",
    "tanks",
    "combat_aircraft",
]
NUMERIC = [
    *CAPABILITIES,
    "capital_lat",
    "capital_lon",
    "democracy",
    "us_attitude",
    "eu_attitude",
    "neutrality",
]
BOOLEAN = ["border_russia_belarus", "neutral_tradition", "combat_experience", "eu_candidate"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupSpec(_Strict):
    description: str = ""
    members: list[str]
    source: str = ""


class GroupsFile(_Strict):
    groups: dict[str, GroupSpec]


class BlocsFile(_Strict):
    adversary: str
    blocs: dict[str, BlocSpec]


class MembershipComponent(_Strict):
    weight_per_bloc: float
    blocs: list[str]
    reason: str = ""
    source: str = ""


class RegimeComponent(_Strict):
    weight: float
    reason: str = ""
    source: str = ""


class Components(_Strict):
    shared_membership: MembershipComponent
    regime_similarity: RegimeComponent


class Pair(_Strict):
    a: str
    b: str
    value: float = Field(ge=-4, le=4)
    kind: Literal["dispute", "friction", "hostility", "friendship", "alignment", "partnership"] | str = "dispute"
    since: dt.date | None = None  # the entry holds from this day ...
    until: dt.date | None = None  # ... up to, not including, this day (None: it holds today)
    reason: str = ""
    source: str = ""
    period_source: str = ""


class RelationsFile(_Strict):
    components: Components
    pairs: list[Pair] = Field(default_factory=list)


def read_data(name: str) -> str:
    """The text of a data file shipped in ``simulator/data/`` (``name`` may hold a subfolder)."""
    return resources.files("simulator.data").joinpath(name).read_text(encoding="utf-8")


def _parse(name: str, model: type[BaseModel]) -> tuple[Any, LocatedDoc]:
    doc = load_yaml_text(read_data(name), f"simulator/data/{name}")
    try:
        return model.model_validate(doc.data), doc
    except ValidationError as exc:
        raise pydantic_errors(doc, exc) from None


@dataclass(frozen=True)
class Baseline:
    """The baseline data, validated."""

    states: pd.DataFrame  # indexed by iso3
    sources: pd.DataFrame  # iso3, field, source, confidence
    groups: dict[str, list[str]]
    group_specs: dict[str, GroupSpec]
    blocs: dict[str, BlocSpec]
    adversary: str
    relations: RelationsFile  # the entries that hold on the world's date (today, or as_of)
    relations_all: RelationsFile | None = None  # every dated entry of relations.yaml
    as_of: str | None = None  # None: today's world
    dated_sources: pd.DataFrame | None = field(default=None, repr=False)  # provenance of the dated values

    @property
    def codes(self) -> list[str]:
        return list(self.states.index)


@functools.lru_cache(maxsize=1)
def load_baseline() -> Baseline:
    """Load and cross-check the baseline data shipped with the package."""
    import io

    states = pd.read_csv(io.StringIO(read_data("states.csv")), keep_default_na=False, na_values=[""])
    states = states.set_index("iso3", drop=False)
    for col in NUMERIC:
        if col in states:
            states[col] = pd.to_numeric(states[col]).fillna(0.0).astype(float)
    for col in BOOLEAN:
        if col in states:
            states[col] = states[col].map(lambda v: str(v).strip().lower() == "true")
    sources = pd.read_csv(io.StringIO(read_data("state_sources.csv")), keep_default_na=False)
    groups_file, _ = _parse("groups.yaml", GroupsFile)
    blocs_file, _ = _parse("blocs.yaml", BlocsFile)
    relations, _ = _parse("relations.yaml", RelationsFile)
    groups = {k: list(v.members) for k, v in groups_file.groups.items()}
    today = relations.model_copy(update={"pairs": [p for p in relations.pairs if p.until is None]})
    return Baseline(
        states,
        sources,
        groups,
        dict(groups_file.groups),
        dict(blocs_file.blocs),
        blocs_file.adversary,
        today,
        relations_all=relations,
    )


def baseline_for(scenario: Scenario | None) -> Baseline:
    """The data a scenario's world is built from: today's, or that of its ``world.as_of`` quarter."""
    if scenario is not None and scenario.world.as_of:
        from simulator.scenario.history import dated_baseline

        return dated_baseline(scenario.world.as_of)
    return load_baseline()


# ---------------------------------------------------------------- name checks
def expand_target(
    target: str | list[str],
    codes: list[str],
    groups: dict[str, list[str]],
    blocs: dict[str, BlocSpec],
) -> list[str]:
    """Expand state codes, group names and bloc names (baseline members) into state codes."""
    items = [target] if isinstance(target, str) else list(target)
    out: list[str] = []
    for item in items:
        if item in codes:
            found = [item]
        elif item in groups:
            found = groups[item]
        elif item in blocs:
            found = blocs[item].members
        else:
            raise KeyError(item)
        out.extend(x for x in found if x not in out)
    return out


def check_scenario_names(scenario: Scenario, doc: LocatedDoc) -> None:
    """Check every state, group and bloc name and every step in a scenario; raise InputError."""
    base = baseline_for(scenario)
    codes = base.codes + [s.iso3 for s in scenario.world.add_states]
    groups = base.groups
    blocs = dict(base.blocs)
    _check_world_and_blocs(scenario, doc, base.codes, codes, groups, blocs)
    all_blocs = {**blocs, **scenario.blocs.add}
    for name in scenario.blocs.remove:
        all_blocs.pop(name, None)
    _check_bloc_members(scenario, doc, codes, groups, all_blocs)
    _check_shocks(scenario, doc, codes, groups, all_blocs)
    _check_outcomes(scenario, doc, codes, groups, all_blocs)


def _check_world_and_blocs(
    scenario: Scenario, doc: LocatedDoc, base_codes: list[str], codes: list[str], groups: dict, blocs: dict
) -> None:
    for i, extra in enumerate(scenario.world.add_states):
        if extra.iso3 in base_codes:
            raise doc.error(
                f"state '{extra.iso3}' is already in the baseline; use world.overrides to change it",
                ("world", "add_states", i, "iso3"),
            )
    for code in scenario.world.overrides:
        if code not in codes:
            raise doc.error(f"unknown state '{code}'{suggest(code, codes)}", ("world", "overrides", code))
    for name in scenario.blocs.remove:
        if name not in blocs:
            raise doc.error(f"unknown bloc '{name}'{suggest(name, blocs)}", ("blocs", "remove"))
    for name in scenario.blocs.modify:
        if name not in blocs:
            raise doc.error(f"unknown bloc '{name}'{suggest(name, blocs)}", ("blocs", "modify", name))
    for name in scenario.blocs.add:
        if name in blocs:
            raise doc.error(
                f"bloc '{name}' already exists; use blocs.modify to change it",
                ("blocs", "add", name),
            )
        if name in groups or name in codes:
            raise doc.error(f"bloc name '{name}' is already a group or state name", ("blocs", "add", name))


def _check_bloc_members(scenario: Scenario, doc: LocatedDoc, codes: list[str], groups: dict, all_blocs: dict) -> None:
    def check_states(values: list[str] | None, loc: tuple, allow_groups: bool = True) -> None:
        for j, v in enumerate(values or []):
            ok = v in codes or (allow_groups and (v in groups or v in all_blocs))
            if not ok:
                choices = codes + (list(groups) + list(all_blocs) if allow_groups else [])
                raise doc.error(
                    f"unknown state{' or group' if allow_groups else ''} '{v}'{suggest(v, choices)}",
                    (*loc, j),
                )

    for section, specs in (("add", scenario.blocs.add), ("modify", scenario.blocs.modify)):
        for name, spec in specs.items():
            check_states(spec.members, ("blocs", section, name, "members"), allow_groups=False)
            check_states(spec.eligible, ("blocs", section, name, "eligible"))
            if spec.leader and spec.leader not in codes:
                raise doc.error(
                    f"unknown state '{spec.leader}'{suggest(spec.leader, codes)}",
                    ("blocs", section, name, "leader"),
                )


def _check_shocks(scenario: Scenario, doc: LocatedDoc, codes: list[str], groups: dict, all_blocs: dict) -> None:
    names_seen: dict[str, int] = {}
    for i, shock in enumerate(scenario.shocks):
        loc = ("shocks", i)
        if shock.name:
            if shock.name in names_seen:
                raise doc.error(
                    f"duplicate shock name '{shock.name}' (also shock {names_seen[shock.name]})",
                    (*loc, "name"),
                )
            names_seen[shock.name] = i
        for key in ("target", "other", "against"):
            value = getattr(shock, key, None)
            if isinstance(value, str):
                _check_one(doc, value, codes, groups, all_blocs, (*loc, key))
            elif value is not None:
                for j, v in enumerate(value):
                    _check_one(doc, v, codes, groups, all_blocs, (*loc, key, j))
        if getattr(shock, "attacker", None) is not None and shock.attacker not in codes:
            raise doc.error(
                f"unknown state '{shock.attacker}'{suggest(shock.attacker, codes)}",
                (*loc, "attacker"),
            )
        bloc = getattr(shock, "bloc", None)
        if bloc is not None and bloc not in all_blocs:
            raise doc.error(f"unknown bloc '{bloc}'{suggest(bloc, all_blocs)}", (*loc, "bloc"))
        modified = scenario.blocs.modify.get(bloc) if bloc is not None else None
        active = modified.active if modified is not None and modified.active is not None else None
        if shock.type == "found" and (all_blocs[bloc].active if active is None else active):
            raise doc.error(
                f"bloc '{bloc}' is already active at the start; 'found' needs a latent bloc (active: false)",
                (*loc, "bloc"),
            )
        for key in getattr(shock, "affinity", {}) or {}:
            _check_one(doc, key, codes, groups, all_blocs, (*loc, "affinity", key))
        last = scenario.steps - 1
        if shock.at is not None and shock.at > last:
            raise doc.error(
                f"step {shock.at} is beyond the horizon (steps: {scenario.steps}, so the last step is {last})",
                (*loc, "at"),
            )
        if shock.window is not None and shock.window[1] > last:
            raise doc.error(
                f"window {list(shock.window)} ends beyond the horizon (last step is {last})",
                (*loc, "window"),
            )


def _check_outcomes(scenario: Scenario, doc: LocatedDoc, codes: list[str], groups: dict, all_blocs: dict) -> None:
    # the default (EDU) is skipped when a scenario removes it; compared by value, not by whether the key was
    # given, so that a resolved scenario (every default written out) is read back as it was checked
    default = Outcomes.model_fields["european_blocs"].get_default(call_default_factory=True)
    explicit = scenario.outcomes.european_blocs != default
    for i, name in enumerate(scenario.outcomes.european_blocs):
        if name not in all_blocs and explicit:
            raise doc.error(
                f"unknown bloc '{name}'{suggest(name, all_blocs)}",
                ("outcomes", "european_blocs", i),
            )
    for i, code in enumerate(scenario.outcomes.key_states):
        if code not in codes:
            raise doc.error(f"unknown state '{code}'{suggest(code, codes)}", ("outcomes", "key_states", i))
    bg = scenario.outcomes.bruegel_group
    for j, v in enumerate([bg] if isinstance(bg, str) else bg):
        _check_one(
            doc,
            v,
            codes,
            groups,
            all_blocs,
            ("outcomes", "bruegel_group") if isinstance(bg, str) else ("outcomes", "bruegel_group", j),
        )
    guarantor = scenario.outcomes.guarantor
    if guarantor and guarantor not in codes:
        raise doc.error(f"unknown state '{guarantor}'{suggest(guarantor, codes)}", ("outcomes", "guarantor"))
    alliance = scenario.outcomes.reference_alliance
    if alliance and alliance not in all_blocs:
        raise doc.error(f"unknown bloc '{alliance}'{suggest(alliance, all_blocs)}", ("outcomes", "reference_alliance"))


def _check_one(doc: LocatedDoc, value: str, codes: list[str], groups: dict, blocs: dict, loc: tuple) -> None:
    if value not in codes and value not in groups and value not in blocs:
        raise doc.error(
            f"unknown state, group or bloc '{value}'{suggest(value, codes + list(groups) + list(blocs))}",
            loc,
        )


def state_sources(code: str) -> pd.DataFrame:
    """The source of every figure of one state."""
    base = load_baseline()
    if code not in base.codes:
        raise InputError(f"unknown state '{code}'{suggest(code, base.codes)}")
    return base.sources[base.sources["iso3"] == code]
