"""Analysis: figures, reports, comparisons and sweep sensitivity from small real runs and sweeps.

Golden numbers: Wilson intervals computed here from the formula, Sobol' indices of the Ishigami
function (analytic), the ANOVA main-effect share of a linear function on a full grid.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import stats
from analysis.compare import compare_runs
from analysis.formats import fmt_amount, fmt_chance, fmt_difference, fmt_quarters
from analysis.rundata import load_run
from analysis.style import DPI, SIZES
from analysis.sweep import read_sweep, sensitivity
from analysis.tables import check_summary, outcome_table
from tests.conftest import ROOT, call_sim

RUN_FIGURES = {
    "power_distribution": "wide",
    "bruegel_gap": "wide",
    "membership_heatmap": "tall",
    "formation_survival": "wide",
    "power_fan": "panels",
    "comembership_matrix": "square",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- helpers and fixtures
def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def expected_pixels(size: str) -> tuple[int, int]:
    w, h = SIZES[size]
    return round(w * DPI), round(h * DPI)


def assert_figure(path: Path, size: str) -> None:
    assert path.exists() and path.stat().st_size > 20_000, f"{path} missing or nearly empty"
    assert png_size(path) == expected_pixels(size)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(path)
    assert pixels.std() > 0.05, f"{path} looks blank"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A small real us_exit run, made once by `sim run` (which draws the figures itself)."""
    out = tmp_path_factory.mktemp("runs") / "us_exit"
    code, _, err = call_sim("run", ROOT / "scenarios/us_exit.yaml", "-n", "60", "--steps", "12", "--out", out)
    assert code == 0, err
    return out


@pytest.fixture(scope="session")
def baseline_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "baseline"
    code, _, err = call_sim(
        "run", ROOT / "scenarios/baseline.yaml", "-n", "60", "--steps", "12", "--out", out, "--no-figures"
    )
    assert code == 0, err
    return out


def wilson_direct(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# --------------------------------------------------------------------------- run figures
def test_sim_run_draws_the_figures(run_dir):
    for name, size in RUN_FIGURES.items():
        assert_figure(run_dir / "figures" / f"{name}.png", size)


def test_plot_writes_every_figure_at_its_size(run_dir, tmp_path, sim):
    result = sim("plot", run_dir, "--out", tmp_path / "figs")
    assert result.code == 0, result.err
    written = {p.stem for p in (tmp_path / "figs").glob("*.png")}
    assert set(RUN_FIGURES) <= written
    for name, size in RUN_FIGURES.items():
        assert_figure(tmp_path / "figs" / f"{name}.png", size)
    # 60 replicates: the fan chart's 5-95% band is flagged
    assert "warning" in result.err and "power_fan" in result.err


def test_vector_formats(run_dir, tmp_path):
    from analysis.figures import power_distribution

    run = load_run(run_dir)
    svg, _ = power_distribution(run, tmp_path, "svg")
    pdf, _ = power_distribution(run, tmp_path, "pdf")
    assert svg.read_text()[:200].lstrip().startswith(("<?xml", "<svg"))
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path, sim):
    cases = [
        ("plot", tmp_path / "missing"),
        ("plot", run_dir, "--format", "bmp"),
        ("report", tmp_path),
        ("report", run_dir, "--format", "docx"),
        ("compare", run_dir, tmp_path / "missing"),
        ("sensitivity", run_dir),
    ]
    for args in cases:
        result = sim(*args)
        assert result.code == 2, (args, result.err)
        assert result.err.strip().startswith("error:") and "Traceback" not in result.err
        assert len(result.err.strip().splitlines()) == 1, result.err


# --------------------------------------------------------------------------- numbers
def test_summary_equals_direct_computation(run_dir):
    table = pd.read_parquet(run_dir / "replicates.parquet")
    summary = json.loads((run_dir / "summary.json").read_text())
    n = len(table)
    assert summary["replicates"] == n
    k = int(table["euro_alliance_formed"].sum())
    lo, hi = wilson_direct(k, n)
    d = summary["outcomes"]["euro_alliance_formed"]
    assert d["p"] == pytest.approx(k / n, abs=1e-12)
    assert (d["lo"], d["hi"]) == pytest.approx((lo, hi), abs=1e-12)
    power = table["euro_alliance_power"].to_numpy()
    assert summary["outcomes"]["euro_alliance_power"]["median"] == pytest.approx(np.median(power))
    assert summary["membership"]["NATO"]["POL"] == pytest.approx(table["member.NATO.POL"].mean())
    assert check_summary(load_run(run_dir)) == []


def test_outcome_table_equals_direct_computation(run_dir):
    table = pd.read_parquet(run_dir / "replicates.parquet")
    rows = outcome_table(load_run(run_dir)).set_index("outcome")
    for name in ("euro_alliance_formed", "UKR_in_euro_alliance", "us_in_nato"):
        k, n = int(table[name].sum()), len(table)
        assert rows.loc[name, "p"] == pytest.approx(k / n)
        assert (rows.loc[name, "p_lo"], rows.loc[name, "p_hi"]) == pytest.approx(wilson_direct(k, n))
    x = table["bruegel_extra_spending_eur_bn"].to_numpy()
    assert rows.loc["bruegel_extra_spending_eur_bn", "median"] == pytest.approx(np.median(x))
    assert rows.loc["bruegel_extra_spending_eur_bn", "q95"] == pytest.approx(np.quantile(x, 0.95))
    # amounts of the European alliance are read where it formed, not as a median of zeros
    formed = table["euro_alliance_formed"].to_numpy()
    members = table["euro_alliance_members"].to_numpy()[formed]
    assert rows.loc["euro_alliance_members", "condition"] == "if formed"
    assert rows.loc["euro_alliance_members", "n_used"] == formed.sum()
    if formed.any():
        assert rows.loc["euro_alliance_members", "median"] == pytest.approx(np.median(members))
    assert "euro_alliance_power" not in rows.index  # shown once, as the power where it formed
    assert rows.loc["euro_alliance_step", "kind"] == "quarter"


def test_chance_and_amount_formats():
    # a chance with its Wilson interval; nothing happened: the upper bound stays; everything did: the lower bound
    assert fmt_chance(0.326, 0.30581, 0.34686, 652, 2000) == "32.6% (30.6–34.7%)"
    assert fmt_chance(0.0, 0.0, 0.0019170, 0, 2000) == "0% (<0.2%)"
    assert fmt_chance(1.0, 0.99808, 1.0, 2000, 2000) == "100% (>99.8%)"
    assert fmt_chance(0.25, 0.158, 0.372, 15, 60) == "25% (16–37%)"  # wide: whole percents
    lo, hi = wilson_direct(1, 2000)
    assert fmt_chance(1 / 2000, lo, hi, 1, 2000) == "0.05% (0.01–0.28%)"  # never rounds to 0%
    # an amount: median (5-95% of futures); a range that prints as its median is left out
    assert fmt_amount(10.4, 7.6, 25.2) == "10.4 (7.6–25.2)"
    assert fmt_amount(1944.0, 1944.2, 1944.4) == "1,944"
    assert fmt_amount(184.906, 184.906, 185.247) == "185"
    assert fmt_quarters(10, 2, 23, "2026Q1") == "2028Q3 (2026Q3–2031Q4)"
    assert fmt_quarters(4, 4, 4, "2026Q1") == "2027Q1"
    assert fmt_difference(0.17 * 100, 12.0, 23.0, 1, " pp") == "+17.0 pp (+12.0 to +23.0)"
    assert fmt_difference(-2.0, -3.5, -0.25, 1) == "−2.0 (−3.5 to −0.2)"
    assert fmt_difference(50.02, 49.98, 50.04, 0) == "+50"  # no interval equal to its estimate


# --------------------------------------------------------------------------- report
class _Page(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack, self.images, self.text, self.errors = [], [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_report_is_valid_html_with_embedded_figures(run_dir, tmp_path, sim):
    out = tmp_path / "report.html"
    result = sim("report", run_dir, "--out", out)
    assert result.code == 0, result.err
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    page = _Page()
    page.feed(html)
    page.close()
    assert page.errors == [] and page.stack == []
    assert len(page.images) >= len(RUN_FIGURES)
    for img in page.images:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_SIGNATURE
        assert img.get("alt")
    assert "http://" not in html and "https://" not in html.replace("https://www.w3.org", "")
    text = " ".join(page.text)
    scenario = __import__("yaml").safe_load((run_dir / "scenario.resolved.yaml").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert scenario["description"][:60] in text
    for assumption in scenario["assumptions"]:
        assert assumption[:50] in text
    for key in ("scenario_hash", "seed", "version"):
        assert str(manifest[key]) in text
    # the numbers in the report are the direct computation, formatted as the header says
    table = pd.read_parquet(run_dir / "replicates.parquet")
    k, n = int(table["euro_alliance_formed"].sum()), len(table)
    lo, hi = wilson_direct(k, n)
    assert fmt_chance(k / n, lo, hi, k, n) in text  # the formats are pinned in test_chance_and_amount_formats
    assert "chance (95% Wilson interval)" in text and "median (5–95% of futures)" in text
    assert "only 60 replicates" in text  # the warning for a small run
    # a bottom line up front with the run's numbers, a table of contents, numbered captions
    assert text.index("Bottom line") < text.index("Contents") < text.index("Key outcomes")
    bluf = " ".join(text.split("Bottom line")[1].split("Contents")[0].split())
    assert (f"forms by 2028Q4 in {fmt_chance(k / n, lo, hi, k, n)} of 60" if k else "In none of 60") in bluf
    assert 'href="#key-outcomes"' in html and 'id="key-outcomes"' in html
    assert "Figure 1." in text and "Figure 6." in text
    assert "[" not in bluf  # one punctuation for intervals: parentheses


def test_report_markdown_links_its_figures(run_dir, tmp_path, sim):
    out = tmp_path / "brief" / "report.md"
    result = sim("report", run_dir, "--format", "md", "--out", out)
    assert result.code == 0, result.err
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# us_exit")
    links = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(links) >= len(RUN_FIGURES)
    for link in links:
        assert png_size(out.parent / link)[0] > 0
    assert "| outcome " in text and "Provenance" in text


# --------------------------------------------------------------------------- compare
def test_compare_paired_differences(baseline_dir, run_dir, tmp_path, sim):
    result = sim("compare", baseline_dir, run_dir, "--out", tmp_path / "cmp")
    assert result.code == 0, result.err
    assert "paired by replicate" in " ".join(result.out.split())
    csv = pd.read_csv(tmp_path / "cmp" / "paired_differences.csv").set_index("outcome")
    assert_figure(tmp_path / "cmp" / "compare.png", "panels")
    a = pd.read_parquet(baseline_dir / "replicates.parquet").set_index("replicate")
    b = pd.read_parquet(run_dir / "replicates.parquet").set_index("replicate")
    for name in ("UKR_in_euro_alliance", "us_in_nato"):
        diff = b[name].mean() - a[name].mean()
        row = csv.loc[name]
        assert row["diff"] == pytest.approx(diff)
        assert row["lo"] <= row["diff"] <= row["hi"]
    paired = (b["NATO.effective_power"] - a["NATO.effective_power"]).median()
    assert csv.loc["NATO.effective_power", "diff"] == pytest.approx(paired)
    js = sim("compare", baseline_dir, run_dir, "--json", "--no-files")
    payload = json.loads(js.out)
    assert payload["paired"] is True
    assert payload["warnings"] == ["only 60 paired replicates: intervals are wide"]


def test_compare_warns_when_not_paired(baseline_dir, run_dir, tmp_path, sim):
    other = tmp_path / "reseeded"
    shutil.copytree(baseline_dir, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["seed"] = manifest["seed"] + 1
    (other / "manifest.json").write_text(json.dumps(manifest))
    cmp = compare_runs(load_run(other), load_run(run_dir))
    assert not cmp.paired and any("NOT paired" in w for w in cmp.warnings)
    result = sim("compare", other, run_dir, "--no-files")
    assert result.code == 0 and "not paired" in result.err.lower()


# --------------------------------------------------------------------------- statistics
def test_newcombe_paired_interval():
    rng = np.random.default_rng(1)
    a = rng.random(400) < 0.3
    b = a | (rng.random(400) < 0.15)  # B adds successes to A's, as a shock would
    d = stats.newcombe_paired(a, b)
    assert d["diff"] == pytest.approx(b.mean() - a.mean())
    assert d["lo"] < d["diff"] < d["hi"]
    # pairing narrows the interval compared with independent samples (phi = 0)
    unpaired = compare_independent(a, b)
    assert d["hi"] - d["lo"] < unpaired[1] - unpaired[0]
    # and it agrees with a paired bootstrap to within a point or two
    idx = rng.integers(0, 400, size=(4000, 400))
    boot = b[idx].mean(axis=1) - a[idx].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    assert d["lo"] == pytest.approx(lo, abs=0.02) and d["hi"] == pytest.approx(hi, abs=0.02)
    same = stats.newcombe_paired(a, a)
    assert same["diff"] == 0 and same["lo"] < 0 < same["hi"]


def compare_independent(a, b):
    from analysis.compare import independent_difference

    d = independent_difference(a, b)
    return d["lo"], d["hi"]


def test_bootstrap_is_deterministic_and_covers_the_median():
    x = np.random.default_rng(5).lognormal(size=500)
    first = stats.bootstrap_ci(x)
    assert first == stats.bootstrap_ci(x)
    assert first[0] < np.median(x) < first[1]
    q = stats.quantiles_with_ci(x, [0.05, 0.5, 0.95])
    assert (q["lo"] <= q["value"]).all() and (q["value"] <= q["hi"]).all()


def test_comembership_equals_a_loop():
    rng = np.random.default_rng(2)
    member = rng.random((37, 6, 4)) < 0.3
    fast = stats.comembership(member, chunk=10)
    slow = np.zeros((6, 6))
    for r in range(37):
        for i in range(6):
            for j in range(6):
                slow[i, j] += any(member[r, i, b] and member[r, j, b] for b in range(4))
    assert np.allclose(fast, slow / 37)


def test_survival_counts_events_by_step():
    steps = np.array([0, 2, 2, np.nan, 5, np.nan, np.nan, np.nan])
    s = stats.survival(steps, 6)
    assert s["survival"].tolist() == pytest.approx([7 / 8, 7 / 8, 5 / 8, 5 / 8, 5 / 8, 4 / 8])
    assert (s["lo"] <= s["survival"]).all() and (s["survival"] <= s["hi"]).all()


# --------------------------------------------------------------------------- sweeps
def write_sweep(path: Path, points: pd.DataFrame, replicates: pd.DataFrame, design: str, seed: int = 1) -> Path:
    """A sweep directory in the format of simulator.runs.sweep.driver."""
    path.mkdir(parents=True)
    points.to_parquet(path / "points.parquet", index=False)
    replicates.to_parquet(path / "replicates.parquet", index=False)
    params = [c for c in points.columns if c != "point"]
    summary = replicates.groupby("point")[[c for c in replicates.columns if c not in ("point", "replicate", *params)]]
    summary.mean(numeric_only=True).reset_index().to_parquet(path / "summary.parquet", index=False)
    manifest = {
        "version": "test", "kind": "sweep", "seed": seed, "scenario": "synthetic",
        "points": len(points), "replicates_per_point": int(replicates.groupby("point").size().iloc[0]),
        "sweep": {"name": path.name, "design": design, "design_seed": 0, "parameters": {p: {} for p in params}},
    }  # fmt: skip
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.fixture(scope="session")
def synthetic_sweep(tmp_path_factory) -> Path:
    """Two real us_exit runs at two founding costs, assembled as a one-parameter sweep."""
    base = tmp_path_factory.mktemp("synthetic")
    frames = []
    costs = [0.4, 1.0]
    for point, cost in enumerate(costs):
        out = base / f"run{point}"
        code, _, err = call_sim(
            "run", ROOT / "scenarios/us_exit.yaml", "-n", "40", "--steps", "12", "--out", out, "--no-figures",
            "--set", f"parameters.founding_cost={cost}",
        )  # fmt: skip
        assert code == 0, err
        frame = pd.read_parquet(out / "replicates.parquet")
        frame.insert(0, "parameters.founding_cost", cost)
        frame.insert(0, "point", point)
        frames.append(frame)
    points = pd.DataFrame({"point": [0, 1], "parameters.founding_cost": costs})
    return write_sweep(base / "sweep", points, pd.concat(frames, ignore_index=True), "grid", seed=2026)


def test_plot_a_synthetic_sweep(synthetic_sweep, tmp_path, sim):
    result = sim("plot", synthetic_sweep, "--out", tmp_path, "--outcome", "euro_alliance_formed")
    assert result.code == 0, result.err
    assert_figure(tmp_path / "response_euro_alliance_formed.png", "panels")
    assert_figure(tmp_path / "sensitivity_tornado.png", "panels")
    sens = json.loads(sim("sensitivity", synthetic_sweep, "--outcome", "euro_alliance_formed", "--json").out)
    assert sens[0]["parameter"] == "parameters.founding_cost"
    assert sens[0]["S1"] == pytest.approx(1.0)  # one parameter explains all the variance between points


def test_sobol_indices_of_the_ishigami_function(tmp_path):
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3}
    u = sobol_sample.sample(problem, 1024, calc_second_order=False, seed=3)
    x = -np.pi + 2 * np.pi * u
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    n = len(y)
    points = pd.DataFrame({"point": np.arange(n), "a": u[:, 0], "b": u[:, 1], "c": u[:, 2]})
    reps = points.assign(replicate=0, ishigami=y)
    sweep = read_sweep(write_sweep(tmp_path / "ishigami", points, reps, "saltelli"))
    s = sensitivity(sweep, "ishigami").set_index("parameter")
    # analytic: S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437 (Ishigami & Homma 1990)
    assert s["S1"].tolist() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.05)
    assert s["ST"].tolist() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.05)
    assert s["method"].str.startswith("Sobol").all()


def test_main_effect_share_on_a_grid(tmp_path):
    grid = pd.DataFrame([(i * 3 + j, a, b) for i, a in enumerate([0.0, 1.0, 2.0]) for j, b in enumerate([0.0, 1.0, 2.0])],
                        columns=["point", "x", "y"])  # fmt: skip
    rows = []
    for p in grid.itertuples():
        for r in range(30):
            rows.append({"point": p.point, "replicate": r, "x": p.x, "y": p.y, "out": 2.0 * p.x + 1.0 * p.y})
    sweep = read_sweep(write_sweep(tmp_path / "grid", grid, pd.DataFrame(rows), "grid"))
    s = sensitivity(sweep, "out").set_index("parameter")
    assert s.loc["x", "S1"] == pytest.approx(0.8) and s.loc["y", "S1"] == pytest.approx(0.2)
    assert s.loc["x", "S1_lo"] == pytest.approx(0.8) and s.loc["x", "S1_hi"] == pytest.approx(0.8)  # no noise


SWEEP_YAML = """
sweep:
  name: tiny_grid
  description: A 2 x 2 grid for the analysis tests.
  scenario: {scenario}
  design: grid
  replicates: 20
  parameters:
    parameters.founding_cost: {{values: [0.4, 1.0]}}
    shocks.threat_rise.factor: {{values: [1.0, 2.0]}}
"""


@pytest.fixture(scope="session")
def real_sweep(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("sweep")
    spec = base / "tiny.yaml"
    spec.write_text(SWEEP_YAML.format(scenario=ROOT / "scenarios/us_exit.yaml"))
    code, _, err = call_sim("sweep", spec, "--workers", "0", "--steps", "10", "--out", base / "out")
    assert code == 0, err
    return base / "out"


def test_plot_and_report_a_real_sweep(real_sweep, tmp_path, sim):
    result = sim("plot", real_sweep, "--out", tmp_path, "--outcome", "euro_alliance_formed")
    assert result.code == 0, result.err
    for name in ("response_euro_alliance_formed", "sensitivity_tornado"):
        assert_figure(tmp_path / f"{name}.png", "panels")
    assert_figure(tmp_path / "heatmap_euro_alliance_formed.png", "wide")
    out = tmp_path / "sweep.html"
    assert sim("report", real_sweep, "--out", out).code == 0
    page = _Page()
    page.feed(out.read_text(encoding="utf-8"))
    assert page.errors == [] and len(page.images) >= 3
    table = pd.read_parquet(real_sweep / "replicates.parquet")
    p = table.groupby("point")["euro_alliance_formed"].mean()
    from analysis.sweep import point_estimates

    est = point_estimates(read_sweep(real_sweep), "euro_alliance_formed").set_index("point")
    assert est["estimate"].to_numpy() == pytest.approx(p.to_numpy())
