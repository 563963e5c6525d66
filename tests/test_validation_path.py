"""One validation path: every way to build a Scenario runs every check a scenario file gets.

A file (``sim validate``, ``sim run``), ``--set``, a sweep point, a dict or keywords in Python, JSON
(what workers receive) and a changed scenario (``revalidated``: the posterior, replicates, seed) all go
through ``Scenario._one_path``. The CLI cases are in tests/test_input_limits.py (RULE_CASES, NULL_CASES).
"""

from __future__ import annotations

import json

import pytest
import yaml
from pydantic import ValidationError

from simulator.errors import InputError
from simulator.runs.results import scenario_yaml
from simulator.scenario.language import (
    Scenario,
    load_resolved_scenario,
    load_scenario,
    load_scenario_text,
    revalidated,
    scenario_from,
)
from tests.conftest import ROOT, US_EXIT, write
from tests.test_input_limits import HEAD, NULL_CASES, RULE_CASES

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios" / "history").glob("*.yaml"))
BASE = {"name": "py", "description": "built in Python"}


def test_a_dict_with_integration_above_its_maximum_is_refused():
    data = {**BASE, "blocs": {"modify": {"NATO": {"integration": 0.9, "integration_max": 0.8}}}}
    with pytest.raises(ValidationError, match=r"NATO: integration 0.9 exceeds integration_max 0.8") as err:
        Scenario.model_validate(data)
    assert "[blocs.modify.NATO.integration]" in str(err.value)
    with pytest.raises(InputError) as err:
        scenario_from(data)
    assert err.value.key == "blocs.modify.NATO.integration" and "exceeds integration_max 0.8" in err.value.message
    assert data == {**BASE, "blocs": {"modify": {"NATO": {"integration": 0.9, "integration_max": 0.8}}}}  # unchanged


def test_an_attack_on_itself_is_refused_from_keywords_dicts_and_json():
    shock = {"type": "attack", "attacker": "RUS", "target": "RUS", "at": 2}
    with pytest.raises(ValidationError, match=r"'RUS' attacks itself.*\[shocks\.0\.target\]"):
        Scenario(**BASE, shocks=[shock])
    with pytest.raises(ValidationError, match="attacks itself"):
        Scenario.model_validate_json(json.dumps({**BASE, "shocks": [shock]}))
    with pytest.raises(InputError, match="attacks itself") as err:
        scenario_from({**BASE, "shocks": [shock]}, name="my_dict")
    assert str(err.value).startswith("my_dict: ") and err.value.key == "shocks.0.target"


@pytest.mark.parametrize("case,body,line,says", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_every_cross_field_rule_holds_for_a_dict(case, body, line, says):
    """The RULE_CASES that sim validate and sim run refuse in a file, given as a dict in Python."""
    data = yaml.safe_load(HEAD + body)
    with pytest.raises(ValidationError, match=says):
        Scenario.model_validate(data)
    with pytest.raises(InputError, match=says):
        scenario_from(data)


@pytest.mark.parametrize("case,body,line,says", NULL_CASES, ids=[c[0] for c in NULL_CASES])
def test_a_null_change_is_refused_from_a_dict(case, body, line, says):
    with pytest.raises(ValidationError, match="null is not a value here"):
        Scenario.model_validate(yaml.safe_load(HEAD + body))


def test_names_and_quarters_are_checked_for_a_dict():
    with pytest.raises(ValidationError, match="unknown state, group or bloc 'UKX'; did you mean 'UKR'"):
        Scenario.model_validate({**BASE, "shocks": [{"type": "threat", "target": "UKX", "factor": 2, "at": 1}]})
    # a quarter is turned into a step, as in a file (the caller's dict is left as it was)
    shocks = [{"type": "threat", "target": "UKR", "factor": 2, "at": "2027Q1"}]
    scenario = Scenario.model_validate({**BASE, "shocks": shocks})
    assert scenario.shocks[0].at == 4 and shocks[0]["at"] == "2027Q1"
    with pytest.raises(ValidationError, match="quarter 2040Q1 is outside the run"):
        Scenario.model_validate({**BASE, "shocks": [{**shocks[0], "at": "2040Q1"}]})


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_pass_every_route_unchanged(path):
    """A checked scenario is the same Scenario after JSON (workers), a dict, a resolved YAML and revalidated."""
    scenario = load_scenario(path)
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    assert Scenario.model_validate(scenario.model_dump()) == scenario
    assert scenario_from(scenario.model_dump(mode="json")) == scenario
    assert load_scenario_text(scenario_yaml(scenario), "resolved.yaml") == scenario
    assert revalidated(scenario) == scenario


def test_a_resolved_scenario_is_read_back_when_its_scenario_removes_a_default_bloc(tmp_path):
    """outcomes.european_blocs is written out with its default (EDU); a scenario without EDU still reads back."""
    scenario = load_scenario_text(HEAD + "blocs:\n  remove: [EDU]\n", "noedu.yaml")
    resolved = scenario_yaml(scenario)
    assert "- EDU" in resolved
    assert load_scenario_text(resolved, "resolved.yaml") == scenario
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    with pytest.raises(InputError, match="unknown bloc 'EDU'"):  # given on purpose, it is still an error
        load_scenario_text(HEAD + "blocs:\n  remove: [EDU]\noutcomes:\n  european_blocs: [EDU, EU]\n", "x.yaml")


def test_resolved_scenarios_list_only_the_changes_and_old_ones_with_nulls_still_replay(tmp_path):
    body = "blocs:\n  modify:\n    NATO: {integration: 0.5}\nworld:\n  overrides:\n    DEU: {tanks: 500}\n"
    scenario = load_scenario_text(HEAD + body, "x.yaml")
    data = yaml.safe_load(scenario_yaml(scenario))
    assert data["blocs"]["modify"] == {"NATO": {"integration": 0.5}}
    assert data["world"]["overrides"] == {"DEU": {"tanks": 500.0}}
    # earlier versions wrote every key not given as null; a run directory's resolved file is read as meant
    data["blocs"]["modify"]["NATO"] |= {"leader": None, "members": None, "founding": None}
    data["world"]["overrides"]["DEU"] |= {"gdp_usd_bn": None}
    old = write(tmp_path, yaml.safe_dump(data), "scenario.resolved.yaml")
    assert load_resolved_scenario(old) == scenario
    with pytest.raises(InputError, match="null is not a value here"):
        load_scenario(old)  # as a scenario file of the user's, the null is refused


def test_revalidated_checks_the_changed_scenario():
    scenario = load_scenario(US_EXIT)
    assert revalidated(scenario, replicates=7, seed=3) == scenario.model_copy(update={"replicates": 7, "seed": 3})
    with pytest.raises(InputError, match="replicates") as err:
        revalidated(scenario, replicates=0)
    assert err.value.key == "replicates"


def test_a_posterior_is_attached_through_the_same_checks(tmp_path):
    from simulator.runs.calibrate import load_posterior, with_posterior
    from simulator.scenario.language import ParameterSample

    calibration = ROOT / "simulator" / "data" / "calibration"
    scenario, _ = with_posterior(load_scenario(US_EXIT), calibration)
    assert scenario.posterior == load_posterior(calibration)
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    with pytest.raises(InputError, match=r"inertia = 1000000000.0 is outside") as err:
        revalidated(scenario, posterior={"parameters": ["inertia"], "rows": [[1e9]]})
    assert err.value.key == "posterior"
    sample = ParameterSample(parameters=["inertia"], rows=[[2.0]])
    assert revalidated(scenario, posterior=sample).posterior is sample  # a checked sample is not copied
