"""Shared test helpers, defined once: paths, the scenario cases of the exactness tests, the in-process
`sim` CLI, and the tiny reference sweep.

Test modules import the constants and functions from here (``from tests.conftest import ROOT``);
the fixtures (``sim``, ``reference``) pytest finds by itself.
"""

from __future__ import annotations

import contextlib
import io
import sys
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
US_EXIT = ROOT / "scenarios" / "us_exit.yaml"

# Every shock type and timing rule, every distribution, a QMV bloc, a latent leader-admission bloc
# and an extra state: the paths the shipped scenarios may not reach.
STRESS = """
name: stress
description: every shock type, timing rule and distribution
steps: 24
seed: 7
world:
  overrides:
    HUN: {us_attitude: -0.2}
  add_states:
    - {iso3: XKX, name: Kosovo, region: Europe, capital_lat: 42.67, capital_lon: 21.17, milex_usd_m: 100,
       milex_pct_gdp: 1.0, gdp_usd_bn: 10, population_m: 1.8, active_personnel_k: 2.5, source: test}
blocs:
  modify:
    CWILL: {admission: qualified_majority, accession_quarters: 1, accession_duration: {median_quarters: 4, shape: 2}}
  add:
    NORTH:
      name: Northern Defence Union
      kind: alliance
      active: false
      admission: leader
      leader: SWE
      mutual_defence: 0.8
      spending_norm: 2.5
      integration: 0.2
      integration_growth: 0.05
      integration_max: 0.8
      admits_disputed: false
      eligible: [NORDIC, BALTIC, POL, DEU, GBR, NLD, UKR, MDA]
      founding: {min_founders: 2, min_power_share: 0.1}
parameters:
  revision_rate: {dist: uniform, low: 0.3, high: 0.6}
  founding_rate: 0.6
  csf_exponent: {dist: triangular, low: 0.6, mode: 1.3, high: 2.5}
  choice_noise: {dist: normal, mean: 0.8, sd: 0.3, low: 0.1, high: 2.0}
  vote_noise: {dist: beta, a: 2, b: 5, low: 0.05, high: 1.0}
  founding_cost: {dist: choice, values: [0.0, 0.3, 0.7], weights: [1, 2, 1]}
  inertia: {dist: uniform, low: 0.5, high: 2.0}
  choice_persistence: {dist: uniform, low: 0.0, high: 0.9}
  decision_memory: {dist: uniform, low: 0.0, high: 1.0}
  switch_by_commitment: {dist: uniform, low: 0.0, high: 1.0}
shocks:
  - {name: notice, type: commitment, target: USA, bloc: NATO, value: 0.5, at: 1}
  - {name: cut, type: commitment, target: EUROPE, bloc: NATO, change: -0.3, window: [2, 6]}
  - {name: exit, type: withdraw, target: USA, bloc: NATO, window: [3, 8]}
  - {name: kick, type: expel, target: TUR, bloc: CWILL, probability: 0.2}
  - {name: ukr_join, type: join, target: UKR, bloc: CWILL, at: 2}
  - {name: edu, type: found, bloc: EDU, target: [FRA, DEU, POL], probability: 0.1, window: [5, 15]}
  - {name: rift, type: relation, target: HUN, other: [UKR, POL], change: -1.0, at: 3}
  - {name: rearm, type: spending, target: BALTIC, factor: 1.5, at: 2}
  - {name: war_budget, type: spending, target: POL, pct_gdp: 6.0, window: [4, 10]}
  - {name: mobilise, type: mobilisation, target: [FIN, EST], factor: 1.3, probability: 0.05, repeat: true}
  - {name: attack, type: attack, attacker: RUS, target: [EST, LVA], severity: 2.0, war: true, probability: 0.08}
  - {name: fear, type: threat, target: EUROPE, factor: 1.1, at: 5}
  - {name: gov, type: government, target: [HUN, SVK], us_attitude: 0.3, eu_attitude: -0.4, neutrality: 0.2,
     affinity: {UKR: -0.5, RUS: 0.4}, window: [1, 12]}
  - {name: hun_veto, type: veto, target: HUN, bloc: NATO, against: [UKR, GEO], at: 0}
  - {name: tur_veto, type: veto, target: TUR, bloc: CWILL, at: 1}
  - {name: tur_lift, type: veto, target: TUR, bloc: CWILL, lift: true, window: [6, 14]}
  - {name: integ, type: integration, bloc: NATO, change: -0.2, at: 4}
  - {name: edu_integ, type: integration, bloc: EDU, change: 0.1, probability: 0.1, repeat: true}
  - {name: peace, type: settlement, target: [UKR, MDA], window: [4, 12]}
"""

# The cases of the exactness tests: every shipped scenario and the stress scenario.
# A dated world too: 2014, with Membership Action Plans standing (their own accession duration) and a declared veto.
CRIMEA_2014 = ROOT / "scenarios" / "history" / "crimea_2014.yaml"
CASES = (
    [pytest.param(path, id=path.stem) for path in SCENARIOS]
    + [pytest.param(CRIMEA_2014, id="crimea_2014")]
    + [pytest.param("stress", id="stress")]
)


@cache
def case_scenario(case: Path | str):
    """The validated scenario of a case of CASES (loaded once per process)."""
    from simulator.scenario.language import load_scenario, load_scenario_text

    return load_scenario_text(STRESS, "stress.yaml") if case == "stress" else load_scenario(case)


# 2 x 2 points x 20 replicates in blocks of 10 = 8 tasks; point 0 is the us_exit scenario itself
# (threat_rise 1.2 and nato_credibility -0.5 are its own values).
TINY = f"""\
sweep:
  name: tiny
  description: a tiny sweep for tests
  scenario: {US_EXIT}
  replicates: 20
  block_size: 10
  set: {{steps: 10}}
  parameters:
    shocks.threat_rise.factor: [1.2, 2.0]
    shocks.nato_credibility.change: {{values: [-0.5, 0.0]}}
"""


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    """Write ``text`` to ``tmp_path / name``; returns the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


def call_sim(*args: object) -> CliResult:
    """Call `sim ARGS...` in this process; returns exit code, stdout and stderr (no fixture needed)."""
    from simulator.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["sim", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def sim(monkeypatch):
    """``call_sim`` with wide tables (COLUMNS=200)."""
    monkeypatch.setenv("COLUMNS", "200")
    return call_sim


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny sweep (TINY) run once in-process: (sweep file, result directory)."""
    from simulator.runs.evaluators import InProcess
    from simulator.runs.sweep.driver import run_sweep
    from simulator.runs.sweep.spec import load_sweep
    from simulator.runs.sweep.tasks import plan_sweep

    base = tmp_path_factory.mktemp("sweep_ref")
    sweep_file = write(base, TINY)
    with InProcess() as ev:
        run_sweep(plan_sweep(load_sweep(sweep_file)), base / "out", ev)
    return sweep_file, base / "out"
