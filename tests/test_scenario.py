"""The scenario language: every shipped scenario validates; each kind of mistake gets a clear one-line error."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import InputError
from simulator.scenario.language import load_scenario, load_scenario_text, quarter_label, scenario_json_schema
from tests.conftest import SCENARIOS

GOOD = """\
name: t
description: test scenario
steps: 12
replicates: 10
seed: 1
parameters:
  inertia: 2.5
  revision_rate: {dist: uniform, low: 0.1, high: 0.3}
shocks:
  - name: exit
    type: withdraw
    target: USA
    bloc: NATO
    at: 4
"""


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_validate(path, sim):
    scenario = load_scenario(path)
    assert scenario.description.strip()
    assert scenario.assumptions, "every shipped scenario states its assumptions"
    result = sim("validate", path)
    assert result.code == 0, result.err
    assert "OK" in result.out


def test_good_scenario_parses():
    sc = load_scenario_text(GOOD)
    assert sc.steps == 12 and sc.shocks[0].type == "withdraw"
    assert sc.parameters["inertia"] == 2.5


# (id, text, expected message fragment, expected line)
BROKEN = [
    ("unknown_guarantor", GOOD + "outcomes:\n  guarantor: USX\n", "unknown state 'USX'; did you mean 'USA'", 16),
    (
        "unknown_reference_alliance",
        GOOD + "outcomes:\n  reference_alliance: NAT0\n",
        "unknown bloc 'NAT0'; did you mean 'NATO'",
        16,
    ),
    (
        "extra_state_already_there",
        GOOD
        + "world:\n  add_states:\n    - {iso3: DEU, name: x, region: y, capital_lat: 1, capital_lon: 1, milex_usd_m: 1,"
        + " milex_pct_gdp: 1, gdp_usd_bn: 1, population_m: 1, active_personnel_k: 1, source: t}\n",
        "state 'DEU' is already in the baseline",
        17,
    ),
    ("yaml_syntax", "name: t\ndescription: [unclosed\nsteps: 3\n", "YAML syntax error", 3),
    ("empty_file", "", "empty", 1),
    ("not_a_mapping", "- a\n- b\n", "must be a YAML mapping", 1),
    ("unknown_top_key", GOOD + "colour: red\n", "unknown key 'colour'", 15),
    ("misspelt_key", GOOD.replace("replicates:", "replicate:"), "did you mean 'replicates'", 4),
    ("missing_description", "name: t\nsteps: 3\n", "missing required key 'description'", 1),
    ("unknown_state", GOOD.replace("target: USA", "target: GRM"), "unknown state, group or bloc 'GRM'", 12),
    ("unknown_bloc", GOOD.replace("bloc: NATO", "bloc: NAT0"), "unknown bloc 'NAT0'; did you mean 'NATO'", 13),
    (
        "unknown_shock_type",
        GOOD.replace("type: withdraw", "type: withdrew"),
        "unknown shock type 'withdrew'; did you mean 'withdraw'",
        11,
    ),
    ("missing_shock_type", GOOD.replace("    type: withdraw\n", ""), "a shock needs 'type'", 10),
    ("wrong_type_steps", GOOD.replace("steps: 12", "steps: twelve"), "'steps'", 3),
    ("negative_replicates", GOOD.replace("replicates: 10", "replicates: -5"), "'replicates'", 4),
    ("out_of_range_param", GOOD.replace("inertia: 2.5", "inertia: 99"), "out of range; valid: 0.0 to 10.0", 7),
    (
        "unknown_param",
        GOOD.replace("inertia: 2.5", "inertai: 2.5"),
        "unknown parameter 'inertai'; did you mean 'inertia'",
        7,
    ),
    ("bad_distribution_name", GOOD.replace("dist: uniform", "dist: gaussian"), "unknown distribution 'gaussian'", 8),
    ("bad_distribution_order", GOOD.replace("low: 0.1, high: 0.3", "low: 0.3, high: 0.1"), "low < high", 8),
    (
        "distribution_missing_dist",
        GOOD.replace("{dist: uniform, low: 0.1, high: 0.3}", "{low: 0.1, high: 0.3}"),
        "needs 'dist'",
        8,
    ),
    (
        "normal_bad_sd",
        GOOD.replace("{dist: uniform, low: 0.1, high: 0.3}", "{dist: normal, mean: 0.2, sd: -1}"),
        "'sd'",
        8,
    ),
    ("step_beyond_horizon", GOOD.replace("at: 4", "at: 12"), "beyond the horizon", 14),
    ("window_beyond_horizon", GOOD.replace("at: 4", "window: [2, 30]"), "beyond the horizon", 14),
    (
        "two_timings",
        GOOD.replace("at: 4", "at: 4\n    window: [1, 2]"),
        "exactly one of 'at', 'window' or 'probability'",
        10,
    ),
    ("no_timing", GOOD.replace("    at: 4\n", ""), "exactly one of 'at', 'window' or 'probability'", 10),
    ("probability_out_of_range", GOOD.replace("at: 4", "probability: 1.5"), "'probability'", 14),
    (
        "duplicate_shock_names",
        GOOD + "  - name: exit\n    type: join\n    target: USA\n    bloc: NATO\n    at: 5\n",
        "duplicate shock name 'exit'",
        15,
    ),
    ("duplicate_yaml_key", GOOD.replace("seed: 1", "seed: 1\nseed: 2"), "duplicate key 'seed'", 6),
    ("bad_start_quarter", GOOD + "start: 2026Q5\n", "quarter like 2026Q1", 15),
    (
        "commitment_without_value",
        GOOD.replace("type: withdraw", "type: commitment"),
        "exactly one of 'value' or 'change'",
        10,
    ),
    ("unknown_override_state", GOOD + "world:\n  overrides:\n    XYZ: {milex_usd_m: 5}\n", "unknown state 'XYZ'", 17),
    ("override_bad_field", GOOD + "world:\n  overrides:\n    DEU: {milex: 5}\n", "unknown key 'milex'", 17),
    (
        "unknown_bloc_modify",
        GOOD + "blocs:\n  modify:\n    NATTO: {spending_norm: 5}\n",
        "unknown bloc 'NATTO'; did you mean 'NATO'",
        17,
    ),
    (
        "found_active_bloc",
        GOOD.replace("type: withdraw", "type: found").replace("bloc: NATO", "bloc: EU"),
        "already active",
        13,
    ),
    ("bad_name_chars", GOOD.replace("name: t\n", "name: my scenario!\n"), "'name'", 1),
    ("unknown_outcome_bloc", GOOD + "outcomes:\n  european_blocs: [EDX]\n", "unknown bloc 'EDX'", 16),
]


@pytest.mark.parametrize(("text", "fragment", "line"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_scenarios_fail_clearly(tmp_path, sim, text, fragment, line):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    err = info.value
    assert fragment in str(err), str(err)
    assert err.file == str(path)
    assert err.line == line, f"{err} (expected line {line})"
    result = sim("validate", path)
    assert result.code == 2
    assert "Traceback" not in result.err
    msg = " ".join(result.err.split())
    assert f"{path}:{line}" in msg and fragment in msg
    run = sim("run", path, "--out", tmp_path / "never")
    assert run.code == 2 and "Traceback" not in run.err
    assert not (tmp_path / "never").exists()


def test_at_least_25_kinds_of_mistake():
    assert len(BROKEN) >= 25


def test_missing_file(sim, tmp_path):
    result = sim("validate", tmp_path / "nope.yaml")
    assert result.code == 2 and "file not found" in result.err


def test_set_overrides_and_errors(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD, encoding="utf-8")
    sc = load_scenario(path, ["parameters.inertia=4", "shocks.exit.at=6", "steps=20"])
    assert sc.parameters["inertia"] == 4 and sc.shocks[0].at == 6 and sc.steps == 20
    with pytest.raises(InputError, match="no item 'nope'"):
        load_scenario(path, ["shocks.nope.at=3"])
    with pytest.raises(InputError, match="out of range"):
        load_scenario(path, ["parameters.inertia=100"])


def test_quarter_labels():
    assert quarter_label("2026Q1", 0) == "2026Q1"
    assert quarter_label("2026Q1", 5) == "2027Q2"
    assert quarter_label("2026Q4", 1) == "2027Q1"


def test_schema_command(sim):
    result = sim("schema")
    assert result.code == 0
    schema = scenario_json_schema()
    assert '"shocks"' in result.out and "properties" in schema


# ---------------------------------------------------------------- property test: random mutations
def _mutations():
    leaf = st.one_of(
        st.none(), st.booleans(), st.integers(-10, 1000), st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6), st.sampled_from(["USA", "NATO", "EU", "EUROPE", "GRM", "withdraw", "normal", "2026Q3"]),
        st.lists(st.sampled_from(["USA", "DEU", "XXX", 3]), max_size=3),
        st.dictionaries(st.sampled_from(["dist", "low", "high", "mean", "sd", "at", "type"]), st.integers(-3, 50), max_size=3),
    )  # fmt: skip
    return leaf


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


BASE_DOCS = [yaml.safe_load(p.read_text()) for p in SCENARIOS] + [yaml.safe_load(GOOD)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_scenarios_accept_or_raise_input_error(data):
    doc = data.draw(st.sampled_from(BASE_DOCS))
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["set", "delete", "rename"]))
        if action == "set":
            parent[path[-1]] = data.draw(_mutations())
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[str(path[-1]) + data.draw(st.sampled_from(["x", "_", "s"]))] = parent.pop(path[-1])
    text = yaml.safe_dump(doc, sort_keys=False)
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(text)))
        text = text[:cut] + data.draw(st.sampled_from(["", ":", "[", "\t", "- ", "{a: 1"])) + text[cut:]
    try:
        load_scenario_text(textwrap.dedent(text), "mutant.yaml")
    except InputError as exc:
        assert str(exc).startswith("mutant.yaml")
