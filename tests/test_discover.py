"""Scenario discovery: PRIM against the EMA Workbench's numbers, planted boxes found, CART, and `sim discover`."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from analysis.discovery import cart, get_quantile, prim
from tests.conftest import ROOT, US_EXIT, call_sim, write

GOLDEN = json.loads((ROOT / "tests" / "golden" / "prim_ema.json").read_text(encoding="utf-8"))


def synthetic() -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """The three cases pinned in tests/golden/prim_ema.json: a clean box, the same with 10% of labels
    flipped, and a grid with ties (4 x 5 levels) and a noise input."""
    rng = np.random.default_rng(5)
    n = 2000
    x = pd.DataFrame({"a": rng.random(n), "b": rng.random(n) * 10, "c": rng.random(n)})
    y = ((x.a > 0.6) & (x.b > 4.0)).to_numpy()
    noisy = y ^ (rng.random(n) < 0.1)
    g = pd.DataFrame(
        {"u": np.repeat([0.0, 0.5, 1.0, 1.5], 500), "v": np.tile(np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], 100), 4)}
    )
    g["w"] = rng.random(n)
    yg = ((g.u >= 1.0) & (g.v <= 3.0)).to_numpy() ^ (rng.random(n) < 0.05)
    return {"y": (x, y), "y_noisy": (x, noisy), "yg": (g, yg)}


@pytest.mark.parametrize("case", ["y", "y_noisy", "yg"])
def test_prim_reproduces_the_ema_workbench_trajectory_box_and_quasi_p_values(case):
    x, y = synthetic()[case]
    want = GOLDEN["cases"][case]
    found = prim(x, y)
    t = found.trajectory
    np.testing.assert_allclose(t["mass"], want["mass"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t["density"], want["density"], rtol=0, atol=1e-12)
    assert t["res_dim"].tolist() == want["res_dim"]
    last = found.boxes[-1].limits
    for dim, (lo, hi) in want["last_box"].items():
        assert last[dim] == pytest.approx((lo, hi), abs=1e-12)
    qp = found.limits(len(found.boxes) - 1).set_index("input")
    for dim, (lo, hi) in want["qp_last"].items():
        for got, expected in ((qp.loc[dim, "qp_lower"], lo), (qp.loc[dim, "qp_upper"], hi)):
            if expected is None:
                assert got is None or np.isnan(got)
            else:
                assert got == pytest.approx(expected, rel=1e-9)


def test_prim_finds_a_planted_box_and_leaves_the_noise_input_free():
    x, y = synthetic()["y"]
    found = prim(x, y)
    box = found.box
    assert sorted(box.restricted) == ["a", "b"]
    assert box.density == 1.0 and box.coverage > 0.98
    assert box.limits["a"][0] == pytest.approx(0.6, abs=0.01) and box.limits["b"][0] == pytest.approx(4.0, abs=0.1)
    limits = found.limits().set_index("input")
    assert limits["significant"].all() and (limits["qp_lower"] < 1e-50).all()


def test_prim_peels_categories_and_keeps_the_one_that_matters():
    rng = np.random.default_rng(1)
    n = 1200
    x = pd.DataFrame({"regime": rng.choice(["calm", "tense", "war"], n), "cost": rng.random(n)})
    y = ((x.regime == "war") & (x.cost < 0.5)).to_numpy()
    box = prim(x, y).box
    assert box.limits["regime"] == frozenset({"war"})
    assert box.limits["cost"][1] == pytest.approx(0.5, abs=0.03)
    assert box.density > 0.95 and box.coverage > 0.9


def test_the_peeling_quantile_never_cuts_a_tie():
    levels = np.repeat([1.0, 2.0, 3.0], 10)
    assert get_quantile(levels, 0.05) == 1.5  # between the first two levels, not on 1.0
    assert get_quantile(levels, 0.95) == 2.5


def test_selecting_a_box_by_index_and_bad_selections():
    x, y = synthetic()["y_noisy"]
    found = prim(x, y, select=3)
    assert found.chosen == 3 and found.box.index == 3
    assert prim(x, y, select="last").chosen == len(found.boxes) - 1
    with pytest.raises(ValueError, match="not on the trajectory"):
        prim(x, y, select=999)


def test_cart_puts_the_planted_rule_in_its_densest_leaf():
    x, y = synthetic()["y"]
    leaves = cart(x, y, max_depth=2)
    top = leaves.iloc[0]
    assert top["predicts"] and top["density"] == 1.0 and top["coverage"] > 0.98
    cuts = dict(re.findall(r"(\w+) > ([\d.]+)", top["rule"]))
    assert set(cuts) == {"a", "b"}
    assert float(cuts["a"]) == pytest.approx(0.6, abs=0.01) and float(cuts["b"]) == pytest.approx(4.0, abs=0.1)
    assert leaves["n"].sum() == len(x) and leaves["k"].sum() == y.sum()


# ---------------------------------------------------------------------------- `sim discover` on a sweep
PLANTED = f"""\
sweep:
  name: planted
  description: three swept keys; the tests add an outcome that happens exactly in a box of two of them
  scenario: {US_EXIT}
  design: lhs
  points: 24
  replicates: 1
  block_size: 1
  seed: 4
  set: {{steps: 10}}
  parameters:
    parameters.founding_cost: {{range: [0.3, 1.2]}}
    parameters.inertia: {{range: [0.5, 3.0]}}
    shocks.threat_rise.factor: {{range: [1.0, 2.0]}}
"""


@pytest.fixture(scope="module")
def planted_sweep(tmp_path_factory):
    """A small real sweep plus a column 'planted' = founding_cost > 0.75 and inertia > 1.5 (manifest re-sealed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from simulator.runs.evaluators import InProcess
    from simulator.runs.results import write_json
    from simulator.runs.rundir import CHECKSUMS, file_checksums
    from simulator.runs.sweep.driver import run_sweep
    from simulator.runs.sweep.spec import load_sweep
    from simulator.runs.sweep.tasks import plan_sweep

    base = tmp_path_factory.mktemp("planted")
    out = base / "sweep"
    with InProcess() as ev:
        run_sweep(plan_sweep(load_sweep(write(base, PLANTED))), out, ev)
    table = pq.read_table(out / "replicates.parquet")
    cost = table.column("parameters.founding_cost").to_numpy()
    inertia = table.column("parameters.inertia").to_numpy()
    table = table.append_column("planted", pa.array((cost > 0.75) & (inertia > 1.5)))
    pq.write_table(table, out / "replicates.parquet")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest[CHECKSUMS] = file_checksums(out)
    write_json(out / "manifest.json", manifest)
    return out


def test_sim_discover_finds_the_planted_box(planted_sweep, tmp_path):
    r = call_sim("discover", planted_sweep, "--outcome", "planted", "--out", tmp_path / "figs", "--json")
    assert r.code == 0, r.err
    found = json.loads(r.out)
    box = {row["input"]: row for row in found["box"]}
    assert set(box) == {"parameters.founding_cost", "parameters.inertia"}
    cost_lo, inertia_lo = box["parameters.founding_cost"]["lower"], box["parameters.inertia"]["lower"]
    assert 0.65 < cost_lo < 0.9 and 1.2 < inertia_lo < 1.8  # 24 LHS points: about 0.04 and 0.1 apart
    # each limit lies in the gap between the points the rule excludes and those it includes
    points = pd.read_parquet(planted_sweep / "points.parquet")
    cost, inertia = points["parameters.founding_cost"], points["parameters.inertia"]
    case = (cost > 0.75) & (inertia > 1.5)
    assert cost[case].min() >= cost_lo > cost[~case & (inertia >= inertia_lo)].max()
    assert inertia[case].min() >= inertia_lo > inertia[~case & (cost >= cost_lo)].max()
    chosen = found["trajectory"][found["chosen"]]
    assert chosen["density"] == 1.0 and chosen["coverage"] == 1.0
    assert all(0 <= row["qp_lower"] < 0.2 and row["qp_upper"] is None for row in found["box"])  # 24 futures: weak
    assert "parameters.founding_cost > " in found["cart"][0]["rule"] or found["cart"][0]["density"] == 1.0
    for name in ("discover_tradeoff.png", "discover_box.png"):
        assert (tmp_path / "figs" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sim_discover_prints_the_trajectory_the_box_and_the_leaves(planted_sweep, tmp_path):
    r = call_sim("discover", planted_sweep, "--outcome", "planted", "--no-figures")
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert "'planted' in" in text and "of 24 futures" in text
    assert "◀ chosen" in text and "parameters.founding_cost" in text and "parameters.inertia" in text
    assert "threat_rise" not in text.split("Box ")[-1].split("CART")[0]  # the noise input is not restricted
    assert "CART leaves" in text


def test_sim_discover_over_points(planted_sweep):
    r = call_sim("discover", planted_sweep, "--outcome", "planted", "--level", "points", "--no-figures", "--json")
    assert r.code == 0, r.err
    found = json.loads(r.out)
    assert found["rows"] == 24 and found["level"] == "points"
    assert {row["input"] for row in found["box"]} == {"parameters.founding_cost", "parameters.inertia"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--outcome", "plantd"], "did you mean 'planted'"),
        (["--outcome", "euro_alliance_power"], "is an amount: say which futures are cases with --above or --below"),
        (["--outcome", "planted", "--level", "quarters"], "--level 'quarters' is not a valid choice"),
        (["--outcome", "planted", "--above", "1", "--below", "0"], "either above= or below="),
        (["--outcome", "planted", "--input", "parameters.inertai"], "did you mean 'parameters.inertia'"),
        (["--outcome", "planted", "--format", "gif"], "--format 'gif' is not a valid choice"),
    ],
)
def test_bad_discover_input_is_one_line_and_exit_2(planted_sweep, args, message):
    r = call_sim("discover", planted_sweep, "--no-figures", *args)
    assert r.code == 2
    assert message in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err


def test_discover_needs_a_directory_and_cases_on_both_sides(planted_sweep, tmp_path):
    r = call_sim("discover", tmp_path / "nope", "--outcome", "planted")
    assert r.code == 2 and "not found" in r.err
    r = call_sim("discover", planted_sweep, "--outcome", "planted", "--above", "2", "--no-figures")
    assert r.code == 2 and "no future of 24 is a case" in r.err
