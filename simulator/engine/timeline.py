"""Per-quarter timelines of an ensemble: membership events per replicate, and per-state distributions.

After every step the model hands its state to ``Timeline.after_step``, which reads what the
phases wrote (``applying``, ``admitted``, ``leaving``, ``founders``) and the memberships before
and after the step, and keeps

- the membership events of every replicate as columns (replicate, step, state, bloc, kind), the
  long-format ``events.parquet`` of a run directory, and for every rejection the members who
  voted no (``no_votes``: replicate, step, applicant, bloc, voter; written by the admission phase
  of either engine path into ``EnsembleState.no_votes``);
- mergeable histograms per (step, state) of spending (% of GDP and US$ bn) and perceived threat,
  from which a run reports per-state quantiles by quarter (summed across blocks and workers like
  the bloc-power fan charts);
- mergeable histograms per (step, state, bloc) of the utility U_ib each state sees in each bloc at
  the choices phase (signed bins, ``UTILITY_EDGES``), handed over by the choices phase of either
  path (``record_utilities``).

Both engine paths (numpy phases and compiled kernels) write the same arrays, so the timeline is
the same whichever ran; it reads state and draws nothing, so recording changes no result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

#: event kinds, in the order their codes are stored
EVENT_KINDS = (
    "applied",  # an application stands this quarter (from the quarter it is made until it is decided)
    "rejected",  # voted on this quarter (after the bloc's accession_quarters) and not admitted
    "admitted",  # admitted by the members' vote
    "left",  # left by its own decision
    "founded",  # a founder of a bloc founded this quarter
    "joined_by_shock",  # made a member by a scenario shock (join)
    "removed_by_shock",  # out by a scenario shock (withdraw, expel)
    "candidate",  # an application has stood the bloc's candidate_quarters this quarter (a label; decides nothing)
)
KIND_CODE = {k: i for i, k in enumerate(EVENT_KINDS)}
#: bin edges of the per-state histograms: bin 0 holds exact zeros, then bins 1.9% wide
SHARE_EDGES = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 721)])  # % of GDP
SPEND_EDGES = np.concatenate([[0.0], np.geomspace(1e-3, 1e4, 841)])  # US$ bn a year
THREAT_EDGES = np.concatenate([[0.0], np.geomspace(1e-4, 1e3, 841)])  # the threat index of docs/MODEL.md
STATE_METRICS = {"spending_pct_gdp": SHARE_EDGES, "spending_usd_bn": SPEND_EDGES, "threat": THREAT_EDGES}
#: signed bin edges of the utility histograms: -100 ... -0.001, 0.001 ... 100, geometric (bins 5.9%
#: wide) on each side; bin k (1 <= k < len) holds [edges[k-1], edges[k]), so the bin around zero holds
#: (-0.001, 0.001) and bins 0 and len(edges) hold the values below -100 and from 100 on
_MAGNITUDES = np.geomspace(1e-3, 1e2, 201)
UTILITY_EDGES = np.concatenate([-_MAGNITUDES[::-1], _MAGNITUDES])
UTILITY_BINS = len(UTILITY_EDGES) + 1


@njit(cache=True)
def _add_signed_histogram(values, edges, out):  # pragma: no cover - compiled
    """out[s, b, k] += 1 for every (r, s, b), k the number of edges <= the value (exact comparisons)."""
    R, S, B = values.shape
    n = edges.shape[0]
    for r in range(R):
        for s in range(S):
            for b in range(B):
                v = values[r, s, b]
                lo, hi = 0, n
                while lo < hi:  # the first edge > v
                    mid = (lo + hi) // 2
                    if edges[mid] <= v:
                        lo = mid + 1
                    else:
                        hi = mid
                out[s, b, lo] += 1


@njit(cache=True)
def _add_histogram(values, edges, out):  # pragma: no cover - compiled
    """out[s, bin] += 1 for every (r, s); bin 0 holds values <= 0.

    The bins from 1 on are geometric: a logarithm guesses the bin, exact comparisons with the edges
    settle it, so every CPU gives the same bins.
    """
    R, S = values.shape
    nb = edges.shape[0] - 1
    log_lo = math.log(edges[1])
    per_log = (nb - 1) / (math.log(edges[nb]) - log_lo)
    for r in range(R):
        for s in range(S):
            v = values[r, s]
            if v <= 0.0:
                out[s, 0] += 1
                continue
            k = int((math.log(v) - log_lo) * per_log) + 1 if v > edges[1] else 1
            k = min(max(k, 1), nb - 1)
            while k < nb - 1 and edges[k + 1] <= v:
                k += 1
            while k > 1 and edges[k] > v:
                k -= 1
            out[s, k] += 1


@njit(cache=True)
def _event_cells(
    before, after, applying, admitted, leaving, founders, voted, pending, candidate, out
):  # pragma: no cover - compiled
    """Writes (replicate row, state, bloc, kind) of every event into ``out`` in that order; returns the count.

    ``candidate`` (B,) is the bloc's candidate_quarters (-1: none): an application made at step t has
    stood 1 quarter at t (``pending``), so it has stood candidate_quarters more at t + candidate_quarters.
    """
    R, S, B = after.shape
    n = 0
    for r in range(R):
        for s in range(S):
            for b in range(B):
                was, now = before[r, s, b], after[r, s, b]
                app, adm, lev, fnd = applying[r, s, b], admitted[r, s, b], leaving[r, s, b], founders[r, s, b]
                vot = voted[r, s, b]
                if not (app or adm or lev or fnd or was != now):
                    continue
                for k in range(8):
                    if k == 0:
                        hit = app
                    elif k == 1:
                        hit = vot and not adm
                    elif k == 2:
                        hit = adm and now
                    elif k == 3:
                        hit = lev and was and not now
                    elif k == 4:
                        hit = fnd and now
                    elif k == 5:
                        hit = now and not was and not adm and not fnd
                    elif k == 6:
                        hit = was and not now and not lev
                    else:
                        hit = app and candidate[b] >= 0 and pending[r, s, b] == candidate[b] + 1
                    if hit:
                        if n == out.shape[0]:
                            return -1
                        out[n, 0] = r
                        out[n, 1] = s
                        out[n, 2] = b
                        out[n, 3] = k
                        n += 1
    return n


@dataclass
class Timeline:
    """Events and per-state histograms of one ensemble (R replicates, S states, B blocs, T steps)."""

    replicates: np.ndarray  # global replicate indices
    n_states: int
    steps: int
    candidate_quarters: np.ndarray  # (B,) int: World.candidate_quarters (-1: no candidate event)
    events: list[np.ndarray] = field(default_factory=list)  # (n, 5) int32 blocks: replicate, step, state, bloc, kind
    no_votes: list[np.ndarray] = field(default_factory=list)  # (n, 5) int32: replicate, step, applicant, bloc, voter
    hist: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (T+1, S, bins) int32 counts
    utility_hist: np.ndarray = field(default=None)  # (T, S, B, UTILITY_BINS) int32 counts of U_ib at step t

    def __post_init__(self) -> None:
        S, T, B = self.n_states, self.steps, len(self.candidate_quarters)
        self.hist = {k: np.zeros((T + 1, S, len(e) - 1), dtype=np.int32) for k, e in STATE_METRICS.items()}
        self.utility_hist = np.zeros((T, S, B, UTILITY_BINS), dtype=np.int32)

    def record_utilities(self, t: int, utilities: np.ndarray) -> None:
        """Add the (R,S,B) utilities of step ``t``'s choices phase to the histograms."""
        _add_signed_histogram(np.ascontiguousarray(utilities, dtype=np.float64), UTILITY_EDGES, self.utility_hist[t])

    def record_state(self, k: int, share: np.ndarray, gdp_usd_bn: np.ndarray, threat: np.ndarray) -> None:
        """Add the state at the start of quarter ``k`` (k = 0 is the start) to the histograms."""
        values = {
            "spending_pct_gdp": share,
            "spending_usd_bn": share * gdp_usd_bn[None, :] / 100.0,
            "threat": threat,
        }
        for name, edges in STATE_METRICS.items():
            _add_histogram(np.ascontiguousarray(values[name], dtype=np.float64), edges, self.hist[name][k])

    def record_events(self, t: int, before: np.ndarray, st) -> None:
        """The membership events of step ``t``: ``before`` is the (R,S,B) membership at its start."""
        after = st.member
        none = np.zeros_like(after)
        voted = st.voting if st.voting is not None else st.applying
        arrays = [a if a is not None else none for a in (st.applying, st.admitted, st.leaving, st.founders, voted)]
        size = max(1024, 2 * int(np.count_nonzero(arrays[0])) + 2 * int(np.count_nonzero(after != before)) + 64)
        while True:
            cells = np.empty((size, 4), dtype=np.int32)
            n = _event_cells(before, after, *arrays, st.pending, self.candidate_quarters, cells)
            if n >= 0:
                break
            size *= 4
        if n:
            block = np.empty((n, 5), dtype=np.int32)
            block[:, 0] = self.replicates[cells[:n, 0]]
            block[:, 1] = t
            block[:, 2] = cells[:n, 1]
            block[:, 3] = cells[:n, 2]
            block[:, 4] = cells[:n, 3]
            self.events.append(block)  # ordered by replicate row, state, bloc, kind
        no = st.no_votes
        if no is not None and len(no):
            block = np.empty((len(no), 5), dtype=np.int32)
            block[:, 0] = self.replicates[no[:, 0]]
            block[:, 1] = t
            block[:, 2:] = no[:, 1:]
            self.no_votes.append(block)

    def event_array(self) -> np.ndarray:
        """All events as one (n, 5) int32 array, ordered by replicate, step, state, bloc, kind."""
        if not self.events:
            return np.zeros((0, 5), dtype=np.int32)
        block = np.concatenate(self.events)
        order = np.lexsort((block[:, 4], block[:, 3], block[:, 2], block[:, 1], block[:, 0]))
        return block[order]

    def no_vote_array(self) -> np.ndarray:
        """Who voted no on each rejected application: (n, 5) int32 (replicate, step, applicant, bloc, voter), in that order."""
        if not self.no_votes:
            return np.zeros((0, 5), dtype=np.int32)
        block = np.concatenate(self.no_votes)
        order = np.lexsort((block[:, 4], block[:, 3], block[:, 2], block[:, 1], block[:, 0]))
        return block[order]
