"""The layers of docs/ARCHITECTURE.md hold, and what a sweep's resume fingerprint covers."""

from __future__ import annotations

from pathlib import Path

import simulator
from simulator.runs.sweep.tasks import code_fingerprint, fingerprint_files
from tests.conftest import ROOT

PACKAGE = Path(simulator.__file__).resolve().parent


def test_no_import_runs_against_the_layers():
    from importlinter.cli import lint_imports

    # contracts in pyproject.toml: cli > analysis > runs | landscape > engine > scenario > errors,
    # pure mechanisms, no analysis/CLI/matplotlib in the library, a reference twin without kernels
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


def test_the_resume_fingerprint_covers_all_engine_scenario_and_data_files():
    covered = {p.relative_to(PACKAGE).as_posix() for p in fingerprint_files()}
    for layer in ("engine", "scenario", "runs"):
        modules = {p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / layer).rglob("*.py")}
        assert modules and modules <= covered, modules - covered
    for must in ("engine/model.py", "engine/fast/kernels.py", "engine/mechanisms/utility.py", "data/states.csv"):
        assert must in covered
    assert "data/blocs.yaml" in covered and "data/relations.yaml" in covered
    assert not any(name.startswith("cli/") for name in covered)
    assert len(code_fingerprint()) == 16


def test_every_lazy_re_export_resolves():
    import importlib

    for package in (
        "simulator",
        "simulator.api",
        "simulator.scenario",
        "simulator.engine",
        "simulator.runs",
        "simulator.runs.sweep",
    ):
        module = importlib.import_module(package)
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{package}.{name}"
