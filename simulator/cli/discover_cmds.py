"""`sim discover`: scenario discovery (PRIM and CART) over a sweep's or a run's inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from simulator.cli import app, console
from simulator.errors import InputError, storage_errors

TRAJECTORY_ROWS = 12  # boxes of the trajectory printed (evenly spaced, always the first, last and chosen)


def _pct(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.0%}"


def _p(v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _range(lo: float, hi: float) -> str:
    return f"{lo:.3g} to {hi:.3g}"


@app.command("discover")
def discover_cmd(
    result_dir: Annotated[
        Path, typer.Argument(help="a sweep directory (or a run whose inputs vary)", show_default=False)
    ],
    outcome: Annotated[
        str, typer.Option("--outcome", help="outcome column or label, or 'BLOC formed' (e.g. 'EDU formed')")
    ],
    above: Annotated[
        float | None, typer.Option("--above", help="an amount: cases are futures with at least this")
    ] = None,
    below: Annotated[
        float | None, typer.Option("--below", help="an amount: cases are futures with at most this")
    ] = None,
    level: Annotated[
        str, typer.Option("--level", help="replicates (each future a row) or points (each sweep point a row)")
    ] = "replicates",
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="--level points: a point is a case if P >= this")
    ] = 0.5,
    inputs: Annotated[list[str] | None, typer.Option("--input", help="use only this input (repeatable)")] = None,
    box: Annotated[
        int | None, typer.Option("--box", min=0, help="report this box of the trajectory (default: the most balanced)")
    ] = None,
    mass_min: Annotated[
        float, typer.Option("--mass-min", min=0.001, max=0.49, help="smallest box, as a share of the futures")
    ] = 0.05,
    peel_alpha: Annotated[
        float, typer.Option("--peel-alpha", min=0.001, max=0.49, help="share of a box removed by one peel")
    ] = 0.05,
    cart_depth: Annotated[int, typer.Option("--cart-depth", min=1, max=8, help="depth of the CART tree")] = 3,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="directory for the figures [RESULT_DIR/figures]")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="png, svg or pdf")] = "png",
    figures: Annotated[bool, typer.Option("--figures/--no-figures", help="draw the trade-off and box figures")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the trajectory, box and leaves as JSON")] = False,
) -> None:
    """In which futures does an outcome happen? PRIM boxes (coverage, density, restricted inputs) and CART leaves."""
    from simulator.api.discover import LEVELS, discover
    from simulator.cli.analysis_cmds import FIGURE_FORMATS, _check_choice, _check_dir, _check_not_file

    if level not in LEVELS:
        raise InputError(f"--level '{level}' is not a valid choice; valid: {', '.join(LEVELS)}")
    fmt = _check_choice(fmt, FIGURE_FORMATS, "--format")
    _check_dir(result_dir, "sweep or run directory")
    target = out or result_dir / "figures"
    if figures:
        _check_not_file(target, "--out", "a directory for the figures")
    found = discover(
        result_dir, outcome, above=above, below=below, level=level, threshold=threshold, inputs=inputs,
        peel_alpha=peel_alpha, mass_min=mass_min, box="balanced" if box is None else box, cart_depth=cart_depth,
    )  # fmt: skip
    written = []
    if figures:
        with storage_errors(target, "write", "--out"):
            written = found.plot(target, fmt)
    if as_json:
        typer.echo(json.dumps(_finite(_as_json(found)), indent=2, default=_plain, allow_nan=False))
        return
    _print(found)
    for path in written:
        console.print(f"wrote {escape(str(path))}", highlight=False)


def _print(found) -> None:
    p = found.prim
    n, k = found.y.size, int(found.y.sum())
    rows = "sweep points" if found.level == "points" else "futures (point x replicate)"
    console.print(
        f"[bold]Scenario discovery[/]: '{escape(found.case)}' in {k:,} of {n:,} {rows} ({k / n:.1%}); "
        f"inputs: {escape(', '.join(found.x.columns))}",
        highlight=False,
    )
    t = Table(title="PRIM peeling and pasting trajectory (coverage: share of all cases in the box; density: share of "
              "the box that are cases)")  # fmt: skip
    for col in ("Box", "Step", "Coverage", "Density", "Mass", "Inputs restricted"):
        t.add_column(col, justify="left" if col == "Step" else "right")
    for i in _shown(len(p.boxes), p.chosen):
        b = p.boxes[i]
        mark = " ◀ chosen" if i == p.chosen else ""
        t.add_row(str(b.index), b.phase + mark, _pct(b.coverage), _pct(b.density), _pct(b.mass), str(len(b.restricted)))
    console.print(t)
    b = p.box
    limits = found.box
    title = (
        f"Box {b.index}: coverage {_pct(b.coverage)}, density {_pct(b.density)} (vs {_pct(p.boxes[0].density)} "
        f"overall), mass {_pct(b.mass)}"
    )
    if limits.empty:
        console.print(f"{title}: no input is restricted (the box is every future)", highlight=False)
    else:
        box_table = Table(title=title + "; quasi-p: could this limit be dropped? (one-sided binomial test)")
        for col in ("Input", "In the box", "Full range", "Quasi-p (low, high)", "Needed"):
            box_table.add_column(col, justify="left" if col in ("Input", "In the box", "Full range") else "right")
        for row in limits.itertuples():
            if row.kind == "range":
                inside, full = _range(row.lower, row.upper), _range(row.min, row.max)
                qp = f"{_p(row.qp_lower)}, {_p(row.qp_upper)}"
            else:
                inside, full = ", ".join(map(str, row.box)), ", ".join(map(str, row.full))
                qp = _p(row.qp_lower)
            box_table.add_row(escape(row.input), inside, full, qp, "yes" if row.significant else "doubtful")
        console.print(box_table)
    leaves = found.cart[found.cart["predicts"]]
    depth = found.cart.attrs.get("max_depth", "?")
    c = Table(title=f"CART leaves where the case is the majority (a tree of depth {depth} at most), densest first")
    for col in ("Rule", "Coverage", "Density", "Mass"):
        c.add_column(col, justify="left" if col == "Rule" else "right")
    for row in leaves.itertuples():
        c.add_row(escape(row.rule), _pct(row.coverage), _pct(row.density), _pct(row.mass))
    if leaves.empty:
        c.add_row("no leaf has a majority of cases", "–", "–", "–")
    console.print(c)


def _shown(n: int, chosen: int) -> list[int]:
    """At most TRAJECTORY_ROWS boxes, evenly spread, with the first, the chosen and the last."""
    if n <= TRAJECTORY_ROWS:
        return list(range(n))
    picks = {round(i * (n - 1) / (TRAJECTORY_ROWS - 2)) for i in range(TRAJECTORY_ROWS - 1)} | {0, chosen, n - 1}
    return sorted(picks)


def _as_json(found) -> dict:
    return {
        "outcome": found.outcome,
        "case": found.case,
        "level": found.level,
        "rows": int(found.y.size),
        "cases": int(found.y.sum()),
        "inputs": list(found.x.columns),
        "trajectory": found.trajectory.to_dict(orient="records"),
        "chosen": found.prim.chosen,
        "box": found.box.to_dict(orient="records"),
        "cart": found.cart.to_dict(orient="records"),
    }


def _finite(data):
    """NaN (a side without a limit) as null: strict JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def _plain(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, frozenset | set):
        return sorted(o, key=str)
    raise TypeError(type(o))
