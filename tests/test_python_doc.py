"""The examples of docs/PYTHON.md run as written (with fewer replicates), in order, in one namespace."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import ROOT

DOC = ROOT / "docs" / "PYTHON.md"
REPLICATES = 12  # every `replicates=N` of the examples runs with at most this many


def code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def small(code: str) -> str:
    """The example with ``replicates=N`` lowered to at most REPLICATES (the only change made)."""
    return re.sub(r"replicates=(\d+)", lambda m: f"replicates={min(int(m.group(1)), REPLICATES)}", code)


def test_the_document_has_examples_of_every_entry_point():
    text = "\n".join(code_blocks())
    for call in ("sim.run(", "sim.load(", "sim.sweep(", "sim.compare(", "sim.discover(", "sim.backtest(",
                 ".experiments()", ".plot.", ".save("):  # fmt: skip
        assert call in text, call


@pytest.mark.slow
def test_every_example_of_python_md_runs(tmp_path, monkeypatch, capsys):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    monkeypatch.chdir(tmp_path)  # the examples' relative paths: scenarios/ and the files they write
    namespace: dict = {}
    for i, code in enumerate(code_blocks()):
        try:
            exec(compile(small(code), f"{DOC.name} example {i + 1}", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # pragma: no cover - the failing example is named in the message
            raise AssertionError(f"docs/PYTHON.md example {i + 1} failed: {type(exc).__name__}: {exc}\n{code}") from exc
    out = capsys.readouterr().out
    assert "<sim.Run us_exit: 12 replicates, seed 2026, in memory" in out
    assert (tmp_path / "runs_api" / "us_exit_inertia" / "manifest.json").exists()
    assert {p.name for p in (tmp_path / "figures_api").iterdir()} >= {"power_distribution.png", "discover_box.png"}
    assert os.path.samefile(namespace["again"].path, tmp_path / "runs_api" / "us_exit_inertia")
