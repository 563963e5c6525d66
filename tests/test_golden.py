"""Determinism across Python and library versions: a small seeded run gives the pinned digest."""

from __future__ import annotations

import json

import numpy as np

from tests.conftest import ROOT
from tests.golden.digest import GOLDEN_RUN, golden_run, table_digest
from tests.golden.regenerate import DIGESTS


def test_golden_run_has_the_pinned_digest(tmp_path):
    pinned = json.loads(DIGESTS.read_text(encoding="utf-8"))
    assert pinned["run"] == GOLDEN_RUN, "the golden run changed: run python -m tests.golden.regenerate"
    digest = table_digest(golden_run(tmp_path / "run", ROOT))
    assert digest == pinned["replicates_digest"], (
        "replicates.parquet differs from the pinned results. If a mechanism, parameter or data change is "
        "deliberate, run `python -m tests.golden.regenerate` and say so in the commit; otherwise results "
        "depend on the Python or library version."
    )


def test_digest_sees_one_changed_value(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = golden_run(tmp_path / "run", ROOT)
    table = pq.read_table(path)
    before = table_digest(path)
    pq.write_table(table, path)  # rewritten unchanged: same digest
    assert table_digest(path) == before
    k = next(
        i
        for i, f in enumerate(table.schema)
        if pa.types.is_floating(f.type) and np.isfinite(table.column(i).to_numpy()).all()
    )
    values = table.column(k).to_numpy().copy()
    values[len(values) // 2] = np.nextafter(values[len(values) // 2], np.inf)  # one value, one ulp
    pq.write_table(table.set_column(k, table.schema.field(k), pa.array(values)), path)
    assert table_digest(path) != before
