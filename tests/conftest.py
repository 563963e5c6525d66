"""Shared fixtures: run the `sim` CLI in-process and capture its exit code and output."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def sim(capsys, monkeypatch):
    """Call `sim ARGS...` in-process; returns exit code, stdout and stderr."""
    from simulator.cli import main

    def call(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["sim", *map(str, args)])
        monkeypatch.setenv("COLUMNS", "200")
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return call
