"""The `sim` command: parse arguments, call the library, print. Nothing else lives here.

Each command group has its own module in this package; they register on ``app`` at import.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from simulator.errors import InputError

app = typer.Typer(
    name="sim",
    help="Coalition simulator: Monte Carlo ensembles of alliance formation under scenario shocks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def fail(exc: InputError | str, code: int = 2) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _register() -> None:
    # Import for side effects: each module adds its commands to ``app``.
    from simulator.cli import data_cmds, landscape_cmds, run_cmds  # noqa: F401

    for optional in ("sweep_cmds", "analysis_cmds"):
        try:
            __import__(f"simulator.cli.{optional}")
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name != f"simulator.cli.{optional}":
                raise


def main() -> None:
    """Entry point of the ``sim`` console script."""
    _register()
    try:
        app(standalone_mode=False)
    except InputError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            err_console.print("aborted", highlight=False)
            sys.exit(130)
        raise
