"""`sim run` and `sim replay`: the Monte Carlo ensemble of a scenario and the story of one replicate."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from simulator.cli import BackendOption, app, console, err_console
from simulator.errors import InputError
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED


def print_summary(run_dir: Path, summary: dict, manifest: dict) -> None:
    """The run's answer on the terminal: the headline outcomes, then the blocs at the end.

    Computed from replicates.parquet by analysis.tables, as the report is, one column at a time
    and nothing kept (memory stays flat in the replicates). One interval convention per column,
    stated in its header.
    """
    import pyarrow.parquet as pq

    from analysis.formats import AMOUNT_HEADER, CHANCE_HEADER, quarter
    from analysis.labels import currency_note, usd_per_eur
    from analysis.rundata import RunData
    from analysis.tables import bloc_headers, bloc_table, display_label, outcome_table
    from simulator.scenario.yamlio import load_yaml_file

    resolved = load_yaml_file(run_dir / "scenario.resolved.yaml").data
    run = RunData(path=run_dir, manifest=manifest, summary=summary, scenario=resolved if isinstance(resolved, dict) else {})
    parquet = pq.ParquetFile(run_dir / "replicates.parquet")

    def column(name: str):
        return parquet.read(columns=[name]).column(0).to_numpy(zero_copy_only=False)

    n, end = run.n, quarter(run.start, run.steps - 1)
    t = Table(title=f"{run.name}: {n:,} simulated futures, {run.start}–{end}", title_justify="left")
    t.add_column(f"Outcome (by {end})")
    t.add_column(CHANCE_HEADER[0].upper() + CHANCE_HEADER[1:], justify="right")
    t.add_column(AMOUNT_HEADER[0].upper() + AMOUNT_HEADER[1:], justify="right")
    table = outcome_table(run, column=column)
    for row in table.to_dict(orient="records"):
        text = display_label(row)
        if text.startswith("European alliance: "):
            text = "  " + text.removeprefix("European alliance: ")
        elif text.startswith("Shortfall"):
            text = "  " + text
        t.add_row(text, row["chance"], row["amount"])
    console.print(t)
    blocs = bloc_table(run, column=column)
    heads = bloc_headers(run)
    b = Table(title="Blocs at the end: the chance each exists; where it exists, medians (5–95% of futures)",
              title_justify="left")  # fmt: skip
    b.add_column("Bloc", no_wrap=True)
    for key in ("exists", "members", "effective_power", "power_ratio", "spending_usd_bn"):
        b.add_column(heads[key][0].upper() + heads[key][1:], justify="right")
    for row in blocs.to_dict(orient="records"):
        b.add_row(row["bloc"], row["exists"], row["members"], row["effective_power"], row["power_ratio"],
                  row["spending_usd_bn"])  # fmt: skip
    console.print(b)
    if n < 100:
        console.print(
            f"[yellow]warning:[/] only {n} replicates: intervals are wide; use --replicates 1000 or more for a briefing."
        )
    console.print(
        "Power is in points of a CINC-like index (the 48-state world of 2026 = about 100); see docs/MODEL.md. "
        + currency_note(usd_per_eur(run.scenario)),
        highlight=False,
    )


@app.command("run")
def run(
    scenario_file: Annotated[Path, typer.Argument(help="scenario YAML file", show_default=False)],
    replicates: Annotated[
        int | None,
        typer.Option("--replicates", "-n", min=1, max=MAX_REPLICATES, help="replicates (default: the scenario's)"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, max=MAX_SEED, help="root seed (default: the scenario's)")
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, max=400, help="horizon in quarters")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="run directory (default runs/NAME-TIMESTAMP)")] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a scenario key: parameters.inertia=2, shocks.us_exit.at=12"),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="local worker processes")] = 1,
    block_size: Annotated[int, typer.Option("--block-size", min=1, help="replicates per block (bounds memory)")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    figures: Annotated[bool, typer.Option("--figures/--no-figures", help="draw figures into RUN_DIR/figures")] = True,
    force: Annotated[bool, typer.Option("--force", help="replace an existing run directory")] = False,
    backend: BackendOption = None,
    posterior: Annotated[
        Path | None,
        typer.Option(
            "--posterior",
            help="a `sim calibrate` directory: each replicate draws its parameters from its posterior sample",
        ),
    ] = None,
) -> None:
    """Run the Monte Carlo ensemble of a scenario; print the summary and write a run directory."""
    from simulator.runs.evaluators import cap_workers
    from simulator.runs.run import run_scenario
    from simulator.scenario.language import load_scenario

    workers, note = cap_workers(workers)
    if note:
        err_console.print(f"warning: {note}", highlight=False, markup=False)
    overrides = list(sets or [])
    if steps is not None:
        overrides.append(f"steps={steps}")
    scenario = load_scenario(scenario_file, overrides)
    if posterior is not None:
        from simulator.runs.calibrate import with_posterior

        scenario, replaced = with_posterior(scenario, posterior)
        for name in replaced:
            err_console.print(
                f"note: the posterior draws {name}; the scenario's value (or --set) of it is not used",
                highlight=False,
                markup=False,
            )
    n = replicates or scenario.replicates
    if out is None:
        out = Path("runs") / f"{scenario.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"

    def draw(tmp: Path) -> None:
        if figures:
            from analysis.figures import run_figures

            run_figures(tmp, tmp / "figures")

    from simulator.cli.notices import compile_notice

    notice = compile_notice(backend)
    if notice:
        err_console.print(f"note: {notice}", highlight=False, markup=False)
    quiet = as_json or not console.is_terminal and os.environ.get("SIM_PROGRESS") != "1"
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("replicates"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, disable=quiet, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(scenario.name, total=n)
        info = run_scenario(
            scenario, out, replicates=n, seed=seed, block_size=block_size, workers=workers, overwrite=force,
            progress=lambda k: bar.advance(task, k), after_write=draw, backend=backend,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps({"run_dir": str(info.out_dir), **info.summary}, indent=2, default=_nan_none))
        return
    print_summary(Path(info.out_dir), info.summary, info.manifest)
    rate = info.manifest["timings"]["replicates_per_second"]
    console.print(
        f"Results in [bold]{info.out_dir}[/] ({n:,} replicates, {rate:,.0f} replicates/s, {info.manifest['backend']} backend). "
        f"Next: sim report {info.out_dir}",
        highlight=False,
    )


def _nan_none(o):
    if isinstance(o, float) and math.isnan(o):
        return None
    raise TypeError(type(o))


def rejection_text(row: dict, territorial: bool = False) -> str:
    """The replay line of a rejected application (a row of events.parquet).

    ``territorial``: the engine's log says the applicant's territorial conflict blocked it (a bloc
    with ``admits_disputed: false``), whoever voted no.
    """
    no = ", ".join(row["voted_no"])
    reasons = [f"voted no: {no}" if no else "", "territorial conflict: the bloc admits no state with one" * territorial]
    why = "; ".join(r for r in reasons if r) or "closed to new members"
    return f"{row['bloc']} rejects {row['state']}'s application ({why})"


@app.command("replay")
def replay_cmd(
    run_dir: Annotated[Path, typer.Argument(help="a run directory written by sim run")],
    replicate: Annotated[int, typer.Option("--replicate", "-r", min=0, help="replicate index")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print events as JSON")] = False,
) -> None:
    """Re-run one replicate of a run and print its story as a timeline."""
    from simulator.runs.results import read_manifest
    from simulator.runs.run import replay_story
    from simulator.scenario.language import load_resolved_scenario, quarter_label

    man = read_manifest(run_dir)
    if replicate >= man["replicates"]:
        raise InputError(f"replicate {replicate} is not in this run (it has replicates 0..{man['replicates'] - 1})")
    scenario = load_resolved_scenario(Path(run_dir) / "scenario.resolved.yaml")
    story = replay_story(scenario, replicate, man["seed"])
    events, outcome = story.events, story.outcomes
    from analysis.narrative import event_line, shock_groups

    groups = shock_groups(scenario)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "replicate": replicate,
                    "events": [
                        {"step": s, "quarter": quarter_label(scenario.start, s), "kind": k, "text": txt,
                         "sentence": event_line(k, txt, groups)[1]}
                        for _, s, k, txt in events
                    ],
                    "timeline": story.timeline,
                    "outcomes": {k: v for k, v in outcome.items() if not k.startswith("member.")},
                },
                indent=2,
                default=_nan_none,
            )
        )
        return
    # the engine's log, with each state's first application to each bloc, candidate status and the
    # rejections (who voted no) from the timeline, the rows of events.parquet; as sentences
    lines = [(step, 1, *event_line(kind, text, groups)) for _, step, kind, text in events if kind != "veto"]
    # the rejections the territorial-conflict rule decided (the engine's veto lines name it)
    territorial = {
        (step, text.split(" block ", 1)[1].split("'s application to ")[0], text.rsplit(" ", 1)[1])
        for _, step, kind, text in events
        if kind == "veto" and "territorial conflict" in text
    }
    seen: set[tuple[str, str]] = set()
    for row in story.timeline:
        key = (row["state"], row["bloc"])
        if row["event"] == "applied" and key not in seen:
            seen.add(key)
            lines.append((row["step"], 0, "application", f"{row['state']} applies to join {row['bloc']} (first time)"))
        elif row["event"] == "candidate":
            lines.append((row["step"], 0, "candidate", f"{row['state']} is a candidate for {row['bloc']}"))
        elif row["event"] == "rejected":
            blocked = (row["step"], row["state"], row["bloc"]) in territorial
            lines.append((row["step"], 1, "rejection", rejection_text(row, blocked)))
    # one line per event, never wrapped inside a sentence (a timeline to read and to copy)
    console.print(f"[bold]{escape(scenario.name)}, replicate {replicate} (seed {man['seed']})[/]", highlight=False)
    width = max((len(tag) for _, _, tag, _ in lines), default=5)
    for step, _, tag, text in sorted(lines, key=lambda x: (x[0], x[1])):
        console.print(f"{quarter_label(scenario.start, step)}  [dim]{escape(tag.ljust(width))}[/]  {escape(text)}",
                      highlight=False, soft_wrap=True)  # fmt: skip
    if not lines:
        console.print("no events: memberships did not change", highlight=False)
    formed = outcome.get("euro_alliance_formed")
    us = outcome.get("us_in_nato")
    console.print(
        f"European alliance without the US formed: {'yes' if formed else 'no'}"
        + ("" if us is None else f"; United States still in NATO: {'yes' if us else 'no'}"),
        highlight=False,
    )


@app.command("verify")
def verify_cmd(
    result_dir: Annotated[Path, typer.Argument(help="a run or sweep directory", show_default=False)],
) -> None:
    """Check a run or sweep directory against the checksums in its manifest (exit 0 intact, 2 names the bad file)."""
    from rich.markup import escape

    from simulator.runs.rundir import load_manifest, verify_checksums

    if result_dir.exists() and not result_dir.is_dir():
        raise InputError(f"'{result_dir}' is a file; give a run or sweep directory")
    n = verify_checksums(result_dir, load_manifest(result_dir), required=True)
    console.print(f"{escape(str(result_dir))}: all {n} files match the checksums in manifest.json", highlight=False)
