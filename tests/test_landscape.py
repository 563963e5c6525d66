"""Landscape model: hand-computed cases, invariants, equivalence with a naive reference, CLI."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import simulator.landscape as lm
from simulator.cli import landscape_cmds
from simulator.errors import InputError
from simulator.landscape import (
    Landscape,
    decode,
    descend,
    energy,
    enumerate_landscape,
    flip_gains,
    frustration,
    load_landscape,
    sample_landscape,
)
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "scenarios" / "landscapes").glob("*.yaml"))
FEW = settings(max_examples=50, deadline=None)


def make(sizes, pairs: dict[tuple[int, int], float], names=None) -> Landscape:
    n = len(sizes)
    p = np.zeros((n, n))
    for (i, j), v in pairs.items():
        p[i, j] = p[j, i] = v
    return Landscape.from_arrays(names or [chr(65 + i) for i in range(n)], sizes, p)


@st.composite
def landscapes(draw, min_n: int = 2, max_n: int = 9) -> Landscape:
    """Integer sizes and propensities, so every comparison is exact."""
    n = draw(st.integers(min_n, max_n))
    sizes = draw(st.lists(st.integers(1, 20), min_size=n, max_size=n))
    values = draw(st.lists(st.integers(-5, 5), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2))
    return make(sizes, dict(zip(itertools.combinations(range(n), 2), values, strict=True)))


def all_configurations(n: int) -> np.ndarray:
    return decode(np.arange(1 << (n - 1)), n)


# --------------------------------------------------------------------------- hand-computed cases


def test_three_actor_example_by_hand():
    # w_AB = 10*20*2 = 400, w_AC = 10*5*(-1) = -50; E = 2 * sum over split pairs of w.
    land = make([10, 20, 5], {(0, 1): 2, (0, 2): -1})
    result = enumerate_landscape(land, keep_energies=True)
    # codes: bit 0 = B on the other side, bit 1 = C on the other side
    assert result.energies.tolist() == [0.0, 800.0, -100.0, 700.0]
    assert len(result.minima) == 1
    best = result.minima[0]
    assert best.camps(land.names) == (["A", "B"], ["C"])
    assert best.energy == -100.0 and best.basin == 1.0
    # F_A = s_C p_AC = -5, F_B = 0, F_C = s_A p_AC = -10; E = 10*(-5) + 5*(-10) = -100
    assert best.frustration.tolist() == [-5.0, 0.0, -10.0]
    assert result.to_json() == {
        "actors": ["A", "B", "C"],
        "minima": [{"energy": -100.0, "sides": [["A", "B"], ["C"]], "basin": 1.0}],
    }


def test_frustrated_triangle_ties_go_to_lowest_actor():
    # Everyone dislikes everyone: the three 2-1 splits are minima of equal energy -4.
    # From "all together" every switch lowers E by 4; the tie goes to actor A, so A|BC
    # collects that start as well as itself: basins 1/2, 1/4, 1/4.
    land = make([1, 1, 1], {(0, 1): -1, (0, 2): -1, (1, 2): -1})
    result = enumerate_landscape(land)
    got = [(m.energy, m.basin, m.camps(land.names)) for m in result.minima]
    assert got == [
        (-4.0, 0.5, (["A"], ["B", "C"])),
        (-4.0, 0.25, (["A", "B"], ["C"])),
        (-4.0, 0.25, (["A", "C"], ["B"])),
    ]


def test_textbook_example_golden():
    land = load_landscape(ROOT / "scenarios/landscapes/textbook.yaml")
    result = enumerate_landscape(land)
    got = [(m.energy, m.basin * 16, m.camps(land.names)) for m in result.minima]
    assert got == [
        (-274.0, 11.0, (["A", "a", "S"], ["B", "b"])),
        (-260.0, 5.0, (["A"], ["B", "a", "b", "S"])),
    ]


def test_one_and_two_actors():
    lone = Landscape.from_arrays(["A"], [3.0], [[0.0]])
    (only,) = enumerate_landscape(lone).minima
    assert only.energy == 0.0 and only.basin == 1.0 and only.camps(lone.names) == (["A"], [])
    rivals = make([2, 3], {(0, 1): -1})
    (split,) = enumerate_landscape(rivals).minima
    assert split.camps(rivals.names) == (["A"], ["B"]) and split.energy == -12.0


# --------------------------------------------------------------------------------- invariants


@FEW
@given(landscapes(), st.data())
def test_energy_is_symmetric_under_complement(land, data):
    sides = np.array(data.draw(st.lists(st.booleans(), min_size=land.n, max_size=land.n)))
    assert energy(land, sides) == energy(land, ~sides)


@FEW
@given(landscapes(), st.data())
def test_energy_and_move_rule_match_the_definitions(land, data):
    sides = np.array(data.draw(st.lists(st.booleans(), min_size=land.n, max_size=land.n)))
    f = frustration(land, sides)
    assert energy(land, sides) == pytest.approx(float(land.sizes @ f), abs=0)
    gains = flip_gains(land, sides)
    for i in range(land.n):
        moved = sides.copy()
        moved[i] = ~moved[i]
        # dE = E(moved) - E = 2 s_i dF_i: an actor's own gain has the sign of the system's
        assert energy(land, moved) - energy(land, sides) == gains[i]
        assert gains[i] == 2 * land.sizes[i] * (frustration(land, moved)[i] - f[i])


@FEW
@given(landscapes())
def test_minima_are_stable_and_basins_are_exact(land):
    result = enumerate_landscape(land, keep_energies=True)
    configs = all_configurations(land.n)
    np.testing.assert_array_equal(result.energies, energy(land, configs))
    assert sum(m.basin for m in result.minima) == pytest.approx(1.0, abs=1e-12)
    minima = {tuple(m.sides): m for m in result.minima}
    for m in result.minima:
        assert not m.sides[0]  # canonical: actor 0 on the first side
        assert np.all(flip_gains(land, m.sides) >= 0)
        assert m.energy == energy(land, m.sides)
    energies = [m.energy for m in result.minima]
    assert energies == sorted(energies)
    # every configuration descends (one step at a time) into a reported minimum, and the
    # counts of where they end are the reported basins
    ends = descend(land, configs)
    keys, counts = np.unique(ends, axis=0, return_counts=True)
    assert {tuple(k) for k in keys} <= set(minima)
    for key, count in zip(keys, counts, strict=True):
        assert minima[tuple(key)].basin * len(configs) == count
    # and a configuration is a minimum exactly when no single switch lowers E
    stable = np.all(flip_gains(land, configs) >= 0, axis=1)
    assert {tuple(c) for c in configs[stable]} == set(minima)


def naive_minima(land: Landscape) -> dict[tuple[bool, ...], tuple[float, float]]:
    """Loops over configurations, straight from the definitions, as a reference."""
    n, s, p = land.n, land.sizes, land.propensity

    def e(x):
        return sum(s[i] * s[j] * p[i, j] * (x[i] != x[j]) for i in range(n) for j in range(n))

    configs = [(False, *c) for c in itertools.product((False, True), repeat=n - 1)]
    energies = {c: e(c) for c in configs}

    def step(c):
        best, target = 0.0, None
        for k in range(n):
            moved = tuple(v ^ (i == k) ^ (k == 0) for i, v in enumerate(c))
            if energies[moved] - energies[c] < best:
                best, target = energies[moved] - energies[c], moved
        return target

    basins: dict[tuple[bool, ...], int] = {}
    for c in configs:
        while (nxt := step(c)) is not None:
            c = nxt
        basins[c] = basins.get(c, 0) + 1
    return {c: (energies[c], k / len(configs)) for c, k in basins.items()}


@settings(max_examples=25, deadline=None)
@given(landscapes(max_n=7))
def test_equals_naive_reference(land):
    got = {tuple(bool(b) for b in m.sides): (m.energy, m.basin) for m in enumerate_landscape(land).minima}
    assert got == naive_minima(land)


def test_chunked_enumeration_equals_single_chunk(monkeypatch):
    rng = np.random.default_rng(7)
    n = 11
    sizes = rng.integers(1, 30, n)
    pairs = {ij: int(rng.integers(-4, 5)) for ij in itertools.combinations(range(n), 2)}
    land = make(sizes, pairs)
    whole = enumerate_landscape(land, keep_energies=True)
    monkeypatch.setattr(lm, "_CHUNK_BITS", 3)  # 2^10 configurations in 128 chunks
    chunked = enumerate_landscape(land, keep_energies=True)
    np.testing.assert_array_equal(whole.energies, chunked.energies)
    assert [(tuple(m.sides), m.energy, m.basin) for m in whole.minima] == [
        (tuple(m.sides), m.energy, m.basin) for m in chunked.minima
    ]


def test_real_valued_ties_are_consistent():
    # Two identical actors (B, C) and non-integer numbers: gains tie up to rounding only.
    land = make([0.1, 0.3, 0.3, 0.7], {(0, 1): 0.7, (0, 2): 0.7, (1, 3): -0.3, (2, 3): -0.3, (0, 3): 0.1})
    assert land.tolerance > 0
    result = enumerate_landscape(land)
    ends = descend(land, all_configurations(land.n))
    keys, counts = np.unique(ends, axis=0, return_counts=True)
    assert {tuple(k): c / len(ends) for k, c in zip(keys, counts, strict=True)} == {
        tuple(m.sides): m.basin for m in result.minima
    }


def test_descent_sampling_is_seeded_and_finds_the_exact_minima():
    land = load_landscape(ROOT / "scenarios/landscapes/europe-1930s-illustrative.yaml")
    exact = {tuple(m.sides): m.basin for m in enumerate_landscape(land).minima}
    first = sample_landscape(land, 4000, seed=3)
    again = sample_landscape(land, 4000, seed=3)
    assert first.to_json() == again.to_json()
    assert first.method == "descent" and first.seed == 3
    assert sum(m.basin for m in first.minima) == pytest.approx(1.0)
    for m in first.minima:
        assert tuple(m.sides) in exact
        assert m.basin == pytest.approx(exact[tuple(m.sides)], abs=0.03)


# ------------------------------------------------------------------------------ input errors


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "land.yaml"
    path.write_text(text)
    return path


ACTORS = "landscape:\n  actors:\n    - {name: France, size: 1}\n    - {name: Germany, size: 2}\n"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (ACTORS + "  propensities:\n    - [France, Germny, 1]\n", 6, "did you mean 'Germany'"),
        (ACTORS + "    - {name: France, size: 3}\n", 5, "duplicate actor 'France' (first on line 3)"),
        (ACTORS + "  propensities:\n    - [France, Germany, 1]\n    - [Germany, France, 2]\n", 7, "listed twice"),
        (ACTORS + "  propensities:\n    - [France, France, 1]\n", 6, "self-pair"),
        (ACTORS.replace("size: 2", "size: 0"), 4, "greater than 0"),
        (ACTORS.replace("size: 2", "size: -1.5"), 4, "greater than 0"),
        (ACTORS.replace("size: 2", "size: big"), 4, "valid number"),
        (ACTORS + "  propensities:\n    - [France, Germany, lots]\n", 6, "finite number"),
        (ACTORS + "  propensities:\n    - [France, Germany]\n", 6, "list of three"),
        # integers too large for numpy's isfinite (found by the fuzz test), or for a float at all
        (ACTORS + "  propensities:\n    - [France, Germany, " + "1" + "0" * 30 + "]\n", 6, "finite number"),
        (ACTORS + "  propensities:\n    - [France, Germany, " + "1" + "0" * 400 + "]\n", 6, "finite number"),
        (ACTORS.replace("size: 2}", "size: 2, colour: red}"), 4, "unknown key 'colour'"),
        (ACTORS + "  propensity: []\n", 5, "did you mean 'propensities'"),
        ("landscpe:\n  actors: []\n", 1, "did you mean 'landscape'"),
        ("landscape:\n  actors: [\n", 3, "YAML syntax error"),
        ("", 1, "empty"),
        ("landscape:\n  actors:\n    - {name: A, size: 1}\n", 2, "at least 2"),
    ],
)
def test_file_errors_name_file_and_line(tmp_path, text, line, fragment):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_landscape(path)
    assert err.value.file == str(path)
    assert err.value.line == line
    assert fragment in err.value.message


def test_too_many_actors_for_exhaustive_suggests_descent(tmp_path):
    rows = "".join(f"    - {{name: S{i}, size: 1}}\n" for i in range(8))
    path = write(tmp_path, "landscape:\n  actors:\n" + rows)
    with pytest.raises(InputError, match="--descent") as err:
        load_landscape(path, max_actors=6)
    assert err.value.line == 2
    assert load_landscape(path).n == 8  # descent mode: no limit


def test_bad_arrays_are_input_errors():
    with pytest.raises(InputError, match="symmetric"):
        Landscape.from_arrays(["A", "B"], [1, 1], [[0, 1], [2, 0]])
    with pytest.raises(InputError, match="positive"):
        Landscape.from_arrays(["A", "B"], [1, 0], np.zeros((2, 2)))
    with pytest.raises(InputError, match="duplicate"):
        Landscape.from_arrays(["A", "A"], [1, 1], np.zeros((2, 2)))


# ------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli() -> typer.Typer:
    """A two-command app around the real command, so `landscape` is a subcommand."""
    app = typer.Typer()
    app.command("landscape")(landscape_cmds.landscape)
    app.command("noop")(lambda: None)
    return app


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_run(cli, example):
    result = CliRunner().invoke(cli, ["landscape", str(example)])
    assert result.exit_code == 0, result.output
    assert "Local minima" in result.output and "Frustration" in result.output


def test_json_shape(cli):
    result = CliRunner().invoke(cli, ["landscape", str(ROOT / "scenarios/landscapes/textbook.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"actors", "minima"}
    assert data["actors"] == ["A", "B", "a", "b", "S"]
    assert [set(m) for m in data["minima"]] == [{"energy", "sides", "basin"}] * 2
    assert data["minima"][0] == {"energy": -274.0, "sides": [["A", "a", "S"], ["B", "b"]], "basin": 0.6875}


def test_cli_descent_and_limit(cli, tmp_path):
    rows = "".join(f"    - {{name: S{i}, size: {i + 1}}}\n" for i in range(30))
    pairs = "".join(f"    - [S{i}, S{i + 1}, {(-1) ** i}]\n" for i in range(29))
    path = write(tmp_path, "landscape:\n  actors:\n" + rows + "  propensities:\n" + pairs)
    runner = CliRunner()
    too_many = runner.invoke(cli, ["landscape", str(path)])
    assert isinstance(too_many.exception, InputError) and "--descent" in str(too_many.exception)
    ok = runner.invoke(cli, ["landscape", str(path), "--descent", "--starts", "200", "--seed", "1", "--json"])
    assert ok.exit_code == 0, ok.output
    assert sum(m["basin"] for m in json.loads(ok.output)["minima"]) == pytest.approx(1.0)


def test_cli_needs_exactly_one_source(cli):
    result = CliRunner().invoke(cli, ["landscape"])
    assert isinstance(result.exception, InputError)
    result = CliRunner().invoke(cli, ["landscape", "x.yaml", "--world"])
    assert isinstance(result.exception, InputError)


def test_main_prints_one_line_and_exits_2(tmp_path, monkeypatch, capsys):
    import simulator.cli as cli_pkg

    cli_pkg._register()
    path = write(tmp_path, ACTORS + "  propensities:\n    - [France, Germny, 1]\n")
    monkeypatch.setattr(sys, "argv", ["sim", "landscape", str(path)])
    monkeypatch.setattr(cli_pkg, "_register", lambda: None)
    with pytest.raises(SystemExit) as exit_:
        cli_pkg.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and ":6:" in err


def test_world_top_n_with_a_stand_in(cli, monkeypatch):
    names = ["AAA", "BBB", "CCC", "DDD"]
    p = np.array([[0, -1, 1, 0], [-1, 0, 0, 1], [1, 0, 0, -1], [0, 1, -1, 0]], float)
    monkeypatch.setattr(lm, "baseline_landscape", lambda: (names, np.array([1.0, 4.0, 3.0, 2.0]), p))
    land, total = lm.world_landscape(3)
    assert total == 4 and land.names == ("BBB", "CCC", "DDD")
    assert land.propensity[0, 2] == 1 and land.propensity[1, 2] == -1
    result = CliRunner().invoke(cli, ["landscape", "--world", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "3 largest of 4" in result.output


def test_world_baseline_predicts_two_camps(cli):
    result = CliRunner().invoke(cli, ["landscape", "--world", "--top", "12", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["actors"]) == 12
    assert sum(m["basin"] for m in data["minima"]) == pytest.approx(1.0)
