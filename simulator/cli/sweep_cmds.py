"""`sim sweep`: run a parameter sweep in-process, on an embedded Dask cluster, on a scheduler or on SLURM/PBS."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from simulator.cli import BackendOption, app, console, err_console
from simulator.errors import InputError, StorageError
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED


class _RateColumn(ProgressColumn):
    """Replicates per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rep/s" if speed else "- rep/s", style="progress.data.speed")


_WALLTIME = re.compile(r"^(\d+-)?\d+(:[0-5]?\d){0,2}$")


def _check_walltime(value: str) -> str:
    """``--cluster-walltime``: a batch system's time limit (MM, HH:MM:SS or D-HH:MM:SS)."""
    if not _WALLTIME.match(value.strip()):
        raise InputError(f"--cluster-walltime: {value!r} is not a time limit; valid: e.g. 01:00:00, 2-00:00:00, 90")
    return value.strip()


@app.command("sweep")
def sweep_cmd(
    sweep_file: Annotated[Path, typer.Argument(help="sweep YAML file (see docs/SWEEPS.md)", show_default=False)],
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=0, help="local worker processes (default: all cores; 0 = in this process)"),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="a running Dask scheduler: tcp://HOST:PORT or a scheduler file"),
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="submit workers as batch jobs: slurm or pbs (extra 'cluster')")
    ] = None,
    cluster_jobs: Annotated[int, typer.Option("--cluster-jobs", min=1, help="batch jobs to submit")] = 1,
    cluster_cores: Annotated[int, typer.Option("--cluster-cores", min=1, help="cores (= workers) per job")] = 4,
    cluster_memory: Annotated[str, typer.Option("--cluster-memory", help="memory per job (e.g. 8GB, 512MB)")] = "8GB",
    cluster_walltime: Annotated[
        str, typer.Option("--cluster-walltime", parser=_check_walltime, help="wall time per job (HH:MM:SS)")
    ] = "01:00:00",
    cluster_queue: Annotated[str | None, typer.Option("--cluster-queue", help="partition or queue")] = None,
    cluster_account: Annotated[str | None, typer.Option("--cluster-account", help="account to charge")] = None,
    cluster_interface: Annotated[
        str | None, typer.Option("--cluster-interface", help="network interface of the scheduler (e.g. ib0)")
    ] = None,
    cluster_prologue: Annotated[
        list[str] | None, typer.Option("--cluster-prologue", help="shell line run before each worker (repeatable)")
    ] = None,
    cluster_directive: Annotated[
        list[str] | None, typer.Option("--cluster-directive", help="extra #SBATCH/#PBS directive (repeatable)")
    ] = None,
    print_job_script: Annotated[
        bool, typer.Option("--print-job-script", help="print the batch script of --cluster and exit")
    ] = False,
    replicates: Annotated[
        int | None,
        typer.Option(
            "--replicates", "-n", min=1, max=MAX_REPLICATES, help="replicates per point (default: the sweep's)"
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", min=0, max=MAX_SEED, help="root seed of the replicate draws (default: the scenario's)"),
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, max=400, help="horizon in quarters")] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="override a base-scenario key: parameters.inertia=2")
    ] = None,
    block_size: Annotated[
        int | None, typer.Option("--block-size", min=1, help="replicates per task (default: the sweep's)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="sweep directory (default runs/NAME-TIMESTAMP)")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="complete an interrupted sweep in --out")] = False,
    keep_parts: Annotated[bool, typer.Option("--keep-parts", help="keep OUT/parts after combining")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.1,
            help="seconds to wait for a scheduler and its first worker, and for a worker again once all are gone",
        ),
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    backend: BackendOption = None,
) -> None:
    """Run a parameter sweep: every point's ensemble with the same replicate draws (common random numbers)."""
    from simulator.cli.errors import cluster_failure
    from simulator.runs.evaluators import (
        ClusterFailure,
        ClusterOptions,
        DaskJobqueue,
        cap_workers,
        check_memory,
        make_evaluator,
    )
    from simulator.runs.sweep.driver import run_sweep
    from simulator.runs.sweep.spec import load_sweep
    from simulator.runs.sweep.tasks import plan_sweep

    if scheduler and cluster:
        raise InputError("give either --scheduler or --cluster, not both")
    if workers is not None and (scheduler or cluster):
        raise InputError("--workers sizes the embedded cluster; with --scheduler or --cluster it does not apply")
    if print_job_script and not cluster:
        raise InputError("--print-job-script needs --cluster slurm or --cluster pbs")
    if resume and out is None:
        raise InputError("--resume needs --out DIR: the directory of the interrupted sweep")
    if cluster:
        check_memory(cluster_memory)
    if workers is not None:
        workers, note = cap_workers(workers)
        if note:
            err_console.print(f"[yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True)
    overrides = list(sets or []) + ([f"steps={steps}"] if steps is not None else [])
    sweep = load_sweep(sweep_file, overrides, replicates=replicates, block_size=block_size)
    options = ClusterOptions(
        cores=cluster_cores, memory=cluster_memory, walltime=cluster_walltime, queue=cluster_queue,
        account=cluster_account, jobs=cluster_jobs, interface=cluster_interface,
        prologue=list(cluster_prologue or []), directives=list(cluster_directive or []),
    )  # fmt: skip
    if print_job_script:
        typer.echo(DaskJobqueue(str(cluster), options, loopback=cluster_interface is None).job_script())
        return
    for warning in sweep.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    plan = plan_sweep(sweep, seed)
    if out is None:
        out = Path("runs") / f"{sweep.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    again = _resume_command(sweep_file, out, replicates, seed, steps, sets, block_size)
    evaluator = make_evaluator(workers, scheduler, cluster, options, timeout)
    if not (scheduler or cluster):  # the workers are on this machine and share its numba cache
        from simulator.cli.notices import compile_notice

        notice = compile_notice(backend)
        if notice:
            err_console.print(f"note: {notice}", highlight=False, markup=False)

    quiet = as_json or not err_console.is_terminal and os.environ.get("SIM_PROGRESS") != "1"
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[points]} points"),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} replicates"), _RateColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=err_console, disable=quiet, transient=True,
    ) as bar:  # fmt: skip
        total = len(plan.points) * plan.replicates
        task = bar.add_task(
            f"{sweep.name}: starting ({evaluator.description})", total=total, points=f"0/{len(plan.points):,}"
        )
        started: list[bool] = []

        def show(status) -> None:
            points = f"{status.points_done:,}/{status.points_total:,}"
            if not started:  # the first call: tasks already done by an earlier run are not this run's speed
                started.append(True)
                bar.reset(task, total=total, completed=status.replicates_done)
            name = sweep.name if status.phase == "running" else f"{sweep.name}: {status.phase}"
            bar.update(task, completed=status.replicates_done, points=points, description=name)

        # Every way a sweep stops is one line (printed by main()) that says how many tasks are saved and how
        # to finish: exit 2 when the cause is the user's or the cluster's to fix, 70 for a bug, 130 for Ctrl-C.
        try:
            with evaluator as ev:
                info = run_sweep(
                    plan, out, ev, resume=resume, keep_parts=keep_parts, progress=show, backend=backend,
                    warn=lambda w: err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False,
                                                     soft_wrap=True),
                )  # fmt: skip
        except KeyboardInterrupt:
            bar.stop()
            saved = _saved(plan, out, again, fix=False) or "; nothing was saved"
            err_console.print(f"interrupted{escape(saved)}", highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
        except (ClusterFailure, StorageError) as exc:  # the finished parts stay on disk: say how to finish
            bar.stop()
            saved = _saved(plan, out, again)
            if not saved:
                raise  # nothing was started
            raise type(exc)(f"{exc}{saved}") from None
        except InputError:
            raise  # bad input or options, found before any task ran
        except Exception as exc:  # a failed task, a lost scheduler or worker, a full disk, a bug
            bar.stop()
            saved = _saved(plan, out, again)
            reason = cluster_failure(exc)
            if reason is None:  # a bug: main() prints one line with a hint to report it, and this note
                if saved:
                    exc.add_note(saved.removeprefix("; "))
                raise
            raise InputError(f"the sweep stopped: {reason}{saved or '; nothing was saved'}") from None
    rows = _key_rows(Path(out) / "summary.parquet", [p.path for p in sweep.parameters])
    timings = info.manifest.get("timings", {})
    if as_json:
        payload = {
            "out_dir": str(info.out_dir),
            "sweep": sweep.name,
            "design": sweep.design,
            "points": len(plan.points),
            "replicates_per_point": plan.replicates,
            "seed": plan.seed,
            "tasks_run": info.tasks_run,
            "tasks_resumed": info.tasks_resumed,
            "evaluator": info.manifest.get("evaluator"),
            "timings": timings,
            "summary": rows,
        }
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    _print_table(sweep, rows, plan.replicates, Path(info.out_dir))
    rate = timings.get("replicates_per_second")
    speed = f", {rate:,.0f} replicates/s" if rate and info.tasks_run else ""
    done = f"{info.tasks_resumed:,} of {len(plan.tasks):,} tasks were already done; " if info.tasks_resumed else ""
    console.print(
        f"{done}Results in [bold]{escape(str(info.out_dir))}[/] ({len(plan.points):,} points x "
        f"{plan.replicates:,} replicates{speed}; {escape(str(info.manifest.get('evaluator')))}). "
        f"Read them with pandas.read_parquet('{escape(str(info.out_dir))}/summary.parquet').",
        highlight=False,
    )


def _saved(plan, out: Path, again: str, fix: bool = True) -> str:
    """``; N of M tasks are saved in OUT; after fixing the cause, finish with: CMD`` ('' if nothing was started)."""
    from simulator.runs.sweep.driver import sweep_status
    from simulator.runs.sweep.tasks import PLAN_FILE

    finish = f"{'after fixing the cause, ' if fix else ''}finish with: {again}"
    try:
        if not (out / PLAN_FILE).is_file():
            return ""
        st = sweep_status(plan, out)
    except OSError:
        return f"; the finished tasks stay in {out}; {finish}"
    return f"; {st.tasks_done:,} of {st.tasks_total:,} tasks are saved in {out}; {finish}"


def _resume_command(
    sweep_file: Path,
    out: Path,
    replicates: int | None,
    seed: int | None,
    steps: int | None,
    sets: list[str] | None,
    block_size: int | None,
) -> str:
    """The command that completes this sweep (options that change the results must be repeated)."""
    parts = ["sim", "sweep", str(sweep_file), "--out", str(out), "--resume"]
    for flag, value in (
        ("--replicates", replicates),
        ("--seed", seed),
        ("--steps", steps),
        ("--block-size", block_size),
    ):
        if value is not None:
            parts += [flag, str(value)]
    for s in sets or []:
        parts += ["--set", s]
    return shlex.join(parts)


KEY_COLUMNS = (
    ("euro_alliance_formed", "European alliance formed"),
    ("UKR_in_euro_alliance", "Ukraine in it"),
    ("GBR_in_euro_alliance", "UK in it"),
    ("euro_alliance_power_if_formed", "Its power if formed (median, index points)"),
)
SHOWN_EACH_END = 5  # a long sweep shows the points where the first outcome is highest and lowest


def _key_rows(summary_path: Path, params: list[str]) -> list[dict]:
    """Per point: the swept values and the headline outcomes (probabilities with intervals, medians)."""
    import pyarrow.parquet as pq

    names = pq.read_schema(summary_path).names
    wanted = ["point", *params, "n"]
    for outcome, _ in KEY_COLUMNS:
        wanted += [c for c in names if c.rsplit(".", 1)[0] == outcome]
    table = pq.read_table(summary_path, columns=[c for c in wanted if c in names])
    rows = table.to_pylist()
    for row in rows:
        for k, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                row[k] = None
    return rows


def _print_table(sweep, rows: list[dict], replicates: int, out_dir: Path) -> None:
    """The points of a sweep: all of a short one; of a long one, those where the first outcome is highest and lowest."""
    from analysis.formats import CHANCE_HEADER, fmt_chance
    from analysis.labels import parameter_label, shock_types
    from simulator.scenario.yamlio import load_yaml_file

    resolved = out_dir / "scenario.resolved.yaml"
    types = shock_types(load_yaml_file(resolved).data) if resolved.is_file() else {}
    params = [p.path for p in sweep.parameters]
    shown = [(k, label) for k, label in KEY_COLUMNS if rows and (f"{k}.p" in rows[0] or f"{k}.median" in rows[0])]
    first = shown[0][0] if shown and f"{shown[0][0]}.p" in rows[0] else None
    picked: list[dict | None] = list(rows)
    title = f"{sweep.name}: {len(rows):,} points × {replicates:,} futures ({sweep.design} design)"
    if first is not None and len(rows) > 2 * SHOWN_EACH_END + 2:
        ordered = sorted(rows, key=lambda r: (-(r.get(f"{first}.p") or 0.0), r["point"]))
        picked = ordered[:SHOWN_EACH_END] + [None] + ordered[-SHOWN_EACH_END:]
        title += f": the {SHOWN_EACH_END} points where '{shown[0][1]}' is most likely and the {SHOWN_EACH_END} least"
    t = Table(title=title, title_justify="left")
    t.add_column("Point", justify="right")
    for p in params:
        t.add_column(escape(parameter_label(p, shock_types=types)), justify="right")
    for _, label in shown:
        t.add_column(label, justify="right")
    for row in picked:
        if row is None:
            t.add_row("⋮", *[""] * len(params), f"{len(rows) - 2 * SHOWN_EACH_END:,} more points", *[""] * (len(shown) - 1))
            continue
        cells = [str(row["point"])] + [_fmt_value(row.get(p)) for p in params]
        for key, _ in shown:
            if f"{key}.p" in row:
                p, lo, hi, n = row[f"{key}.p"], row[f"{key}.lo"], row[f"{key}.hi"], row.get("n") or replicates
                cells.append("–" if p is None else fmt_chance(p, lo, hi, round(p * n), n))
            else:
                m = row[f"{key}.median"]
                cells.append("–" if m is None else f"{m:.1f}")
        t.add_row(*cells)
    console.print(t)
    console.print(
        f"Chances: {CHANCE_HEADER}. Every point uses the same replicate draws (common random numbers), so "
        "differences between points reflect the swept values, not different luck.",
        highlight=False,
    )
    if len(picked) < len(rows) or len(rows) > 12:
        where = escape(str(out_dir))
        console.print(
            f"All {len(rows):,} points: {where}/summary.parquet; what drives the outcomes: sim sensitivity {where}; "
            f"figures and tables: sim report {where}.",
            highlight=False,
        )


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
