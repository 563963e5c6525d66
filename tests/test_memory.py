"""Memory flat in replicates: the streaming writers and the block-by-block summary give the same bytes
and numbers as writing and summarising everything at once (benchmarks/memory.py measures the memory)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simulator.runs.blocks import iterate_blocks, plan_blocks, world_for
from simulator.runs.parquet_stream import StreamingParquetWriter
from simulator.runs.results import summarise
from simulator.runs.run import run_scenario
from simulator.runs.timeline import EventWriter
from simulator.scenario.language import load_scenario
from tests.conftest import US_EXIT


def tables() -> tuple[pa.Schema, list[pa.Table]]:
    """Tables with every kind of column the run directory writes, some with NaN, one empty."""
    rng = np.random.default_rng(3)
    schema = pa.schema(
        [
            ("replicate", pa.int64()),
            ("flag", pa.bool_()),
            ("power", pa.float64()),
            ("state", pa.dictionary(pa.int32(), pa.string())),
            ("voted_no", pa.list_(pa.string())),
        ]
    )
    out, first = [], 0
    for n in (7, 40, 0, 1, 23):
        power = rng.lognormal(size=n)
        power[::5] = np.nan
        out.append(
            pa.table(
                [
                    pa.array(np.arange(first, first + n)),
                    pa.array(rng.random(n) < 0.3),
                    pa.array(power),
                    pa.DictionaryArray.from_arrays(
                        pa.array(rng.integers(0, 3, n).astype(np.int32)), ["DEU", "FRA", "POL"]
                    ),
                    pa.array([["HUN"] * int(k) for k in rng.integers(0, 3, n)], pa.list_(pa.string())),
                ],
                schema=schema,
            )
        )
        first += n
    return schema, out


@pytest.mark.parametrize(
    "options, row_group_size",
    [({}, None), ({"compression": "zstd"}, None), ({"compression": "zstd"}, 6), ({"write_page_index": True}, None)],
    ids=["default", "zstd", "zstd-split", "page-index-fallback"],
)
def test_streaming_writer_writes_the_bytes_of_one_parquet_writer(tmp_path, options, row_group_size):
    schema, parts = tables()
    with pq.ParquetWriter(tmp_path / "plain.parquet", schema, **options) as plain:
        for t in parts:
            plain.write_table(t, row_group_size)
    with StreamingParquetWriter(tmp_path / "stream.parquet", schema, **options) as stream:
        for t in parts:
            stream.write_table(t, row_group_size)
    assert (tmp_path / "stream.parquet").read_bytes() == (tmp_path / "plain.parquet").read_bytes()
    back = pq.read_table(tmp_path / "stream.parquet")
    assert back.column("replicate").to_pylist() == list(range(sum(t.num_rows for t in parts)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.parquet", "stream.parquet"]  # no spool left


def test_streaming_writer_of_no_table_writes_an_empty_file(tmp_path):
    schema, _ = tables()
    pq.ParquetWriter(tmp_path / "plain.parquet", schema).close()
    StreamingParquetWriter(tmp_path / "stream.parquet", schema).close()
    assert (tmp_path / "stream.parquet").read_bytes() == (tmp_path / "plain.parquet").read_bytes()


@pytest.mark.parametrize("block_size", [7, 30])
def test_streamed_run_equals_the_run_written_and_summarised_at_once(tmp_path, block_size):
    """replicates.parquet and events.parquet are the bytes one ParquetWriter writes, and summary.json's
    outcome statistics are those read back from the finished file (the path before streaming)."""
    run = tmp_path / "run"
    info = run_scenario(load_scenario(US_EXIT, ["steps=10"]), run, replicates=30, seed=4, block_size=block_size)
    sc = load_scenario(run / "scenario.resolved.yaml")
    world = world_for(sc)
    blocks = list(iterate_blocks(sc, 4, plan_blocks(30, block_size), timeline=True))
    assert len(blocks) == -(-30 // block_size)

    def table(block) -> pa.Table:
        return pa.table({k: pa.array(v) for k, v in block.columns.items()})

    with pq.ParquetWriter(tmp_path / "replicates.parquet", table(blocks[0]).schema, compression="zstd") as plain:
        for b in blocks:
            plain.write_table(table(b))
    assert (run / "replicates.parquet").read_bytes() == (tmp_path / "replicates.parquet").read_bytes()

    events = EventWriter(tmp_path / "events.parquet", world.codes, world.bloc_codes, sc.start, sc.steps)
    events.writer.close()
    events.writer = pq.ParquetWriter(tmp_path / "events.parquet", events.schema)  # the writer before streaming
    for b in blocks:
        events.write(b.events, b.no_votes)
    events.close()
    assert (run / "events.parquet").read_bytes() == (tmp_path / "events.parquet").read_bytes()

    at_once = summarise(run / "replicates.parquet", world.bloc_codes, world.codes)
    streamed = {k: info.summary[k] for k in at_once}
    assert json.dumps(streamed) == json.dumps(at_once)  # bit for bit, NaN included
    assert at_once["replicates"] == 30 and at_once["membership"]["NATO"]
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".") or "tmp" in p.name) == []  # no spool left
