"""`sim plot`, `sim report`, `sim compare`, `sim sensitivity`: figures, reports and comparisons of results."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from simulator.cli import app, console, err_console
from simulator.errors import InputError, storage_errors

FIGURE_FORMATS = ("png", "svg", "pdf")
REPORT_FORMATS = ("html", "md")


def _check_choice(value: str, valid: tuple[str, ...], option: str) -> str:
    value = value.lower().lstrip(".")
    if value not in valid:
        raise InputError(f"{option} '{value}' is not a valid choice; valid: {', '.join(valid)}")
    return value


def _check_dir(path: Path, what: str = "run directory") -> Path:
    if not path.exists():
        raise InputError(f"{what} '{path}' not found")
    if not path.is_dir():
        raise InputError(f"'{path}' is a file, not a {what}")
    return path


def _check_not_file(path: Path, option: str, valid: str) -> None:
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} '{path}' is a file, not a directory; give {valid}")


def _print_written(paths: list[Path], warnings: list[str]) -> None:
    for p in paths:
        console.print(f"wrote {escape(str(p))}", highlight=False)
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)


@app.command("plot")
def plot(
    result_dir: Annotated[Path, typer.Argument(help="a run or sweep directory", show_default=False)],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="directory for the figures [RESULT_DIR/figures]")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="png, svg or pdf")] = "png",
    outcomes: Annotated[
        list[str] | None,
        typer.Option("--outcome", help="sweeps: outcome to draw (repeatable; default: the headline outcomes)"),
    ] = None,
) -> None:
    """Draw the figures of a run (or, for a sweep directory, response curves, heatmaps and sensitivity)."""
    from analysis.rundata import is_sweep_dir

    fmt = _check_choice(fmt, FIGURE_FORMATS, "--format")
    _check_dir(result_dir, "run or sweep directory")
    out = out or result_dir / "figures"
    _check_not_file(out, "--out", "a directory for the figures")
    created = not out.exists()
    try:
        if is_sweep_dir(result_dir):
            from analysis.sweep import read_sweep
            from analysis.sweepfigs import draw_sweep_figures

            sweep = read_sweep(result_dir)
            for name in outcomes or []:
                sweep.column(name)  # InputError naming valid outcomes if unknown
            with storage_errors(out, "write", "--out"):
                drawn = draw_sweep_figures(sweep, out, fmt, outcomes or None)
        else:
            from analysis.figures import draw_run_figures
            from analysis.rundata import load_run

            if outcomes:
                raise InputError("--outcome applies to sweep directories only")
            run = load_run(result_dir)
            with storage_errors(out, "write", "--out"):
                drawn = draw_run_figures(run, out, fmt)
    except BaseException:
        if created:  # a failed plot leaves no half-drawn figures directory of its own making
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise
    _print_written(drawn.paths, drawn.warnings)


@app.command("report")
def report(
    result_dir: Annotated[Path, typer.Argument(help="a run (or sweep) directory", show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="report file [RESULT_DIR/report.html]")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="html (one self-contained file) or md (figures beside it)")
    ] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="same as --format md")] = False,
) -> None:
    """Write a report: figures embedded, summary tables, the scenario's assumptions and the provenance."""
    from analysis.report import write_report

    _check_dir(result_dir, "run or sweep directory")
    if markdown:
        fmt = "md"
    if fmt is not None:
        fmt = _check_choice(fmt, REPORT_FORMATS, "--format")
    target = out or result_dir / f"report.{fmt or 'html'}"
    with storage_errors(target, "write", "--out"):
        path = write_report(result_dir, out, fmt)
    console.print(f"wrote {escape(str(path))}", highlight=False)


@app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="run A (the reference, e.g. baseline)", show_default=False)],
    run_b: Annotated[Path, typer.Argument(help="run B (the scenario)", show_default=False)],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="directory for the table and figure [RUN_B/compare-A]")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="figure format: png, svg or pdf")] = "png",
    as_json: Annotated[bool, typer.Option("--json", help="print the paired differences as JSON")] = False,
    files: Annotated[bool, typer.Option("--files/--no-files", help="write the CSV table and the figure")] = True,
) -> None:
    """Compare two runs: paired differences B - A (replicates share their draws) with 95% intervals."""
    from analysis.compare import compare_runs, write_comparison
    from analysis.formats import quarter
    from analysis.rundata import load_run

    fmt = _check_choice(fmt, FIGURE_FORMATS, "--format")
    a, b = load_run(_check_dir(run_a)), load_run(_check_dir(run_b))
    cmp = compare_runs(a, b)
    target = out or run_b / f"compare-{run_a.resolve().name}"
    if files:
        _check_not_file(target, "--out", "a directory for the table and figure")
    with storage_errors(target, "write", "--out"):
        written = write_comparison(cmp, target, fmt) if files else []
    if as_json:
        rows = cmp.table.drop(columns=["text", "a_text", "b_text", "n_text"]).to_dict(orient="records")
        payload = {"run_a": str(run_a), "run_b": str(run_b), "paired": cmp.paired, "warnings": cmp.warnings,
                   "differences": rows, "files": [str(p) for p in written]}  # fmt: skip
        typer.echo(json.dumps(_clean(payload), indent=2))
        return
    how = "paired by replicate" if cmp.paired else "NOT paired"
    table = Table(title=f"{b.name} (B) vs {a.name} (A): differences B − A with 95% intervals, {how}",
                  title_justify="left")  # fmt: skip
    for col, just in ((f"Outcome (by {quarter(b.start, b.steps - 1)})", "left"), (f"A: {a.name}", "right"),
                      (f"B: {b.name}", "right"), ("B − A (95% interval)", "right"), ("Futures (A / B)", "right")):  # fmt: skip
        table.add_column(escape(col), justify=just)
    for row in cmp.table.to_dict(orient="records"):
        text = row["label"][:1].upper() + row["label"][1:] + (f", {row['condition']}" if row["condition"] else "")
        table.add_row(escape(text), escape(row["a_text"]), escape(row["b_text"]),
                      escape(row["text"] + ("" if row["paired"] or not cmp.paired else " *")), row["n_text"])  # fmt: skip
    console.print(table)
    console.print(
        "A and B: chances with their 95% Wilson interval; amounts are medians. B − A: chances as the difference "
        "of paired proportions in percentage points, Newcombe (1998) hybrid score interval; amounts as the median "
        "of the paired differences, bootstrap interval (docs/ANALYSIS.md)."
        + (" * Read only where it formed or exists in each run: different futures, so the medians are compared "
           "unpaired (bootstrap of the difference)." if cmp.paired and not cmp.table["paired"].all() else ""),
        highlight=False,
    )
    _print_written(written, [])
    for w in cmp.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)


@app.command("sensitivity")
def sensitivity_cmd(
    sweep_dir: Annotated[Path, typer.Argument(help="a sweep directory", show_default=False)],
    outcomes: Annotated[
        list[str] | None, typer.Option("--outcome", help="outcome (repeatable; default: the headline outcomes)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the table as JSON")] = False,
    csv: Annotated[Path | None, typer.Option("--csv", help="also write the table to this CSV file")] = None,
) -> None:
    """Global sensitivity of a sweep's outcomes: Sobol' indices (Saltelli design) or main-effect shares."""
    from analysis.labels import outcome_label
    from analysis.sweep import read_sweep, sensitivity_table, sensitivity_warning

    sweep = read_sweep(_check_dir(sweep_dir, "sweep directory"))
    for name in outcomes or []:
        sweep.column(name)
    frame = sensitivity_table(sweep, outcomes or None)
    if csv is not None:
        frame.to_csv(csv, index=False)
    if as_json:
        typer.echo(json.dumps(_clean(frame.to_dict(orient="records")), indent=2))
        return
    sobol = frame["ST"].notna().any() if not frame.empty else False
    title = (f"{sweep.name}: Sobol' indices (SALib), share of variance with 95% confidence" if sobol else
             f"{sweep.name}: main-effect share of variance η² ({sweep.design} design), 95% bootstrap")  # fmt: skip
    table = Table(title=title, title_justify="left")
    for col in ("Outcome", "Swept assumption", "S1 (95% interval)") + (("ST (95% interval)",) if sobol else ()):
        table.add_column(col, justify="left" if col in ("Outcome", "Swept assumption") else "right")
    last, clipped = None, False
    for row in frame.itertuples(index=False):
        s1, c1 = _interval(row.S1, row.S1_lo, row.S1_hi)
        cells = [escape(outcome_label(row.outcome)) if row.outcome != last else "", escape(sweep.label(row.parameter)), s1]
        if sobol:
            st, c2 = _interval(row.ST, row.ST_lo, row.ST_hi)
            cells.append(st)
            c1 = c1 or c2
        clipped = clipped or c1
        table.add_row(*cells)
        last = row.outcome
    console.print(table)
    if clipped:
        console.print("* an estimate outside [0, 1] (sampling error), shown clipped to the range a share of "
                      "variance can take", highlight=False)  # fmt: skip
    warning = sensitivity_warning(sweep)
    if warning:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if csv is not None:
        console.print(f"wrote {escape(str(csv))}", highlight=False)


def _interval(value: float, lo: float, hi: float) -> tuple[str, bool]:
    """A share of variance with its interval, clipped to [0, 1] (and whether anything was clipped)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–", False
    clip = [min(1.0, max(0.0, v)) if isinstance(v, float) and not math.isnan(v) else v for v in (value, lo, hi)]
    clipped = any(abs(c - v) >= 0.005 for c, v in zip(clip, (value, lo, hi), strict=True)
                  if isinstance(v, float) and not math.isnan(v))  # fmt: skip
    mark = "*" if clipped else ""
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return f"{clip[0]:.2f}{mark}", clipped
    text = f"{clip[0]:.2f}" if f"{clip[1]:.2f}" == f"{clip[2]:.2f}" == f"{clip[0]:.2f}" else (
        f"{clip[0]:.2f} ({clip[1]:.2f}–{clip[2]:.2f})")  # fmt: skip
    return text + mark, clipped


def _clean(o):
    """JSON-safe copy: numpy scalars to Python, NaN and inf to null."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if hasattr(o, "item"):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o
