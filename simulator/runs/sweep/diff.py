"""Differences between the results of two sweep or run directories (used to check identical reruns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.runs.sweep.combine import RESULT_FILES


def result_differences(a: Path, b: Path) -> list[str]:
    """How the result files of two sweep directories differ; empty when they are bit-identical.

    Floats are compared bit by bit (so NaN equals NaN and -0.0 differs from 0.0); manifests are not
    compared (they hold times and the evaluator).
    """
    out = []
    names = [n for n in (*RESULT_FILES, "sensitivity.parquet") if (Path(a) / n).exists() or (Path(b) / n).exists()]
    for name in names:
        if not ((Path(a) / name).exists() and (Path(b) / name).exists()):
            out.append(f"{name}: only in one directory")
            continue
        ta, tb = pq.read_table(Path(a) / name), pq.read_table(Path(b) / name)
        if not ta.schema.remove_metadata().equals(tb.schema.remove_metadata()):
            out.append(f"{name}: different columns or types")
            continue
        if ta.num_rows != tb.num_rows:
            out.append(f"{name}: {ta.num_rows} rows vs {tb.num_rows}")
            continue
        differing = []
        for col in ta.column_names:
            x, y = ta.column(col).combine_chunks(), tb.column(col).combine_chunks()
            if pa.types.is_integer(x.type) or pa.types.is_floating(x.type) or pa.types.is_boolean(x.type):
                same = x.null_count == y.null_count == 0 and np.array_equal(
                    np.ascontiguousarray(x.to_numpy(zero_copy_only=False)).view(np.uint8),
                    np.ascontiguousarray(y.to_numpy(zero_copy_only=False)).view(np.uint8),
                )
                same = same or x.to_pylist() == y.to_pylist()
            else:
                same = x.to_pylist() == y.to_pylist()
            if not same:
                differing.append(col)
        if differing:
            more = f", ... ({len(differing)} columns in all)" if len(differing) > 5 else ""
            out.append(f"{name}: different values in {', '.join(differing[:5])}{more}")
    return out
