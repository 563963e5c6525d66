"""`sim backtest`: run historical episodes and score the model against what happened."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulator.cli import app, console, err_console
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED


@app.command("backtest")
def backtest(
    files: Annotated[
        list[Path],
        typer.Argument(help="episode files with an observed: section (scenarios/history/*.yaml)"),
    ],
    replicates: Annotated[
        int | None,
        typer.Option(
            "--replicates", "-n", min=1, max=MAX_REPLICATES, help="replicates per episode (default: each file's)"
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, max=MAX_SEED, help="root seed (default: each file's)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="backtest directory (default runs/backtest-TIMESTAMP)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace the results in an existing --out")] = False,
    posterior: Annotated[
        Path | None,
        typer.Option("--posterior", help="a `sim calibrate` directory: replicates draw their parameters from it"),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a key of every episode, e.g. parameters.switch_cost=1.5"),
    ] = None,
) -> None:
    """Run each episode, score its forecasts against the observed facts, and compare with naive forecasters."""
    from analysis.backtest import FACT_COLUMNS, fact_rows, overall_table, write_backtest_report
    from simulator.runs.backtest import run_backtest

    if out is None:
        out = Path("runs") / f"backtest-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    quiet = not console.is_terminal and os.environ.get("SIM_PROGRESS") != "1"
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("replicates"),
        TimeElapsedColumn(), console=err_console, disable=quiet, transient=True,
    ) as bar:  # fmt: skip

        def on_episode(episode, n):
            task = bar.add_task(episode.name, total=n)
            return lambda k: bar.advance(task, k)

        sample = None
        if posterior is not None:
            from simulator.runs.calibrate import load_posterior

            sample = load_posterior(posterior)
            for item in sets or []:
                name = item.split("=", 1)[0].removeprefix("parameters.")
                if item.startswith("parameters.") and name in sample.parameters:
                    err_console.print(
                        f"note: the posterior draws {name}; --set {item} is not used", highlight=False, markup=False
                    )
        result = run_backtest(
            files, out, replicates=replicates, seed=seed, overwrite=force, on_episode=on_episode, posterior=sample,
            overrides=list(sets or []),
        )  # fmt: skip
    written = write_backtest_report(result.out_dir)
    report, scores = result.report, result.scores
    for e in report["episodes"]:
        t = Table(
            title=f"{e['name']}: {e['start']} to {e['last_quarter']}, {e['replicates']:,} replicates, seed {e['seed']}"
        )
        for col in FACT_COLUMNS:
            t.add_column(col, justify="left" if col in ("Fact", "Timing (model)") else "right")
        for row in fact_rows(scores, e["name"]):
            t.add_row(*map(escape, row))
        console.print(t)
    columns, rows = overall_table(report)
    o = Table(title="Backtest scores: lower Brier and log scores are better; skill > 0: the model beats the reference")
    for col in columns:
        o.add_column(col, justify="left" if col == "Score" else "right", no_wrap=col == "Score")
    for row in rows:
        o.add_row(*map(escape, row))
    console.print(o)
    console.print(
        "Probabilities clipped to [0.001, 0.999]. Persistence: nothing changes (P = 0.001; spending stays at its start "
        "value). Base rate: per event, the share that happened in the other episodes (leave-one-out"
        + ("; with one episode, in that episode itself" if len(report["episodes"]) == 1 else "")
        + "). Timing: the model's median quarter (error vs reality) and P(within one quarter).",
        highlight=False,
    )
    for p in [result.out_dir / "backtest.json", result.out_dir / "scores.parquet", *written]:
        console.print(f"wrote {escape(str(p))}", highlight=False)
