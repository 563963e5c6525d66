"""`sim run` and `sim replay`: the Monte Carlo ensemble of a scenario and the story of one replicate."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from simulator.cli import BackendOption, app, console, err_console
from simulator.errors import InputError
from simulator.scenario.limits import MAX_REPLICATES, MAX_SEED


def _fmt_p(d: dict) -> str:
    return f"{d['p']:.1%} [{d['lo']:.1%}, {d['hi']:.1%}]"


def _fmt_q(d: dict, digits: int = 1) -> str:
    if d.get("median") is None:
        return "-"
    if d["q05"] == d["q95"]:
        return f"{d['median']:,.{digits}f}"
    return f"{d['median']:,.{digits}f} [{d['q05']:,.{digits}f}-{d['q95']:,.{digits}f}]"


LABELS = {
    "euro_alliance_formed": "European alliance without the US formed",
    "euro_alliance_step": "  quarter step of its founding (if formed)",
    "euro_alliance_members": "  members at the end",
    "euro_alliance_power": "  effective power (0 if not formed)",
    "euro_alliance_power_if_formed": "  effective power, if formed",
    "euro_alliance_power_ratio": "  power ratio vs the adversary",
    "us_in_nato": "United States still in NATO",
    "bruegel_extra_spending_eur_bn": "Extra spending EU+UK vs 2025 (EUR bn/yr)",
    "bruegel_spending_gap_eur_bn": "  gap to Bruegel's +EUR 250 bn/yr",
    "bruegel_troop_equivalents_k": "Troop-equivalents bought (thousands)",
    "bruegel_troop_gap_k": "  gap to Bruegel's 300k",
}


def print_summary(summary: dict) -> None:
    """Human summary: key questions with intervals, then the blocs."""
    n = summary["replicates"]
    t = Table(title=f"{summary['scenario']}: {n:,} replicates, {summary['steps']} quarters from {summary['start']}")
    t.add_column("Outcome")
    t.add_column("Probability or median [5-95%]", justify="right")
    for key, d in summary["outcomes"].items():
        label = LABELS.get(key, key.replace("_in_euro_alliance", " in the European alliance"))
        t.add_row(label, _fmt_p(d) if d["kind"] == "probability" else _fmt_q(d))
    console.print(t)
    b = Table(title="Blocs at the end of the horizon: P(active) and medians [5-95%]")
    for col in ("Bloc", "Active", "Members", "Eff. power", "vs adversary", "US$ bn/yr"):
        b.add_column(col, justify="left" if col == "Bloc" else "right", no_wrap=True)
    for code, d in summary["blocs"].items():
        act = d["active"]
        b.add_row(
            code, f"{act['p']:.0%}", _fmt_q(d["members"], 0), _fmt_q(d["effective_power"]),
            _fmt_q(d["power_ratio"], 2), _fmt_q(d["spending_usd_bn"], 0),
        )  # fmt: skip
    console.print(b)
    if n < 100:
        console.print(
            f"[yellow]warning:[/] only {n} replicates: intervals are wide; use --replicates 1000 or more for a briefing."
        )
    console.print(
        "Power is in points of a CINC-like index (the 48-state world of 2026 = about 100); see docs/MODEL.md."
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
    print_summary(info.summary)
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
    return f"[dim]rejected[/] {row['state']}'s application to {row['bloc']} ({why})"


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
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "replicate": replicate,
                    "events": [
                        {"step": s, "quarter": quarter_label(scenario.start, s), "kind": k, "text": txt}
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
    # rejections (who voted no) from the timeline, the rows of events.parquet
    lines = [(step, 1, f"[dim]{kind}[/] {text}") for _, step, kind, text in events if kind != "veto"]
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
            lines.append((row["step"], 0, f"[dim]apply[/] {row['state']} applies to join {row['bloc']} (first time)"))
        elif row["event"] == "candidate":
            lines.append((row["step"], 0, f"[dim]candidate[/] {row['state']} is a candidate for {row['bloc']}"))
        elif row["event"] == "rejected":
            blocked = (row["step"], row["state"], row["bloc"]) in territorial
            lines.append((row["step"], 1, rejection_text(row, blocked)))
    t = Table(title=f"{scenario.name}, replicate {replicate} (seed {man['seed']})")
    t.add_column("Quarter")
    t.add_column("Event")
    for step, _, text in sorted(lines, key=lambda x: (x[0], x[1])):
        t.add_row(quarter_label(scenario.start, step), text)
    if not lines:
        t.add_row("-", "no events: memberships did not change")
    console.print(t)
    formed = outcome.get("euro_alliance_formed")
    console.print(
        f"European alliance without the US: {'yes' if formed else 'no'}; US in NATO: {outcome.get('us_in_nato')}",
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
