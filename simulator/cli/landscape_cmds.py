"""`sim landscape`: exact minima and basins of an Axelrod–Bennett landscape, or of the world."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from simulator.cli import app, console
from simulator.errors import InputError
from simulator.landscape import (
    HARD_MAX_EXHAUSTIVE,
    MAX_EXHAUSTIVE,
    LandscapeResult,
    enumerate_landscape,
    load_landscape,
    sample_landscape,
    world_landscape,
)
from simulator.scenario.limits import MAX_SEED

_FRUSTRATION_COLUMNS = 8  # minima shown in the frustration table


def _number(x: float) -> str:
    """Integers exactly, other values to 6 significant digits."""
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


def _print_result(result: LandscapeResult, limit: int, elapsed: float, note: str) -> None:
    land = result.landscape
    names = land.names
    minima = result.minima
    if result.method == "exhaustive":
        how = f"exhaustive over all 2^{land.n - 1} = {result.samples:,} configurations"
        basin = "basin"
    else:
        how = f"steepest descent from {result.samples:,} random starts (seed {result.seed})"
        basin = "share of starts"
    console.print(f"[bold]{land.name or 'landscape'}[/]: {land.n} actors; {how}", highlight=False)
    if note:
        console.print(note, highlight=False)
    console.print(
        f"{len(minima)} local minim{'um' if len(minima) == 1 else 'a'} in {elapsed:.3g} s"
        + (f"; showing the {limit} lowest" if len(minima) > limit else ""),
        highlight=False,
    )
    shown = minima[:limit]
    table = Table(title="Local minima (predicted alignments)", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("energy", justify="right")
    table.add_column(basin, justify="right")
    table.add_column(f"side of {names[0]}", overflow="fold")
    table.add_column("other side", overflow="fold")
    for rank, m in enumerate(shown, 1):
        first, other = m.camps(names)
        table.add_row(
            str(rank),
            _number(m.energy),
            f"{m.basin:.4f}",
            ", ".join(first),
            ", ".join(other) or "-",
        )
    console.print(table)
    cols = shown[:_FRUSTRATION_COLUMNS]
    console.print("Frustration F_i of each actor in each minimum (* = on the other side):")
    frus = Table()
    frus.add_column("actor")
    for rank in range(1, len(cols) + 1):
        frus.add_column(f"#{rank}", justify="right")
    for i, name in enumerate(names):
        frus.add_row(name, *(_number(m.frustration[i]) + ("*" if m.sides[i] else " ") for m in cols))
    console.print(frus)


@app.command("landscape")
def landscape(
    file: Annotated[
        Path | None,
        typer.Argument(help="Landscape file (YAML); omit with --world.", show_default=False),
    ] = None,
    world: Annotated[bool, typer.Option("--world", help="Use the baseline world: size = power, affinity.")] = False,
    top: Annotated[
        int,
        typer.Option("--top", min=0, help="With --world: keep the N largest states by power (0 = all)."),
    ] = 20,
    descent: Annotated[bool, typer.Option("--descent", help="Steepest descent from random starts, any n.")] = False,
    starts: Annotated[int, typer.Option("--starts", min=1, help="Random starts for --descent.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seed of the random starts.")] = 0,
    max_exhaustive: Annotated[
        int,
        typer.Option(
            "--max-exhaustive",
            min=2,
            max=HARD_MAX_EXHAUSTIVE,
            help="Most actors for exhaustive enumeration (2^(n-1) configurations).",
        ),
    ] = MAX_EXHAUSTIVE,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Minima shown in the table (JSON has all).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print {actors, minima: [{energy, sides, basin}]}.")] = False,
) -> None:
    """Predict the two camps: local minima of the landscape energy, with their basins.

    Exact for n up to --max-exhaustive (all 2^(n-1) configurations); --descent samples
    steepest descents from random starts instead.
    """
    if world == (file is not None):
        raise InputError("give either a landscape FILE or --world (not both)")
    note = ""
    if world:
        land, total = world_landscape(top)
        if land.n < total:
            note = f"the {land.n} largest of {total} states by power (--top {top}; 0 = all)"
        if not descent and land.n > max_exhaustive:
            raise InputError(
                f"{land.n} states is too many for exhaustive enumeration (limit "
                f"{max_exhaustive}); use --top {max_exhaustive} or --descent"
            )
    else:
        assert file is not None
        land = load_landscape(file, max_actors=None if descent else max_exhaustive)
    start = time.perf_counter()
    result = sample_landscape(land, starts, seed) if descent else enumerate_landscape(land)
    elapsed = time.perf_counter() - start
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_result(result, limit, elapsed, note)
