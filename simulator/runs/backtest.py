"""Backtests: run historical episodes and score their probabilistic predictions against what happened.

An episode is a scenario of ``scenarios/history/`` with an ``observed:`` section
(``simulator.scenario.observed``). ``run_backtest`` runs each episode with ``run_scenario`` into
``OUT/NAME`` (streamed in blocks, so memory does not grow with the replicates), reads the
predictions back from the run directory and scores them:

- **binary facts** (applied, joined, not_applied, not_joined): the model's probability that the
  event happens by the end of the episode - the first application (``applied``, ``not_applied``)
  or the accession (``joined``, ``not_joined``) of the state to the bloc, from the ``timeline``
  section of ``summary.json`` (the same counts as ``events.parquet``). The observed outcome is 1
  for ``applied``/``joined`` and 0 for the ``not_*`` facts. Scores: the Brier score
  ``(p - y)^2`` and the logarithmic score ``-ln p`` if it happened, ``-ln(1 - p)`` if not (lower
  is better for both), with every probability clipped to [0.001, 0.999] first, so that a
  forecaster that was certain and wrong gets a large but finite log score;
- **timing** of each observed event that happened: the model's quarter distribution of the event,
  conditional on it happening, against the real quarter: the median error in quarters (model
  minus reality; positive = the model is late), the median absolute error, and P(within one
  quarter);
- **spending facts**: the model's 5-95 % band and median of ``spending_pct_gdp`` in the last
  quarter of the year (``states.parquet``, the quarter labelled ``YYYYQ4``) against the observed
  value: inside the band or not, and the error of the median.

Two naive forecasters get the same scores:

- **persistence**: nothing changes. The probability of any change is 0, i.e. 0.001 after
  clipping; spending stays at its value at the start of the episode (the dated world's);
- **base rate**: per event (application, accession), the share of such facts that happened,
  counted over the *other* episodes given (leave-one-out), or over all of them when only one
  episode is given (then it has seen the outcomes it is scored on). It has no spending forecast.

The Brier skill score against a reference is ``1 - BS_model / BS_reference`` (positive: the model
beats it). ``OUT/backtest.json`` holds every prediction and score; ``OUT/scores.parquet`` one row
per fact and forecaster.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.errors import InputError
from simulator.runs.results import write_json
from simulator.scenario.language import Scenario, quarter_label, revalidated
from simulator.scenario.observed import BINARY_KINDS, EVENTS, SpendingShare

CLIP = (0.001, 0.999)
FORECASTERS = ("model", "persistence", "base_rate")
#: the summary.json timeline section of each event
TIMELINE_SECTION = {"application": "first_application", "accession": "accession"}
RELIABILITY_BINS = 10


# ---------------------------------------------------------------- pure scoring functions
def clip(p: float | np.ndarray) -> np.ndarray:
    """Probabilities clipped to [0.001, 0.999]."""
    return np.clip(np.asarray(p, dtype=float), *CLIP)


def brier(p: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """Brier score ``(p - y)^2`` of clipped probabilities (0 is perfect, 1 the worst)."""
    return (clip(p) - np.asarray(y, dtype=float)) ** 2


def log_score(p: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """Logarithmic score ``-ln p`` if it happened, ``-ln(1 - p)`` if not, of clipped probabilities (lower is better)."""
    pc = clip(p)
    y = np.asarray(y, dtype=float)
    return -np.log(np.where(y > 0.5, pc, 1.0 - pc))


def skill(score: float, reference: float) -> float:
    """Skill score ``1 - score / reference`` (NaN when the reference is perfect)."""
    if reference is None or not np.isfinite(reference) or reference <= 0:
        return float("nan")
    return 1.0 - score / reference


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The smallest value whose cumulative weight reaches half the total."""
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, dtype=float)[order], np.asarray(weights, dtype=float)[order]
    total = w.sum()
    if total <= 0:
        return float("nan")
    return float(v[np.searchsorted(np.cumsum(w), 0.5 * total - 1e-12)])


def timing(pmf: np.ndarray, observed_step: int) -> dict:
    """The predicted quarter distribution, conditional on the event, against the real quarter.

    ``pmf[t]`` is the probability that the event first happens in quarter ``t`` of the run
    (unconditional; it sums to P(by the end)). Returns the median predicted step, the median
    error in quarters (model minus reality), the median absolute error and P(within one quarter);
    NaN when the model never predicts the event.
    """
    pmf = np.asarray(pmf, dtype=float)
    total = pmf.sum()
    if total <= 0:
        nan = float("nan")
        return {"median_step": nan, "median_error_q": nan, "median_abs_error_q": nan, "p_within_1q": nan}
    steps = np.arange(len(pmf))
    errors = steps - observed_step
    return {
        "median_step": weighted_median(steps, pmf),
        "median_error_q": weighted_median(errors, pmf),
        "median_abs_error_q": weighted_median(np.abs(errors), pmf),
        "p_within_1q": float(pmf[np.abs(errors) <= 1].sum() / total),
    }


def base_rates(outcomes: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, dict]]:
    """Leave-one-out base rates per episode and event.

    ``outcomes[episode][event]`` lists the observed outcomes (0/1) of that episode's facts about
    that event. For each episode the rate is the share of 1s over the *other* episodes; with one
    episode, or when the others have no fact about the event, over all episodes given; with no
    fact at all, 0.5. Returns ``{episode: {event: {"p", "n", "from"}}}``.
    """
    names = list(outcomes)
    out: dict[str, dict[str, dict]] = {}
    for name in names:
        out[name] = {}
        for event in EVENTS:
            others = [o for o in names if o != name] if len(names) > 1 else names
            values = [y for o in others for y in outcomes[o].get(event, [])]
            basis = others
            if not values:
                basis = names
                values = [y for o in names for y in outcomes[o].get(event, [])]
            p = float(np.mean(values)) if values else 0.5
            out[name][event] = {"p": p, "n": len(values), "from": basis if values else []}
    return out


def reliability(p: np.ndarray, y: np.ndarray, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """Binned predicted probability against observed frequency: bin, lo, hi, n, mean_p, observed."""
    p, y = clip(p), np.asarray(y, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        rows.append(
            {
                "bin": b,
                "lo": edges[b],
                "hi": edges[b + 1],
                "n": n,
                "mean_p": float(p[mask].mean()) if n else float("nan"),
                "observed": float(y[mask].mean()) if n else float("nan"),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- predictions from a run directory
def event_pmf(summary: dict, event: str, state: str, bloc: str, start: str, steps: int) -> np.ndarray:
    """P(the event first happens in quarter t), t = 0..steps-1, from summary.json's timeline.

    The timeline lists the cumulative probability at every quarter with an event and at the last
    one; a state and bloc without any event are absent (probability 0).
    """
    section = summary.get("timeline", {}).get(TIMELINE_SECTION[event], {})
    entry = section.get(state, {}).get(bloc)
    pmf = np.zeros(steps)
    if not entry:
        return pmf
    index = {quarter_label(start, t): t for t in range(steps)}
    previous = 0.0
    for quarter, cum in sorted(entry["cumulative"].items(), key=lambda kv: index[kv[0]]):
        pmf[index[quarter]] = cum - previous
        previous = cum
    return np.clip(pmf, 0.0, 1.0)


def spending_band(states: pd.DataFrame, state: str, quarter: str) -> dict:
    """q05, q50, q95 of spending_pct_gdp of a state in a quarter (states.parquet rows)."""
    rows = states[
        (states["metric"] == "spending_pct_gdp") & (states["state"] == state) & (states["quarter"] == quarter)
    ]
    if rows.empty:
        raise InputError(f"states.parquet has no spending_pct_gdp of {state} in {quarter}")
    row = rows.iloc[0]
    return {"q05": float(row["q05"]), "q50": float(row["q50"]), "q95": float(row["q95"])}


# ---------------------------------------------------------------- episodes
@dataclass
class Episode:
    """One episode: its scenario file, the validated scenario and where its run went."""

    name: str
    file: str
    scenario: Scenario
    run_dir: Path | None = None
    replicates: int = 0
    seed: int = 0
    start_share: dict[str, float] = field(default_factory=dict)  # spending % of GDP at the start


def load_episodes(files: list[str | Path], overrides: list[str] | None = None) -> list[Episode]:
    """Load and validate the episode files; each needs an ``observed:`` section and a distinct name.

    ``overrides`` (``parameters.NAME=VALUE``, as ``sim run --set``) apply to every episode.
    """
    from simulator.scenario.language import load_scenario

    if not files:
        raise InputError("give at least one episode file (e.g. scenarios/history/*.yaml)")
    episodes: list[Episode] = []
    for f in files:
        scenario = load_scenario(f, overrides)
        if not scenario.observed:
            raise InputError(
                "has no 'observed:' section: a backtest needs the facts of what happened (docs/SCENARIOS.md)", str(f)
            )
        for other in episodes:
            if other.name == scenario.name:
                raise InputError(f"two episodes are named '{scenario.name}' (also {other.file}); names must differ")
        episodes.append(Episode(scenario.name, str(f), scenario))
    return episodes


def _fact_label(fact) -> str:
    if isinstance(fact, SpendingShare):
        return f"spending {fact.state} {fact.year}"
    when = f" {fact.date}" if hasattr(fact, "date") else ""
    return f"{fact.kind} {fact.state} {fact.bloc}{when}"


def episode_rows(episode: Episode, summary: dict, states: pd.DataFrame, rates: dict[str, dict]) -> list[dict]:
    """One row per fact and forecaster for an episode whose run is read (summary.json, states.parquet)."""
    sc = episode.scenario
    rows: list[dict] = []
    for i, fact in enumerate(sc.observed):
        base = {
            "episode": episode.name,
            "replicates": episode.replicates,
            "fact": i,
            "label": _fact_label(fact),
            "kind": fact.kind,
            "state": fact.state,
            "bloc": getattr(fact, "bloc", None),
            "date": getattr(fact, "date", None),
            "quarter": getattr(fact, "quarter", None),
            "year": getattr(fact, "year", None),
            "source": fact.source,
            "verified": fact.verified,
        }
        if isinstance(fact, SpendingShare):
            band = spending_band(states, fact.state, fact.quarter)
            start = episode.start_share[fact.state]
            value = fact.value
            for name, q in (
                ("model", band),
                ("persistence", {"q05": start, "q50": start, "q95": start}),
                ("base_rate", None),
            ):
                row = {**base, "event": "spending", "observed": value, "forecaster": name, "edition": fact.edition}
                if q is not None:
                    row.update(q)
                    row["inside_band"] = bool(q["q05"] - 1e-9 <= value <= q["q95"] + 1e-9)
                    row["median_error"] = q["q50"] - value
                    row["abs_error"] = abs(q["q50"] - value)
                rows.append(row)
            continue
        event, y = BINARY_KINDS[fact.kind]
        pmf = event_pmf(summary, event, fact.state, fact.bloc, sc.start, sc.steps)
        p_model = float(min(1.0, pmf.sum()))
        t = timing(pmf, int(_steps_to(sc.start, fact.quarter))) if y == 1 and hasattr(fact, "date") else None
        for name, p in (("model", p_model), ("persistence", 0.0), ("base_rate", rates[event]["p"])):
            row = {
                **base,
                "event": event,
                "observed": float(y),
                "forecaster": name,
                "p": p,
                "p_clipped": float(clip(p)),
                "brier": float(brier(p, y)),
                "log_score": float(log_score(p, y)),
            }
            if name == "model" and t is not None:
                row.update(
                    {
                        "observed_step": _steps_to(sc.start, fact.quarter),
                        "predicted_median_quarter": (
                            quarter_label(sc.start, int(t["median_step"])) if np.isfinite(t["median_step"]) else None
                        ),
                        "timing_median_error_q": t["median_error_q"],
                        "timing_median_abs_error_q": t["median_abs_error_q"],
                        "timing_p_within_1q": t["p_within_1q"],
                    }
                )
            rows.append(row)
    return rows


def _steps_to(start: str, quarter: str) -> int:
    return (int(quarter[:4]) - int(start[:4])) * 4 + int(quarter[5]) - int(start[5])


COLUMNS = [
    "episode", "replicates", "fact", "label", "kind", "event", "state", "bloc", "date", "quarter", "year", "observed",
    "forecaster", "p", "p_clipped", "brier", "log_score", "observed_step", "predicted_median_quarter",
    "timing_median_error_q", "timing_median_abs_error_q", "timing_p_within_1q", "edition", "q05", "q50", "q95",
    "inside_band", "median_error", "abs_error", "source", "verified",
]  # fmt: skip


def scores_frame(rows: list[dict]) -> pd.DataFrame:
    """The scores table: one row per fact and forecaster, fixed columns."""
    frame = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in frame:
            frame[col] = None
    frame = frame[COLUMNS]
    for col in ("p", "p_clipped", "brier", "log_score", "timing_median_error_q", "timing_median_abs_error_q",
                "timing_p_within_1q", "q05", "q50", "q95", "median_error", "abs_error", "observed"):  # fmt: skip
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    for col in ("replicates", "fact", "year", "observed_step"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    frame["inside_band"] = frame["inside_band"].astype("boolean")
    frame["verified"] = frame["verified"].astype("boolean")
    return frame


def summarise(frame: pd.DataFrame) -> dict:
    """Mean scores per forecaster, skill scores, timing and spending summaries of a set of rows."""
    binary = frame[frame["event"].isin(EVENTS)]
    model = binary[binary["forecaster"] == "model"]
    out: dict = {"n_binary": int(len(model)), "happened": int((model["observed"] > 0.5).sum())}
    brier_mean = {f: _mean(binary.loc[binary["forecaster"] == f, "brier"]) for f in FORECASTERS}
    log_mean = {f: _mean(binary.loc[binary["forecaster"] == f, "log_score"]) for f in FORECASTERS}
    out["brier"] = brier_mean
    out["log_score"] = log_mean
    out["brier_skill"] = {
        "vs_persistence": skill(brier_mean["model"], brier_mean["persistence"]),
        "vs_base_rate": skill(brier_mean["model"], brier_mean["base_rate"]),
    }
    timed = model[model["observed_step"].notna()]  # dated facts that happened
    out["timing"] = {
        "n": int(len(timed)),
        "n_predicted": int(timed["timing_p_within_1q"].notna().sum()),
        "mean_p_within_1q": _mean(timed["timing_p_within_1q"]),
        "median_abs_error_q": _median(timed["timing_median_abs_error_q"]),
        "median_error_q": _median(timed["timing_median_error_q"]),
    }
    spend = frame[frame["event"] == "spending"]
    sm, sp = spend[spend["forecaster"] == "model"], spend[spend["forecaster"] == "persistence"]
    mae_model, mae_pers = _mean(sm["abs_error"]), _mean(sp["abs_error"])
    out["spending"] = {
        "n": int(len(sm)),
        "inside_band": float(sm["inside_band"].astype(float).mean()) if len(sm) else float("nan"),
        "mae_model": mae_model,
        "mae_persistence": mae_pers,
        "mean_error_model": _mean(sm["median_error"]),
        "mae_skill_vs_persistence": skill(mae_model, mae_pers),
    }
    return out


def _mean(s: pd.Series) -> float:
    s = pd.to_numeric(s, errors="coerce").dropna()
    return float(s.mean()) if len(s) else float("nan")


def _median(s: pd.Series) -> float:
    s = pd.to_numeric(s, errors="coerce").dropna()
    return float(s.median()) if len(s) else float("nan")


def _clean(o):
    """NaN -> None, numpy scalars -> Python, recursively (for strict JSON)."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if o is pd.NA:
        return None
    return o


# ---------------------------------------------------------------- the backtest
@dataclass
class BacktestResult:
    """What a backtest wrote and found."""

    out_dir: Path
    episodes: list[Episode]
    scores: pd.DataFrame
    report: dict


def score_episodes(episodes: list[Episode]) -> tuple[pd.DataFrame, dict]:
    """Score episodes whose runs are done (``run_dir`` set); returns the scores and the report dict."""
    outcomes = {
        e.name: {ev: [BINARY_KINDS[f.kind][1] for f in e.scenario.observed if BINARY_KINDS.get(f.kind, ("",))[0] == ev]
                 for ev in EVENTS}
        for e in episodes
    }  # fmt: skip
    rates = base_rates(outcomes)
    rows: list[dict] = []
    for e in episodes:
        summary = _read_json(e.run_dir / "summary.json")
        states = pd.read_parquet(e.run_dir / "states.parquet")
        rows.extend(episode_rows(e, summary, states, rates[e.name]))
    frame = scores_frame(rows)
    report_episodes = []
    for e in episodes:
        part = frame[frame["episode"] == e.name]
        report_episodes.append(
            {
                "name": e.name,
                "file": e.file,
                "run_dir": str(e.run_dir),
                "start": e.scenario.start,
                "last_quarter": quarter_label(e.scenario.start, e.scenario.steps - 1),
                "steps": e.scenario.steps,
                "replicates": e.replicates,
                "seed": e.seed,
                "base_rates": rates[e.name],
                "scores": summarise(part),
                "facts": part.to_dict(orient="records"),
            }
        )
    model = frame[(frame["forecaster"] == "model") & frame["event"].isin(EVENTS)]
    table = reliability(model["p"].to_numpy(), model["observed"].to_numpy())
    report = {
        "clip": list(CLIP),
        "definitions": {
            "applied": "P(first application of the state to the bloc by the last quarter); observed 1",
            "not_applied": "the same event; observed 0",
            "joined": "P(accession: admitted, founder or joined by a shock, by the last quarter); observed 1",
            "not_joined": "the same event; observed 0",
            "brier": "(p - y)^2 with p clipped to [0.001, 0.999]; lower is better",
            "log_score": "-ln p if y = 1, -ln(1 - p) if y = 0, p clipped to [0.001, 0.999]; lower is better",
            "brier_skill": "1 - Brier(model) / Brier(reference); > 0: the model beats the reference",
            "timing": "the model's quarter distribution of the event, conditional on it happening, against the real "
            "quarter: median error (model - reality, quarters; > 0: late), median absolute error, P(within 1 quarter)",
            "spending": "5-95% band and median of spending_pct_gdp in the year's last quarter (YYYYQ4 in states.parquet) "
            "against the observed value of the fact's edition; the model's spending is SIPRI's definition",
            "persistence": "nothing changes: P(any change) = 0 (0.001 after clipping); spending stays at its start value",
            "base_rate": "per event (application, accession): the share of such facts that happened in the OTHER "
            "episodes (leave-one-out); over all episodes when only one is given; no spending forecast",
        },
        "episodes": report_episodes,
        "overall": summarise(frame),
        "reliability": table.to_dict(orient="records"),
    }
    return frame, _clean(report)


def _read_json(path: Path) -> dict:
    import json

    return json.loads(Path(path).read_text(encoding="utf-8"))


def run_backtest(
    files: list[str | Path],
    out_dir: str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    on_episode: Callable[[Episode, int], Callable[[int], None] | None] | None = None,
    posterior=None,
    overrides: list[str] | None = None,
) -> BacktestResult:
    """Run every episode into ``OUT/NAME``, score it, and write ``backtest.json`` and ``scores.parquet``.

    Args:
        files: episode scenario files (each with an ``observed:`` section).
        out_dir: the backtest directory.
        replicates, seed: overrides for every episode (default: each file's own).
        overwrite: replace existing episode runs and results in ``out_dir``.
        on_episode: called with (episode, replicates) before each run; may return a progress
            callback that receives the replicates finished after each block.
        posterior: a ParameterSample (simulator.runs.calibrate.load_posterior) each replicate of
            every episode draws its parameters from.
        overrides: ``--set`` overrides applied to every episode (e.g. ``parameters.switch_cost=1.5``).
    """
    from simulator.runs.blocks import world_for
    from simulator.runs.run import run_scenario

    episodes = load_episodes(files, overrides)
    if posterior is not None:
        for e in episodes:
            e.scenario = revalidated(e.scenario, posterior=posterior)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out '{out}' is a file, not a directory")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"output directory '{out}' exists and is not empty; choose another --out or pass --force")
    out.mkdir(parents=True, exist_ok=True)
    for e in episodes:
        n = e.scenario.replicates if replicates is None else replicates
        s = e.scenario.seed if seed is None else seed
        progress = on_episode(e, n) if on_episode else None
        info = run_scenario(e.scenario, out / e.name, replicates=n, seed=s, overwrite=True, progress=progress)
        e.run_dir, e.replicates, e.seed = info.out_dir, n, s
        world = world_for(revalidated(e.scenario, replicates=n, seed=s))
        e.start_share = {c: float(world.share0[i]) for i, c in enumerate(world.codes)}
    frame, report = score_episodes(episodes)
    report = {
        "replicates": replicates,
        "seed": seed,
        "posterior": posterior.source if posterior is not None else None,
        **report,
    }
    frame.to_parquet(out / "scores.parquet", index=False)
    write_json(out / "backtest.json", report)
    return BacktestResult(out, episodes, frame, report)
