"""The one registry of human labels: outcomes, bloc fields, parameters and swept keys, with units and currency.

Every table, figure and report of the analysis layer (and the terminal tables of the CLI) names
things through this module, so a label is written once. Names follow what a briefing audience
reads ("European alliance without the US formed", "cost of founding a new bloc"), not how a
column is stored (``euro_alliance_formed``, ``parameters.founding_cost``).

Money is shown in one currency, euros (the currency of the Bruegel–Kiel estimate the outcomes are
read against); spending the data give in US dollars (SIPRI) is converted at the run's
``usd_per_eur`` parameter (default 1.0824 US$ per euro, the ECB's 2024 average).
"""

from __future__ import annotations

import functools
import math
import re

from simulator.scenario.params import PARAMS

CURRENCY = "EUR"

# ---------------------------------------------------------------------------- outcomes
# label, unit (None: a probability), and the condition under which the amount is read
OUTCOMES: dict[str, tuple[str, str | None]] = {
    "euro_alliance_formed": ("European alliance without the US formed", None),
    "euro_alliance_step": ("founded in (quarter)", "quarter"),
    "euro_alliance_members": ("members at the end", "states"),
    "euro_alliance_power": ("European alliance: effective power, 0 if not formed", "index points"),
    "euro_alliance_power_if_formed": ("effective power", "index points"),
    "euro_alliance_power_ratio": ("power relative to the adversary", "ratio"),
    "us_in_nato": ("United States still in NATO", None),
    "bruegel_extra_spending_eur_bn": ("extra defence spending of EU + UK vs 2025", "EUR bn a year"),
    "bruegel_spending_gap_eur_bn": ("shortfall to the Bruegel–Kiel estimate of +250", "EUR bn a year"),
    "bruegel_troop_equivalents_k": ("troop-equivalents that spending buys", "thousands"),
    "bruegel_troop_gap_k": ("shortfall to the Bruegel–Kiel estimate of 300", "thousand troops"),
}
#: outcomes read only where the European alliance formed (NaN or 0 otherwise)
IF_FORMED = (
    "euro_alliance_step",
    "euro_alliance_members",
    "euro_alliance_power_if_formed",
    "euro_alliance_power_ratio",
)

BLOC_FIELDS: dict[str, tuple[str, str | None]] = {
    "active": ("exists at the end", None),
    "members": ("members", "states"),
    "effective_power": ("effective power", "index points"),
    "raw_power": ("power before coordination loss", "index points"),
    "power_ratio": ("power relative to the adversary", "ratio"),
    "spending_usd_bn": ("defence spending", "EUR bn a year"),  # converted from US$ (see to_currency)
    "personnel_k": ("active personnel", "thousands"),
    "reserves_k": ("reserve personnel", "thousands"),
    "warheads": ("nuclear warheads", "warheads"),
    "tanks": ("main battle tanks", "tanks"),
    "aircraft": ("combat aircraft", "aircraft"),
    "coordination_loss": ("coordination loss", "share"),
    "formed_step": ("founded in (quarter)", "quarter"),
}

_ACRONYMS = {"us": "US", "usa": "US", "nato": "NATO", "eu": "EU", "edu": "EDU", "uk": "UK", "gdp": "GDP", "cwa": "CWA"}


@functools.cache
def state_names() -> dict[str, str]:
    """ISO3 code -> short English name of every baseline state ('Türkiye' as the state calls itself)."""
    from simulator.scenario.baseline import load_baseline

    names = dict(load_baseline().states["name"])
    return names | {"TUR": "Türkiye"}


_WITH_THE = ("United ", "Netherlands", "Czech Republic", "Russian Federation")


def state_name(iso: str, article: bool = False) -> str:
    """The state's name; with ``article``, 'the United Kingdom' where English puts one before it."""
    name = state_names().get(iso, iso)
    return f"the {name}" if article and name.startswith(_WITH_THE) else name


def unit_of(name: str) -> str | None:
    """The unit of an outcome column (None: a probability or unknown)."""
    if name in OUTCOMES:
        return OUTCOMES[name][1]
    if "." in name:
        return BLOC_FIELDS.get(name.split(".", 1)[1], (None, None))[1]
    return None


def outcome_label(name: str, units: bool = True, bloc_names: dict[str, str] | None = None) -> str:
    """Human label of an outcome column, with its unit in parentheses unless ``units`` is False.

    ``euro_alliance_formed`` -> "European alliance without the US formed"; ``UKR_in_euro_alliance``
    -> "Ukraine in the European alliance"; ``EDU.effective_power`` -> "EDU: effective power (index
    points)"; ``member.EU.POL`` -> "Poland in EU at the end"; anything else its words.
    """
    if name in OUTCOMES:
        text, unit = OUTCOMES[name]
        if name in IF_FORMED:
            text = f"European alliance: {text}"
    elif name.endswith("_in_euro_alliance"):
        return f"{state_name(name.split('_')[0])} in the European alliance"
    elif name.startswith("member.") and name.count(".") == 2:
        _, bloc, iso = name.split(".")
        return f"{state_name(iso)} in {bloc} at the end"
    elif "." in name:
        bloc, field = name.split(".", 1)
        text, unit = BLOC_FIELDS.get(field, (humanise(field), None))
        text = f"{bloc}: {text}"
    else:
        return humanise(name)
    return f"{text} ({unit})" if units and unit and unit not in ("quarter", "ratio") else text


def humanise(name: str) -> str:
    """snake_case or dotted words as plain words, acronyms in capitals: 'nato_command_loss' -> 'NATO command loss'."""
    words = re.split(r"[_.]+", str(name))
    return " ".join(_ACRONYMS.get(w.lower(), w) for w in words if w)


# ---------------------------------------------------------------------------- parameters and swept keys
PARAMETER_NAMES: dict[str, str] = {
    "capital_depreciation": "capital depreciation",
    "reserve_weight": "weight of a reservist",
    "w_capital": "weight of military capital",
    "w_personnel": "weight of personnel",
    "w_equipment": "weight of equipment",
    "w_economy": "weight of the economy",
    "w_population": "weight of population",
    "combat_quality": "combat-experience bonus",
    "threat_decay_km": "distance decay of threat",
    "attack_hostility": "hostility after an attack",
    "attack_opinion": "opinion shift after an attack",
    "coordination_loss_max": "coordination loss of a fragmented bloc",
    "w_security": "weight of security",
    "csf_exponent": "decisiveness of a contest",
    "overlap_value": "value of overlapping guarantees",
    "w_nuclear": "weight of a nuclear umbrella",
    "w_affinity": "weight of affinity to members",
    "w_attitude": "weight of attitudes to the US and EU",
    "w_burden": "weight of the spending burden",
    "w_entanglement": "weight of entanglement risk",
    "w_neutrality": "cost of giving up neutrality",
    "membership_cost": "cost of membership",
    "inertia": "status-quo inertia",
    "choice_noise": "noise of membership choices",
    "choice_persistence": "persistence of stances",
    "switch_cost": "utility gain needed to apply",
    "crisis_revision": "extra revision in a crisis",
    "revision_rate": "chance of reconsidering a quarter",
    "veto_threshold": "affinity below which members veto",
    "vote_noise": "noise of admission votes",
    "w_vote_entanglement": "weight of an applicant's risk in votes",
    "bargain_rate": "bargaining gain a quarter",
    "bargain_max": "largest bargaining gain",
    "qmv_states": "qualified majority: share of states",
    "qmv_power": "qualified majority: share of power",
    "founding_cost": "cost of founding a new bloc",
    "founding_noise": "noise of founding stances",
    "founding_rate": "chance founding is on the table a quarter",
    "threat_response": "spending response to threat",
    "norm_pull": "pull of the bloc spending norm",
    "spending_adjustment": "speed of spending adjustment",
    "fiscal_cap": "peacetime spending cap",
    "usd_per_eur": "US$ per euro",
}

# what a field of a shock means, by the shock's type ("*" for every type)
SHOCK_FIELDS: dict[tuple[str, str], str] = {
    ("commitment", "value"): "commitment set to (0–1)",
    ("commitment", "change"): "change in commitment",
    ("threat", "factor"): "threat factor (×)",
    ("spending", "factor"): "spending factor (×)",
    ("spending", "pct_gdp"): "spending target (% of GDP)",
    ("mobilisation", "factor"): "power factor (×)",
    ("integration", "change"): "change in integration",
    ("relation", "change"): "change in affinity",
    ("government", "us_attitude"): "change in attitude to the US",
    ("government", "eu_attitude"): "change in attitude to the EU",
    ("attack", "severity"): "severity",
    ("*", "at"): "quarter it happens (steps from the start)",
    ("*", "probability"): "chance per quarter",
}
BLOC_KEYS: dict[str, str] = {
    "integration": "integration at the start (0–1)",
    "integration_growth": "integration growth a quarter",
    "integration_max": "highest integration (0–1)",
    "mutual_defence": "strength of mutual defence (0–1)",
    "spending_norm": "spending norm (% of GDP)",
    "accession_quarters": "quarters from application to accession",
    "candidate_quarters": "quarters as a candidate",
}


def parameter_label(key: str, units: bool = True, shock_types: dict[str, str] | None = None) -> str:
    """Human label of a model parameter or a swept scenario key.

    ``parameters.founding_cost`` (or ``founding_cost``) -> "cost of founding a new bloc";
    ``shocks.threat_rise.factor`` -> "threat rise: threat factor (×)" (``shock_types`` maps shock
    names to their type, for the meaning of the field); ``blocs.modify.EDU.integration_growth`` ->
    "EDU: integration growth a quarter". Units of parameters are added when ``units``.
    """
    parts = str(key).split(".")
    name = parts[1] if parts[0] == "parameters" and len(parts) == 2 else (parts[0] if len(parts) == 1 else None)
    if name is not None and (name in PARAMETER_NAMES or name in PARAMS):
        text = PARAMETER_NAMES.get(name, humanise(name))
        unit = PARAMS[name].unit if name in PARAMS else ""
        return f"{text} ({unit})" if units and unit else text
    if parts[0] == "shocks" and len(parts) >= 3:
        shock, field = parts[1], ".".join(parts[2:])
        kind = (shock_types or {}).get(shock, "*")
        meaning = SHOCK_FIELDS.get((kind, field)) or SHOCK_FIELDS.get(("*", field)) or humanise(field)
        return f"{humanise(shock)}: {meaning}"
    if parts[0] == "blocs" and len(parts) >= 4 and parts[1] in ("modify", "add"):
        bloc, field = parts[2], ".".join(parts[3:])
        return f"{bloc}: {BLOC_KEYS.get(field, humanise(field))}"
    return humanise(key)


def shock_types(scenario: dict | None) -> dict[str, str]:
    """Shock name -> type of a scenario (a resolved scenario as a dict)."""
    return {str(s.get("name")): str(s.get("type")) for s in (scenario or {}).get("shocks") or [] if s.get("name")}


# ---------------------------------------------------------------------------- currency
def usd_per_eur(scenario: dict | None) -> float:
    """The exchange rate of a run: its ``parameters.usd_per_eur`` if a number, else the default."""
    value = ((scenario or {}).get("parameters") or {}).get("usd_per_eur")
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return float(value)
    return float(PARAMS["usd_per_eur"].default)


def currency_note(rate: float) -> str:
    """The one sentence that states the currency and the conversion."""
    return (
        f"Money in euros: spending the data give in US dollars (SIPRI) is converted at {rate:.4g} US$ per euro "
        "(the run's usd_per_eur; default the ECB's 2024 average)."
    )
