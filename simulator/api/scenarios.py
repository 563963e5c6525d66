"""A scenario from a file, a dict or a Scenario, through the one validation path of `sim run` (parse_scenario)."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from simulator.errors import InputError
from simulator.scenario.language import Scenario, apply_overrides, load_scenario, parse_scenario
from simulator.scenario.yamlio import LocatedDoc

ScenarioSource = str | Path | Mapping | Scenario


def set_items(values: Mapping[str, Any] | None) -> list[str]:
    """``{"parameters.inertia": 2.5}`` as the ``--set`` items of the command line (``parameters.inertia=2.5``).

    Each value is written as YAML that reads back as the same value (``1e-05`` as ``1.0e-05``, a
    string quoted), so the overrides go through ``apply_overrides`` exactly as ``--set`` does.
    """
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise InputError(
            f"set= takes a mapping of dotted keys to values, e.g. {{'parameters.inertia': 2.5}} (got {values!r})"
        )
    items = []
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"set=: a key is a dotted scenario key such as 'parameters.inertia' (got {key!r})")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"--set {key}: {value} is not a finite number")
        text = yaml.safe_dump(_plain(value), default_flow_style=True, allow_unicode=True, width=1_000_000)
        text = text.strip().removesuffix("...").strip()  # a bare scalar ends its document with '...'
        items.append(f"{key}={text}")
    return items


def _plain(value: Any) -> Any:
    """numpy scalars and tuples as the Python values YAML writes."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def as_scenario(source: ScenarioSource, set: Mapping[str, Any] | None = None) -> Scenario:  # noqa: A002 (the CLI's --set)
    """Load and validate a scenario as `sim run` does: schema, names, cross-field rules, observed facts.

    Args:
        source: a scenario file (str or Path), a mapping with the keys of a scenario file, or a
            Scenario (validated again, so that ``set`` and every rule apply to it as to a file).
        set: overrides of dotted keys, as ``--set``: ``{"parameters.inertia": 2.5, "shocks.us_exit.at": 12}``.
    """
    overrides = set_items(set)
    if isinstance(source, str | Path):
        return load_scenario(source, overrides)
    if isinstance(source, Scenario):
        doc = LocatedDoc(source.model_dump(mode="json"), {}, f"<Scenario {source.name}>")
    elif isinstance(source, Mapping):
        doc = LocatedDoc(copy.deepcopy(_plain(dict(source))), {}, "<dict>")
    else:
        raise InputError(
            f"a scenario is a file path, a dict or a Scenario (got {type(source).__name__}); "
            "e.g. sim.run('scenarios/us_exit.yaml')"
        )
    if overrides:
        doc = apply_overrides(doc, overrides)
    return parse_scenario(doc)
