"""Cross-field rules of a scenario: what each key allows depends on others or on the baseline.

The rules run whenever a Scenario is built (``Scenario._one_path`` in simulator.scenario.language),
after the names are checked (:func:`simulator.scenario.baseline.check_scenario_names`): from a file
(``parse_scenario``, ``load_scenario``), from ``--set``, for every sweep point, from a dict or JSON
(``Scenario.model_validate``, ``scenario_from``), and when ``revalidated`` changes a scenario (the
posterior, replicates, seed). ``sim validate``, ``sim run``, ``sim sweep``, the backtests and the
Python API share them. Each error names the key, and the file and line where there is a file:

- a bloc changed by ``blocs.modify`` is valid as a whole: its ``integration`` does not exceed its
  ``integration_max`` and ``admission: leader`` has a leader, whichever of the values comes from
  the baseline;
- a bloc's leader is one of its members (an active bloc) or may found it (a latent bloc with an
  ``eligible`` list); under ``admission: leader`` a leader outside the bloc would wave every
  applicant in;
- no state is listed twice in a bloc's ``members``, and no ``add_states`` code twice;
- the adversary (UNION) is not removed, made latent or emptied: every power ratio is measured
  against it;
- no state attacks itself, and a ``found`` shock names at least one founder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from simulator.scenario.baseline import Baseline, expand_target
from simulator.scenario.yamlio import LocatedDoc

if TYPE_CHECKING:
    from simulator.scenario.language import BlocSpec, Scenario


def check_consistency(scenario: Scenario, doc: LocatedDoc, base: Baseline) -> None:
    """Raise an InputError (file, line, key) for the first cross-field rule the scenario breaks."""
    _check_add_states(scenario, doc)
    blocs = _resolved_blocs(scenario, doc, base)
    _check_adversary(scenario, doc, base, blocs)
    codes = base.codes + [s.iso3 for s in scenario.world.add_states]
    _check_members_and_leaders(scenario, doc, blocs, codes, base.groups)
    _check_shocks(scenario, doc, blocs, codes, base.groups)


def _check_add_states(scenario: Scenario, doc: LocatedDoc) -> None:
    first: dict[str, int] = {}
    for i, extra in enumerate(scenario.world.add_states):
        if extra.iso3 in first:
            line = doc.line_of(("world", "add_states", first[extra.iso3]))
            raise doc.error(
                f"state '{extra.iso3}' is added twice (first at item {first[extra.iso3]}, line {line})",
                ("world", "add_states", i, "iso3"),
            )
        first[extra.iso3] = i


def _resolved_blocs(scenario: Scenario, doc: LocatedDoc, base: Baseline) -> dict[str, BlocSpec]:
    """The blocs of the scenario (baseline, modified, added, removed), each valid as a whole."""
    from simulator.scenario.language import BlocSpec

    blocs = dict(base.blocs)
    for name in scenario.blocs.remove:
        blocs.pop(name, None)
    for name, change in scenario.blocs.modify.items():
        given = change.model_dump(exclude_none=True)  # the keys given (a null is refused by BlocChange)
        merged = {**base.blocs[name].model_dump(), **given}
        loc = ("blocs", "modify", name)
        if merged["integration"] > merged["integration_max"]:
            key = "integration" if "integration" in given else "integration_max"
            raise doc.error(
                f"{name}: integration {merged['integration']:g} exceeds integration_max "
                f"{merged['integration_max']:g}{_from_baseline(given, 'integration', 'integration_max')}",
                (*loc, key),
            )
        if merged["admission"] == "leader" and not merged["leader"]:
            raise doc.error(f"{name}: admission 'leader' needs a 'leader' state", (*loc, "admission"))
        try:
            blocs[name] = BlocSpec.model_validate(merged)
        except ValidationError as exc:  # pragma: no cover - every rule of BlocSpec is checked above
            raise doc.error(f"{name}: {exc.errors()[0]['msg']}", loc) from None
    blocs.update(scenario.blocs.add)
    return blocs


def _from_baseline(given: dict, *keys: str) -> str:
    missing = [k for k in keys if k not in given]
    return f" (the baseline's {missing[0]}; give both)" if len(missing) == 1 else ""


def _check_adversary(scenario: Scenario, doc: LocatedDoc, base: Baseline, blocs: dict[str, BlocSpec]) -> None:
    adversary = base.adversary
    why = f"'{adversary}' is the adversary every power ratio is measured against"
    if adversary in scenario.blocs.remove:
        raise doc.error(
            f"{why}; it cannot be removed (change its members or its states' figures instead)", ("blocs", "remove")
        )
    spec = blocs.get(adversary)
    loc = ("blocs", "modify", adversary)
    if spec is not None and not spec.active:
        raise doc.error(f"{why}; it must stay active", (*loc, "active"))
    if spec is not None and not spec.members:
        raise doc.error(f"{why}; it needs at least one member", (*loc, "members"))


def _bloc_loc(scenario: Scenario, name: str) -> tuple:
    section = "add" if name in scenario.blocs.add else "modify"
    return ("blocs", section, name)


def _check_members_and_leaders(
    scenario: Scenario, doc: LocatedDoc, blocs: dict[str, BlocSpec], codes: list[str], groups: dict
) -> None:
    changed = {**scenario.blocs.modify, **scenario.blocs.add}
    for name, change in changed.items():
        loc = _bloc_loc(scenario, name)
        first: dict[str, int] = {}
        for j, code in enumerate(change.members or []):
            if code in first:
                raise doc.error(
                    f"state '{code}' is listed twice in {name}'s members (first at item {first[code]})",
                    (*loc, "members", j),
                )
            first[code] = j
        spec = blocs[name]
        if not spec.leader:
            continue
        key = "leader" if change.leader else "members"
        if spec.active and spec.leader not in spec.members:
            raise doc.error(
                f"{name}'s leader '{spec.leader}' is not one of its members; a bloc is led by a member",
                (*loc, key),
            )
        if not spec.active and spec.eligible:
            eligible = expand_target(spec.eligible, codes, groups, blocs)
            if spec.leader not in eligible:
                raise doc.error(
                    f"{name}'s leader '{spec.leader}' may not found or join it (not in its 'eligible' list)",
                    (*loc, "leader" if change.leader else "eligible"),
                )


def _check_shocks(
    scenario: Scenario, doc: LocatedDoc, blocs: dict[str, BlocSpec], codes: list[str], groups: dict
) -> None:
    for i, shock in enumerate(scenario.shocks):
        loc = ("shocks", i)
        if shock.type == "attack":
            targets = expand_target(shock.target, codes, groups, blocs)
            if shock.attacker in targets:
                raise doc.error(
                    f"'{shock.attacker}' attacks itself: the attacker is among the targets", (*loc, "target")
                )
        if shock.type == "found" and not expand_target(shock.target, codes, groups, blocs):
            raise doc.error(f"'found' needs at least one founding member of {shock.bloc} in 'target'", (*loc, "target"))
