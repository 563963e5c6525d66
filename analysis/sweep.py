"""Reading a sweep directory: per-point estimates, response curves, two-way tables and sensitivity indices.

A sweep directory (simulator.runs.sweep.driver) holds points.parquet (point + one column per swept key),
replicates.parquet (point, replicate, the swept keys, outcomes), summary.parquet and manifest.json.
Every estimate here is recomputed from replicates.parquet.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import labels, stats
from analysis.rundata import DATA_NOTE, check_unique, damaged_parquet, is_sweep_dir, read_parquet_frame
from analysis.tables import headline_outcomes
from simulator.errors import InputError
from simulator.runs.results import read_manifest
from simulator.runs.rundir import verify_checksums
from simulator.runs.stats import Z95

MAX_LEVELS = 12  # a parameter with more distinct values than this is binned by quantiles
MIN_SOBOL_BASE = 256  # Saltelli base points below which Sobol' indices are flagged as rough
MIN_POINTS = 16  # points below which main-effect shares are flagged as rough
BINS = 8
DEFAULT_OUTCOMES = [
    "euro_alliance_formed",
    "UKR_in_euro_alliance",
    "euro_alliance_power",
    "bruegel_extra_spending_eur_bn",
]


@dataclass
class SweepData:
    """A finished sweep directory, read a column at a time (or, ``table`` given, its replicates in memory)."""

    path: Path
    manifest: dict
    points: pd.DataFrame
    _cache: dict = field(default_factory=dict, repr=False)
    table: pa.Table | None = field(default=None, repr=False)

    @property
    def spec(self) -> dict:
        return self.manifest.get("sweep") or {}

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or self.path.name)

    @property
    def design(self) -> str:
        return str(self.spec.get("design") or "unknown")

    @property
    def parameters(self) -> list[str]:
        return [c for c in self.points.columns if c != "point"]

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def replicates_per_point(self) -> int:
        n = self.manifest.get("replicates_per_point")
        return int(n) if n else int(round(self.n / max(self.n_points, 1)))

    @functools.cached_property
    def _file(self) -> pq.ParquetFile:
        path = self.path / "replicates.parquet"
        try:
            return pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise damaged_parquet(path, exc) from None

    @property
    def n(self) -> int:
        return self.table.num_rows if self.table is not None else int(self._file.metadata.num_rows)

    @property
    def columns(self) -> list[str]:
        return list((self.table.schema if self.table is not None else self._file.schema_arrow).names)

    def column(self, name: str) -> np.ndarray:
        """One column of replicates.parquet (cached)."""
        if name not in self._cache:
            if name not in self.columns:
                raise InputError(f"sweep '{self.path}' has no outcome '{name}'; e.g. {', '.join(self.outcomes()[:6])}")
            if self.table is not None:
                self._cache[name] = self.table.column(name).to_numpy(zero_copy_only=False)
                return self._cache[name]
            try:
                self._cache[name] = self._file.read(columns=[name]).column(0).to_numpy(zero_copy_only=False)
            except (pa.ArrowException, OSError) as exc:
                raise damaged_parquet(self.path / "replicates.parquet", exc) from None
        return self._cache[name]

    def outcomes(self) -> list[str]:
        """The headline outcomes of the sweep (display order)."""
        return headline_outcomes(self.columns)

    def default_outcomes(self) -> list[str]:
        return [c for c in DEFAULT_OUTCOMES if c in self.columns] or self.outcomes()[:3]

    def is_numeric(self, parameter: str) -> bool:
        return pd.api.types.is_numeric_dtype(self.points[parameter]) and not pd.api.types.is_bool_dtype(
            self.points[parameter]
        )

    @functools.cached_property
    def shock_types(self) -> dict[str, str]:
        """Shock name -> type in the base scenario (what a swept shock field means)."""
        path = self.path / "scenario.resolved.yaml"
        if not path.is_file():
            return {}
        from simulator.scenario.yamlio import load_yaml_file

        return labels.shock_types(load_yaml_file(path).data)

    def label(self, key: str) -> str:
        """The human label of a swept key of this sweep."""
        return labels.parameter_label(key, shock_types=self.shock_types)

    def source_note(self) -> str:
        version = self.manifest.get("version", "?")
        return (
            f"Source: coalition-sim {version}, sweep {self.name} ({self.design} design, {self.n_points:,} points × "
            f"{self.replicates_per_point:,} replicates, seed {self.manifest.get('seed')}); {DATA_NOTE}."
        )


def read_sweep(path: Path) -> SweepData:
    """Open a finished sweep directory; InputError (one line) otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"sweep directory '{path}' not found")
    if not is_sweep_dir(path):
        raise InputError(f"'{path}' is not a sweep directory (no points.parquet)")
    if not (path / "manifest.json").exists():
        raise InputError(f"'{path}' is an unfinished sweep (no manifest.json); complete it with sim sweep --resume")
    if not (path / "replicates.parquet").exists():
        raise InputError(f"'{path}' has no replicates.parquet")
    manifest = read_manifest(path)
    verify_checksums(path, manifest)  # a file changed or cut short since sim wrote it: one line, exit 2
    points = read_parquet_frame(path / "points.parquet").sort_values("point").reset_index(drop=True)
    sweep = SweepData(path, manifest, points)
    if "point" in sweep.columns and "replicate" in sweep.columns:
        check_unique(path / "replicates.parquet", sweep.column("point"), sweep.column("replicate"))
    return sweep


# ---------------------------------------------------------------------------- estimates
def _estimate(values: np.ndarray) -> dict:
    """Probability with Wilson interval for booleans; mean with a normal 95% interval otherwise."""
    if values.dtype == bool:
        d = stats.describe_probability(values)
        return {"estimate": d["p"], "lo": d["lo"], "hi": d["hi"], "n": d["n"], "var": d["p"] * (1 - d["p"])}
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"estimate": np.nan, "lo": np.nan, "hi": np.nan, "n": 0, "var": np.nan}
    sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
    half = Z95 * sd / np.sqrt(x.size)
    mean = float(x.mean())
    return {"estimate": mean, "lo": mean - half, "hi": mean + half, "n": int(x.size), "var": sd**2}


def parameter_label(path: str, shock_types: dict[str, str] | None = None) -> str:
    """The human label of a swept key (analysis.labels.parameter_label): 'cost of founding a new bloc'."""
    return labels.parameter_label(path, shock_types=shock_types)


def kind_of(sweep: SweepData, outcome: str) -> str:
    return "probability" if sweep.column(outcome).dtype == bool else "mean"


def point_estimates(sweep: SweepData, outcome: str) -> pd.DataFrame:
    """Per point: the swept values, the estimate (probability or mean), its 95% interval and n."""
    point = sweep.column("point")
    values = sweep.column(outcome)
    order = np.argsort(point, kind="stable")
    point, values = point[order], values[order]
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    rows = []
    for s, e in zip(starts, np.r_[starts[1:], point.size], strict=True):
        rows.append({"point": int(point[s]), **_estimate(values[s:e])})
    frame = pd.DataFrame(rows)
    return sweep.points.merge(frame, on="point", how="left")


def levels(sweep: SweepData, parameter: str, bins: int = BINS) -> pd.Series:
    """Per point, the level of ``parameter`` it belongs to: its value, or the centre of its quantile bin."""
    x = sweep.points[parameter]
    if not sweep.is_numeric(parameter) or x.nunique() <= MAX_LEVELS:
        return x
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    centres = np.array([x[(idx == k)].median() for k in range(len(edges) - 1)])
    return pd.Series(centres[idx], index=x.index, name=parameter)


def _pooled(sweep: SweepData, outcome: str, groups: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Estimates over the replicates of all points in each group of ``keys`` (groups: point -> key values)."""
    point = sweep.column("point")
    values = sweep.column(outcome)
    key_of_row = groups.set_index("point").loc[point, keys].reset_index(drop=True)
    counts = {k if isinstance(k, tuple) else (k,): int(v) for k, v in groups.groupby(keys).size().items()}
    rows = []
    for key, g in key_of_row.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key, strict=True)), **_estimate(values[g.index.to_numpy()]),
                     "points": counts[key]})  # fmt: skip
    return pd.DataFrame(rows)


def response(sweep: SweepData, outcome: str, parameter: str) -> pd.DataFrame:
    """Main-effect curve: the estimate at each level (or quantile bin) of one parameter, pooling the others."""
    groups = pd.DataFrame({"point": sweep.points["point"], parameter: levels(sweep, parameter)})
    return _pooled(sweep, outcome, groups, [parameter])


def response_over_points(sweep: SweepData, outcome: str, parameter: str, n_boot: int = 1000) -> pd.DataFrame:
    """Main effect as an average over the design's points, with uncertainty that keeps their differences.

    At each level (or quantile bin) of ``parameter``: the mean of the points' own estimates, a
    95% percentile bootstrap interval over those points (scipy.stats.bootstrap; the points differ
    in the other parameters, so pooling their replicates as one coin would give a falsely narrow
    band), and the lowest and highest point estimate (how much the other parameters move it).

    Returns:
        Columns: the parameter (level), estimate, lo, hi, low, high, points.
    """
    from scipy.stats import bootstrap

    est = point_estimates(sweep, outcome)
    est["level"] = levels(sweep, parameter).to_numpy()
    rows = []
    for level, group in est.groupby("level", sort=True):
        y = group["estimate"].to_numpy(dtype=float)
        y = y[np.isfinite(y)]
        if y.size == 0:
            continue
        mean = float(y.mean())
        lo = hi = mean
        if y.size > 1 and np.ptp(y) > 0:
            res = bootstrap((y,), np.mean, n_resamples=n_boot, confidence_level=0.95, method="percentile",
                            random_state=np.random.default_rng(stats.BOOTSTRAP_SEED))  # fmt: skip
            lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        rows.append({parameter: level, "estimate": mean, "lo": lo, "hi": hi, "low": float(y.min()),
                     "high": float(y.max()), "points": int(y.size)})  # fmt: skip
    return pd.DataFrame(rows)


def sensitivity_warning(sweep: SweepData) -> str | None:
    """A warning when a sweep has too few points for its sensitivity indices to be more than rough."""
    d = len(sweep.parameters)
    if sweep.design == "saltelli" and _saltelli_shape(sweep):
        base = sweep.n_points // (d + 2)
        if base < MIN_SOBOL_BASE:
            return (f"only {base} base points ({sweep.n_points} points): Sobol' indices are rough, their intervals "
                    f"wide, and estimates may fall outside [0, 1] (shown clipped); use points: {MIN_SOBOL_BASE} or "
                    "more for a briefing")  # fmt: skip
        return None
    if sweep.n_points < MIN_POINTS:
        return f"only {sweep.n_points} points: the main-effect shares are rough"
    return None


def two_way(sweep: SweepData, outcome: str, first: str, second: str) -> pd.DataFrame:
    """The estimate at each combination of levels (or bins) of two parameters, pooling the others."""
    groups = pd.DataFrame({"point": sweep.points["point"], first: levels(sweep, first), second: levels(sweep, second)})
    return _pooled(sweep, outcome, groups, [first, second])


# ---------------------------------------------------------------------------- sensitivity
def sensitivity(sweep: SweepData, outcome: str, n_boot: int = 500) -> pd.DataFrame:
    """Global sensitivity of the per-point estimate of ``outcome`` to each swept parameter.

    Saltelli designs: first-order and total Sobol' indices with SALib (Saltelli 2002; Jansen 1999
    estimator for totals) and their 95% bootstrap confidence. Other designs: the correlation ratio
    eta^2 = Var(E[Y | level of X_j]) / Var(Y) over the points, a first-order (main-effect) share of
    variance; for a full grid it is the ANOVA main-effect share. Its interval resamples replicate
    indices, the same for every point (the design is fixed, and replicate k shares its random
    draws across points), so it measures how much replicate noise moves the index.

    Returns:
        Columns parameter, method, S1, S1_lo, S1_hi, ST, ST_lo, ST_hi, outcome.
    """
    est = point_estimates(sweep, outcome).sort_values("point")
    est.attrs["outcome"] = outcome
    y = est["estimate"].to_numpy(dtype=float)
    ok = np.isfinite(y)
    var_y = float(np.var(y[ok], ddof=1)) if ok.sum() > 1 else 0.0
    rows = []
    scale = float(np.nanmax(np.abs(y[ok]))) if ok.any() else 0.0
    if var_y <= (1e-12 * max(1.0, scale)) ** 2:  # equal up to rounding: no variance to share out
        for p in sweep.parameters:
            rows.append({"parameter": p, "method": "constant outcome", "S1": 0.0, "S1_lo": 0.0, "S1_hi": 0.0,
                         "ST": np.nan, "ST_lo": np.nan, "ST_hi": np.nan})  # fmt: skip
    elif sweep.design == "saltelli" and ok.all() and _saltelli_shape(sweep):
        rows = _sobol(sweep, y)
    else:
        rows = _correlation_ratio(sweep, est, n_boot)
    frame = pd.DataFrame(rows)
    frame["outcome"] = outcome
    return frame


def _saltelli_shape(sweep: SweepData) -> bool:
    d = len(sweep.parameters)
    return sweep.n_points % (d + 2) == 0 and sweep.n_points // (d + 2) >= 2


def _sobol(sweep: SweepData, y: np.ndarray) -> list[dict]:
    from SALib.analyze import sobol

    names = sweep.parameters
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    seed = int(sweep.spec.get("design_seed") or 0)
    res = sobol.analyze(problem, y, calc_second_order=False, seed=seed, conf_level=0.95)
    rows = []
    for j, name in enumerate(names):
        s1, c1, st, ct = (float(res[k][j]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
        rows.append({"parameter": name, "method": "Sobol (SALib, Saltelli design)", "S1": s1, "S1_lo": s1 - c1,
                     "S1_hi": s1 + c1, "ST": st, "ST_lo": st - ct, "ST_hi": st + ct})  # fmt: skip
    return rows


def _eta2(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Correlation ratio of each row of y (B, P) on integer groups (P,); NaN entries are left out."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    one_hot = np.eye(int(groups.max()) + 1)[groups]  # (P, L)
    w = np.isfinite(y)
    y0 = np.where(w, y, 0.0)
    n = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = y0.sum(axis=1) / n
        total = (((y0 - mean[:, None]) ** 2) * w).sum(axis=1)
        count = w.astype(float) @ one_hot
        group_mean = (y0 @ one_hot) / count
        between = np.nansum(count * (group_mean - mean[:, None]) ** 2, axis=1)
        return np.where(total > 0, between / total, 0.0)


def _replicate_matrix(sweep: SweepData, outcome: str, points: np.ndarray) -> np.ndarray | None:
    """(P, R) outcome values, points in the order given; None if points have different replicate counts."""
    point = sweep.column("point")
    values = np.asarray(sweep.column(outcome), dtype=float)
    order = np.lexsort((sweep.column("replicate"), point))
    point, values = point[order], values[order]
    counts = np.bincount(np.searchsorted(np.unique(point), point))
    if counts.size == 0 or np.any(counts != counts[0]):
        return None
    matrix = values.reshape(-1, counts[0])
    rank = {p: i for i, p in enumerate(np.unique(point))}
    return matrix[[rank[p] for p in points]]


def _correlation_ratio(sweep: SweepData, est: pd.DataFrame, n_boot: int) -> list[dict]:
    """eta^2 per parameter; the interval resamples replicates within each point (the design stays fixed)."""
    ok = np.isfinite(est["estimate"].to_numpy(dtype=float))
    y = est["estimate"].to_numpy(dtype=float)[ok]
    matrix = _replicate_matrix(sweep, est.attrs["outcome"], est["point"].to_numpy()[ok])
    boot_means = None
    if matrix is not None and n_boot > 0:
        # replicate k shares its random draws across points (common random numbers), so the
        # bootstrap resamples replicate indices jointly for every point
        rng = np.random.default_rng(stats.BOOTSTRAP_SEED)
        P, R = matrix.shape
        idx = rng.integers(0, R, size=(n_boot, R))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples: the point drops out
            boot_means = np.stack([np.nanmean(matrix[:, i], axis=1) for i in idx])  # (n_boot, P)
    rows = []
    for p in sweep.parameters:
        g = pd.factorize(levels(sweep, p).to_numpy()[est.index.to_numpy()][ok])[0]
        value = float(_eta2(y, g)[0])
        lo = hi = float("nan")
        if boot_means is not None:
            lo, hi = (float(v) for v in np.quantile(_eta2(boot_means, g), [0.025, 0.975]))
        rows.append({"parameter": p, "method": "correlation ratio (main-effect share of variance)", "S1": value,
                     "S1_lo": lo, "S1_hi": hi, "ST": np.nan, "ST_lo": np.nan, "ST_hi": np.nan})  # fmt: skip
    return rows


def sensitivity_table(sweep: SweepData, outcomes: list[str] | None = None) -> pd.DataFrame:
    """Sensitivity of several outcomes (default: the headline outcomes that vary)."""
    frames = [sensitivity(sweep, o) for o in (outcomes or sweep.outcomes())]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
