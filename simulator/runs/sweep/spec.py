"""Sweep files: which scenario keys to vary and how (design); loaded with file:line errors, sampled purely."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from simulator.errors import InputError, suggest
from simulator.scenario.language import (
    DIST_MODELS,
    DIST_NAMES,
    Distribution,
    Number,
    Scenario,
    apply_overrides,
    parse_scenario,
    revalidated,
    set_path,
)
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED, MAX_SWEEP_POINTS
from simulator.scenario.yamlio import LocatedDoc, load_yaml_file, pydantic_errors

Design = Literal["grid", "random", "lhs", "sobol", "saltelli"]
DESIGNS = get_args(Design)
SAMPLED = tuple(d for d in DESIGNS if d != "grid")
DEFAULT_BLOCK = 100
_UNIT_EPS = 1e-12  # keeps inverse CDFs finite at u = 0 or 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SweepFields(_Strict):
    """The ``sweep:`` mapping of a sweep file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="short identifier")
    description: str = ""
    scenario: str = Field(min_length=1, description="base scenario file, relative to the sweep file")
    design: Design = "grid"
    points: int | None = Field(None, ge=1, le=MAX_SWEEP_POINTS, description="points of a sampled design")
    replicates: int | None = Field(None, ge=1, le=MAX_REPLICATES, description="replicates per point")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="seed of the design sampling (not of the replicates)")
    block_size: int = Field(DEFAULT_BLOCK, ge=1, le=1_000_000, description="replicates per task")
    set: dict[str, Any] = Field(default_factory=dict, description="fixed changes to the base scenario")
    parameters: dict[str, Any] = Field(min_length=1, description="dotted scenario keys to vary")


SWEEP_KEYS = tuple(SweepFields.model_fields)


class _Values(_Strict):
    values: list[Any] = Field(min_length=1)


class _Range(_Strict):
    range: tuple[Number, Number]
    num: int | None = Field(None, ge=1, le=100_000)
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False


_DIST = TypeAdapter(Distribution)
_KIND_KEYS = {"values": ("values",), "range": ("range", "num", "scale", "integer"), "dist": ("dist", "integer")}


@dataclass(frozen=True)
class SweepParameter:
    """One swept key: a list of values, a range, or a distribution."""

    path: str
    kind: Literal["values", "range", "dist"]
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 1.0
    num: int | None = None
    scale: str = "linear"
    integer: bool = False
    dist: Any = None

    def levels(self) -> list[Any]:
        """The grid levels (values, or ``num`` points of the range)."""
        if self.kind == "values":
            return list(self.values)
        if self.scale == "log":
            x = np.geomspace(self.low, self.high, self.num)
        else:
            x = np.linspace(self.low, self.high, self.num)
        return self._finish(x)

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map uniforms in [0, 1) to values: a discrete pick, a point of the range, or an inverse CDF."""
        u = np.asarray(u, dtype=float)
        if self.kind == "values":
            idx = np.minimum((u * len(self.values)).astype(np.int64), len(self.values) - 1)
            return [self.values[i] for i in idx]
        if self.kind == "range":
            if self.scale == "log":
                x = np.exp(np.log(self.low) + (np.log(self.high) - np.log(self.low)) * u)
            else:
                x = self.low + (self.high - self.low) * u
            return self._finish(np.clip(x, self.low, self.high))
        from simulator.engine.sampling import draw

        return self._finish(draw(self.dist, np.clip(u, _UNIT_EPS, 1 - _UNIT_EPS)))

    def probes(self) -> list[Any]:
        """Values that show whether the key and its range are valid: levels, or the ends of the range."""
        if self.kind == "values":
            return list({_freeze(v): v for v in self.values}.values())
        if self.kind == "range" and self.num:
            return self.levels()
        return list(dict.fromkeys(self.from_unit(np.array([0.0, 0.5, 1.0 - _UNIT_EPS]))))

    def _finish(self, x: np.ndarray) -> list[Any]:
        if self.integer:
            return [int(v) for v in np.rint(x)]
        return [float(v) for v in x]

    def describe(self) -> dict:
        """A JSON-able description (for the manifest)."""
        if self.kind == "values":
            return {"values": list(self.values)}
        if self.kind == "range":
            out = {"range": [self.low, self.high], "scale": self.scale, "integer": self.integer}
            return out | ({"num": self.num} if self.num else {})
        return self.dist.model_dump(mode="json") | {"integer": self.integer}


def _freeze(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v


@dataclass
class Sweep:
    """A validated sweep: the base scenario, the swept keys and the design."""

    name: str
    description: str
    file: str
    scenario_file: Path
    design: str
    points: int | None
    replicates: int
    seed: int
    block_size: int
    parameters: list[SweepParameter]
    base_doc: LocatedDoc  # the base scenario after ``set`` and command-line overrides
    base: Scenario
    doc: LocatedDoc  # the sweep file itself, for error locations
    fixed: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def loc(self, path: str) -> tuple:
        """Location of a swept key in the sweep file."""
        return ("sweep", "parameters", path)

    def describe(self) -> dict:
        """The resolved sweep (for the manifest and for resume checks)."""
        return {
            "name": self.name,
            "description": self.description,
            "file": self.file,
            "scenario_file": str(self.scenario_file),
            "design": self.design,
            "points": self.points,
            "replicates": self.replicates,
            "design_seed": self.seed,
            "block_size": self.block_size,
            "set": self.fixed,
            "parameters": {p.path: p.describe() for p in self.parameters},
        }


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: its index, the values of the swept keys, and its scenario's hash and start.

    The scenario itself is rebuilt when needed (point_scenario), so a sweep of many points holds
    only their values in memory.
    """

    index: int
    values: dict[str, Any]
    scenario_hash: str
    start: str


# ---------------------------------------------------------------- loading
def load_sweep(
    path: str | Path,
    overrides: list[str] | None = None,
    replicates: int | None = None,
    block_size: int | None = None,
) -> Sweep:
    """Load and validate a sweep file; errors name the file, line, key and the valid choices.

    Args:
        path: the sweep YAML file.
        overrides: ``key=value`` changes to the base scenario (after the file's ``set``).
        replicates: replicates per point (default: the file's, else the scenario's).
        block_size: replicates per task (default: the file's).
    """
    doc = load_yaml_file(path)
    data = doc.data
    if not isinstance(data, dict) or "sweep" not in data:
        raise doc.error("a sweep file is a YAML mapping with one key 'sweep' (name, scenario, design, parameters, ...)")
    for key in data:
        if key != "sweep":
            raise doc.error(f"unknown top-level key '{key}'{suggest(str(key), ['sweep'])}", (key,))
    raw = data["sweep"]
    if not isinstance(raw, dict):
        raise doc.error("'sweep' must be a mapping with keys " + ", ".join(SWEEP_KEYS), ("sweep",))
    for key in raw:
        if key not in SWEEP_KEYS:
            raise doc.error(f"unknown key '{key}'{suggest(str(key), SWEEP_KEYS)}", ("sweep", key))
    if "design" in raw and raw["design"] not in DESIGNS:
        raise doc.error(f"unknown design '{raw['design']}'{suggest(str(raw['design']), DESIGNS)}", ("sweep", "design"))
    for key in ("set", "parameters"):
        if key in raw and not isinstance(raw[key], dict):
            raise doc.error(f"'{key}' must be a mapping of dotted scenario keys to values", ("sweep", key))
    try:
        spec = SweepFields.model_validate(raw)
    except ValidationError as exc:
        raise _sub_error(doc, ("sweep",), exc) from None
    if block_size is not None:
        spec.block_size = block_size

    parameters = [_parameter(doc, key, value) for key, value in spec.parameters.items()]
    _check_design(doc, spec, parameters)

    scenario_file = _scenario_path(doc, spec.scenario)
    base_doc = load_yaml_file(scenario_file)
    base_doc = _apply_fixed(doc, base_doc, spec.set)
    if overrides:
        base_doc = apply_overrides(base_doc, overrides)
    base = parse_scenario(base_doc)
    n = replicates or spec.replicates or base.replicates
    sweep = Sweep(
        name=spec.name,
        description=spec.description,
        file=doc.file,
        scenario_file=scenario_file,
        design=spec.design,
        points=spec.points,
        replicates=n,
        seed=spec.seed,
        block_size=spec.block_size,
        parameters=parameters,
        base_doc=base_doc,
        base=revalidated(base, replicates=n),
        doc=doc,
        fixed=dict(spec.set),
    )
    if spec.design == "sobol" and spec.points & (spec.points - 1):
        lower = 1 << (spec.points.bit_length() - 1)
        sweep.warnings.append(
            f"{doc.file}:{doc.line_of(('sweep', 'points'))}: a Sobol design is balanced only for a power of 2 "
            f"points; consider {lower} or {lower * 2} instead of {spec.points}"
        )
    for p in parameters:
        for value in p.probes():
            _point_doc(sweep, {p.path: value})
    return sweep


def _sub_error(doc: LocatedDoc, prefix: tuple, exc: ValidationError) -> InputError:
    node: Any = doc.data
    for part in prefix:
        node = node[part]
    lines = {k[len(prefix) :]: v for k, v in doc.lines.items() if k[: len(prefix)] == prefix}
    err = pydantic_errors(LocatedDoc(node, lines, doc.file), exc)
    key = ".".join(map(str, prefix)) + (f".{err.key}" if err.key else "")
    return InputError(err.message, err.file, err.line or doc.line_of(prefix), key)


_PATH = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


def _parameter(doc: LocatedDoc, path: Any, value: Any) -> SweepParameter:
    loc = ("sweep", "parameters", path)
    if not isinstance(path, str) or not _PATH.match(path):
        raise doc.error(
            f"'{path}' is not a dotted scenario key (e.g. parameters.inertia, shocks.us_exit.at, "
            "blocs.modify.EDU.integration_growth)",
            loc,
        )
    if isinstance(value, list):  # shorthand: a list is the values
        value = {"values": value}
    if not isinstance(value, dict):
        raise doc.error(
            f"'{path}' needs a mapping: {{values: [...]}}, {{range: [low, high], num: N}} or {{dist: ..., ...}}", loc
        )
    kinds = [k for k in ("values", "range", "dist") if k in value]
    if len(kinds) != 1:
        what = "more than one of" if kinds else "one of"
        raise doc.error(f"'{path}' needs {what} 'values', 'range' (with 'num' for a grid) or 'dist'", loc)
    kind = kinds[0]
    allowed = _KIND_KEYS[kind]
    for key in value:
        if kind != "dist" and key not in allowed:
            raise doc.error(f"unknown key '{key}' for {kind}{suggest(str(key), allowed)}", (*loc, key))
    if kind == "dist" and value["dist"] in DIST_NAMES:
        dist_keys = (*DIST_MODELS[value["dist"]].model_fields, "integer")
        for key in value:
            if key not in dist_keys:
                raise doc.error(f"unknown key '{key}' for {value['dist']}{suggest(str(key), dist_keys)}", (*loc, key))
    if kind == "values" and isinstance(value["values"], list) and not value["values"]:
        raise doc.error(f"'{path}': values is empty; give at least one value", (*loc, "values"))
    try:
        if kind == "values":
            spec = _Values.model_validate(value)
            for i, v in enumerate(spec.values):
                if v is None:
                    raise doc.error(f"'{path}': value {i + 1} is empty", (*loc, "values", i))
            return SweepParameter(path, "values", values=tuple(spec.values))
        if kind == "range":
            spec = _Range.model_validate(value)
            low, high = spec.range
            if not low < high:
                raise doc.error(f"'{path}': range needs low < high (got [{low}, {high}])", (*loc, "range"))
            if spec.scale == "log" and low <= 0:
                raise doc.error(f"'{path}': a log-scale range needs low > 0 (got {low})", (*loc, "range"))
            return SweepParameter(
                path, "range", low=low, high=high, num=spec.num, scale=spec.scale, integer=spec.integer
            )
        body = {k: v for k, v in value.items() if k != "integer"}
        if body["dist"] not in DIST_NAMES:
            raise doc.error(
                f"unknown distribution '{body['dist']}'{suggest(str(body['dist']), DIST_NAMES)}", (*loc, "dist")
            )
        integer = value.get("integer", False)
        if not isinstance(integer, bool):
            raise doc.error(f"'{path}': integer must be true or false", (*loc, "integer"))
        return SweepParameter(path, "dist", dist=_DIST.validate_python(body), integer=integer)
    except ValidationError as exc:
        raise _sub_error(doc, loc, exc) from None


def _check_design(doc: LocatedDoc, spec: SweepFields, parameters: list[SweepParameter]) -> None:
    if spec.design == "grid":
        if spec.points is not None:
            size = math.prod(len(p.levels()) if p.kind == "values" or p.num else 1 for p in parameters)
            raise doc.error(
                f"'points' applies to sampled designs ({', '.join(SAMPLED)}); a grid has one point per "
                f"combination of levels (here {size})",
                ("sweep", "points"),
            )
        for p in parameters:
            if p.kind == "dist":
                raise doc.error(
                    f"'{p.path}' is a distribution; a grid needs 'values' or a 'range' with 'num' "
                    f"(or use design: {', '.join(SAMPLED)})",
                    ("sweep", "parameters", p.path),
                )
            if p.kind == "range" and p.num is None:
                raise doc.error(
                    f"'{p.path}': a range in a grid needs 'num' (how many points from low to high)",
                    ("sweep", "parameters", p.path),
                )
            if p.integer and len(set(p.levels())) < len(p.levels()):
                raise doc.error(
                    f"'{p.path}': {p.num} integer points in [{p.low:g}, {p.high:g}] repeat values; lower num",
                    ("sweep", "parameters", p.path, "num"),
                )
        counts = [len(p.values) if p.kind == "values" else int(p.num or 1) for p in parameters]
        size = math.prod(counts)
        if size > MAX_SWEEP_POINTS:
            raise doc.error(
                f"the grid has {' x '.join(f'{c:,}' for c in counts)} = {size:,} points; at most "
                f"{MAX_SWEEP_POINTS:,} are allowed (fewer levels, or a sampled design: {', '.join(SAMPLED)})",
                ("sweep", "parameters"),
            )
        return
    if spec.points is None:
        raise doc.error(f"design '{spec.design}' needs 'points' (how many points to sample)", ("sweep", "design"))
    for p in parameters:
        if p.kind == "range" and p.num is not None:
            raise doc.error(
                f"'{p.path}': 'num' applies only to design: grid ({spec.design} samples the range); remove it",
                ("sweep", "parameters", p.path, "num"),
            )
    if spec.design == "saltelli" and spec.points & (spec.points - 1):
        lower = 1 << (spec.points.bit_length() - 1)
        raise doc.error(
            f"design 'saltelli' needs a power of 2 base points (got {spec.points}; try {lower} or {lower * 2})",
            ("sweep", "points"),
        )
    rows = spec.points * (len(parameters) + 2 if spec.design == "saltelli" else 1)
    if rows > MAX_SWEEP_POINTS:
        per = f" ({spec.points:,} base points x {len(parameters) + 2})" if spec.design == "saltelli" else ""
        raise doc.error(
            f"design '{spec.design}' gives {rows:,} points{per}; at most {MAX_SWEEP_POINTS:,} are allowed",
            ("sweep", "points"),
        )


def _scenario_path(doc: LocatedDoc, name: str) -> Path:
    p = Path(name)
    if not p.is_absolute():
        p = Path(doc.file).parent / p
    if p.is_file():
        return p
    near = sorted(x.name for x in p.parent.glob("*.yaml")) if p.parent.is_dir() else []
    hint = suggest(p.name, near) if near else f" (directory '{p.parent}' not found)"
    raise doc.error(f"scenario file '{name}' not found (looked for {p.resolve()}){hint}", ("sweep", "scenario"))


def _apply_fixed(doc: LocatedDoc, base: LocatedDoc, fixed: dict[str, Any]) -> LocatedDoc:
    data = copy.deepcopy(base.data)
    for key, value in fixed.items():
        try:
            set_path(data, str(key), value)
        except InputError as exc:
            raise doc.error(_strip_set(exc.message, str(key)), ("sweep", "set", key)) from None
    out = LocatedDoc(data, base.lines, base.file)
    try:
        parse_scenario(out)
    except InputError as exc:
        culprit = next((k for k in fixed if exc.key and (exc.key + ".").startswith(str(k) + ".")), None)
        if culprit is None:
            raise
        raise doc.error(f"'{culprit}' = {fixed[culprit]!r}: {exc.message}", ("sweep", "set", culprit)) from None
    return out


def _strip_set(message: str, key: str) -> str:
    return message.removeprefix(f"--set {key}: ")


def _point_doc(sweep: Sweep, values: dict[str, Any], seed: int | None = None) -> Scenario:
    """The scenario of one point (with the sweep's replicates, and ``seed`` if given), checked as a whole;
    a bad key or value is reported at its line in the sweep file."""
    data = copy.deepcopy(sweep.base_doc.data)
    data["replicates"] = sweep.replicates  # checked by the sweep file's schema (and -n)
    if seed is not None:
        data["seed"] = seed  # checked by --seed
    for path, value in values.items():
        try:
            set_path(data, path, value)
        except InputError as exc:
            raise sweep.doc.error(f"'{path}': {_strip_set(exc.message, path)}", sweep.loc(path)) from None
    try:
        scenario = parse_scenario(LocatedDoc(data, sweep.base_doc.lines, sweep.base_doc.file))
    except InputError as exc:
        if len(values) == 1:
            (path, value) = next(iter(values.items()))
            hint = ""
            if "integer" in exc.message and isinstance(value, float):
                hint = " (add 'integer: true' to the range or distribution)"
            elif any(p.path == path and p.kind == "dist" for p in sweep.parameters):
                hint = " (every draw of a distribution must be valid: bound it with low and high)"
            raise sweep.doc.error(f"'{path}' = {value!r}: {exc.message}{hint}", sweep.loc(path)) from None
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise sweep.doc.error(
            f"the combination {shown} is not a valid scenario: {exc.message}", ("sweep", "parameters")
        ) from None
    return scenario


# ---------------------------------------------------------------- designs
def unit_sample(design: str, n: int, d: int, seed: int) -> np.ndarray:
    """Points in the unit hypercube [0, 1)^d; a pure function of its arguments.

    ``saltelli`` returns ``n * (d + 2)`` rows (SALib's Sobol'-index design without second order).
    """
    if design == "random":
        return np.random.default_rng(seed).random((n, d))
    if design == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(n)
    if design == "sobol":
        import warnings

        from scipy.stats import qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # non-power-of-2: reported by load_sweep instead
            return qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(seed)).random(n)
    if design == "saltelli":
        from SALib.sample import sobol

        return sobol.sample(salib_problem(d), n, calc_second_order=False, scramble=True, seed=seed)
    raise ValueError(f"not a sampled design: {design}")


def salib_problem(d: int, names: list[str] | None = None) -> dict:
    """The SALib problem of a sweep in unit coordinates (values are mapped by each key's inverse CDF)."""
    return {"num_vars": d, "names": names or [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}


def design_values(sweep: Sweep) -> list[dict[str, Any]]:
    """The values of the swept keys at every point, in point order (pure in the sweep and its seed)."""
    names = [p.path for p in sweep.parameters]
    if sweep.design == "grid":
        return [
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*(p.levels() for p in sweep.parameters))
        ]
    u = unit_sample(sweep.design, sweep.points, len(names), sweep.seed)
    columns = [p.from_unit(u[:, j]) for j, p in enumerate(sweep.parameters)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def point_scenario(sweep: Sweep, values: dict[str, Any], seed: int | None = None) -> Scenario:
    """The validated scenario of a point: the base scenario with ``values`` set (and ``seed``, if given)."""
    return _point_doc(sweep, values, seed)


def sweep_points(sweep: Sweep, seed: int | None = None) -> list[SweepPoint]:
    """Every point, each validated as a scenario (base scenario plus the point's values)."""
    from simulator.scenario.language import scenario_hash

    out = []
    for i, values in enumerate(design_values(sweep)):
        scenario = point_scenario(sweep, values, seed)
        out.append(SweepPoint(i, values, scenario_hash(scenario), scenario.start))
    return out


def sweep_hash(points: list[SweepPoint]) -> str:
    """A stable hash of what a sweep computes: every point's resolved scenario, in order."""
    h = hashlib.sha256()
    for p in points:
        h.update(p.scenario_hash.encode())
    return h.hexdigest()[:16]
