"""Figures of a run directory (placeholder set; the analysis package draws the full briefing set)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402


def run_figures(run_dir: Path, out_dir: Path, fmt: str = "png") -> list[Path]:
    """Draw the standard figures of a run into out_dir; returns the files written."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = json.loads((run_dir / "summary.json").read_text())
    table = pq.read_table(run_dir / "replicates.parquet")
    written = []
    blocs = list(summary["blocs"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for code in blocs:
        x = table.column(f"{code}.effective_power").to_numpy()
        active = table.column(f"{code}.active").to_numpy()
        if active.any():
            ax.hist(x[active], bins=40, histtype="step", label=code, linewidth=1.5)
    ax.set_xlabel("effective power at the end (index points)")
    ax.set_ylabel("replicates")
    ax.legend()
    fig.tight_layout()
    p = out_dir / f"power_distribution.{fmt}"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    written.append(p)
    states = list(next(iter(summary["membership"].values())).keys())
    mat = np.array([[summary["membership"][b].get(s, 0.0) for b in blocs] for s in states])
    fig, ax = plt.subplots(figsize=(5, 11))
    ax.imshow(mat, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(blocs)), blocs)
    ax.set_yticks(range(len(states)), states, fontsize=7)
    fig.tight_layout()
    p = out_dir / f"membership_heatmap.{fmt}"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    written.append(p)
    return written
