"""Sobol' sensitivity indices of a saltelli sweep from its summary table (SALib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.runs.sweep.spec import salib_problem
from simulator.runs.sweep.tasks import SweepPlan


def sensitivity_table(plan: SweepPlan, summary_path: Path) -> pa.Table:
    """Sobol' indices (first order and total, SALib) of every key outcome's per-point p or mean."""
    from SALib.analyze import sobol

    from simulator.engine.outcomes import key_outcomes

    summary = pq.read_table(summary_path)
    names = [p.path for p in plan.sweep.parameters]
    problem = salib_problem(len(names), names)
    rows = []
    outcomes = key_outcomes(list(dict.fromkeys(c.rsplit(".", 1)[0] for c in summary.column_names)))
    for outcome in outcomes:
        stat = "p" if f"{outcome}.p" in summary.column_names else "mean"
        y = summary.column(f"{outcome}.{stat}").to_numpy(zero_copy_only=False).astype(float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            continue
        res = sobol.analyze(problem, y, calc_second_order=False, seed=plan.sweep.seed)
        for j, name in enumerate(names):
            rows.append({
                "outcome": outcome, "statistic": stat, "parameter": name,
                "S1": float(res["S1"][j]), "S1_conf": float(res["S1_conf"][j]),
                "ST": float(res["ST"][j]), "ST_conf": float(res["ST_conf"][j]),
            })  # fmt: skip
    schema = pa.schema([("outcome", pa.string()), ("statistic", pa.string()), ("parameter", pa.string())] + [
        (k, pa.float64()) for k in ("S1", "S1_conf", "ST", "ST_conf")
    ])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)
