"""The scenario language: a typed, validated model of scenario files and their loader."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from simulator.errors import InputError, suggest
from simulator.scenario.limits import MAX_ABS_NUMBER, MAX_KEY_PARTS, MAX_REPLICATES, MAX_SEED, WORLD_MAX
from simulator.scenario.observed import ObservedFact
from simulator.scenario.params import PARAMS
from simulator.scenario.rules import ADMISSION_CODES
from simulator.scenario.yamlio import (
    LocatedDoc,
    document_path,
    load_yaml_file,
    load_yaml_text,
    load_yaml_value,
    pydantic_errors,
)

Target = str | list[str]


class _Strict(BaseModel):
    # allow_inf_nan=False: NaN and infinities are errors wherever a float is expected (file, --set or API)
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class _Changes(_Strict):
    """Changes to baseline values (``world.overrides``, ``blocs.modify``): a key left out keeps the baseline value.

    ``null`` is not a value here: it would keep the baseline value without a word, which is never what
    ``integration: null`` means. It is an error naming the key and what it takes. Dumps leave out the
    keys not given, so a resolved scenario lists only what it changes.
    """

    KEEPS: ClassVar[str] = "the baseline value"  # what a key left out keeps (for messages)

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            name = str(info.field_name)
            raise ValueError(
                f"null is not a value here: give {_valid_values(cls, name)}, or leave '{name}' out to keep {cls.KEEPS}"
            )
        return value

    @model_serializer(mode="wrap")
    def _given(self, handler: Any) -> dict:
        return {k: v for k, v in handler(self).items() if v is not None}


def _valid_values(model: type[BaseModel], name: str) -> str:
    """What a key of ``model`` takes, for messages: 'a number from 0 to 1', 'true or false', 'one of ...'."""
    hint = _VALUE_HINTS.get(name)
    if hint:
        return hint
    field = model.model_fields[name]
    kinds = [a for a in get_args(field.annotation) if a is not type(None)] or [field.annotation]
    kind = kinds[0]
    if kind is bool:
        return "true or false"
    if get_args(kind) and all(isinstance(a, str) for a in get_args(kind)):  # a Literal
        return "one of " + ", ".join(get_args(kind))
    if kind in (int, float):
        low = high = None
        for rule in field.metadata:
            low = getattr(rule, "ge", None) if getattr(rule, "ge", None) is not None else low
            low = getattr(rule, "gt", None) if getattr(rule, "gt", None) is not None else low
            high = getattr(rule, "le", None) if getattr(rule, "le", None) is not None else high
        what = "a whole number" if kind is int else "a number"
        if low is not None and high is not None:
            return f"{what} from {_number(low)} to {_number(high)}"
        return what
    return f"a value of type {getattr(kind, '__name__', kind)}"


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


_VALUE_HINTS = {
    "members": "a list of state codes",
    "eligible": "a list of states, groups or blocs",
    "leader": "a member's state code",
    "name": "a text",
    "description": "a text",
    "accession_duration": "a mapping with median_quarters and shape",
    "aspirant_duration": "a mapping with median_quarters and shape",
    "founding": "a mapping with min_founders (and min_power_share)",
}


#: a finite number within +-MAX_ABS_NUMBER: every float of the language without a narrower documented range
Number = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_NUMBER, le=MAX_ABS_NUMBER)]
#: a finite number >= 0 within MAX_ABS_NUMBER
NonNegative = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_ABS_NUMBER)]


# ---------------------------------------------------------------- distributions
class Normal(_Strict):
    dist: Literal["normal"]
    mean: Number
    sd: Number = Field(gt=0)
    low: Number | None = None
    high: Number | None = None


class Uniform(_Strict):
    dist: Literal["uniform"]
    low: Number
    high: Number

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"uniform needs low < high (got low={self.low}, high={self.high})")
        return self


class Triangular(_Strict):
    dist: Literal["triangular"]
    low: Number
    mode: Number
    high: Number

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self


class Beta(_Strict):
    dist: Literal["beta"]
    a: Number = Field(gt=0, le=1e6)
    b: Number = Field(gt=0, le=1e6)
    low: Number = 0.0
    high: Number = 1.0

    @model_validator(mode="after")
    def _order(self) -> Beta:
        if not self.low < self.high:
            raise ValueError("beta needs low < high")
        return self


class Choice(_Strict):
    dist: Literal["choice"]
    values: list[Number] = Field(min_length=1)
    weights: list[NonNegative] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("choice needs as many weights as values")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("choice weights must be >= 0 with a positive sum")
        return self


def _by_tag(union: Any, tag: str) -> dict[str, type[BaseModel]]:
    """The models of a tagged union by their tag value (the one ``Literal`` of field ``tag``), in union order."""
    return {get_args(model.model_fields[tag].annotation)[0]: model for model in get_args(union)}


DistributionModel = Normal | Uniform | Triangular | Beta | Choice
Distribution = Annotated[DistributionModel, Field(discriminator="dist")]
DIST_MODELS = _by_tag(DistributionModel, "dist")  # "normal" -> Normal, ...
DIST_NAMES = tuple(DIST_MODELS)
ParamValue = float | Distribution


QuarterText = Annotated[str, Field(pattern=r"^\d{4}Q[1-4]$", description="a quarter like 2022Q1")]


# ---------------------------------------------------------------- world and blocs
class StateOverride(_Changes):
    """Per-state changes to the baseline figures (any numeric or preference column)."""

    KEEPS: ClassVar[str] = "the state's baseline figure"

    milex_usd_m: float | None = Field(None, ge=0, le=WORLD_MAX["milex_usd_m"])
    milex_pct_gdp: float | None = Field(None, ge=0, le=100)
    gdp_usd_bn: float | None = Field(None, gt=0, le=WORLD_MAX["gdp_usd_bn"])
    population_m: float | None = Field(None, gt=0, le=WORLD_MAX["population_m"])
    active_personnel_k: float | None = Field(None, ge=0, le=WORLD_MAX["active_personnel_k"])
    reserve_personnel_k: float | None = Field(None, ge=0, le=WORLD_MAX["reserve_personnel_k"])
    nuclear_warheads: float | None = Field(None, ge=0, le=WORLD_MAX["nuclear_warheads"])
    tanks: float | None = Field(None, ge=0, le=WORLD_MAX["tanks"])
    combat_aircraft: float | None = Field(None, ge=0, le=WORLD_MAX["combat_aircraft"])
    democracy: float | None = Field(None, ge=0, le=1)
    us_attitude: float | None = Field(None, ge=-1, le=1)
    eu_attitude: float | None = Field(None, ge=-1, le=1)
    neutrality: float | None = Field(None, ge=0, le=1)
    combat_experience: bool | None = None


class ExtraState(_Strict):
    """A state not in the baseline world."""

    iso3: str = Field(pattern=r"^[A-Z][A-Z0-9]{2}$")
    name: str
    region: str
    capital_lat: float = Field(ge=-90, le=90)
    capital_lon: float = Field(ge=-180, le=180)
    milex_usd_m: float = Field(ge=0, le=WORLD_MAX["milex_usd_m"])
    milex_pct_gdp: float = Field(ge=0, le=100)
    gdp_usd_bn: float = Field(gt=0, le=WORLD_MAX["gdp_usd_bn"])
    population_m: float = Field(gt=0, le=WORLD_MAX["population_m"])
    active_personnel_k: float = Field(ge=0, le=WORLD_MAX["active_personnel_k"])
    reserve_personnel_k: float = Field(0, ge=0, le=WORLD_MAX["reserve_personnel_k"])
    nuclear_warheads: float = Field(0, ge=0, le=WORLD_MAX["nuclear_warheads"])
    tanks: float = Field(0, ge=0, le=WORLD_MAX["tanks"])
    combat_aircraft: float = Field(0, ge=0, le=WORLD_MAX["combat_aircraft"])
    democracy: float = Field(0.5, ge=0, le=1)
    us_attitude: float = Field(0.0, ge=-1, le=1)
    eu_attitude: float = Field(0.0, ge=-1, le=1)
    neutrality: float = Field(0.0, ge=0, le=1)
    combat_experience: bool = False
    source: str = Field(min_length=1)


class WorldSpec(_Strict):
    baseline: Literal["europe2026"] = "europe2026"
    as_of: QuarterText | None = Field(
        None,
        description="build the world as it was on the first day of this quarter (2005Q1 to today): "
        "capabilities, memberships, relations, flags and opinion of that date; the run starts then",
    )
    overrides: dict[str, StateOverride] = Field(default_factory=dict)
    add_states: list[ExtraState] = Field(default_factory=list)


class Founding(_Strict):
    min_founders: int = Field(ge=2, le=1000)
    min_power_share: float = Field(0.0, ge=0, le=1)


AdmissionRule = Literal["unanimity", "qualified_majority", "leader", "open", "closed"]
assert set(get_args(AdmissionRule)) == set(ADMISSION_CODES), "rules.ADMISSION_CODES and AdmissionRule disagree"


class AccessionDuration(_Strict):
    """How long an application stands before a vote can admit it: a log-logistic distribution.

    Each application's duration is drawn once per replicate (and, for an application already
    standing at the start, conditional on the time it has already stood); the bloc's
    ``accession_quarters`` stays the minimum.
    """

    median_quarters: float = Field(gt=0, le=400, description="median time from application to accession (quarters)")
    shape: float = Field(gt=0.2, le=50, description="log-logistic shape: larger = less spread")
    source: str = ""


class BlocSpec(_Strict):
    """A bloc: an alliance, union, coalition or the adversary."""

    name: str
    kind: Literal["alliance", "union", "coalition", "adversary"]
    active: bool = True
    members: list[str] = Field(default_factory=list)
    admission: AdmissionRule = "unanimity"
    leader: str | None = None
    mutual_defence: float = Field(ge=0, le=1)
    spending_norm: float = Field(0.0, ge=0, le=50)
    integration: float = Field(0.0, ge=0, le=1)
    integration_growth: float = Field(0.0, ge=0, le=1)
    integration_max: float = Field(1.0, ge=0, le=1)
    eligible: list[str] = Field(default_factory=list)
    dynamic: bool = True
    accession_quarters: int = Field(
        0,
        ge=0,
        le=200,
        description="quarters an application stands (negotiation, ratification) before a vote can admit",
    )
    admits_disputed: bool = Field(
        True,
        description="false: a state with an unresolved territorial conflict is not admitted, and does not apply",
    )
    accession_duration: AccessionDuration | None = Field(
        None, description="a distribution of the time an application stands (accession_quarters is its minimum)"
    )
    candidate_quarters: int | None = Field(
        None,
        ge=0,
        le=200,
        description="quarters after an application at which a 'candidate' event is recorded (a label only; "
        "none if not given)",
    )
    aspirant_duration: AccessionDuration | None = Field(
        None,
        description="a distribution of the time from a Membership Action Plan standing at the start to accession "
        "(NATO); new applications take accession_duration or accession_quarters",
    )
    founding: Founding | None = None
    description: str = ""
    sources: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules(self) -> BlocSpec:
        if self.admission == "leader" and not self.leader:
            raise ValueError("admission 'leader' needs a 'leader' state")
        if self.integration > self.integration_max:
            raise ValueError("integration must not exceed integration_max")
        return self


class BlocChange(_Changes):
    """Changes to a baseline bloc; keys not given keep the baseline value."""

    KEEPS: ClassVar[str] = "the bloc's baseline value"

    name: str | None = None
    active: bool | None = None
    members: list[str] | None = None
    admission: AdmissionRule | None = None
    leader: str | None = None
    mutual_defence: float | None = Field(None, ge=0, le=1)
    spending_norm: float | None = Field(None, ge=0, le=50)
    integration: float | None = Field(None, ge=0, le=1)
    integration_growth: float | None = Field(None, ge=0, le=1)
    integration_max: float | None = Field(None, ge=0, le=1)
    eligible: list[str] | None = None
    dynamic: bool | None = None
    accession_quarters: int | None = Field(None, ge=0, le=200)
    admits_disputed: bool | None = None
    accession_duration: AccessionDuration | None = None
    candidate_quarters: int | None = Field(None, ge=0, le=200)
    aspirant_duration: AccessionDuration | None = None
    founding: Founding | None = None
    description: str | None = None


class BlocsSpec(_Strict):
    modify: dict[str, BlocChange] = Field(default_factory=dict)
    add: dict[str, BlocSpec] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- shocks
class _Shock(_Strict):
    name: str | None = Field(None, description="Name used in event logs and sweeps")
    at: Annotated[int, Field(ge=0)] | QuarterText | None = Field(
        None, description="The step (0 = the start) or quarter (e.g. 2022Q1) at which the shock happens"
    )
    window: tuple[int | QuarterText, int | QuarterText] | None = Field(
        None, description="[first, last] steps or quarters: one is drawn uniformly per replicate"
    )
    probability: float | None = Field(None, gt=0, le=1, description="Chance per step (within window if given)")
    repeat: bool = Field(False, description="With probability: may fire more than once")
    note: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _timing(self) -> _Shock:
        given = [k for k in ("at", "window", "probability") if getattr(self, k) is not None]
        if self.probability is not None:
            given = [k for k in given if k != "window"]
        if len(given) != 1:
            raise ValueError(
                "a shock needs exactly one of 'at', 'window' or 'probability' (window may narrow probability)"
            )
        if self.window is not None and not 0 <= self.window[0] <= self.window[1]:
            raise ValueError(f"window must be [first, last] with 0 <= first <= last (got {list(self.window)})")
        if self.repeat and self.probability is None:
            raise ValueError("'repeat' only goes with 'probability'")
        return self


class Withdraw(_Shock):
    type: Literal["withdraw"]
    target: Target
    bloc: str


class Join(_Shock):
    type: Literal["join"]
    target: Target
    bloc: str


class Expel(_Shock):
    type: Literal["expel"]
    target: Target
    bloc: str


class Found(_Shock):
    type: Literal["found"]
    bloc: str
    target: Target = Field(description="founding members")


class Commitment(_Shock):
    type: Literal["commitment"]
    target: Target
    bloc: str
    value: float | None = Field(None, ge=0, le=1)
    change: float | None = Field(None, ge=-1, le=1)

    @model_validator(mode="after")
    def _one(self) -> Commitment:
        if (self.value is None) == (self.change is None):
            raise ValueError("commitment needs exactly one of 'value' or 'change'")
        return self


class Relation(_Shock):
    type: Literal["relation"]
    target: Target
    other: Target
    change: float = Field(ge=-4, le=4)


class Spending(_Shock):
    type: Literal["spending"]
    target: Target
    factor: float | None = Field(None, gt=0, le=20)
    pct_gdp: float | None = Field(None, ge=0, le=60)

    @model_validator(mode="after")
    def _one(self) -> Spending:
        if (self.factor is None) == (self.pct_gdp is None):
            raise ValueError("spending needs exactly one of 'factor' or 'pct_gdp'")
        return self


class Mobilisation(_Shock):
    type: Literal["mobilisation"]
    target: Target
    factor: float = Field(gt=0, le=10)


class Attack(_Shock):
    type: Literal["attack"]
    attacker: str
    target: Target
    severity: float = Field(1.0, gt=0, le=10)
    war: bool = Field(
        False,
        description="a war starts: attacker and targets gain combat experience from this step (power quality bonus), "
        "and the targets have a territorial conflict until a settlement shock",
    )


class Threat(_Shock):
    type: Literal["threat"]
    target: Target
    factor: float = Field(gt=0, le=20)


class Government(_Shock):
    type: Literal["government"]
    target: Target
    us_attitude: float = Field(0.0, ge=-2, le=2)
    eu_attitude: float = Field(0.0, ge=-2, le=2)
    neutrality: float = Field(0.0, ge=-1, le=1)
    affinity: dict[str, Annotated[float, Field(ge=-4, le=4)]] = Field(
        default_factory=dict, description="change of affinity to a state, group or bloc (-4..4, as a relation shock)"
    )


class Veto(_Shock):
    type: Literal["veto"]
    target: Target = Field(description="the vetoing states")
    bloc: str
    against: Target | None = Field(None, description="applicants blocked (default: all)")
    lift: bool = Field(False, description="true lifts an earlier veto instead")


class Integration(_Shock):
    type: Literal["integration"]
    bloc: str
    change: float = Field(ge=-1, le=1)


class Settlement(_Shock):
    type: Literal["settlement"]
    target: Target = Field(description="states whose territorial conflict is settled (or set aside by the blocs)")


ShockModel = (
    Withdraw
    | Join
    | Expel
    | Found
    | Commitment
    | Relation
    | Spending
    | Mobilisation
    | Attack
    | Threat
    | Government
    | Veto
    | Integration
    | Settlement
)
Shock = Annotated[ShockModel, Field(discriminator="type")]
SHOCK_MODELS = _by_tag(ShockModel, "type")  # "withdraw" -> Withdraw, ...
SHOCK_TYPES = tuple(SHOCK_MODELS)


class Outcomes(_Strict):
    european_blocs: list[str] = Field(
        default_factory=lambda: ["EDU"],
        description="blocs that count as a European alliance without the US",
    )
    key_states: list[str] = Field(default_factory=lambda: ["UKR", "GBR", "TUR"])
    bruegel_group: Target = Field(
        default_factory=lambda: ["EU", "GBR"],
        description="states whose extra spending is compared with the Bruegel-Kiel estimates (EU and UK by default)",
    )
    guarantor: str = Field(
        "USA",
        description="the external guarantor state: a European alliance is one without it, and us_attitude "
        "weighs its share of a bloc's power",
    )
    reference_alliance: str = Field(
        "NATO", description="the alliance whose membership of the guarantor is the outcome us_in_nato"
    )


class ParameterSample(_Strict):
    """A joint sample of model parameters, e.g. a calibration's posterior (``sim run --posterior``).

    Each replicate takes one row: ``assign: draw`` draws the row by ``weights`` from the replicate's
    own stream 'posterior' (so a replicate's parameters do not depend on how the work is split);
    ``assign: replicate`` gives replicate r row ``r mod len(rows)`` (a calibration's particles).
    The sampled parameters replace the scenario's values of the same parameters.
    """

    parameters: list[str] = Field(min_length=1)
    rows: list[list[float]] = Field(min_length=1)
    weights: list[NonNegative] | None = None
    assign: Literal["draw", "replicate"] = "draw"
    source: str = Field("", description="where the sample comes from (a calibration directory and its digest)")

    @model_validator(mode="after")
    def _shape(self) -> ParameterSample:
        unknown = [p for p in self.parameters if p not in PARAMS]
        if unknown:
            raise ValueError(f"unknown parameter '{unknown[0]}'{suggest(unknown[0], PARAMS)}")
        if len(set(self.parameters)) != len(self.parameters):
            raise ValueError("a parameter is named twice")
        k = len(self.parameters)
        for i, row in enumerate(self.rows):
            if not all(math.isfinite(v) for v in row):
                raise ValueError(f"row {i} has a value that is not a finite number")
            if len(row) != k:
                raise ValueError(f"row {i} has {len(row)} values; {k} parameters are named")
            for name, v in zip(self.parameters, row, strict=True):
                spec = PARAMS[name]
                if not spec.low <= v <= spec.high:
                    raise ValueError(f"row {i}: {name} = {v} is outside {spec.low}..{spec.high}")
        if self.weights is not None:
            if len(self.weights) != len(self.rows):
                raise ValueError(f"{len(self.weights)} weights for {len(self.rows)} rows")
            if not all(math.isfinite(w) for w in self.weights):
                raise ValueError("weights must be finite numbers")
            if any(w < 0 for w in self.weights) or not sum(self.weights) > 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        return self


class Scenario(_Strict):
    """A scenario file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="short identifier")
    description: str = Field(min_length=1)
    assumptions: list[str] = Field(default_factory=list)
    start: str = Field("2026Q1", description="first quarter, e.g. 2026Q1")
    steps: int = Field(40, ge=1, le=400, description="horizon in quarterly steps")
    replicates: int = Field(1000, ge=1, le=MAX_REPLICATES)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    world: WorldSpec = Field(default_factory=WorldSpec)
    blocs: BlocsSpec = Field(default_factory=BlocsSpec)
    parameters: dict[str, ParamValue] = Field(default_factory=dict)
    shocks: list[Shock] = Field(default_factory=list)
    outcomes: Outcomes = Field(default_factory=Outcomes)
    observed: list[ObservedFact] = Field(
        default_factory=list, description="what really happened: dated, sourced facts a backtest scores against"
    )
    posterior: ParameterSample | None = Field(
        None, description="a joint parameter sample each replicate draws from (sim run --posterior)"
    )

    @field_validator("start")
    @classmethod
    def _quarter(cls, v: str) -> str:
        if not re.fullmatch(r"(19|20|21)\d\dQ[1-4]", v):
            raise ValueError(f"start must be a quarter like 2026Q1 (got {v!r})")
        return v

    @model_validator(mode="wrap")
    @classmethod
    def _one_path(cls, data: Any, handler: Any, info: ValidationInfo) -> Scenario:
        """Every way to build a Scenario runs every check: a file (``parse_scenario``), a dict, keywords, JSON.

        With the document in the validation context (``parse_scenario``) a broken rule is an InputError
        naming the file, line and key; without it (``Scenario.model_validate(dict)``, ``Scenario(...)``,
        ``model_validate_json``) it is a ValidationError whose message names the key.
        """
        if isinstance(data, Scenario) or not isinstance(data, dict):
            return handler(data)  # a Scenario is already checked; anything else is refused by the schema
        doc = (info.context or {}).get(DOC_CONTEXT)
        if doc is not None:
            prepare_document(doc)
            scenario = handler(doc.data)
            check_scenario(scenario, doc)
            return scenario
        # JSON was parsed into a fresh dict; a caller's dict (or models in it) is copied, never changed
        plain = LocatedDoc(data if info.mode == "json" else _plain(data), {}, None)
        try:
            prepare_document(plain)
            scenario = handler(plain.data)
            check_scenario(scenario, plain)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return scenario


#: the validation context key that carries the LocatedDoc of a scenario (file and lines, for errors)
DOC_CONTEXT = "scenario_document"


def _plain(value: Any, top: bool = True) -> Any:
    """A copy of a scenario given in Python: dicts and lists copied, models as the dicts of the keys they were given.

    The posterior sample, often large and never changed by the checks, is kept as it is.
    """
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(exclude_unset=True), False)
    if isinstance(value, dict):
        return {k: v if top and k == "posterior" else _plain(v, False) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, False) for v in value]
    return value


def quarter_label(start: str, step: int) -> str:
    """The quarter of ``step`` steps after ``start`` (``2026Q1`` + 5 -> ``2027Q2``)."""
    year, q = int(start[:4]), int(start[5]) - 1 + step
    return f"{year + q // 4}Q{q % 4 + 1}"


# ---------------------------------------------------------------- loading
def _allowed_keys(doc: LocatedDoc, loc: tuple) -> list[str] | None:
    """Valid keys of the model at ``loc`` (for 'did you mean' on unknown keys)."""
    node: Any = doc.data
    model: Any = Scenario
    for part in loc:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        model = _child_model(model, part, node)
        if model is None:
            return None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return None


_CONTAINERS: dict[tuple[type, str], Any] = {
    (Scenario, "shocks"): ("list", "shock"),
    (Scenario, "parameters"): ("dict", "dist"),
    (WorldSpec, "overrides"): ("dict", StateOverride),
    (WorldSpec, "add_states"): ("list", ExtraState),
    (BlocsSpec, "modify"): ("dict", BlocChange),
    (BlocsSpec, "add"): ("dict", BlocSpec),
}


def _child_model(model: Any, part: Any, node: Any) -> Any:
    if isinstance(model, tuple):  # inside a container: the element model
        kind = model[1]
        tag = node.get("type" if kind == "shock" else "dist") if isinstance(node, dict) else None
        if kind == "shock":
            return SHOCK_MODELS.get(tag) if isinstance(tag, str) else None
        if kind == "dist":
            return DIST_MODELS.get(tag) if isinstance(tag, str) else None
        return kind
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    if (model, part) in _CONTAINERS:
        return _CONTAINERS[(model, part)]
    field = model.model_fields.get(part)
    if field is None:
        return None
    ann = field.annotation
    for cand in (WorldSpec, BlocsSpec, Outcomes, Founding):
        if ann is cand or cand in getattr(ann, "__args__", ()):
            return cand
    return None


def _validation_error(doc: LocatedDoc, exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(doc, loc[:-1]) or _allowed_keys(doc, document_path(doc, loc)[:-1])
        if allowed:
            key = loc[-1]
            return doc.error(f"unknown key '{key}'{suggest(str(key), allowed)}", document_path(doc, loc))
    if err["type"] == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        clean = document_path(doc, loc)
        if "dist" in str(err.get("ctx", {}).get("discriminator", "")):
            return doc.error(f"unknown distribution '{tag}'{suggest(str(tag), DIST_NAMES)}", (*clean, "dist"))
        return doc.error(f"unknown shock type '{tag}'{suggest(str(tag), SHOCK_TYPES)}", (*clean, "type"))
    if err["type"] == "union_tag_not_found":
        clean = document_path(doc, loc)
        disc = str(err.get("ctx", {}).get("discriminator", ""))
        if "dist" in disc:
            return doc.error(
                "a distribution needs 'dist' (one of " + ", ".join(DIST_NAMES) + ") or the value must be a number",
                clean,
            )
        return doc.error("a shock needs 'type' (one of " + ", ".join(SHOCK_TYPES) + ")", clean)
    return pydantic_errors(doc, exc)


def parse_scenario(doc: LocatedDoc) -> Scenario:
    """Validate a parsed document as a Scenario with every check; errors name the file, line and key.

    This is the one validation path (see ``Scenario._one_path``): the schema, then the names against the
    world, the cross-field rules (simulator.scenario.consistency) and the observed facts.
    """
    if not isinstance(doc.data, dict):
        raise doc.error("a scenario must be a YAML mapping with keys such as name, description, steps, shocks")
    try:
        return Scenario.model_validate(doc.data, context={DOC_CONTEXT: doc})
    except ValidationError as exc:
        raise _validation_error(doc, exc) from None


def scenario_from(
    source: str | Path | dict | Scenario, overrides: list[str] | None = None, name: str | None = None
) -> Scenario:
    """A checked Scenario from a file, a dict or a Scenario (the entry point of the Python API).

    Every check of ``sim validate`` and ``sim run`` runs; a problem is an InputError naming the key
    (and, for a file, the file and line).

    Args:
        source: a scenario file, a dict as a scenario file would hold it, or a Scenario.
        overrides: ``key=value`` changes, as ``--set`` (``parameters.inertia=2``).
        name: how a dict is named in messages (default: none; the key is named).
    """
    if isinstance(source, str | Path):
        return load_scenario(source, overrides)
    if isinstance(source, Scenario):
        source = source.model_dump(exclude_unset=True)
    if not isinstance(source, dict):
        raise InputError(f"a scenario is a file, a dict or a Scenario (got {type(source).__name__})")
    doc = LocatedDoc(_plain(source), {}, name)  # type: ignore[arg-type]
    if overrides:
        doc = apply_overrides(doc, overrides)
    return parse_scenario(doc)


def revalidated(scenario: Scenario, **changes: Any) -> Scenario:
    """``scenario`` with ``changes`` (``replicates=``, ``seed=``, ``posterior=``), checked again as a whole."""
    return scenario_from({**scenario.model_dump(exclude_unset=True), **changes})


def prepare_document(doc: LocatedDoc) -> None:
    """What comes before the schema: parameters (clear messages for the number-or-distribution union),
    quarters resolved to steps (``world.as_of``, shocks' ``at`` and ``window``), the observed facts' keys."""
    # parameters: a bare number or a mapping with 'dist'; catch the float|Distribution union noise
    params = doc.data.get("parameters")
    if isinstance(params, dict):
        for key, value in params.items():
            if key not in PARAMS:
                raise doc.error(f"unknown parameter '{key}'{suggest(str(key), PARAMS)}", ("parameters", key))
            if isinstance(value, dict):
                if "dist" not in value:
                    raise doc.error(
                        "a distribution needs 'dist' (one of " + ", ".join(DIST_NAMES) + ")",
                        ("parameters", key),
                    )
                if value["dist"] not in DIST_NAMES:
                    raise doc.error(
                        f"unknown distribution '{value['dist']}'{suggest(str(value['dist']), DIST_NAMES)}",
                        ("parameters", key, "dist"),
                    )
                try:
                    DIST_MODELS[value["dist"]].model_validate(value)
                except ValidationError as exc:
                    err = _validation_error(_sub(doc, ("parameters", key)), exc)
                    err.key = ".".join(["parameters", str(key), *([err.key] if err.key else [])])
                    raise err from None
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise doc.error(
                    f"parameter '{key}' must be a number or a distribution mapping (got {value!r})",
                    ("parameters", key),
                )
            elif not PARAMS[key].low <= value <= PARAMS[key].high:
                spec = PARAMS[key]
                raise doc.error(
                    f"parameter '{key}' = {value} is out of range; valid: {spec.low} to {spec.high}",
                    ("parameters", key),
                )
    _resolve_dates(doc)
    from simulator.scenario.observed import check_observed_entries

    check_observed_entries(doc)


def check_scenario(scenario: Scenario, doc: LocatedDoc) -> None:
    """What comes after the schema: names against the world, cross-field rules, observed facts."""
    from simulator.scenario.baseline import baseline_for, check_scenario_names
    from simulator.scenario.consistency import check_consistency
    from simulator.scenario.observed import check_observed

    check_scenario_names(scenario, doc)
    check_consistency(scenario, doc, baseline_for(scenario))
    check_observed(scenario, doc)


def _resolve_dates(doc: LocatedDoc) -> None:
    """``world.as_of`` sets the start; quarters in shocks' ``at`` and ``window`` become steps from the start."""
    from simulator.scenario.history import check_as_of, parse_quarter, quarter_steps

    data = doc.data
    world = data.get("world")
    as_of = world.get("as_of") if isinstance(world, dict) else None
    if as_of is not None:
        problem = check_as_of(str(as_of))
        if problem:
            raise doc.error(problem, ("world", "as_of"))
        if "start" in data and str(data["start"]) != str(as_of):
            raise doc.error(
                f"start {data['start']} differs from world.as_of {as_of}: a dated world starts in its own quarter "
                "(leave start out, or make them equal)",
                ("start",),
            )
        data["start"] = str(as_of)
    start = str(data.get("start", Scenario.model_fields["start"].default))
    try:
        parse_quarter(start)
    except ValueError:
        return  # the start itself is reported by validation
    steps = data.get("steps", Scenario.model_fields["steps"].default)
    shocks = data.get("shocks")
    for i, shock in enumerate(shocks if isinstance(shocks, list) else []):
        if not isinstance(shock, dict):
            continue
        for key in ("at", "window"):
            values = shock.get(key)
            items = values if key == "window" and isinstance(values, list) else [values]
            for j, value in enumerate(items):
                if not isinstance(value, str):
                    continue
                loc = ("shocks", i, key) if key == "at" else ("shocks", i, key, j)
                try:
                    step = quarter_steps(start, value)
                except ValueError:
                    raise doc.error(
                        f"{key} must be a step number or a quarter like 2022Q1 (got {value!r})", loc
                    ) from None
                last = quarter_label(start, steps - 1) if isinstance(steps, int) and steps > 0 else None
                if step < 0 or (last is not None and step > steps - 1):
                    raise doc.error(
                        f"quarter {value} is outside the run ({start} to {last}, {steps} quarterly steps)", loc
                    )
                if key == "at":
                    shock["at"] = step
                else:
                    values[j] = step


def _sub(doc: LocatedDoc, prefix: tuple) -> LocatedDoc:
    node: Any = doc.data
    for p in prefix:
        node = node[p]
    lines = {k[len(prefix) :]: v for k, v in doc.lines.items() if k[: len(prefix)] == prefix}
    # --set values that wrote this part (or all of it) keep naming their option
    overridden = {
        () if prefix[: len(k)] == k else k[len(prefix) :]: text
        for k, text in doc.overridden.items()
        if prefix[: len(k)] == k or k[: len(prefix)] == prefix
    }
    return LocatedDoc(node, lines, doc.file, overridden)


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Load and validate a scenario file, applying ``key=value`` overrides first."""
    doc = load_yaml_file(path)
    if overrides:
        doc = apply_overrides(doc, overrides)
    return parse_scenario(doc)


def load_resolved_scenario(path: str | Path) -> Scenario:
    """The ``scenario.resolved.yaml`` of a run directory, checked like any scenario file.

    Earlier versions wrote every key of ``blocs.modify`` and ``world.overrides`` that a scenario did
    not give as ``null``; in a file ``sim`` wrote, those nulls mean "not given" and are dropped.
    """
    doc = load_yaml_file(path)
    data = doc.data if isinstance(doc.data, dict) else {}
    for section, key in (("blocs", "modify"), ("world", "overrides")):
        outer = data.get(section)
        changes = outer.get(key) if isinstance(outer, dict) else None
        for change in changes.values() if isinstance(changes, dict) else ():
            if isinstance(change, dict):
                for name in [k for k, v in change.items() if v is None]:
                    del change[name]
    return parse_scenario(doc)


def load_scenario_text(text: str, file: str = "<string>") -> Scenario:
    """Load a scenario from YAML text (for tests and tools)."""
    return parse_scenario(load_yaml_text(text, file))


def apply_overrides(doc: LocatedDoc, overrides: list[str]) -> LocatedDoc:
    """Set dotted keys (``parameters.inertia=2``, ``shocks.0.at=8``) in a parsed document.

    Errors in an overridden value name the --set option instead of a line of the file.
    """
    data = copy.deepcopy(doc.data)
    if not isinstance(data, dict):
        return doc
    overridden: dict[tuple, str] = dict(doc.overridden)
    for item in overrides:
        if "=" not in item:
            raise InputError(f"--set expects key=value (got {item!r})")
        key, raw = item.split("=", 1)
        value = load_yaml_value(raw, f"--set {key}")
        overridden[set_path(data, key.strip(), value)] = item
    return LocatedDoc(data, doc.lines, doc.file, overridden)


def set_path(data: dict, dotted: str, value: Any) -> tuple:
    """Set ``value`` at a dotted path; list items by index or by their ``name``. Returns the key path."""
    parts = dotted.split(".")
    if len(parts) > MAX_KEY_PARTS:
        shown = dotted if len(dotted) <= 80 else dotted[:77] + "..."
        raise InputError(f"--set {shown}: a key has at most {MAX_KEY_PARTS} dotted parts (got {len(parts)})")
    node: Any = data
    loc: list = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            idx = _list_index(node, part, dotted)
            loc.append(idx)
            if last:
                node[idx] = value
                return tuple(loc)
            node = node[idx]
        elif isinstance(node, dict):
            loc.append(part)
            if last:
                node[part] = value
                return tuple(loc)
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise InputError(f"--set {dotted}: '{'.'.join(parts[:i])}' is not a mapping or list")
    return tuple(loc)


def _list_index(node: list, part: str, dotted: str) -> int:
    if part.isdigit() and int(part) < len(node):
        return int(part)
    names = [x.get("name") for x in node if isinstance(x, dict)]
    if part in names:
        return names.index(part)
    raise InputError(
        f"--set {dotted}: no item '{part}' (use an index 0..{len(node) - 1} or a name{suggest(part, [n for n in names if n])})"
    )


def scenario_hash(scenario: Scenario) -> str:
    """A stable hash of the resolved scenario (for manifests and caches)."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def scenario_json_schema() -> dict:
    """The JSON Schema of the scenario format."""
    return Scenario.model_json_schema()
