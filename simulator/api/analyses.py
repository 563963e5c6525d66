"""``sim.compare`` and ``sim.backtest``: paired differences of two runs, and the model scored against history."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.api.results import Run, load
from simulator.api.scenarios import set_items
from simulator.errors import InputError


def _as_run(x: Run | str | Path, which: str) -> Run:
    if isinstance(x, Run):
        return x
    if isinstance(x, str | Path):
        return load(x)
    raise InputError(f"compare: {which} is a Run (sim.run, sim.load) or a run directory (got {type(x).__name__})")


def compare(a: Run | str | Path, b: Run | str | Path):
    """Paired differences B - A of every shared outcome, as ``sim compare A B``.

    Returns analysis.compare.Comparison: ``.table`` (one row per outcome: a, b, diff with its 95%
    interval lo-hi, n), ``.paired`` (same seed: replicate k of A and of B share their random draws)
    and ``.warnings``.
    """
    from analysis.compare import compare_runs

    return compare_runs(_as_run(a, "a")._data, _as_run(b, "b")._data)


@dataclass
class Backtest:
    """What ``sim.backtest`` found: one row per fact and forecaster (``scores``) and the report dict."""

    scores: pd.DataFrame
    report: dict
    path: Path | None

    @property
    def overall(self) -> dict:
        """Brier and log scores and skills of the model and the naive forecasters over every episode."""
        return self.report["overall"]


def backtest(
    files: Sequence[str | Path],
    replicates: int | None = None,
    seed: int | None = None,
    set: Mapping[str, Any] | None = None,  # noqa: A002 (the CLI's --set)
    out: str | Path | None = None,
    force: bool = False,
) -> Backtest:
    """Run historical episodes and score the model's probabilities against what happened (``sim backtest``).

    ``out`` keeps the backtest directory (episode runs, scores.parquet, backtest.json); None works in a
    temporary directory and keeps the tables only.
    """
    from simulator.runs.backtest import run_backtest

    if isinstance(files, str | Path):
        files = [files]
    overrides = set_items(set)
    if out is not None:
        result = run_backtest(list(files), Path(out), replicates, seed, overwrite=force, overrides=overrides)
        return Backtest(result.scores, result.report, result.out_dir)
    tmp = Path(tempfile.mkdtemp(prefix="sim-backtest-"))
    try:
        result = run_backtest(list(files), tmp / "backtest", replicates, seed, overrides=overrides)
        for episode in result.report["episodes"]:
            episode["run_dir"] = None  # the temporary directory is gone
        return Backtest(result.scores, result.report, None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
