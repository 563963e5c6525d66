"""`sim calibrate`: fit parameters to historical episodes by ABC-SMC; leave-one-episode-out validation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from simulator.cli import app, console, err_console
from simulator.runs import calibrate as cal
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED


@app.command("calibrate")
def calibrate(
    files: Annotated[
        list[Path], typer.Argument(help="episode files with an observed: section (scenarios/history/*.yaml)")
    ],
    parameters: Annotated[
        list[str],
        typer.Option(
            "--parameters",
            "-p",
            help="parameters to fit with uniform priors: name=low:high (repeat or comma-separate; "
            "a bare name takes a quarter to four times its default)",
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="calibration directory (default runs/calibrate-TIMESTAMP)")
    ] = None,
    particles: Annotated[
        int, typer.Option("--particles", min=4, max=1_000_000, help="population size of each generation")
    ] = cal.DEFAULT_PARTICLES,
    replicates: Annotated[
        int, typer.Option("--replicates", "-n", min=1, max=MAX_REPLICATES, help="replicates per particle and episode")
    ] = cal.DEFAULT_REPLICATES,
    generations: Annotated[
        int, typer.Option("--generations", min=1, max=1000, help="ABC-SMC generations (the first samples the prior)")
    ] = cal.DEFAULT_GENERATIONS,
    quantile: Annotated[
        float, typer.Option("--quantile", help="the next tolerance is this quantile of the distances")
    ] = cal.DEFAULT_QUANTILE,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=MAX_SEED, help="root seed of the sampler and the simulations")
    ] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=0, help="local worker processes (0: in this process)")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="a running Dask scheduler: tcp://HOST:PORT or a scheduler file")
    ] = None,
    leave_one_out: Annotated[
        bool,
        typer.Option(
            "--leave-one-out",
            help="also calibrate without each episode and score it out of sample (OUT/loo.json, a table)",
        ),
    ] = False,
    backtest_replicates: Annotated[
        int | None,
        typer.Option(
            "--backtest-replicates",
            min=1,
            max=MAX_REPLICATES,
            help="replicates of each held-out backtest (default: the file's)",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing calibration directory")] = False,
) -> None:
    """Fit parameters to the observed facts of historical episodes (ABC-SMC); write the posterior sample."""
    if out is None:
        out = Path("runs") / f"calibrate-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    from simulator.errors import InputError

    if scheduler and workers is not None:
        raise InputError("--workers sizes a local cluster; with --scheduler it does not apply")
    if not 0 < quantile <= 1:  # NaN too
        raise InputError(f"--quantile: {quantile} is not a share of the distances; valid: above 0, at most 1")

    def say(text: str) -> None:
        err_console.print(escape(text), highlight=False)

    from analysis.calibration import calibration_figures

    options = dict(
        after_write=calibration_figures,
        particles=particles,
        replicates=replicates,
        generations=generations,
        quantile=quantile,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
    )
    if leave_one_out:
        report = cal.leave_one_out(
            files, parameters, out, replicates_backtest=backtest_replicates, progress=say, overwrite=force, **options
        )
        t = Table(title="Out of sample: calibrated on the other episodes, scored on the one left out (Brier)")
        for col in ("Held out", "Defaults", "Posterior", "Persistence", "Skill vs persistence", "Skill vs base rate"):
            t.add_column(col, justify="left" if col == "Held out" else "right")
        for r in report["episodes"]:
            t.add_row(
                r["episode"],
                f"{r['brier_defaults']:.3f}",
                f"{r['brier_posterior']:.3f}",
                f"{r['brier_persistence']:.3f}",
                f"{r['skill_vs_persistence_defaults']:+.2f} -> {r['skill_vs_persistence_posterior']:+.2f}",
                f"{r['skill_vs_base_rate_defaults']:+.2f} -> {r['skill_vs_base_rate_posterior']:+.2f}",
            )
        console.print(t)
        console.print(f"wrote {escape(str(out / 'loo.json'))}", highlight=False)
        return
    result = cal.run_calibration(files, parameters, out, overwrite=force, progress=say, **options)
    rep = result.report
    t = Table(title=f"Posterior of {len(result.priors)} parameters ({', '.join(rep['episodes'])})")
    for col in ("Parameter", "Prior", "Default", "Mean", "SD (prior SD)", "5-95%"):
        t.add_column(col, justify="left" if col == "Parameter" else "right")
    for name, s in rep["posterior"].items():
        t.add_row(
            name,
            f"U({s['prior'][0]:g}, {s['prior'][1]:g})",
            f"{s['default']:g}",
            f"{s['mean']:.3g}",
            f"{s['sd']:.2g} ({s['prior_sd']:.2g})",
            f"{s['q05']:.3g}-{s['q95']:.3g}",
        )
    console.print(t)
    g = Table(title="Generations")
    for col in ("Generation", "Tolerance", "Acceptance", "Candidates", "ESS", "Median distance"):
        g.add_column(col, justify="right")
    for x in rep["generations"]:
        g.add_row(
            str(x["generation"]),
            f"{x['epsilon']:.4f}",
            f"{x['acceptance']:.2f}",
            f"{x['candidates']:,}",
            f"{x['ess']:.0f}",
            f"{x['distance_median']:.4f}",
        )
    console.print(g)
    console.print(
        f"Brier over the {len(rep['facts'])} binary facts: {rep['distance_at_defaults']:.4f} at the defaults, "
        f"{rep['distance_at_posterior_mean']:.4f} at the posterior mean ({rep['simulated_replicates']:,} "
        f"replicates simulated in {rep['seconds']:.0f} s).",
        highlight=False,
    )
    for name in ("posterior.parquet", "populations.parquet", "calibration.json", "figures/pairs.png"):
        console.print(f"wrote {escape(str(result.out_dir / name))}", highlight=False)
    console.print(
        f"Next: sim run SCENARIO --posterior {escape(str(result.out_dir))} (each replicate draws its parameters)",
        highlight=False,
    )
