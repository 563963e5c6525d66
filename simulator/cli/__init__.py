"""The `sim` command: parse arguments, call the library, print. Nothing else lives here.

Each command group has its own module in this package; they register on ``app`` at import.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from simulator.engine.fast import Backend, check_backend

app = typer.Typer(
    name="sim",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


# Piped output (files, CI logs) gets wide tables instead of rich's 80-column default.
def _columns() -> int:
    try:
        return max(40, int(os.environ.get("COLUMNS", "140")))
    except ValueError:  # a COLUMNS that is not a number: the default width
        return 140


console = Console() if sys.stdout.isatty() else Console(width=_columns())
err_console = Console(stderr=True)

# `--backend` of `sim run` and `sim sweep`: the choices in --help, a bad name one line and exit 2 (InputError).
BackendOption = Annotated[
    Backend | None,
    typer.Option(
        "--backend",
        parser=check_backend,
        help="engine path: numba (compiled, default when installed) or numpy; results are identical",
    ),
]


def _register() -> None:
    # Import for side effects: each module adds its commands to ``app``.
    from simulator.cli import (  # noqa: F401
        analysis_cmds,
        backtest_cmds,
        calibrate_cmds,
        data_cmds,
        discover_cmds,
        landscape_cmds,
        run_cmds,
        sweep_cmds,
    )


# Whether to show tracebacks: the global --debug option or SIM_DEBUG=1 (set again by every main()).
_DEBUG = {"on": False}


def _print_version(value: bool) -> None:
    if value:
        from simulator import __version__

        typer.echo(f"sim (coalition-sim) {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="show the full traceback of an error (also SIM_DEBUG=1)")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """Coalition simulator: Monte Carlo ensembles of alliance formation under scenario shocks."""
    _DEBUG["on"] = _DEBUG["on"] or debug


def main() -> None:
    """Entry point of the ``sim`` console script: the one error boundary of the command line.

    Expected failures are one line on stderr naming the file or option, exit 2: bad input
    (InputError), usage errors, I/O errors (missing, unreadable or read-only files, a full disk),
    results files that cannot be read (truncated or garbled Parquet) and running out of memory.
    Anything else is a bug: one line with a hint to report it, exit 70; the traceback only with
    ``sim --debug ...`` or ``SIM_DEBUG=1``.
    """
    from simulator.cli.errors import bug_message, expected_failure

    _register()
    _DEBUG["on"] = os.environ.get("SIM_DEBUG", "") not in ("", "0")
    try:
        code = app(standalone_mode=False)  # click's own errors come here, to be printed in one line
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was left half-written", highlight=False)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the boundary: every error is one line
        failure = expected_failure(exc)
        if failure is None:  # a bug
            if _DEBUG["on"]:
                raise
            print_error(bug_message(exc))
            sys.exit(70)
        message, exit_code = failure
        if _DEBUG["on"] and message is not None:
            import traceback

            traceback.print_exception(exc)
        if message is not None:
            print_error(message)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def print_error(message: str) -> None:
    """``error: MESSAGE`` on one line of stderr, printed as written (line breaks in it become spaces)."""
    line = " ".join(message.replace("\r", "\n").split("\n"))
    # escape() keeps [brackets] literal; emoji=False keeps ':name:' (e.g. a range a:b:c) literal
    err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True, emoji=False)
