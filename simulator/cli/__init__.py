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
from simulator.errors import InputError

app = typer.Typer(
    name="sim",
    help="Coalition simulator: Monte Carlo ensembles of alliance formation under scenario shocks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (files, CI logs) gets wide tables instead of rich's 80-column default.
console = Console() if sys.stdout.isatty() else Console(width=int(os.environ.get("COLUMNS", "140")))
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
        landscape_cmds,
        run_cmds,
        sweep_cmds,
    )


def main() -> None:
    """Entry point of the ``sim`` console script: bad input is one line on stderr and exit 2."""
    _register()
    try:
        app()  # standalone: click prints usage errors itself and exits 2
    except InputError as exc:
        # escape() keeps [brackets] literal; emoji=False keeps ':name:' (e.g. a range a:b:c) literal
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True, emoji=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was left half-written", highlight=False)
        sys.exit(130)
