"""Property: mutated scenario, sweep and landscape files give `sim validate` exit 0 or 2 (one `error:` line), never a traceback,
within a time and memory bound. Mutations: deleted keys, swapped types, huge and non-finite numbers, deep nesting,
aliases (repeated objects, and alias bombs), unicode."""

from __future__ import annotations

import copy
import math
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, US_EXIT, call_sim
from tests.test_input_limits import alias_bomb

SEEDS = {
    "scenario": [US_EXIT, ROOT / "scenarios" / "coalition_ukraine.yaml", ROOT / "scenarios/history/georgia_2008.yaml"],
    "sweep": [ROOT / "scenarios/sweeps/us_commitment_x_threat.yaml", ROOT / "scenarios/sweeps/edu_integration.yaml"],
    "landscape": [ROOT / "scenarios/landscapes/textbook.yaml"],
}
ODD_VALUES = [
    None, True, "x", "", 0, -1, 0.5, 1e308, -1e308, math.inf, -math.inf, math.nan, 10**30, -(10**19), [], {},
    ["a", 1], {"dist": "normal"}, "ÜKR", "名前", "🙂", "\u202eRTL", "a\nb", "2022-13-01",
]  # fmt: skip
_TMP = Path(tempfile.mkdtemp(prefix="sim-fuzz-"))


def _seed_data(kind: str, index: int) -> Any:
    path = SEEDS[kind][index]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if kind == "sweep":  # the base scenario by its absolute path: the file is written elsewhere
        data["sweep"]["scenario"] = str((path.parent / data["sweep"]["scenario"]).resolve())
    return data


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _mutate(data: Any, path: tuple, kind: str, value: Any, depth: int) -> Any:
    if not path:
        return data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    if kind == "delete":
        del parent[key]
    elif kind == "swap":
        parent[key] = copy.deepcopy(value)
    elif kind == "nest":
        parent[key] = _nested(depth)
    elif kind == "alias":  # the same object twice: yaml writes an anchor and an alias
        shared = parent[key] if isinstance(parent[key], dict | list) else [parent[key]]
        parent[key] = shared
        if isinstance(data, dict):
            data["zz_repeat"] = shared
    elif kind == "unicode_key" and isinstance(parent, dict):
        parent[f"{key}é🙂"] = parent.pop(key)
    return data


@st.composite
def mutated_files(draw) -> tuple[str, str]:
    kind = draw(st.sampled_from(sorted(SEEDS)))
    data = _seed_data(kind, draw(st.integers(0, len(SEEDS[kind]) - 1)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        how = draw(st.sampled_from(["delete", "swap", "swap", "nest", "alias", "unicode_key"]))
        data = _mutate(data, path, how, draw(st.sampled_from(ODD_VALUES)), draw(st.integers(2, 60)))
    text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False)
    if draw(st.integers(0, 9)) == 0:  # now and then an alias bomb as well
        text += alias_bomb(draw(st.integers(2, 9)))
    return kind, text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated_files())
def test_mutated_files_never_give_a_traceback(case):
    kind, text = case
    path = _TMP / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    res = call_sim("validate", path)
    elapsed = time.perf_counter() - t0
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # ru_maxrss is in KiB (Linux)
    assert res.code in (0, 2), (res.code, res.err, text[:2000])
    assert "Traceback" not in res.err and "internal error" not in res.err, (res.err, text[:2000])
    if res.code == 2:
        lines = res.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), (res.err, text[:2000])
    assert elapsed < 10, f"validate took {elapsed:.1f} s"
    assert grown_mb < 300, f"validate grew the process by {grown_mb:.0f} MB"
