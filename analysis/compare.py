"""`sim compare`: two runs side by side as paired differences (B - A) over shared replicates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import formats, stats
from analysis.formats import DASH, digits_for, finite, fmt_chance, fmt_difference, number
from analysis.labels import IF_FORMED, outcome_label, unit_of
from analysis.rundata import RunData
from analysis.style import OKABE_ITO, new_figure, save, styled
from analysis.tables import headline_names, is_integer

BLOC_OUTCOMES = ("active", "members", "effective_power")


@dataclass
class Comparison:
    """Paired differences of two runs: one row per outcome, and what the reader must know."""

    a: RunData
    b: RunData
    table: pd.DataFrame
    paired: bool
    warnings: list[str] = field(default_factory=list)


def compare_outcomes(a: RunData, b: RunData) -> list[str]:
    """Outcomes both runs have: the headline outcomes, then active/members/power of the shared blocs."""
    shared = set(a.columns) & set(b.columns)
    names = [c for c in headline_names(a.columns) if c in shared]
    for code in [c for c in a.blocs if c in b.blocs]:
        names += [f"{code}.{f}" for f in BLOC_OUTCOMES if f"{code}.{f}" in shared]
    return names


def pairing(a: RunData, b: RunData) -> tuple[bool, list[str], np.ndarray, np.ndarray]:
    """Whether the runs pair replicate by replicate; the warnings; row positions of the shared replicates."""
    warnings = []
    ra, rb = a.column("replicate"), b.column("replicate")
    shared = np.intersect1d(ra, rb)
    paired = True
    if a.seed != b.seed:
        paired = False
        warnings.append(
            f"the runs have different seeds ({a.seed} vs {b.seed}): replicates do not share their random draws, "
            "so differences are NOT paired; intervals are for independent samples and are wider"
        )
    elif shared.size == 0:
        paired = False
        warnings.append("the runs share no replicate index: differences are not paired")
    elif shared.size < max(ra.size, rb.size):
        warnings.append(
            f"the runs have {ra.size:,} and {rb.size:,} replicates; only the {shared.size:,} they share are paired"
        )
    if a.steps != b.steps or a.start != b.start:
        warnings.append(f"the horizons differ ({a.start}+{a.steps} vs {b.start}+{b.steps} quarters)")
    if paired:
        ia = pd.Index(ra).get_indexer(shared)
        ib = pd.Index(rb).get_indexer(shared)
    else:
        ia, ib = np.arange(ra.size), np.arange(rb.size)
    return paired, warnings, ia, ib


def independent_difference(xa: np.ndarray, xb: np.ndarray) -> dict:
    """Unpaired differences: Newcombe's hybrid score interval (phi = 0) or a bootstrap of the median difference."""
    if xa.dtype == bool and xb.dtype == bool:
        pa, pb = stats.describe_probability(xa), stats.describe_probability(xb)
        diff = pb["p"] - pa["p"]
        lo = diff - np.sqrt((pb["p"] - pb["lo"]) ** 2 + (pa["hi"] - pa["p"]) ** 2)
        hi = diff + np.sqrt((pb["hi"] - pb["p"]) ** 2 + (pa["p"] - pa["lo"]) ** 2)
        return {"p_a": pa["p"], "p_b": pb["p"], "diff": diff, "lo": max(-1.0, lo), "hi": min(1.0, hi),
                "n": min(pa["n"], pb["n"])}  # fmt: skip
    fa = np.asarray(xa, dtype=float)
    fb = np.asarray(xb, dtype=float)
    fa, fb = fa[np.isfinite(fa)], fb[np.isfinite(fb)]
    if fa.size == 0 or fb.size == 0:
        nan = float("nan")
        return {"median_a": nan, "median_b": nan, "diff": nan, "lo": nan, "hi": nan, "n": 0}
    rng = np.random.default_rng(stats.BOOTSTRAP_SEED)
    boot = np.median(fb[rng.integers(0, fb.size, (stats.N_BOOT, fb.size))], axis=1) - np.median(
        fa[rng.integers(0, fa.size, (stats.N_BOOT, fa.size))], axis=1
    )
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"median_a": float(np.median(fa)), "median_b": float(np.median(fb)),
            "diff": float(np.median(fb) - np.median(fa)), "lo": float(lo), "hi": float(hi),
            "n": min(fa.size, fb.size)}  # fmt: skip


def _condition(run: RunData, name: str, ia: np.ndarray) -> np.ndarray | None:
    """Where an amount applies in a run (the alliance formed, the bloc exists), or None if everywhere."""
    if name in IF_FORMED and run.has("euro_alliance_formed"):
        return np.asarray(run.column("euro_alliance_formed"), dtype=bool)[ia]
    if "." in name and name.split(".", 1)[1] in ("members", "effective_power"):
        active = f"{name.split('.', 1)[0]}.active"
        if run.has(active):
            mask = np.asarray(run.column(active), dtype=bool)[ia]
            return None if mask.all() else mask
    return None


def compare_runs(a: RunData, b: RunData) -> Comparison:
    """Differences B - A of every shared outcome with 95% intervals.

    Booleans: difference of proportions with Newcombe's paired hybrid score interval. Amounts:
    the median of the paired differences with a percentile-bootstrap interval. Amounts that apply
    only where something happened (the European alliance formed, a bloc exists) compare the
    medians of the futures where it did in each run: those are different futures, so the
    interval is for independent samples (``paired`` False on the row). With different seeds
    nothing is paired.
    """
    paired, warnings, ia, ib = pairing(a, b)
    rows = []
    for name in compare_outcomes(a, b):
        xa, xb = a.column(name)[ia], b.column(name)[ib]
        boolean = xa.dtype == bool and xb.dtype == bool
        ca, cb = _condition(a, name, ia), _condition(b, name, ib)
        conditional = not boolean and (ca is not None or cb is not None)
        if conditional:
            xa = xa[ca] if ca is not None else xa
            xb = xb[cb] if cb is not None else xb
            row_n = (int(np.isfinite(xa.astype(float)).sum()), int(np.isfinite(xb.astype(float)).sum()))
        quarters = name.endswith("_step")
        row_paired = paired and not conditional
        if row_paired:
            d = stats.newcombe_paired(xa, xb) if boolean else stats.paired_numeric(xa, xb)
        else:
            d = independent_difference(xa, xb)
        text = outcome_label(name).replace("the adversary", a.adversary or "the adversary")
        row = {"outcome": name, "label": text, "kind": "probability" if boolean else ("quarter" if quarters else "amount"),
               "condition": ("if formed" if name in IF_FORMED else "where it exists") if conditional else "",
               "paired": row_paired}  # fmt: skip
        if boolean:
            row |= {"a": d["p_a"], "b": d["p_b"], "diff": d["diff"], "lo": d["lo"], "hi": d["hi"], "n": d["n"]}
            row["text"] = fmt_difference(d["diff"] * 100, d["lo"] * 100, d["hi"] * 100, 1, " pp")
            row["a_text"], row["b_text"] = (_chance_text(x) for x in (xa, xb))
        else:
            row |= {"a": d["median_a"], "b": d["median_b"], "diff": d["diff"], "lo": d["lo"], "hi": d["hi"], "n": d["n"],
                    "mean_diff": d.get("mean_diff")}  # fmt: skip
            k = 0 if quarters else digits_for(d["median_a"], d["median_b"], d["diff"],
                                              integer=is_integer(xa) and is_integer(xb))  # fmt: skip
            if unit_of(name) == "ratio":
                k = 2
            row["text"] = fmt_difference(d["diff"], d["lo"], d["hi"], k, " quarters" if quarters else "")
            if quarters:
                row["a_text"], row["b_text"] = (formats.quarter(r.start, m) if finite(m) else DASH
                                                for r, m in ((a, d["median_a"]), (b, d["median_b"])))  # fmt: skip
            else:
                row["a_text"], row["b_text"] = number(d["median_a"], k), number(d["median_b"], k)
        row["n_text"] = f"{row_n[0]:,} / {row_n[1]:,}" if conditional else f"{row['n']:,}"
        rows.append(row)
    n_pairs = int(ia.size) if paired else 0
    if paired and n_pairs < 100:
        warnings.append(f"only {n_pairs} paired replicates: intervals are wide")
    return Comparison(a, b, pd.DataFrame(rows), paired, warnings)


def _chance_text(x: np.ndarray) -> str:
    d = stats.describe_probability(x)
    return fmt_chance(d["p"], d["lo"], d["hi"], d["k"], d["n"])


@styled
def comparison_figure(cmp: Comparison, out_dir: Path, fmt: str, name: str = "compare") -> Path:
    """Forest plot of the paired differences: probabilities (percentage points) and powers (index points)."""
    t = cmp.table
    probs = t[
        (t["kind"] == "probability") & ~(t["a"].isin([0.0, 1.0]) & (t["a"] == t["b"]))
    ]  # certain in both: left out
    powers = t[(t["kind"] == "amount") & t["outcome"].str.contains("power") & ~t["outcome"].str.contains("ratio")]
    how = "paired over shared replicates" if cmp.paired else "NOT paired (different seeds)"
    note = (
        f"Source: coalition-sim {cmp.b.manifest.get('version', '?')}; B = {cmp.b.name} ({cmp.b.n:,} replicates), "
        f"A = {cmp.a.name} ({cmp.a.n:,}), seed {cmp.b.seed}; data SIPRI/IMF/IISS (docs/DATA.md)."
    )
    warning = "; ".join(cmp.warnings) if cmp.warnings else None
    fig, axes = new_figure("panels", note, warning[:180] if warning else None, nrows=1, ncols=2,
                           width_ratios=[1, 1])  # fmt: skip
    for ax, rows, scale, unit in (
        (axes[0], probs, 100.0, "change in probability, B − A (percentage points)"),
        (axes[1], powers, 1.0, "change, B − A (index points)"),
    ):
        rows = rows.iloc[::-1]
        y = np.arange(len(rows))
        diff, lo, hi = (rows[c].to_numpy(dtype=float) * scale for c in ("diff", "lo", "hi"))
        sig = (lo > 0) | (hi < 0)
        colours = np.where(sig, OKABE_ITO["vermillion"], OKABE_ITO["blue"])
        ax.hlines(y, lo, hi, colors=colours, lw=2.2)
        ax.scatter(diff, y, c=colours, s=28, zorder=3, marker="D")
        ax.axvline(0, color="#333333", lw=0.9)
        labels = [f"{lbl}{', ' + c if c else ''}\n{a} → {b}  ({d})" for lbl, c, a, b, d in
                  zip(rows["label"].str.replace(" (index points)", ""), rows["condition"], rows["a_text"].str.split(" \\(").str[0],
                      rows["b_text"].str.split(" \\(").str[0], rows["text"].str.split(" \\(").str[0], strict=True)]  # fmt: skip
        ax.set_yticks(y, labels, fontsize=7.5)
        ax.set_xlabel(unit)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.margins(x=0.08)
        ax.grid(axis="y", visible=False)
    axes[0].set_title("Probabilities A → B", loc="left")
    axes[1].set_title("Power, medians A → B", loc="left")
    fig.suptitle(f"{cmp.b.name} (B) against {cmp.a.name} (A): differences with 95% intervals, {how}\n"
                 "red: the interval excludes 0; outcomes certain in both runs are left out", fontsize=10.5)  # fmt: skip
    return save(fig, out_dir, name, fmt)


def write_comparison(cmp: Comparison, out_dir: Path, fmt: str = "png") -> list[Path]:
    """The table (CSV) and the figure of a comparison into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv = out_dir / "paired_differences.csv"
    cols = [c for c in ("outcome", "label", "kind", "condition", "paired", "a", "b", "diff", "lo", "hi", "mean_diff", "n")
            if c in cmp.table]  # fmt: skip
    frame = cmp.table[cols].assign(run_a=str(cmp.a.path), run_b=str(cmp.b.path), paired=cmp.paired)
    tmp = csv.with_name(f".{csv.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(csv)
    return [csv, comparison_figure(cmp, out_dir, fmt)]
