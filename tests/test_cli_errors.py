"""The one error boundary of `sim` (simulator/cli/__init__.py main()): expected failures are one line and exit 2,
a bug is one line with a hint to report it (exit 70), the traceback only with --debug or SIM_DEBUG=1."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest

import simulator.scenario.language as language
from tests.conftest import US_EXIT, call_sim
from tests.test_input_limits import one_line_error


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A small run directory (10 replicates, 10 quarters), written once for the tests that damage copies of it."""
    out = tmp_path_factory.mktemp("runs") / "good"
    res = call_sim("run", US_EXIT, "-n", "10", "--steps", "10", "--no-figures", "--out", out)
    assert res.code == 0, res.err
    return out


def _boom(*args, **kwargs):
    raise RuntimeError("boom\nsecond line")


def test_a_bug_is_one_line_with_a_hint_and_exit_70(monkeypatch, tmp_path):
    monkeypatch.delenv("SIM_DEBUG", raising=False)
    monkeypatch.setattr(language, "parse_scenario", _boom)
    res = call_sim("validate", US_EXIT)
    lines = res.err.strip().splitlines()
    assert res.code == 70 and len(lines) == 1, res.err
    assert "internal error (RuntimeError: boom second line)" in lines[0] and "report" in lines[0]
    assert "--debug" in lines[0] and "Traceback" not in res.err


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(monkeypatch, how):
    monkeypatch.setattr(language, "parse_scenario", _boom)
    args = ["validate", US_EXIT]
    if how == "option":
        monkeypatch.delenv("SIM_DEBUG", raising=False)
        args = ["--debug", *args]
    else:
        monkeypatch.setenv("SIM_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):  # re-raised: Python prints the traceback
        call_sim(*args)
    monkeypatch.setenv("SIM_DEBUG", "1")
    bad = call_sim("run", US_EXIT.parent / "missing.yaml")  # an expected error: traceback, then the one line
    assert bad.code == 2 and "Traceback" in bad.err
    assert bad.err.strip().splitlines()[-1].startswith("error: ") and "file not found" in bad.err


def test_usage_errors_are_one_line():
    one_line_error(call_sim("run"), "error: missing argument", "sim run --help")  # one style: lower case
    one_line_error(call_sim("run", US_EXIT, "--bogus"), "error: no such option: --bogus")
    one_line_error(call_sim("states", "--as-of"), "--as-of")


def test_interrupt_exits_130_without_a_traceback(monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(language, "parse_scenario", interrupt)
    res = call_sim("validate", US_EXIT)
    assert res.code == 130 and "Traceback" not in res.err


@pytest.mark.parametrize(
    "error,says",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device (while working on FILE)"),
        (PermissionError(errno.EACCES, "Permission denied", "FILE"), "FILE: Permission denied; check the permissions"),
        (OSError(errno.EROFS, "Read-only file system", "FILE"), "FILE: Read-only file system; the file system is"),
    ],
)
def test_io_errors_no_command_wraps_are_one_line_naming_the_file(monkeypatch, error, says):
    """The boundary's last resort for an OSError a command did not turn into a StorageError itself."""
    if error.filename == "FILE":
        error.filename = str(US_EXIT)

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(language, "parse_scenario", fail)
    one_line_error(call_sim("validate", US_EXIT), says.replace("FILE", str(US_EXIT)))


def test_schema_into_a_directory_names_it(tmp_path):
    one_line_error(call_sim("schema", "--out", tmp_path), str(tmp_path), "is a directory")


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
@pytest.mark.parametrize("command", ["compare", "report", "plot"])
def test_corrupt_results_are_one_line_naming_the_run(run_dir, tmp_path, damage, command):
    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    path = bad / "replicates.parquet"
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        for i in range(200, len(data) - 200, 7):
            data[i] ^= 0x55
    path.write_bytes(bytes(data))
    args = [run_dir, bad] if command == "compare" else [bad]
    before = sorted(p.name for p in bad.iterdir())
    one_line_error(call_sim(command, *args), str(bad))
    assert sorted(p.name for p in bad.iterdir()) == before  # no report, no figures, no comparison


def test_resolved_scenario_alias_bomb_in_a_run_directory(run_dir, tmp_path):
    from tests.test_input_limits import alias_bomb

    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    resolved = bad / "scenario.resolved.yaml"
    resolved.write_text(resolved.read_text() + alias_bomb(), encoding="utf-8")
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest.pop("checksums")  # a run directory from before checksums: its files are read unverified
    (bad / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    one_line_error(call_sim("replay", bad), f"{resolved}:", "values")
    one_line_error(call_sim("report", bad), f"{resolved}:", "values")


def test_a_killed_worker_pool_is_an_expected_failure_and_bad_columns_a_default_width(monkeypatch):
    """A worker killed by the system (BrokenProcessPool) is one line, exit 2, not a bug; COLUMNS=abc is 140."""
    from concurrent.futures.process import BrokenProcessPool

    from simulator.cli import _columns
    from simulator.cli.errors import expected_failure

    message, code = expected_failure(BrokenProcessPool("A process in the process pool was terminated abruptly"))
    assert code == 2 and "worker process died" in message and "\n" not in message
    monkeypatch.setenv("COLUMNS", "abc")
    assert _columns() == 140
    monkeypatch.setenv("COLUMNS", "200")
    assert _columns() == 200
