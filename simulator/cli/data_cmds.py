"""`sim states`, `sim validate`, `sim schema`: the world data and the scenario language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from simulator.cli import app, console, print_error
from simulator.errors import InputError


@app.command("states")
def states(
    code: Annotated[str | None, typer.Argument(help="ISO3 code of one state (e.g. DEU)")] = None,
    sources: Annotated[bool, typer.Option("--sources", help="show the source of every figure")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the world as of a past quarter, 2005Q1 to today (e.g. 2021Q4)")
    ] = None,
) -> None:
    """List the world (today's, or --as-of a past quarter), or one state (--sources: every figure's source)."""
    from simulator.errors import suggest
    from simulator.scenario.baseline import load_baseline, state_sources

    if as_of is not None:
        from simulator.scenario.history import check_as_of, dated_baseline, quarter_start

        problem = check_as_of(as_of)
        if problem:
            raise InputError(f"--as-of: {problem}")
        base = dated_baseline(as_of)
        title = f"World as of {as_of} ({quarter_start(as_of):%d %b %Y})"
    else:
        base = load_baseline()
        title = "World today (start of 2026)"
    df = base.states
    memberships = {c: [b for b, spec in base.blocs.items() if spec.active and c in spec.members] for c in base.codes}
    if code is None:
        if as_json:
            rows = [
                {
                    "iso3": c,
                    "name": df.loc[c, "name"],
                    "milex_usd_m": df.loc[c, "milex_usd_m"],
                    "active_personnel_k": df.loc[c, "active_personnel_k"],
                    "nuclear_warheads": df.loc[c, "nuclear_warheads"],
                    "blocs": memberships[c],
                }
                for c in base.codes
            ]
            console.print_json(json.dumps(rows, default=float))
            return
        table = Table(title=title, show_lines=False)
        for col, just in (
            ("ISO3", "left"),
            ("State", "left"),
            ("Spending US$ bn", "right"),
            ("% GDP", "right"),
            ("Active k", "right"),
            ("Warheads", "right"),
            ("Blocs", "left"),
        ):
            table.add_column(col, justify=just)
        for c in base.codes:
            r = df.loc[c]
            table.add_row(
                c,
                str(r["name"]),
                f"{r['milex_usd_m'] / 1000:,.1f}",
                f"{r['milex_pct_gdp']:.2f}",
                f"{r['active_personnel_k']:,.0f}",
                f"{r['nuclear_warheads']:,.0f}",
                ", ".join(memberships[c]),
            )
        console.print(table)
        counts = ", ".join(f"{b} {len(spec.members)}" for b, spec in base.blocs.items() if spec.active)
        latent = ", ".join(b for b, spec in base.blocs.items() if not spec.active)
        console.print(f"Blocs: {counts}; latent or not yet founded: {latent or 'none'}.", highlight=False)
        if as_of is None:
            console.print(
                "Sources: SIPRI 2026 (spending, 2025), IMF WEO Apr 2026, IISS via Wikipedia (personnel), SIPRI Yearbook "
                "2025 (warheads). `sim states ISO3 --sources` shows each figure's source.",
                highlight=False,
            )
        else:
            year = int(as_of[:4])
            console.print(
                f"Capabilities of {min(year, 2025)} (SIPRI 2025 release, World Bank, IMF, IISS, SIPRI/FAS warheads); "
                "members, relations, flags and polls of the quarter's first day; docs/DATA.md 'Dated worlds'. "
                f"`sim states ISO3 --as-of {as_of} --sources` shows each figure's source.",
                highlight=False,
            )
        return
    code = code.upper()
    if code not in base.codes:
        raise InputError(f"unknown state '{code}'{suggest(code, base.codes)}")
    row = df.loc[code]
    src = state_sources(code).set_index("field")
    if base.dated_sources is not None:
        src = _dated_sources(src, base.dated_sources, code)
    if as_json:
        data = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if k != "sources"}
        data["blocs"] = memberships[code]
        if sources:
            data["field_sources"] = {
                f: {"source": src.loc[f, "source"], "confidence": src.loc[f, "confidence"]} for f in src.index
            }
        console.print_json(json.dumps(data, default=str))
        return
    table = Table(title=f"{row['name']} ({code})")
    table.add_column("Field")
    table.add_column("Value", justify="right")
    if sources:
        table.add_column("Source", overflow="fold")
        table.add_column("Confidence")
    for field, value in row.items():
        if field in ("sources", "iso3"):
            continue
        cells = [field, f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)]
        if sources:
            cells += [
                str(src.loc[field, "source"]) if field in src.index else "",
                str(src.loc[field, "confidence"]) if field in src.index else "",
            ]
        table.add_row(*cells)
    table.add_row("blocs", ", ".join(memberships[code]) or "-", *([""] * (2 if sources else 0)))
    console.print(table)


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="scenario, sweep or landscape files to check")],
) -> None:
    """Check scenario, sweep and landscape files: OK or the error (file:line: what is wrong); exit 2 if any fails.

    A scenario gets every check `sim run` makes before it starts; a sweep file every check `sim sweep`
    makes (its base scenario and every point); a landscape file those of `sim landscape --descent`.
    """
    failed = 0
    for f in files:
        try:
            text = _validate_one(f)
        except Exception as exc:  # one file's failure, of any kind, does not stop the others
            from simulator.cli.errors import expected_failure

            failed += 1
            known = expected_failure(exc)
            if known is None:
                raise  # a bug: the CLI's error boundary reports it (exit 70)
            if known[0]:
                print_error(known[0])
        else:
            console.print(f"[green]OK[/] {escape(str(f))}: {escape(text)}", highlight=False)
    if failed:
        raise typer.Exit(2)


def _validate_one(path: Path) -> str:
    """Validate one file by its kind (its top-level key); returns what it holds."""
    from simulator.scenario.language import parse_scenario
    from simulator.scenario.yamlio import load_yaml_file

    doc = load_yaml_file(path)
    kind = next(iter(doc.data), None) if isinstance(doc.data, dict) and len(doc.data) == 1 else None
    if kind == "sweep":
        from simulator.runs.sweep.spec import load_sweep, sweep_points

        sweep = load_sweep(path)
        points = sweep_points(sweep)
        return f"sweep {sweep.name}, {sweep.design}, {len(points):,} points x {sweep.replicates:,} replicates"
    if kind == "landscape":
        from simulator.landscape import load_landscape

        land = load_landscape(path)
        return f"landscape {land.name or path.stem}, {land.n} actors"
    sc = parse_scenario(doc)
    return f"{sc.name}, {sc.steps} steps, {len(sc.shocks)} shocks"


@app.command("schema")
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="write to this file instead of printing")] = None,
) -> None:
    """Print the JSON Schema of the scenario format (for editor completion and checking)."""
    from simulator.scenario.language import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if out:
        _write_file(out, text + "\n", "--out")
        console.print(f"wrote {escape(str(out))}", highlight=False)
    else:
        typer.echo(text)


def _write_file(path: Path, text: str, option: str) -> None:
    """Write a text file whole or not at all (temporary file + rename); a one-line error naming ``option``."""
    from simulator.errors import storage_errors

    if path.is_dir():
        raise InputError(f"{option} '{path}' is a directory; give a file name such as {path / 'scenario.schema.json'}")
    if path.exists() and not path.is_file():
        raise InputError(f"{option} '{path}' is a device or special file; give a regular file name")
    tmp = path.with_name(f".{path.name}.tmp")
    with storage_errors(path, "write", option):
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)


def escape(text: str) -> str:
    """Escape rich markup in user text (keeps [key] suffixes visible)."""
    from rich.markup import escape as _escape

    return _escape(text)


def _dated_sources(src, dated, code: str):
    """Today's sources with the dated values' provenance in their place (capabilities, flags, polls)."""
    import pandas as pd

    from simulator.scenario.history import load_source_titles

    titles = load_source_titles()
    rows = dated[dated["iso3"] == code]
    out = src.copy()
    for field, origin, source_id in zip(rows["field"], rows["origin"], rows["source_id"], strict=True):
        label = titles.get(str(source_id), str(source_id))
        text = label if origin == "sourced" else f"{label} ({origin.replace(':', ' from ')})"
        confidence = "dated" if origin in ("sourced", "dated") else "carried"
        out.loc[field] = pd.Series({"iso3": code, "source": text, "confidence": confidence})
    return out
