"""The `sim` command end to end: listing, sources, JSON summaries, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def test_states_table_and_one_state_with_sources(sim):
    res = sim("states")
    assert res.code == 0 and "DEU" in res.out and "Germany" in res.out and "NATO" in res.out
    one = sim("states", "deu", "--sources")
    assert one.code == 0
    assert "SIPRI" in one.out and "IMF" in one.out and "113,585.9" in one.out
    js = json.loads(sim("states", "UKR", "--sources", "--json").out)
    assert js["iso3"] == "UKR" and "milex_usd_m" in js["field_sources"]


def test_unknown_state_suggests(sim):
    res = sim("states", "GRM")
    assert res.code == 2 and "unknown state 'GRM'" in res.err and "did you mean" in res.err


def test_run_json_summary(sim, tmp_path):
    res = sim(
        "run",
        ROOT / "scenarios" / "us_exit.yaml",
        "-n",
        "40",
        "--steps",
        "10",
        "--out",
        tmp_path / "r",
        "--json",
        "--no-figures",
    )
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["replicates"] == 40
    p = data["outcomes"]["euro_alliance_formed"]
    assert 0.0 <= p["lo"] <= p["p"] <= p["hi"] <= 1.0
    assert data["outcomes"]["us_in_nato"]["p"] == 0.0


def test_bad_option_and_bad_set_exit_2(sim, tmp_path):
    res = sim("run", ROOT / "scenarios" / "us_exit.yaml", "--replicates", "0")
    assert res.code == 2
    res = sim("run", ROOT / "scenarios" / "us_exit.yaml", "--set", "parameters.inertai=2", "--out", tmp_path / "x")
    assert res.code == 2 and "did you mean 'inertia'" in res.err and "Traceback" not in res.err


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_backend_is_a_choice_and_a_bad_one_is_one_line(sim, tmp_path, command):
    assert "numpy|numba" in sim(command, "--help").out
    res = sim(command, ROOT / "scenarios" / "us_exit.yaml", "--backend", "cuda", "--out", tmp_path / "x")
    assert res.code == 2 and res.err.strip().count("\n") == 0, res.err
    assert "unknown backend 'cuda'; valid: numba, numpy" in res.err and not (tmp_path / "x").exists()


def test_console_script_is_installed():
    cmd = [sys.executable, "-c", "from simulator.cli import main; main()", "--help"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "run" in out.stdout and "validate" in out.stdout


def test_version_completion_and_choices(sim, monkeypatch):
    from simulator import __version__

    res = sim("--version")
    assert res.code == 0 and res.out.strip() == f"sim (coalition-sim) {__version__}"
    help_text = sim("--help").out
    assert "--install-completion" in help_text and "--show-completion" in help_text
    # bash completion offers the backends as choices
    monkeypatch.setenv("_SIM_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "sim run x.yaml --backend ")
    monkeypatch.setenv("COMP_CWORD", "4")
    assert sim().out.split() == ["numpy", "numba"]


def test_compile_notice_only_on_a_cold_cache(tmp_path, monkeypatch):
    from simulator.cli.notices import compile_notice

    assert compile_notice("numpy") is None
    numba = pytest.importorskip("numba")
    from simulator.engine.fast import kernels

    # the kernels of this session are compiled and cached: no notice; an empty cache index: the notice
    kernels.commit  # noqa: B018 - imported
    monkeypatch.setattr(type(kernels.commit._cache._cache_file), "_load_index", lambda self: {})
    assert "compiling the engine once (numba)" in (compile_notice("numba") or "")
    assert numba is not None


def test_run_summary_reads_like_a_briefing(sim, tmp_path, monkeypatch):
    """Chances with Wilson intervals, amounts read where they apply, quarters, no degenerate intervals."""
    from rich.console import Console

    from simulator.cli import run_cmds

    monkeypatch.setattr(run_cmds, "console", Console(width=250))  # no header wraps, whatever COLUMNS was
    out = tmp_path / "run"
    res = sim("run", ROOT / "scenarios" / "us_exit.yaml", "-n", "80", "--steps", "16", "--out", out, "--no-figures")
    assert res.code == 0, res.err
    text = " ".join(res.out.split())
    assert "Chance (95% Wilson interval)" in text and "Median (5–95% of futures)" in text
    assert "members at the end (states), if formed" in text and "0.0 [0.0" not in text
    assert "founded in (quarter), if formed" in text and "step" not in text.split("Blocs at the end")[0]
    assert "United States still in NATO" in text and "0% (<" in text  # 0 of 80: the Wilson upper bound stays
    assert "EUR bn a year" in text and "US$ bn" not in text  # one currency, the conversion stated
    assert "converted at 1.082 US$ per euro" in text
    import re

    for estimate, lo, hi in re.findall(r"([\d.,]+) \(([\d.,]+)–([\d.,]+)\)", text):
        assert not (estimate == lo == hi), f"degenerate interval {estimate} ({lo}–{hi})"
    assert re.search(r"founded in \(quarter\), if formed [│ ]*(20\d\dQ[1-4]|–)", text)
