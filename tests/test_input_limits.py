"""Input hardening through the `sim` command: YAML limits, strict numbers, cross-field rules, one validation path.

Every bad input is a one-line error naming the file and line (or the option), exit 2, nothing written,
and `sim validate` says exactly what `sim run` says (docs/RELIABILITY.md, "Input").
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED, MAX_SWEEP_POINTS, MAX_YAML_DEPTH, MAX_YAML_NODES
from tests.conftest import US_EXIT, call_sim, write

HEAD = "name: bad\ndescription: a bad case\nsteps: 8\n"  # lines 1-3; a case's body starts on line 4


def one_line_error(res, *needles: str) -> str:
    """The single `error:` line of a failed command (exit 2, no traceback), checked for ``needles``."""
    lines = res.err.strip().splitlines()
    assert res.code == 2, (res.code, res.err)
    assert len(lines) == 1 and lines[0].startswith("error: "), res.err
    assert "Traceback" not in res.err and not res.out.strip(), (res.out, res.err)
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def nothing_written(tmp_path: Path, *inputs: Path) -> None:
    """Only the test's input files are in ``tmp_path`` (no run directory, no partial, no temporary file)."""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in inputs)


def validate_and_run_agree(tmp_path: Path, body: str, line: int, says: str) -> None:
    """``sim validate`` and ``sim run`` fail on HEAD + body with the same one line at ``line``; nothing written."""
    path = write(tmp_path, HEAD + body, "bad.yaml")
    checked = call_sim("validate", path)
    ran = call_sim("run", path, "-n", "10", "--no-figures", "--out", tmp_path / "out")
    assert one_line_error(checked, f"{path}:{line}:", says) == one_line_error(ran, f"{path}:{line}:", says)
    nothing_written(tmp_path, path)


def alias_bomb(levels: int = 9, width: int = 9, indent: str = "") -> str:
    """``levels`` nested levels of ``width`` aliases (keys a0, a1, ...): width**levels values once expanded."""
    lines = [f"{indent}a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"{indent}a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def alias_bomb_flow(levels: int = 9, width: int = 9) -> str:
    """The same bomb as one flow mapping (a --set value)."""
    return "{" + ", ".join(alias_bomb(levels, width).strip().splitlines()) + "}"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# ---------------------------------------------------------------- YAML limits
# (id, body after HEAD, line of the error, what it says)
YAML_CASES = [
    ("alias_bomb", alias_bomb(), None, f"more than {MAX_YAML_NODES:,} values"),
    ("nesting_40", f"assumptions: {nested(40)}\n", 4, f"nesting deeper than {MAX_YAML_DEPTH} levels"),
    ("nesting_5000", f"assumptions: {nested(5000)}\n", 4, f"nesting deeper than {MAX_YAML_DEPTH} levels"),
    ("recursive_alias", "assumptions: &a [x, *a]\n", 4, "refers to its own anchor"),
    (
        "impossible_date",
        "world: {as_of: 2021Q4}\nobserved:\n  - {kind: applied, state: FIN, bloc: NATO, date: 2022-13-01, source: x}\n",
        6,
        "'2022-13-01' is not a valid date",
    ),
]


@pytest.mark.parametrize("case,body,line,says", YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_yaml_limits_are_one_line_errors_in_validate_and_run(tmp_path, case, body, line, says):
    path = write(tmp_path, HEAD + body, "bad.yaml")
    call_sim("validate", US_EXIT)  # the imports, which are not what is timed
    t0 = time.perf_counter()
    checked = call_sim("validate", path)
    assert time.perf_counter() - t0 < 2, "limits are checked before anything is built"
    ran = call_sim("run", path, "-n", "10", "--no-figures", "--out", tmp_path / "out")
    where = f"{path}:{line}:" if line else f"{path}:"
    assert one_line_error(checked, where, says) == one_line_error(ran, where, says)
    nothing_written(tmp_path, path)


def test_alias_bomb_fails_fast_at_the_alias_that_crosses_the_limit(tmp_path):
    path = write(tmp_path, HEAD + alias_bomb(), "bomb.yaml")
    call_sim("validate", US_EXIT)  # the imports, which are not what is timed
    t0 = time.perf_counter()
    res = call_sim("validate", path)
    assert time.perf_counter() - t0 < 2
    one_line_error(res, f"{path}:", f"more than {MAX_YAML_NODES:,} values", "alias")


def test_yaml_limits_in_sweep_landscape_and_set(tmp_path):
    out = tmp_path / "out"
    sweep = write(tmp_path, f"sweep:\n  name: s\n  scenario: x.yaml\n  description: {nested(60)}\n", "s.yaml")
    one_line_error(call_sim("sweep", sweep, "--workers", "0", "--out", out), f"{sweep}:4:", "nesting deeper")
    sweep_bomb = write(tmp_path, "sweep:\n" + alias_bomb(indent="  "), "sb.yaml")
    one_line_error(call_sim("validate", sweep_bomb), f"{sweep_bomb}:", "values")
    bomb = write(tmp_path, "landscape:\n" + alias_bomb(indent="  "), "l.yaml")
    one_line_error(call_sim("landscape", bomb), f"{bomb}:", "values")
    deep = write(tmp_path, f"landscape:\n  name: {nested(2000)}\n", "d.yaml")
    one_line_error(call_sim("landscape", deep), f"{deep}:2:", "nesting deeper")
    # --set: the value is parsed within the same limits, and a dotted key has at most MAX_YAML_DEPTH parts
    one_line_error(call_sim("run", US_EXIT, "--set", f"assumptions={nested(3000)}", "--out", out), "--set assumptions")
    one_line_error(call_sim("run", US_EXIT, "--set", f"assumptions={alias_bomb_flow()}", "--out", out), "values")
    one_line_error(call_sim("run", US_EXIT, "--set", ".".join(["outcomes"] * 5000) + "=1", "--out", out), "dotted")
    edu = US_EXIT.parent / "sweeps" / "edu_integration.yaml"
    one_line_error(call_sim("sweep", edu, "--set", f"x={nested(99)}", "--out", out), "--set x", "nesting deeper")
    nothing_written(tmp_path, sweep, sweep_bomb, bomb, deep)


def test_large_document_under_the_limit_loads(tmp_path):
    path = write(tmp_path, HEAD + "assumptions:\n" + "".join(f"  - a{i}\n" for i in range(20_000)), "big.yaml")
    res = call_sim("validate", path)
    assert res.code == 0 and "OK" in res.out, res.err


# ---------------------------------------------------------------- strict numbers
OVERRIDE = "world:\n  overrides:\n    DEU: {%s}\n"
NUMBER_CASES = [
    ("gdp_inf", OVERRIDE % "gdp_usd_bn: .inf", 6, "finite number"),
    ("gdp_1e308", OVERRIDE % "gdp_usd_bn: 1.0e+308", 6, "less than or equal to 1000000"),
    ("warheads_1e308", OVERRIDE % "nuclear_warheads: 1e308", 6, "less than or equal to 100000"),
    ("milex_nan", OVERRIDE % "milex_pct_gdp: .nan", 6, "finite number"),
    ("param_nan", "parameters:\n  inertia: .nan\n", 5, "out of range"),
    ("param_inf", "parameters:\n  inertia: -.inf\n", 5, "out of range"),
    ("normal_nan", "parameters:\n  inertia: {dist: normal, mean: .nan, sd: 1}\n", 5, "finite number"),
    ("uniform_inf", "parameters:\n  inertia: {dist: uniform, low: 0, high: .inf}\n", 5, "finite number"),
    ("triangular_huge", "parameters:\n  inertia: {dist: triangular, low: -1e300, mode: 0, high: 1}\n", 5, "greater"),
    ("weights_nan", "parameters:\n  csf_exponent: {dist: choice, values: [1, 2], weights: [.nan, 1]}\n", 5, "finite"),
    ("weights_inf", "parameters:\n  csf_exponent: {dist: choice, values: [1, 2], weights: [.inf, 1]}\n", 5, "finite"),
    (
        "affinity_huge",
        "shocks:\n  - {type: government, target: HUN, affinity: {UKR: 1.0e+300}, at: 1}\n",
        5,
        "less than or equal to 4",
    ),
    ("posterior_weight_inf", "posterior: {parameters: [inertia], rows: [[1], [2]], weights: [.inf, 1]}\n", 4, "finite"),
]


@pytest.mark.parametrize("case,body,line,says", NUMBER_CASES, ids=[c[0] for c in NUMBER_CASES])
def test_non_finite_and_huge_numbers_are_file_line_errors(tmp_path, case, body, line, says):
    validate_and_run_agree(tmp_path, body, line, says)


@pytest.mark.parametrize(
    "setting,says",
    [
        ("parameters.inertia=.nan", "out of range"),
        ("parameters.inertia={dist: uniform, low: 0, high: .inf}", "finite number"),
        ("world.overrides.DEU.gdp_usd_bn=1.0e+308", "less than or equal"),
        ("world.overrides.DEU.nuclear_warheads=.inf", "finite number"),
    ],
)
def test_non_finite_numbers_from_set_name_the_option(tmp_path, setting, says):
    res = call_sim("run", US_EXIT, "--set", setting, "-n", "10", "--no-figures", "--out", tmp_path / "out")
    one_line_error(res, f"(from --set {setting})", says)
    nothing_written(tmp_path)


def test_non_finite_numbers_in_a_sweep_file(tmp_path):
    sweep = write(
        tmp_path,
        f"sweep:\n  name: s\n  scenario: {US_EXIT}\n  design: lhs\n  points: 4\n  parameters:\n"
        "    parameters.inertia: {range: [0, .inf]}\n",
    )
    res = call_sim("sweep", sweep, "--workers", "0", "--out", tmp_path / "out")
    one_line_error(res, f"{sweep}:7:", "finite number")
    sweep.write_text(sweep.read_text().replace("{range: [0, .inf]}", "[1, .nan]"), encoding="utf-8")
    one_line_error(call_sim("validate", sweep), f"{sweep}:7:", "nan")
    nothing_written(tmp_path, sweep)


@pytest.mark.parametrize(
    "args,option",
    [
        (["run", US_EXIT, "-n", str(MAX_REPLICATES + 1), "--out", "OUT"], "'--replicates' / '-n'"),
        (["run", US_EXIT, "--seed", "99999999999999999999999", "--out", "OUT"], "'--seed'"),
        (["run", US_EXIT, "--seed", str(MAX_SEED + 1), "--out", "OUT"], "'--seed'"),
        (["sweep", US_EXIT, "-n", str(MAX_REPLICATES + 1), "--out", "OUT"], "'--replicates' / '-n'"),
        (["sweep", US_EXIT, "--seed", str(MAX_SEED + 1), "--out", "OUT"], "'--seed'"),
        (["backtest", US_EXIT, "--seed", str(MAX_SEED + 1), "--out", "OUT"], "'--seed'"),
        (["landscape", "--world", "--seed", "-1"], "'--seed'"),
        (["calibrate", US_EXIT, "-p", "inertia", "--quantile", "nan", "--out", "OUT"], "--quantile"),
        (
            ["sweep", US_EXIT, "--cluster", "slurm", "--cluster-memory", "lots", "--print-job-script"],
            "--cluster-memory",
        ),
        (["sweep", US_EXIT, "--cluster", "slurm", "--cluster-walltime", "soon", "--print-job-script"], "walltime"),
    ],
)
def test_limits_of_options_are_checked_before_work_starts(tmp_path, args, option):
    res = call_sim(*(tmp_path / "out" if a == "OUT" else a for a in args))
    one_line_error(res, option)
    nothing_written(tmp_path)


def test_summary_json_is_strict_json(tmp_path):
    """Even a world at every documented maximum gives finite numbers; the writer never emits NaN/Infinity."""
    maxima = (
        "milex_usd_m: 10000000, gdp_usd_bn: 1000000, population_m: 10000, active_personnel_k: 100000, "
        "reserve_personnel_k: 100000, nuclear_warheads: 100000, tanks: 1000000, combat_aircraft: 1000000"
    )
    path = write(tmp_path, HEAD.replace("steps: 8", "steps: 3") + OVERRIDE % maxima, "max.yaml")
    res = call_sim("run", path, "-n", "10", "--no-figures", "--out", tmp_path / "run")
    assert res.code == 0, res.err

    def reject(constant: str):
        raise AssertionError(f"summary.json holds {constant}")

    summary = json.loads((tmp_path / "run" / "summary.json").read_text(), parse_constant=reject)
    assert summary["blocs"]["NATO"]["effective_power"]["median"] > 0

    from simulator.runs.results import write_json

    write_json(tmp_path / "x.json", {"a": float("nan"), "b": [float("inf"), 1.5]})
    assert json.loads((tmp_path / "x.json").read_text(), parse_constant=reject) == {"a": None, "b": [None, 1.5]}


# ---------------------------------------------------------------- sweep size
def test_grid_product_is_capped_before_anything_is_allocated(tmp_path):
    keys = ("shocks.threat_rise.factor", "parameters.inertia", "parameters.vote_noise")
    grid = "".join(f"    {key}: {{range: [0.1, 2], num: 1000}}\n" for key in keys)
    sweep = write(tmp_path, f"sweep:\n  name: s\n  scenario: {US_EXIT}\n  parameters:\n{grid}")
    t0 = time.perf_counter()
    res = call_sim("sweep", sweep, "--workers", "0", "--out", tmp_path / "out")
    assert time.perf_counter() - t0 < 10
    one_line_error(res, f"{sweep}:4:", "1,000 x 1,000 x 1,000 = 1,000,000,000 points", f"{MAX_SWEEP_POINTS:,}")
    one_line_error(call_sim("validate", sweep), f"{sweep}:4:", "1,000,000,000 points")
    saltelli = write(
        tmp_path,
        f"sweep:\n  name: s\n  scenario: {US_EXIT}\n  design: saltelli\n  points: 65536\n  parameters:\n"
        "    parameters.inertia: {range: [0, 5]}\n",
        "saltelli.yaml",
    )
    one_line_error(call_sim("validate", saltelli), f"{saltelli}:5:", "196,608 points")
    nothing_written(tmp_path, sweep, saltelli)


# ---------------------------------------------------------------- cross-field rules, one validation path
RULE_CASES = [
    ("integration_gt_max", "blocs:\n  modify:\n    EDU: {integration: 0.9, integration_max: 0.5}\n", 6, "exceeds"),
    ("integration_max_below_baseline", "blocs:\n  modify:\n    NATO: {integration_max: 0.1}\n", 6, "give both"),
    ("leader_not_member", "blocs:\n  modify:\n    NATO: {admission: leader, leader: RUS}\n", 6, "not one of its"),
    ("leader_dropped", "blocs:\n  modify:\n    JEF: {members: [NOR, SWE]}\n", 6, "leader 'GBR' is not one"),
    (
        "latent_leader_not_eligible",
        "blocs:\n  add:\n    NORD:\n      name: n\n      kind: alliance\n      active: false\n      admission: leader\n"
        "      leader: DEU\n      eligible: [NORDIC]\n      mutual_defence: 0.5\n",
        11,
        "may not found or join",
    ),
    ("member_listed_thrice", "blocs:\n  modify:\n    NATO: {members: [USA, DEU, DEU, DEU]}\n", 6, "listed twice"),
    (
        "duplicate_add_states",
        "world:\n  add_states:\n"
        + (
            "    - {iso3: XKX, name: K, region: x, capital_lat: 42, capital_lon: 21, milex_usd_m: 100,"
            " milex_pct_gdp: 1, gdp_usd_bn: 10, population_m: 1, active_personnel_k: 2, source: t}\n"
        )
        * 2,
        7,
        "added twice",
    ),
    ("remove_union", "blocs:\n  remove: [UNION]\n", 5, "cannot be removed"),
    ("union_latent", "blocs:\n  modify:\n    UNION: {active: false}\n", 6, "must stay active"),
    ("union_empty", "blocs:\n  modify:\n    UNION: {members: []}\n", 6, "at least one member"),
    ("attack_self", "shocks:\n  - {type: attack, attacker: RUS, target: [UKR, RUS], at: 1}\n", 5, "attacks itself"),
    ("attack_self_group", "shocks:\n  - {type: attack, attacker: BLR, target: ADVERSARY, at: 1}\n", 5, "itself"),
    ("found_nobody", "shocks:\n  - {type: found, bloc: EDU, target: [], at: 1}\n", 5, "at least one founding"),
    ("founders_absurd", "blocs:\n  modify:\n    EDU: {founding: {min_founders: 1e30}}\n", 6, "min_founders"),
]


@pytest.mark.parametrize("case,body,line,says", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_validate_runs_every_check_run_runs(tmp_path, case, body, line, says):
    """One validation path: validate, run and a sweep point give the same exit 2 and the same line."""
    validate_and_run_agree(tmp_path, body, line, says)


# null under blocs.modify or world.overrides would keep the baseline value without a word: an error that
# names the key, what it takes and how to keep the baseline value
NULL_CASES = [
    ("integration", "blocs:\n  modify:\n    NATO:\n      integration: null\n", 7, "give a number from 0 to 1,"),
    ("leader", "blocs:\n  modify:\n    JEF:\n      leader: ~\n", 7, "give a member's state code"),
    ("members", "blocs:\n  modify:\n    EDU: {members: null}\n", 6, "give a list of state codes"),
    ("admission", "blocs:\n  modify:\n    EU: {admission: null}\n", 6, "give one of unanimity, qualified_majority"),
    ("dynamic", "blocs:\n  modify:\n    EU: {dynamic: null}\n", 6, "give true or false"),
    ("tanks", "world:\n  overrides:\n    DEU:\n      tanks: null\n", 7, "give a number from 0 to 1,000,000"),
]


@pytest.mark.parametrize("case,body,line,says", NULL_CASES, ids=[c[0] for c in NULL_CASES])
def test_null_in_a_change_is_a_file_line_error(tmp_path, case, body, line, says):
    validate_and_run_agree(tmp_path, body, line, says)
    path = write(tmp_path, HEAD + body, "bad.yaml")
    line_text = one_line_error(call_sim("validate", path), "null is not a value here", f"'{case}' out to keep")
    assert f"[{'world.overrides.DEU' if case == 'tanks' else 'blocs.modify'}" in line_text


def test_null_from_set_names_the_option(tmp_path):
    res = call_sim("run", US_EXIT, "--set", "blocs.modify.NATO.integration=", "--out", tmp_path / "r")
    one_line_error(res, "'integration': null is not a value here", "(from --set blocs.modify.NATO.integration=)")
    nothing_written(tmp_path)


def test_cross_field_rules_hold_for_set_and_sweep_points(tmp_path):
    out = tmp_path / "out"
    sets = ["--set", "blocs.modify.EDU.integration=0.99", "--set", "blocs.modify.EDU.integration_max=0.5"]
    res = call_sim("run", US_EXIT, *sets, "--out", out)
    one_line_error(res, "exceeds integration_max", "--set blocs.modify.EDU")
    sweep = write(
        tmp_path,
        f"sweep:\n  name: s\n  scenario: {US_EXIT}\n  set: {{blocs.modify.EDU.integration_max: 0.5}}\n"
        "  parameters:\n    blocs.modify.EDU.integration: [0.1, 0.9]\n",
    )
    one_line_error(call_sim("sweep", sweep, "--workers", "0", "--out", out), f"{sweep}:6:", "exceeds integration_max")
    nothing_written(tmp_path, sweep)


@pytest.mark.parametrize("body", ["steps: !!timestamp abc\n", "replicates: !!bool maybe\n", "seed: !!int x\n"])
def test_explicit_tags_pyyaml_cannot_apply_are_file_line_errors(tmp_path, body):
    f = write(tmp_path, "name: bad\ndescription: a bad case\n" + body, "tagged.yaml")
    for cmd in ("validate", "run"):
        line = one_line_error(call_sim(cmd, f, *(["--out", tmp_path / "r"] if cmd == "run" else [])), "tagged.yaml:3")
        assert "internal error" not in line
    nothing_written(tmp_path, f)


def test_validate_checks_every_file_after_a_failure(tmp_path):
    bad = write(tmp_path, "name: bad\ndescription: x\nsteps: !!timestamp abc\n", "bad.yaml")
    res = call_sim("validate", bad, US_EXIT)
    assert res.code == 2 and "bad.yaml:3" in res.err
    assert "OK" in res.out and "us_exit" in res.out  # the second file was still checked
