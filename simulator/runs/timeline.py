"""Timelines on disk: events.parquet, per-state quantiles by quarter, and when states first apply and join.

Each block's ``Timeline`` (simulator.engine.timeline) is reduced here as blocks arrive, so memory
does not grow with the number of replicates:

- ``EventWriter`` streams the events to ``events.parquet`` (one row group per block, no metadata held
  in memory: simulator.runs.parquet_stream; long format: replicate, step, quarter,
  state, bloc, event, voted_no), which pandas, polars and DuckDB read as it is; ``voted_no`` is the
  list of the members who said no to a rejected application (empty for every other event);
- ``StateAccumulator`` sums the per-state histograms and gives quantiles of spending (% of GDP and
  US$ bn) and threat per state and quarter (``states.parquet``);
- ``UtilityAccumulator`` sums the per-(state, bloc) utility histograms and gives quantiles of the
  utility U_ib per state, bloc and quarter (``utilities.parquet``);
- ``FirstEvents`` counts, per state and bloc, the quarter of each replicate's first application
  and first accession, for the cumulative probabilities by quarter in ``summary.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.engine.timeline import EVENT_KINDS, KIND_CODE, STATE_METRICS, UTILITY_EDGES
from simulator.runs.parquet_stream import StreamingParquetWriter
from simulator.runs.stats import histogram_quantiles, wilson
from simulator.scenario.language import quarter_label

STATE_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


class EventWriter:
    """Streams event blocks (n, 5: replicate, step, state, bloc, kind) to a Parquet file, or keeps
    each block's table in ``tables`` when ``path`` is None (the Python API's in-memory run)."""

    def __init__(
        self, path: Path | None, state_codes: list[str], bloc_codes: list[str], start: str, steps: int
    ) -> None:
        self.path = path
        self.states = pa.array(state_codes, pa.string())
        self.blocs = pa.array(bloc_codes, pa.string())
        self.kinds = pa.array(list(EVENT_KINDS), pa.string())
        self.quarters = pa.array([quarter_label(start, t) for t in range(steps + 1)], pa.string())
        self.schema = pa.schema(
            [
                ("replicate", pa.int64()),
                ("step", pa.int32()),
                ("quarter", pa.dictionary(pa.int32(), pa.string())),
                ("state", pa.dictionary(pa.int32(), pa.string())),
                ("bloc", pa.dictionary(pa.int32(), pa.string())),
                ("event", pa.dictionary(pa.int32(), pa.string())),
                ("voted_no", pa.list_(pa.string())),
            ]
        )
        self.codes = np.array(state_codes, dtype=object)
        self.writer = StreamingParquetWriter(path, self.schema) if path is not None else None
        self.tables: list[pa.Table] = []
        self.rows = 0

    def voted_no(self, events: np.ndarray, no_votes: np.ndarray | None) -> pa.ListArray:
        """The list of no-voters of each event row: the rows of ``no_votes`` (replicate, step, applicant,
        bloc, voter; ordered so) of its rejection, empty for other events."""
        n = len(events)
        counts = np.zeros(n, dtype=np.int64)
        voters = np.zeros(0, dtype=np.int64)
        if no_votes is not None and len(no_votes):

            def key(a: np.ndarray) -> np.ndarray:
                return ((a[:, 0].astype(np.int64) * 10_000 + a[:, 1]) * 10_000 + a[:, 2]) * 1_000 + a[:, 3]

            rejected = events[:, 4] == KIND_CODE["rejected"]
            nk = key(no_votes)
            order = np.argsort(nk, kind="stable")
            nk, voters = nk[order], no_votes[order, 4].astype(np.int64)
            ek = key(events[rejected])
            counts[rejected] = np.searchsorted(nk, ek, side="right") - np.searchsorted(nk, ek, side="left")
            voters = voters[np.isin(nk, ek)]  # both in key order: the lists follow the event rows
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=offsets[1:])
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(self.codes[voters].tolist(), pa.string()))

    def write(self, events: np.ndarray, no_votes: np.ndarray | None = None) -> None:
        def dictionary(codes: np.ndarray, values: pa.Array) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), values)

        table = pa.table(
            [
                pa.array(events[:, 0].astype(np.int64)),
                pa.array(events[:, 1].astype(np.int32)),
                dictionary(events[:, 1], self.quarters),
                dictionary(events[:, 2], self.states),
                dictionary(events[:, 3], self.blocs),
                dictionary(events[:, 4], self.kinds),
                self.voted_no(events, no_votes),
            ],
            schema=self.schema,
        )
        if self.writer is None:
            self.tables.append(table)
        else:
            self.writer.write_table(table)
        self.rows += len(events)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class StateAccumulator:
    """Sums per-state histograms of blocks; gives quantiles per state and quarter."""

    def __init__(self) -> None:
        self.hist: dict[str, np.ndarray] = {}
        self.n = 0

    def add(self, hist: dict[str, np.ndarray], replicates: int) -> None:
        for name, counts in hist.items():
            if name in self.hist:
                self.hist[name] += counts
            else:
                self.hist[name] = counts.astype(np.int64)
        self.n += replicates

    def frame(self, state_codes: list[str], start: str) -> pd.DataFrame:
        """Long table: step, quarter, state, metric, n, q05, q25, q50, q75, q95."""
        frames = []
        for name, counts in self.hist.items():
            q = histogram_quantiles(counts, STATE_QUANTILES, STATE_METRICS[name])  # (T+1, S, k)
            T, S = counts.shape[:2]
            steps = np.repeat(np.arange(T), S)
            frame = pd.DataFrame(
                {
                    "step": steps,
                    "quarter": [quarter_label(start, int(t)) for t in steps],
                    "state": np.tile(np.array(state_codes), T),
                    "metric": name,
                    "n": self.n,
                }
            )
            for k, qq in enumerate(STATE_QUANTILES):
                frame[f"q{int(qq * 100):02d}"] = q[:, :, k].ravel()
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


class UtilityAccumulator:
    """Sums per-(state, bloc) utility histograms of blocks; gives quantiles per state, bloc and quarter."""

    def __init__(self) -> None:
        self.hist: np.ndarray | None = None  # (T, S, B, bins) int64
        self.n = 0

    def add(self, hist: np.ndarray, replicates: int) -> None:
        self.hist = hist.astype(np.int64) if self.hist is None else self.hist + hist
        self.n += replicates

    def frame(self, state_codes: list[str], bloc_codes: list[str], start: str) -> pd.DataFrame:
        """Long table: step, quarter, state, bloc, n, q05, q25, q50, q75, q95 (one row per step, state, bloc)."""
        T, S, B, _ = self.hist.shape
        q = signed_histogram_quantiles(self.hist, STATE_QUANTILES, UTILITY_EDGES)  # (T, S, B, k)
        steps = np.repeat(np.arange(T), S * B)
        frame = pd.DataFrame(
            {
                "step": steps,
                "quarter": [quarter_label(start, int(t)) for t in steps],
                "state": np.tile(np.repeat(np.array(state_codes), B), T),
                "bloc": np.tile(np.array(bloc_codes), T * S),
                "n": self.hist.sum(axis=-1).ravel(),
            }
        )
        for k, qq in enumerate(STATE_QUANTILES):
            frame[f"q{int(qq * 100):02d}"] = q[..., k].ravel()
        return frame


def signed_histogram_quantiles(counts: np.ndarray, qs: list[float], edges: np.ndarray) -> np.ndarray:
    """Quantiles (..., len(qs)) from counts (..., len(edges) + 1) of signed values binned by
    ``timeline.UTILITY_EDGES`` (bin k holds [edges[k-1], edges[k])): linear inside a bin; the open
    end bins give their finite edge. NaN where a row has no counts."""
    cum = np.cumsum(counts, axis=-1)
    total = cum[..., -1]
    lo_edges = np.concatenate([[edges[0]], edges])  # bin k spans [lo_edges[k], hi_edges[k]]
    hi_edges = np.concatenate([edges, [edges[-1]]])
    out = np.full(counts.shape[:-1] + (len(qs),), np.nan)
    for k, q in enumerate(qs):
        target = q * total
        b = np.argmax(cum >= np.maximum(target, 1e-12)[..., None], axis=-1)
        prev = np.where(b > 0, np.take_along_axis(cum, np.maximum(b - 1, 0)[..., None], -1)[..., 0], 0)
        inbin = np.take_along_axis(counts, b[..., None], -1)[..., 0]
        frac = np.clip(np.where(inbin > 0, (target - prev) / np.where(inbin > 0, inbin, 1), 0.0), 0.0, 1.0)
        val = lo_edges[b] + (hi_edges[b] - lo_edges[b]) * frac
        out[..., k] = np.where(total > 0, val, np.nan)
    return out


class FirstEvents:
    """Counts of replicates by the quarter of their first application and first accession, per state and bloc."""

    #: accession is any way in: admitted by a vote, a founder, or made a member by a shock
    KINDS = {
        "first_application": [KIND_CODE["applied"]],
        "accession": [KIND_CODE["admitted"], KIND_CODE["founded"], KIND_CODE["joined_by_shock"]],
    }

    def __init__(self, n_states: int, n_blocs: int, steps: int) -> None:
        self.counts = {k: np.zeros((n_states, n_blocs, steps), dtype=np.int64) for k in self.KINDS}
        self.n = 0

    def add(self, events: np.ndarray, replicates: int) -> None:
        S, B, T = next(iter(self.counts.values())).shape
        for name, codes in self.KINDS.items():
            rows = events[np.isin(events[:, 4], codes)]
            if len(rows) == 0:
                continue
            # the first step of each (replicate, state, bloc)
            key = (rows[:, 0].astype(np.int64) * S + rows[:, 2]) * B + rows[:, 3]
            order = np.lexsort((rows[:, 1], key))
            key, steps = key[order], rows[order, 1]
            first = np.ones(len(key), dtype=bool)
            first[1:] = key[1:] != key[:-1]
            cell = (key[first] % (S * B)).astype(np.int64)
            flat = cell * T + steps[first]
            self.counts[name] += np.bincount(flat, minlength=S * B * T).reshape(S, B, T)
        self.n += replicates

    def summary(self, state_codes: list[str], bloc_codes: list[str], start: str) -> dict:
        """Per state and bloc with any event: P(by the end), the median quarter if it happens, cumulative by quarter."""
        out: dict = {}
        for name, counts in self.counts.items():
            section: dict = {}
            for s, b in zip(*np.nonzero(counts.sum(axis=2)), strict=True):
                per_step = counts[s, b]
                cum = np.cumsum(per_step)
                k = int(cum[-1])
                lo, hi = wilson(k, self.n)
                median_step = int(np.searchsorted(cum, (k + 1) // 2)) if k else None
                section.setdefault(state_codes[s], {})[bloc_codes[b]] = {
                    "p_by_end": k / self.n,
                    "lo": lo,
                    "hi": hi,
                    "median_quarter_if_any": quarter_label(start, median_step) if median_step is not None else None,
                    "cumulative": {
                        quarter_label(start, t): float(cum[t]) / self.n
                        for t in range(len(cum))
                        if per_step[t] or t == len(cum) - 1
                    },
                }
            out[name] = section
        return out
