"""What really happened: the ``observed:`` section of a scenario, the facts a backtest scores against.

A historical episode (``scenarios/history/``) starts in a dated world and lists, under ``observed:``,
dated and sourced facts of what happened in its quarters:

- ``applied`` / ``joined``: a state applied to, or joined, a bloc on a date (``YYYY-MM-DD``, or a
  quarter like ``2022Q2`` when the day is not known);
- ``not_applied`` / ``not_joined``: a state did not apply to (join) a bloc within the episode;
- ``spending_pct_gdp``: a state's military spending in % of GDP in a calendar year, with the
  ``edition`` of the series (NATO and SIPRI define and revise it differently).

Every fact needs a ``source``; ``note`` and ``verified`` are optional. The backtest
(``simulator.runs.backtest``) turns each binary fact into an event with an outcome:

========================= =============== ========
kind                      event           outcome
========================= =============== ========
applied                   application     1
not_applied               application     0
joined                    accession       1
not_joined                accession       0
========================= =============== ========

Checks (file:line errors, exit 2 in ``sim validate``): the kind, the keys and a non-empty source of
each entry (:func:`check_observed_entries`, before the scenario is validated), and against the
world (:func:`check_observed`): known states and blocs, dates and years inside the episode's
quarters, no fact about a state already in the bloc at the start, no repeated or contradictory
facts.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from simulator.errors import suggest
from simulator.scenario.yamlio import LocatedDoc, pydantic_errors

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: binary fact kinds: (the event, whether it happened)
BINARY_KINDS: dict[str, tuple[str, int]] = {
    "applied": ("application", 1),
    "not_applied": ("application", 0),
    "joined": ("accession", 1),
    "not_joined": ("accession", 0),
}
EVENTS = ("application", "accession")


def _fact_date(value: Any) -> Any:
    """A date as ``YYYY-MM-DD`` text (YAML gives a date object) or a quarter like ``2022Q2``."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if _QUARTER.match(text):
            return text
        if _DAY.match(text):
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                pass
            else:
                return text
    raise ValueError(f"date must be YYYY-MM-DD or a quarter like 2022Q2 (got {value!r})")


FactDate = Annotated[
    str,
    BeforeValidator(_fact_date),
    Field(
        description="the day (YYYY-MM-DD) or, when the day is not known, the quarter (e.g. 2022Q2)",
        json_schema_extra={"pattern": r"^(\d{4}-\d{2}-\d{2}|\d{4}Q[1-4])$"},
    ),
]
StateCode = Annotated[str, Field(min_length=1, description="ISO3 code of the state")]
BlocCode = Annotated[str, Field(min_length=1, description="bloc id (NATO, EU, JEF, ...)")]


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    source: str = Field(description="where the fact was read: an address, a document, a data release (required)")
    note: str = ""
    verified: bool | None = Field(None, description="the fact was checked on the source itself")

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a fact needs a source (an address, a document or a data release)")
        return v.strip()


class _Binary(_Fact):
    state: StateCode
    bloc: BlocCode

    @property
    def event(self) -> str:
        return BINARY_KINDS[self.kind][0]  # type: ignore[attr-defined]

    @property
    def happened(self) -> int:
        return BINARY_KINDS[self.kind][1]  # type: ignore[attr-defined]


class _Dated(_Binary):
    date: FactDate

    @property
    def quarter(self) -> str:
        """The quarter of the date (``2022-05-18`` -> ``2022Q2``)."""
        if _QUARTER.match(self.date):
            return self.date
        day = dt.date.fromisoformat(self.date)
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"


class Applied(_Dated):
    """The state applied to the bloc on ``date`` (its first application within the episode)."""

    kind: Literal["applied"]


class Joined(_Dated):
    """The state became a member of the bloc on ``date``."""

    kind: Literal["joined"]


class NotApplied(_Binary):
    """The state did not apply to the bloc within the episode."""

    kind: Literal["not_applied"]


class NotJoined(_Binary):
    """The state did not become a member of the bloc within the episode."""

    kind: Literal["not_joined"]


class SpendingShare(_Fact):
    """A state's military spending in % of GDP in a calendar year, from one edition of a series."""

    kind: Literal["spending_pct_gdp"]
    state: StateCode
    year: int = Field(ge=1900, le=2199)
    value: float = Field(ge=0, le=100, description="% of GDP")
    edition: str | None = Field(None, description="the series and its edition, e.g. 'NATO 2014-2025 (Aug 2025)'")

    @property
    def quarter(self) -> str:
        """The quarter the backtest reads the model's spending from: the last of the year."""
        return f"{self.year}Q4"


ObservedFact = Annotated[
    Applied | Joined | NotApplied | NotJoined | SpendingShare,
    Field(discriminator="kind"),
]
_MODELS: dict[str, type[_Fact]] = {
    "applied": Applied,
    "joined": Joined,
    "not_applied": NotApplied,
    "not_joined": NotJoined,
    "spending_pct_gdp": SpendingShare,
}
KINDS = tuple(_MODELS)


# ---------------------------------------------------------------- checks with lines
def _sub(doc: LocatedDoc, prefix: tuple) -> LocatedDoc:
    """The part of ``doc`` under ``prefix``, with its lines (and --set origins)."""
    node: Any = doc.data
    for p in prefix:
        node = node[p]
    n = len(prefix)
    lines = {k[n:]: v for k, v in doc.lines.items() if k[:n] == prefix}
    if prefix in doc.lines:
        lines[()] = doc.lines[prefix]
    overridden = {k[n:]: v for k, v in doc.overridden.items() if k[:n] == prefix}
    return LocatedDoc(node, lines, doc.file, overridden)


def check_observed_entries(doc: LocatedDoc) -> None:
    """Kind, keys, types and source of every ``observed`` entry; raises a file:line InputError.

    Runs before the scenario is validated, so an unknown kind or a missing source is reported as
    such (with a suggestion), not as a generic union error.
    """
    if not isinstance(doc.data, dict) or doc.data.get("observed") is None:
        return
    items = doc.data["observed"]
    if not isinstance(items, list):
        raise doc.error(
            "observed must be a list of facts, each a mapping with 'kind' (one of " + ", ".join(KINDS) + ")",
            ("observed",),
        )
    for i, item in enumerate(items):
        loc = ("observed", i)
        if not isinstance(item, dict):
            raise doc.error(f"fact {i} must be a mapping with 'kind' (one of " + ", ".join(KINDS) + ")", loc)
        kind = item.get("kind")
        if kind is None:
            raise doc.error("a fact needs 'kind' (one of " + ", ".join(KINDS) + ")", loc)
        if not isinstance(kind, str) or kind not in _MODELS:
            raise doc.error(f"unknown fact kind '{kind}'{suggest(str(kind), KINDS)}", (*loc, "kind"))
        model = _MODELS[kind]
        for key in item:
            if key not in model.model_fields:
                raise doc.error(
                    f"unknown key '{key}' in a fact of kind '{kind}'{suggest(str(key), model.model_fields)}",
                    (*loc, key),
                )
        if "source" not in item or item["source"] is None or not str(item["source"]).strip():
            raise doc.error(
                f"a fact of kind '{kind}' needs a 'source' (where it was read: an address, a document or a data release)",
                (*loc, "source") if "source" in item else loc,
            )
        try:
            model.model_validate(item)
        except ValidationError as exc:
            error = pydantic_errors(_sub(doc, loc), exc)
            error.key = ".".join(map(str, loc)) + (f".{error.key}" if error.key else "")
            raise error from None


def _quarter_index(start: str, quarter: str) -> int:
    (y0, q0), (y1, q1) = (int(start[:4]), int(start[5])), (int(quarter[:4]), int(quarter[5]))
    return (y1 - y0) * 4 + (q1 - q0)


def check_observed(scenario: Any, doc: LocatedDoc) -> None:
    """Check the observed facts against the scenario's world and its quarters; raise InputError."""
    facts = getattr(scenario, "observed", None) or []
    if not facts:
        return
    from simulator.scenario.baseline import baseline_for
    from simulator.scenario.language import quarter_label

    base = baseline_for(scenario)
    codes = base.codes + [s.iso3 for s in scenario.world.add_states]
    blocs = {**base.blocs, **scenario.blocs.add}
    for name in scenario.blocs.remove:
        blocs.pop(name, None)
    first, last = scenario.start, quarter_label(scenario.start, scenario.steps - 1)
    span = f"{first} to {last}, {scenario.steps} quarters"
    seen: dict[tuple, int] = {}
    for i, fact in enumerate(facts):
        loc = ("observed", i)
        if fact.state not in codes:
            raise doc.error(f"unknown state '{fact.state}'{suggest(fact.state, codes)}", (*loc, "state"))
        bloc = getattr(fact, "bloc", None)
        if bloc is not None and bloc not in blocs:
            raise doc.error(f"unknown bloc '{bloc}'{suggest(bloc, blocs)}", (*loc, "bloc"))
        if isinstance(fact, _Dated):
            k = _quarter_index(first, fact.quarter)
            if not 0 <= k <= scenario.steps - 1:
                raise doc.error(
                    f"date {fact.date} ({fact.quarter}) is outside the episode ({span}); "
                    "an observed fact must fall in the run's quarters",
                    (*loc, "date"),
                )
        if isinstance(fact, SpendingShare):
            k = _quarter_index(first, fact.quarter)
            if not 0 <= k <= scenario.steps - 1:
                raise doc.error(
                    f"year {fact.year}: its last quarter {fact.quarter}, where the model's spending is read, "
                    f"is outside the episode ({span})",
                    (*loc, "year"),
                )
        if isinstance(fact, _Binary):
            members = _members_at_start(scenario, blocs, bloc)
            if fact.state in members:
                raise doc.error(
                    f"{fact.state} is already a member of {bloc} at the start ({first}); "
                    f"'{fact.kind}' is about a state outside the bloc",
                    (*loc, "state"),
                )
            key: tuple = (fact.event, fact.state, bloc)
            what = f"{fact.event} of {fact.state} to {bloc}"
        else:
            key = ("spending", fact.state, fact.year)
            what = f"spending of {fact.state} in {fact.year} (score against one edition)"
        if key in seen:
            j = seen[key]
            line = doc.line_of(("observed", j))
            raise doc.error(
                f"fact {i} repeats or contradicts fact {j}{f' (line {line})' if line else ''}: both are about the {what}",
                loc,
            )
        seen[key] = i


def _members_at_start(scenario: Any, blocs: dict, bloc: str) -> set[str]:
    """The members of ``bloc`` at the start (the dated world's, or as the scenario's ``blocs`` change them)."""
    spec = blocs[bloc]
    members = list(spec.members)
    change = scenario.blocs.modify.get(bloc)
    if change is not None and change.members is not None:
        members = list(change.members)
    active = spec.active if change is None or change.active is None else change.active
    return set(members) if active else set()
