"""AllianceModel: one Mesa model holds an ensemble of R replicates; one StateAgent per state."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mesa
import numpy as np

from simulator.engine import portable
from simulator.engine.fast import resolve_backend
from simulator.engine.mechanisms import admission as adm_mech
from simulator.engine.mechanisms import power as pw
from simulator.engine.mechanisms import threat as th
from simulator.engine.rng import Streams
from simulator.engine.sampling import sample_parameters
from simulator.engine.shocks import compile_shocks, scheduled_steps
from simulator.engine.timeline import Timeline
from simulator.scenario.language import Scenario
from simulator.scenario.world import World, build_world


@dataclass
class EnsembleState:
    """Per-replicate state of the world: every array has a leading replicate axis R."""

    member: np.ndarray  # (R,S,B) bool
    active: np.ndarray  # (R,B) bool
    formed: np.ndarray  # (R,B) int: step founded during the run, -1 otherwise
    commitment: np.ndarray  # (R,S,B)
    share: np.ndarray  # (R,S) spending, % of GDP
    capital: np.ndarray  # (R,S) military capital stock, USD m
    mobilisation: np.ndarray  # (R,S)
    threat_scale: np.ndarray  # (R,S)
    affinity: np.ndarray  # (R,S,S)
    us_attitude: np.ndarray  # (R,S)
    eu_attitude: np.ndarray  # (R,S)
    neutrality: np.ndarray  # (R,S)
    veto: np.ndarray | None  # (R,B,S,S) bool: [r, b, voter, applicant]; None until a veto shock
    integration: np.ndarray  # (R,B)
    spend_factor: np.ndarray  # (R,S)
    spend_fixed: np.ndarray  # (R,S) NaN unless a shock fixed the share
    fired: np.ndarray  # (R, n_shocks) bool
    barred: np.ndarray  # (R,S,B) bool: left or expelled by a shock; does not apply again
    standing: np.ndarray  # (R,S,B) bool: applications standing until decided or withdrawn
    pending: np.ndarray  # (R,S,B) int: quarters each standing application has waited
    threat_prev: np.ndarray  # (R,S) perceived threat at the previous quarter's choices (crisis revision)
    combat: np.ndarray  # (R,S) float 0/1: combat experience (the world's, and wars started by attack shocks)
    disputed: np.ndarray  # (R,S) bool: an unresolved territorial conflict (the world's; attack war: true; settlement)
    # derived each step
    power: np.ndarray = field(default=None)  # (R,S)
    threat: np.ndarray = field(default=None)  # (R,S)
    threat0: np.ndarray = field(default=None)  # (R,S)
    threat_wt: np.ndarray = field(default=None)  # transposed threat weights [j, i]: (S,S) shared or (R,S,S)
    view: object = field(default=None)  # BlocView of the current step
    contrib: np.ndarray = field(default=None)
    raw: np.ndarray = field(default=None)
    loss: np.ndarray = field(default=None)
    effective: np.ndarray = field(default=None)  # (R,B)
    umbrella: np.ndarray = field(default=None)
    leaving: np.ndarray = field(default=None)  # (R,S,B) bool: members leaving this step (choices)
    applying: np.ndarray = field(default=None)  # (R,S,B) bool: applications standing this step (choices)
    voting: np.ndarray = field(default=None)  # (R,S,B) bool: the applications voted on this step (admission)
    admitted: np.ndarray = field(default=None)  # (R,S,B) bool: applications accepted this step (admission)
    founders: np.ndarray = field(default=None)  # (R,S,B) bool: founding members this step (founding)
    # (n, 4) int32 replicate row, applicant, bloc, voter: who voted no on each application rejected this
    # step (admission; only when recording a timeline, else None)
    no_votes: np.ndarray | None = field(default=None)


class StateAgent(mesa.Agent):
    """A state. Its per-replicate state lives in the model's arrays; these are views."""

    def __init__(self, model: AllianceModel, index: int, code: str):
        super().__init__(model)
        self.index = index
        self.code = code

    @property
    def memberships(self) -> np.ndarray:
        """(R, B) bool: this state's memberships in every replicate."""
        return self.model.state.member[:, self.index, :]

    @property
    def spending_share(self) -> np.ndarray:
        """(R,) spending as % of GDP."""
        return self.model.state.share[:, self.index]

    @property
    def power(self) -> np.ndarray:
        """(R,) current power."""
        return self.model.state.power[:, self.index]

    @property
    def threat(self) -> np.ndarray:
        """(R,) perceived threat."""
        return self.model.state.threat[:, self.index]


def _world_cache(world: World, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
    """A read-only array derived from the world alone, computed once and shared by its models.

    The world's baseline arrays do not change once it is built; a model that changes affinities
    copies them first (phases._add_affinity), so the shared decay and threat weights stay valid.
    """
    cache = world.derived
    value = cache.get(key)
    if value is None:
        value = make()
        value.flags.writeable = False
        cache[key] = value
    return value


class AllianceModel(mesa.Model):
    """An ensemble of R replicates of one scenario.

    Args:
        scenario: the validated scenario.
        replicates: global replicate indices held by this model (their draws depend on these only).
        seed: root seed (default: the scenario's).
        world: a prebuilt world (default: built from the scenario).
        record_events: keep a timeline of events (for replay; costs time).
        record_steps: keep per-step bloc power (R, T+1, B) for fan charts.
        record_timeline: keep membership events and per-state distributions by quarter
            (simulator.engine.timeline; reads state, draws nothing, changes no result).
        backend: "numpy" (the reference path, simulator.engine.phases) or "numba" (compiled kernels,
            simulator.engine.fast; bit-identical results); default: numba when it imports. A model that
            records events runs the numpy path, which writes the event log.
    """

    def __init__(
        self,
        scenario: Scenario,
        replicates: np.ndarray | int = 1,
        seed: int | None = None,
        world: World | None = None,
        record_events: bool = False,
        record_steps: bool = True,
        record_timeline: bool = False,
        backend: str | None = None,
    ):
        # Mesa's own generators (self.random, self.rng) are not used: every draw comes from the
        # counter-based streams of simulator.engine.rng. rng=0 only keeps Mesa from reading OS entropy.
        # Mesa >= 3.4 owns `Model.scenario` (its experimental Scenario); ours is `self.spec`.
        super().__init__(rng=0)
        self.spec = scenario
        self.world = world or build_world(scenario)
        self.root_seed = scenario.seed if seed is None else int(seed)
        reps = np.arange(replicates) if np.isscalar(replicates) else np.asarray(replicates)
        self.replicates = reps.astype(np.int64)
        self.streams = Streams(self.root_seed, self.replicates)
        self.params = sample_parameters(scenario, self.streams)
        self.shocks = compile_shocks(scenario, self.world)
        self.guarantor = self.world.state_index(scenario.outcomes.guarantor)  # -1: not in this world
        self.scheduled = scheduled_steps(self.shocks, self.root_seed, self.replicates)
        # the steps at which a scheduled shock fires in some replicate (None: a probability shock)
        self.shock_steps = [
            frozenset(np.unique(col).tolist()) if c.spec.probability is None else None
            for c, col in zip(self.shocks, self.scheduled.T, strict=True)
        ]
        self.record_events = record_events
        self.backend = "numpy" if record_events else resolve_backend(backend)
        self.events: list[tuple[int, int, str, str]] = []
        self.phase_seconds: dict[str, float] = {}
        for i, code in enumerate(self.world.codes):
            StateAgent(self, i, code)
        # Mesa 3.3 keeps every model alive in the class-level id counter Agent._ids (mesa#3179,
        # fixed upstream by mesa#3180): drop ours once the agents exist, so that a finished block
        # is freed and memory stays bounded by the block size. No agent is created after this.
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)
        self.norms = pw.normalisers(self.world)  # baseline world totals
        self.shares = pw.fixed_shares(self.world, self.norms)  # the capability shares fixed within a run
        self.decay = self._decay()  # (S,S) shared by the ensemble, or (R,S,S)
        self.state = self._initial_state()
        self.refresh_threat_weights()
        self._fast = None  # the compiled path's Context (simulator.engine.fast.phases.context)
        self.trajectory = (
            np.zeros((len(reps), scenario.steps + 1, self.world.n_blocs), dtype=np.float32) if record_steps else None
        )
        self.members_trajectory = (
            np.zeros((len(reps), scenario.steps + 1, self.world.n_blocs), dtype=np.int16) if record_steps else None
        )
        self._phases = self._phase_module().PHASES
        self._phase_module().refresh_power(self)
        self.state.threat0 = self.state.threat.copy()
        self.state.threat_prev = self.state.threat.copy()
        from simulator.engine.mechanisms.choice import bloc_switch_cost
        from simulator.engine.phases import start_anchor

        # (R,B) the gain over the reference a non-member needs before it applies to each bloc
        self.switch_cost = bloc_switch_cost(
            self.params["switch_cost"], self.params["switch_by_commitment"], self.world.mutual_defence
        )
        self.anchor_in, self.anchor_out = start_anchor(self)  # (R,S,B) the status quo the start reveals
        self.accession_floor = self._accession_floor()  # (R,S,B) quarters an application stands before a vote
        self.timeline = (
            Timeline(self.replicates, self.world.n_states, scenario.steps, self.world.candidate_quarters)
            if record_timeline
            else None
        )
        self._record(0)

    @property
    def R(self) -> int:
        return len(self.replicates)

    def _accession_floor(self) -> np.ndarray:
        """(R,S,B) how long each state's application to each bloc must stand before a vote can admit it.

        The bloc's ``accession_quarters``, or, for a bloc with an ``accession_duration``, a draw per
        replicate, state and bloc (stream 'accession:<bloc>', step -1; admission.accession_duration),
        conditional on the quarters an application standing at the start has already stood; a Membership
        Action Plan standing at the start draws from the bloc's ``aspirant_duration`` instead.
        """
        w, R, S = self.world, self.R, self.world.n_states
        floor = np.broadcast_to(w.accession_quarters[None, None, :], (R, S, w.n_blocs)).copy()
        rows = np.repeat(np.arange(R), S)
        cells = np.tile(np.arange(S), R)
        for b in np.flatnonzero(w.accession_median > 0.0):
            u = self.streams.uniform_at(f"accession:{w.bloc_codes[b]}", -1, rows, cells).reshape(R, S)
            stood = np.where(w.applications0[:, b], w.pending0[:, b], 0)[None, :]
            floor[:, :, b] = adm_mech.accession_duration(
                u, stood, float(w.accession_median[b]), float(w.accession_shape[b]), int(w.accession_quarters[b])
            )
        # a Membership Action Plan standing at the start: its own duration (stream 'aspirant:<bloc>')
        for b in np.flatnonzero((w.aspirant_median > 0.0) & w.aspirants0.any(axis=0)):
            u = self.streams.uniform_at(f"aspirant:{w.bloc_codes[b]}", -1, rows, cells).reshape(R, S)
            drawn = adm_mech.accession_duration(
                u, w.pending0[None, :, b], float(w.aspirant_median[b]), float(w.aspirant_shape[b]),
                int(w.accession_quarters[b]),
            )  # fmt: skip
            floor[:, :, b] = np.where(w.aspirants0[None, :, b], drawn, floor[:, :, b])
        return floor

    def _decay(self) -> np.ndarray:
        """exp(-d_ij / D): one (S,S) matrix shared by the world's models when every replicate has the same D."""
        w, d_km = self.world, self.params["threat_decay_km"]
        if (d_km == d_km[0]).all():
            return _world_cache(w, ("decay", float(d_km[0])), lambda: portable.exp(-(w.distance_km / d_km[0])))
        return portable.exp(-(w.distance_km[None, :, :] / d_km[:, None, None]))

    def _initial_state(self) -> EnsembleState:
        """The state at step 0 (threat weights, power and threat are derived from it afterwards)."""
        w, R, p = self.world, len(self.replicates), self.params
        S, B = w.n_states, w.n_blocs
        spend_q = pw.quarterly_spending(np.broadcast_to(w.share0, (R, S)), w.gdp_usd_bn)
        capital = spend_q / p["capital_depreciation"][:, None]
        affinity = np.broadcast_to(w.affinity, (R, S, S))  # read-only view; copied on the first relation shock
        return EnsembleState(
            member=np.broadcast_to(w.members0, (R, S, B)).copy(),
            active=np.broadcast_to(w.active0, (R, B)).copy(),
            formed=np.full((R, B), -1, dtype=np.int64),
            commitment=np.ones((R, S, B)),
            share=np.broadcast_to(w.share0, (R, S)).copy(),
            capital=capital,
            mobilisation=np.ones((R, S)),
            threat_scale=np.ones((R, S)),
            affinity=affinity,
            us_attitude=np.broadcast_to(w.us_attitude, (R, S)).copy(),
            eu_attitude=np.broadcast_to(w.eu_attitude, (R, S)).copy(),
            neutrality=np.broadcast_to(w.neutrality, (R, S)).copy(),
            veto=None,
            integration=np.broadcast_to(w.integration0, (R, B)).copy(),
            spend_factor=np.ones((R, S)),
            spend_fixed=np.full((R, S), np.nan),
            fired=np.zeros((R, len(self.shocks)), dtype=bool),
            barred=np.zeros((R, S, B), dtype=bool),
            standing=np.broadcast_to(w.applications0, (R, S, B)).copy(),
            pending=np.broadcast_to(w.pending0, (R, S, B)).copy(),
            threat_prev=np.zeros((R, S)),
            combat=np.broadcast_to(w.combat.astype(np.float64), (R, S)).copy(),
            disputed=np.broadcast_to(w.disputed, (R, S)).copy(),
        )

    def refresh_threat_weights(self) -> None:
        """Threat weights from the current affinities: shared (S,S) while every replicate has the same."""
        st = self.state
        shared = not st.affinity.flags.writeable and self.decay.ndim == 2
        if shared:
            w, decay = self.world, self.decay
            st.threat_wt = _world_cache(
                w, ("threat_wt", id(decay)), lambda: np.ascontiguousarray(th.threat_weights(w.affinity, decay).T)
            )
        else:
            w = th.threat_weights(st.affinity, self.decay if self.decay.ndim == 3 else self.decay[None])
            st.threat_wt = np.ascontiguousarray(np.swapaxes(w, 1, 2))

    def event(self, rows: np.ndarray, step: int, kind: str, text: str) -> None:
        """Record an event for the replicates in ``rows`` (when recording)."""
        if self.record_events:
            for r in np.flatnonzero(rows) if rows.dtype == bool else rows:
                self.events.append((int(self.replicates[r]), step, kind, text))

    def _phase_module(self):
        if self.backend == "numba":
            from simulator.engine.fast import phases
        else:
            from simulator.engine import phases
        return phases

    def step(self) -> None:
        """One quarter: the phases of simulator.engine.phases.PHASES in order (or their compiled twins)."""
        t = self.steps - 1  # Mesa counts the step before calling it: quarter t is the t-th from the start
        before = self.state.member.copy() if self.timeline is not None else None
        for name, fn in self._phases:
            t0 = time.perf_counter()
            fn(self, t)
            self.phase_seconds[name] = self.phase_seconds.get(name, 0.0) + time.perf_counter() - t0
        self._record(self.steps)
        if self.timeline is not None:
            self.timeline.record_events(t, before, self.state)

    def run(self) -> AllianceModel:
        """Run the scenario's horizon."""
        while self.steps < self.spec.steps:
            self.step()
        return self

    def _record(self, k: int) -> None:
        if self.timeline is not None:
            self.timeline.record_state(k, self.state.share, self.world.gdp_usd_bn, self.state.threat)
        if self.trajectory is not None and self.backend == "numba":
            from simulator.engine.fast.phases import record

            record(self, k)
        elif self.trajectory is not None:
            self.trajectory[:, k, :] = self.state.effective
            self.members_trajectory[:, k, :] = (self.state.member & self.state.active[:, None, :]).sum(axis=1)
