"""A plain per-agent Mesa implementation of the alliance model: one replicate, ordinary Python loops.

This is the readable reference for the ensemble engine (simulator.engine.model + simulator.engine.phases) and
the "plain Mesa" peer of the performance benchmark. ``ReferenceModel`` runs ONE replicate ``k``
of a scenario. Each state is a ``ReferenceState`` agent that keeps its own Python scalars and
lists (membership, commitment and bar per bloc, spending share, capital, mobilisation, threat
scale, attitudes, its row of affinities and threat weights, its vetoes); each bloc is a
``ReferenceBloc``. Every phase is a loop over agents and blocs in the documented order of
simulator.engine.phases, and every random number is read one at a time with simulator.engine.rng.uniform_at /
logistic_at under the same stream names, steps and cells as the vectorised engine.

Exactness. The reference reproduces the engine bit for bit: floats are computed in the same
order and grouping as the vectorised expressions, sums over states run in index order (the
engine's ``seqsum``), and exp/log/power are simulator.engine.portable's (plain IEEE arithmetic, the
same on every CPU), one float at a time where the engine takes them elementwise.
Shared with the engine are only inputs and presentation, not dynamics: the world arrays
(simulator.scenario.world), the compiled shock targets and event texts (simulator.engine.shocks), the parameter draws
(simulator.engine.sampling.sample_parameters for a one-replicate Streams) and two constants of
simulator.engine.phases (VOTE_STRIDE, FOUNDING_ROUNDS).

Every reduction over states is sequential on both sides (the affinity term of the utility was
once ``np.matmul`` and the founding power test ``ndarray.sum``, whose BLAS and pairwise orders a
loop cannot reproduce; both now add in index order), so tests/test_reference.py asserts exact
equality. Since exp/log/power use no libm or SIMD transcendental code, the bits are also the same
on every CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import mesa
import numpy as np

from simulator.engine import portable
from simulator.engine.mechanisms.admission import CLOSED, LEADER, OPEN, QMV, UNANIMITY, accession_duration
from simulator.engine.phases import FOUNDING_ROUNDS, VOTE_STRIDE
from simulator.engine.rng import Streams, logistic_at, uniform_at
from simulator.engine.sampling import sample_parameters
from simulator.engine.shocks import CompiledShock, compile_shocks
from simulator.scenario.language import Scenario
from simulator.scenario.world import World, build_world


def _clip(x: float, lo: float, hi: float) -> float:
    """np.clip for one value (max first, then min, as numpy does)."""
    x = x if x > lo else lo
    return x if x < hi else hi


def _total(values) -> float:
    """Sum in index order, as the engine's ``seqsum``."""
    acc = 0.0
    for v in values:
        acc += v
    return acc


def _two_largest(values: list[float]) -> tuple[float, float]:
    """The largest and second largest of ``values`` (0.0 for the second when there is one value)."""
    ordered = sorted(values)
    return ordered[-1], (ordered[-2] if len(ordered) > 1 else 0.0)


def deterrence(x: float, threat: float, gamma: float) -> float:
    """Tullock contest success function x^g / (x^g + T^g); 0.5 when both are zero."""
    xg = portable.pow1(x, gamma)
    tg = portable.pow1(threat, gamma)
    den = xg + tg
    return xg / den if den > 0 else 0.5


@dataclass
class PooledBloc:
    """One bloc's pooled power for a given membership (actual or hypothetical)."""

    members: list[bool]  # per state
    contrib: list[float]  # c_ib P_i per state (0 for non-members or an inactive bloc)
    raw: float
    loss: float
    effective: float
    umbrella: float
    eu_contrib: float  # pooled power of EU members
    threat_contrib: float  # sum of c_ib P_i T_i


class ReferenceBloc:
    """A bloc: its fixed rules from the world and its changing activity and integration."""

    def __init__(self, world: World, index: int):
        b = index
        self.index = b
        self.code = world.bloc_codes[b]
        self.mutual_defence = float(world.mutual_defence[b])
        self.spending_norm = float(world.spending_norm[b])
        self.integration_growth = float(world.integration_growth[b])
        self.integration_max = float(world.integration_max[b])
        self.admission = int(world.admission[b])
        self.leader = int(world.leader[b])
        self.eligible = [bool(e) for e in world.eligible[:, b]]
        self.dynamic = bool(world.dynamic[b])
        self.accession_quarters = int(world.accession_quarters[b])
        self.admits_disputed = bool(world.admits_disputed[b])
        self.min_founders = int(world.min_founders[b])
        self.min_power_share = float(world.min_power_share[b])
        self.active = bool(world.active0[b])
        self.formed = -1
        self.integration = float(world.integration0[b])


class ReferenceState(mesa.Agent):
    """A state with its own capabilities, preferences, memberships and decisions (one replicate)."""

    def __init__(self, model: ReferenceModel, world: World, index: int):
        super().__init__(model)
        i, B = index, world.n_blocs
        self.index = i
        self.code = world.codes[i]
        # capabilities and fixed traits
        self.share0 = float(world.share0[i])
        self.gdp = float(world.gdp_usd_bn[i])
        self.population = float(world.population_m[i])
        self.active_k = float(world.active_k[i])
        self.reserve_k = float(world.reserve_k[i])
        self.tanks = float(world.tanks[i])
        self.aircraft = float(world.aircraft[i])
        self.combat = 1.0 if world.combat[i] else 0.0
        self.disputed = bool(world.disputed[i])  # an unresolved territorial conflict
        self.own_nuclear = bool(world.own_nuclear[i])
        self.eu_member = bool(world.eu_member[i])
        # memberships
        self.member = [bool(world.members0[i, b]) for b in range(B)]
        self.commitment = [1.0] * B
        self.barred = [False] * B
        self.vetoes: set[tuple[int, int]] = set()  # (bloc, applicant) this state vetoes
        # spending, capital, power
        self.share = self.share0
        self.capital = self.share0 * self.gdp * 2.5 / model.p.capital_depreciation
        self.spend_factor = 1.0
        self.spend_fixed: float | None = None
        self.mobilisation = 1.0
        self.power = 0.0
        # perceptions and preferences
        self.threat_scale = 1.0
        self.threat = 0.0
        self.threat0 = 0.0
        self.us_attitude = float(world.us_attitude[i])
        self.eu_attitude = float(world.eu_attitude[i])
        self.neutrality = float(world.neutrality[i])
        self.neutral_floor = float(world.neutral_floor[i])
        self.affinity = [float(a) for a in world.affinity[i]]  # my affinity to every state
        decay_km = model.p.threat_decay_km
        self.decay = [portable.exp1(-(float(d) / decay_km)) for d in world.distance_km[i]]
        self.threat_weight = [0.0] * world.n_states
        for j in range(world.n_states):
            self.refresh_threat_weight(j)
        # this step's decisions
        self.leaving = [False] * B
        self.applying = [False] * B
        self.admitted = [False] * B
        self.founding = [False] * B
        # applications stand until decided or withdrawn; the status quo the start reveals
        self.standing = [bool(world.applications0[i, b]) for b in range(B)]
        self.pending = [int(world.pending0[i, b]) for b in range(B)]
        # how long an application to each bloc must stand before a vote (admission.accession_duration)
        self.floor = [int(world.accession_quarters[b]) for b in range(B)]
        for b in range(B):
            if world.accession_median[b] > 0.0:
                u = uniform_at(model.root_seed, f"accession:{world.bloc_codes[b]}", model.replicate, -1, i)
                stood = self.pending[b] if self.standing[b] else 0
                median, shape = float(world.accession_median[b]), float(world.accession_shape[b])
                drawn = accession_duration(np.array([u]), np.array([stood]), median, shape, self.floor[b])
                self.floor[b] = int(drawn[0])
            if world.aspirant_median[b] > 0.0 and world.aspirants0[i, b]:  # a Membership Action Plan
                u = uniform_at(model.root_seed, f"aspirant:{world.bloc_codes[b]}", model.replicate, -1, i)
                median, shape = float(world.aspirant_median[b]), float(world.aspirant_shape[b])
                minimum = int(world.accession_quarters[b])
                drawn = accession_duration(np.array([u]), np.array([self.pending[b]]), median, shape, minimum)
                self.floor[b] = int(drawn[0])
        self.threat_prev = 0.0
        self.anchor_in = [0.0] * B
        self.anchor_out = [0.0] * B

    # ---------------------------------------------------------------- perceptions
    def refresh_threat_weight(self, j: int) -> None:
        """W_ij = max(0, -a_ij) exp(-d_ij / D): how much of j's power I perceive as a threat."""
        self.threat_weight[j] = max(0.0, -self.affinity[j]) * self.decay[j]

    def perceive_threat(self) -> None:
        """T_i = s_i * sum_j W_ij P_j."""
        acc = 0.0
        for other in self.model.states:
            acc += self.threat_weight[other.index] * other.power
        self.threat = self.threat_scale * acc

    # ---------------------------------------------------------------- spending and power
    def adjust_spending(self, t: int) -> None:
        """Richardson-style reaction to threat and the strictest bloc norm; capital accumulates."""
        m, p = self.model, self.model.p
        norm = max(b.spending_norm if self.member[b.index] and b.active else 0.0 for b in m.blocs)
        base = self.share0
        ratio = self.threat / self.threat0 if self.threat0 > 0 else 1.0
        reaction = p.threat_response * (ratio - 1.0) * base
        pull = p.norm_pull * max(0.0, norm - base)
        cap = max(p.fiscal_cap, base)
        target = _clip((base + reaction + pull) * self.spend_factor, 0.0, cap)
        if self.spend_fixed is not None:
            target = self.spend_fixed
        before = math.floor(self.share)
        self.share = self.share + p.spending_adjustment * (target - self.share)
        self.capital = (1.0 - p.capital_depreciation) * self.capital + self.share * self.gdp * 2.5
        after = math.floor(self.share)
        if after != before:
            word = "reaches" if after > before else "falls below"
            level = max(after, before)
            m.log(t, "spending", f"{self.code} spending {word} {level}% of GDP ({self.share:.2f}%)")

    def update_power(self) -> None:
        """CINC-like composite of capital, personnel, equipment, economy and population shares."""
        p, n = self.model.p, self.model.norms
        equipment = 0.5 * (self.tanks / n["tanks"] + self.aircraft / n["aircraft"])
        quality = 1.0 + p.combat_quality * self.combat
        rw = p.reserve_weight
        personnel = self.active_k + rw * self.reserve_k
        personnel_total = n["active"] + rw * n["reserve"]
        capital_norm = n["quarterly_spend"] / p.capital_depreciation
        wk, wp, we, wy, wn = p.w_capital, p.w_personnel, p.w_equipment, p.w_economy, p.w_population
        composite = (
            wk * (self.capital / capital_norm)
            + wp * (personnel / personnel_total)
            + we * equipment
            + wy * (self.gdp / n["gdp"])
            + wn * (self.population / n["population"])
        )
        total_w = wk + wp + we + wy + wn
        self.power = 100.0 * quality * self.mobilisation * composite / total_w

    # ---------------------------------------------------------------- membership utility
    def utility(self, b: int, pooled: list[PooledBloc]) -> float:
        """U_ib: my utility of membership in bloc b given every bloc's pooled power."""
        m, p = self.model, self.model.p
        me = self.index
        blocs = m.blocs
        member = [pb.members[me] for pb in pooled]
        bloc, pb = blocs[b], pooled[b]

        # security: deterrence with and without b's guarantee (others' effective power pledged)
        g = [bl.mutual_defence * (1.0 - q.loss) * (q.raw - q.contrib[me]) for bl, q in zip(blocs, pooled, strict=True)]
        g_member = [g[c] if member[c] else 0.0 for c in range(len(blocs))]
        total = _total(g_member)
        top1, top2 = _two_largest(g_member)
        if member[b]:
            max_with, sum_with = top1, total
            max_without = top2 if g_member[b] == top1 else top1
            sum_without = total - g[b]
        else:
            max_with, sum_with = max(top1, g[b]), total + g[b]
            max_without, sum_without = top1, total
        ov = p.overlap_value
        x_with = max_with + ov * (sum_with - max_with)
        x_without = max_without + ov * (sum_without - max_without)
        gamma = p.csf_exponent
        security = p.w_security * (
            deterrence(self.power + x_with, self.threat, gamma) - deterrence(self.power + x_without, self.threat, gamma)
        )

        # nuclear umbrella: the strongest pledged umbrella with and without b
        nuc = [bl.mutual_defence * q.umbrella * 1.0 for bl, q in zip(blocs, pooled, strict=True)]
        nuc_member = [nuc[c] if member[c] else 0.0 for c in range(len(blocs))]
        n1, n2 = _two_largest(nuc_member)
        n_without = n2 if member[b] and nuc_member[b] == n1 else n1
        n_with = n1 if member[b] else max(n1, nuc[b])
        tp = self.threat + self.power
        need = 0.0 if self.own_nuclear else self.threat / (tp if tp > 0 else 1.0)
        nuclear = p.w_nuclear * need * (n_with - n_without)

        # affinity to the other members, weighted by their committed power
        num = 0.0
        for j in range(len(m.states)):
            num += self.affinity[j] * pb.contrib[j]
        den = pb.raw - pb.contrib[me]
        affinity = p.w_affinity * (num / den if den > 0 else 0.0)

        # attitudes to the US and the EU, by their share of the bloc's power
        safe_raw = pb.raw if pb.raw > 0 else 1.0
        us_share = pb.contrib[m.us_index] / safe_raw if m.us_index >= 0 else 0.0
        eu_share = pb.eu_contrib / safe_raw
        attitude = p.w_attitude * (self.us_attitude * us_share + self.eu_attitude * eu_share)

        burden = p.w_burden * max(0.0, bloc.spending_norm - self.share)

        # entanglement: members more threatened than me may drag me into their conflicts
        tbar = pb.threat_contrib / safe_raw
        tsum = tbar + self.threat
        entangle = p.w_entanglement * max(0.0, tbar - self.threat) / (tsum if tsum > 0 else 1.0)

        neutral = p.w_neutrality * self.neutrality * bloc.mutual_defence
        inertia = p.inertia * member[b]
        return security + nuclear + affinity + attitude - burden - entangle - neutral - p.membership_cost + inertia

    def switch_cost(self, bloc) -> float:
        """The gain over my reference I need before I apply to ``bloc`` (choice.bloc_switch_cost)."""
        p = self.model.p
        phi = p.switch_by_commitment
        return p.switch_cost * ((1.0 - phi) + phi * bloc.mutual_defence)

    def start_anchor(self) -> None:
        """The utilities my choices are measured from (mechanisms.choice.status_quo_anchor)."""
        m, p = self.model, self.model.p
        for bloc in m.blocs:
            b = bloc.index
            u0 = self.utility(b, m.pooled)
            self.anchor_in[b] = min(u0, 0.0) if self.member[b] and bloc.active else 0.0
            self.anchor_out[b] = (max(u0, 0.0) if not self.member[b] and bloc.active else 0.0) + self.switch_cost(bloc)

    def decide(self, t: int) -> None:
        """If I revise this quarter (more likely in a crisis), weigh every open bloc: leave or apply."""
        m, p, k = self.model, self.model.p, self.model.replicate
        B = len(m.blocs)
        self.leaving = [False] * B
        self.applying = [False] * B
        prev = self.threat_prev
        rel = self.threat / prev - 1.0 if prev > 0.0 else 0.0
        rate = p.revision_rate + (1.0 - p.revision_rate) * _clip(p.crisis_revision * rel, 0.0, 1.0)
        self.threat_prev = self.threat
        revised = uniform_at(m.root_seed, "revise", k, t, self.index) < rate
        if revised:
            for bloc in m.blocs:
                b = bloc.index
                if not bloc.dynamic or not bloc.active:
                    continue
                draw = logistic_at(m.root_seed, f"choice:{bloc.code}", k, t, self.index)
                stance = logistic_at(m.root_seed, f"stance:{bloc.code}", k, -1, self.index)
                rho = p.choice_persistence
                noise = ((1.0 - rho) * draw + rho * stance) * p.choice_noise
                anchor = self.anchor_in[b] if self.member[b] else self.anchor_out[b]
                u = self.utility(b, m.pooled)
                value = (u - anchor) + noise
                if self.member[b]:
                    self.leaving[b] = value < 0.0
                elif bloc.admission != CLOSED and not self.barred[b] and bloc.eligible[self.index]:
                    # a state with a territorial conflict does not apply to a bloc that would not admit it
                    if bloc.admits_disputed or not self.disputed:
                        self.applying[b] = value > 0.0
                        if not self.applying[b] and p.decision_memory != 0.0:
                            # the declined application moves my reference point (choice.remembered_anchor)
                            gap = (max(u, 0.0) + self.switch_cost(bloc)) - anchor
                            self.anchor_out[b] = anchor + p.decision_memory * max(gap, 0.0)
        # my applications stand until decided; reconsidering without applying again withdraws them
        for bloc in m.blocs:
            b = bloc.index
            now = (self.standing[b] or self.applying[b]) and bloc.active and not self.member[b] and not self.barred[b]
            self.standing[b] = now
            self.pending[b] = self.pending[b] + 1 if now else 0
            self.applying[b] = now

    def votes_for(self, bloc: ReferenceBloc, applicant: ReferenceState) -> bool:
        """My vote on an applicant: affinity minus entanglement risk plus a persistent stance."""
        m, p = self.model, self.model.p
        cell = self.index * VOTE_STRIDE + applicant.index
        noise = logistic_at(m.root_seed, f"vote:{bloc.code}", m.replicate, -1, cell) * p.vote_noise
        tot = self.threat + applicant.threat
        exposure = max(0.0, applicant.threat - self.threat) / (tot if tot > 0 else 1.0)
        risk = exposure * bloc.mutual_defence * p.w_vote_entanglement
        bonus = min(p.bargain_rate * applicant.pending[bloc.index], p.bargain_max)
        score = (self.affinity[applicant.index] - risk) + bonus
        return score + noise > p.veto_threshold and not self.vetoes_declared(bloc, applicant)

    def vetoes_declared(self, bloc: ReferenceBloc, applicant: ReferenceState) -> bool:
        """Whether a veto shock made me veto this applicant to this bloc."""
        return (bloc.index, applicant.index) in self.vetoes


class ReferenceModel(mesa.Model):
    """One replicate of a scenario, state by state.

    Args:
        scenario: the validated scenario.
        replicate: the global replicate index k (its draws depend on k and the seed only).
        seed: root seed (default: the scenario's).
        world: a prebuilt world (default: built from the scenario).
    """

    def __init__(self, scenario: Scenario, replicate: int = 0, seed: int | None = None, world: World | None = None):
        # Mesa's own generators (self.random, self.rng) are not used: every draw comes from the
        # counter-based streams of simulator.engine.rng. rng=0 only keeps Mesa from reading OS entropy.
        # Mesa >= 3.4 owns `Model.scenario` (its experimental Scenario); ours is `self.spec`.
        super().__init__(rng=0)
        self.spec = scenario
        self.world = world or build_world(scenario)
        self.root_seed = scenario.seed if seed is None else int(seed)
        self.replicate = int(replicate)
        drawn = sample_parameters(scenario, Streams(self.root_seed, np.array([self.replicate])))
        self.p = SimpleNamespace(**{name: float(v[0]) for name, v in drawn.items()})
        self.norms = self._normalisers()
        self.us_index = self.world.state_index(scenario.outcomes.guarantor)  # the external guarantor
        self.blocs = [ReferenceBloc(self.world, b) for b in range(self.world.n_blocs)]
        self.states = [ReferenceState(self, self.world, i) for i in range(self.world.n_states)]
        self.shocks = compile_shocks(scenario, self.world)
        self.shock_step = [self._scheduled_step(c) for c in self.shocks]
        self.shock_fired = [False] * len(self.shocks)
        self.events: list[tuple[int, int, str, str]] = []
        for s in self.states:
            s.update_power()
        for s in self.states:
            s.perceive_threat()
            s.threat0 = s.threat
            s.threat_prev = s.threat
        self.pooled = self.pool_all()
        for s in self.states:
            s.start_anchor()
        self.trajectory: list[list[float]] = []
        self.members_trajectory: list[list[int]] = []
        self._record()

    # ---------------------------------------------------------------- setup
    def _normalisers(self) -> dict[str, float]:
        """Baseline world totals (summed in state order)."""
        w = self.world
        return {
            "active": _total(float(x) for x in w.active_k),
            "reserve": _total(float(x) for x in w.reserve_k),
            "tanks": max(_total(float(x) for x in w.tanks), 1.0),
            "aircraft": max(_total(float(x) for x in w.aircraft), 1.0),
            "gdp": _total(float(x) for x in w.gdp_usd_bn),
            "population": _total(float(x) for x in w.population_m),
            "quarterly_spend": _total(float(g) * float(y) * 2.5 for g, y in zip(w.share0, w.gdp_usd_bn, strict=True)),
        }

    def _scheduled_step(self, c: CompiledShock) -> int:
        """The step of an 'at' or 'window' shock in this replicate; -1 for probability shocks."""
        s = c.spec
        if s.at is not None:
            return s.at
        if s.probability is None and s.window is not None:
            lo, hi = s.window
            u = uniform_at(self.root_seed, f"shock:{c.key}:time", self.replicate, 0, 0)
            return lo + min(int(u * (hi - lo + 1)), hi - lo)
        return -1

    def log(self, t: int, kind: str, text: str) -> None:
        """Append an event of this replicate."""
        self.events.append((self.replicate, t, kind, text))

    # ---------------------------------------------------------------- blocs
    def pool(self, bloc: ReferenceBloc, members: list[bool], commitment: list[float], active: bool) -> PooledBloc:
        """Commitment-weighted pooled power of a bloc, its coordination loss and nuclear umbrella."""
        p = self.p
        contrib = [commitment[i] * s.power if members[i] and active else 0.0 for i, s in enumerate(self.states)]
        raw = _total(contrib)
        rr = raw * raw
        hhi = _total(c * c for c in contrib) / rr if rr > 0 else 1.0  # Herfindahl index of members' power
        loss = p.coordination_loss_max * (1.0 - bloc.integration) * (1.0 - hhi)
        umbrella = max(
            commitment[i] if members[i] and active and s.own_nuclear else 0.0 for i, s in enumerate(self.states)
        )
        return PooledBloc(
            members=members,
            contrib=contrib,
            raw=raw,
            loss=loss,
            effective=raw * (1.0 - loss),
            umbrella=umbrella,
            eu_contrib=_total(c if s.eu_member else 0.0 for c, s in zip(contrib, self.states, strict=True)),
            threat_contrib=_total(c * s.threat for c, s in zip(contrib, self.states, strict=True)),
        )

    def pool_all(self) -> list[PooledBloc]:
        """Every bloc's pooled power from the current memberships."""
        return [
            self.pool(
                bloc,
                [s.member[bloc.index] for s in self.states],
                [s.commitment[bloc.index] for s in self.states],
                bloc.active,
            )
            for bloc in self.blocs
        ]

    # ---------------------------------------------------------------- the step
    def step(self) -> None:
        """One quarter, phases in the order of simulator.engine.phases (agents act in index order)."""
        t = self.steps - 1  # Mesa counts the step before calling it
        self.apply_shocks(t)  # 1. shocks
        self.agents.do("adjust_spending", t)  # 2. spending
        self.agents.do("update_power")  # 3. power
        self.agents.do("perceive_threat")  # 4. threat
        self.pooled = self.pool_all()  # 5. blocs
        self.agents.do("decide", t)  # 6. choices
        self.admit(t)  # 7. admission
        self.found(t)  # 8. founding
        self.commit(t)  # 9. commit
        self._record()

    def run(self) -> ReferenceModel:
        """Run the scenario's horizon."""
        while self.steps < self.spec.steps:
            self.step()
        return self

    def _record(self) -> None:
        self.trajectory.append([float(np.float32(pb.effective)) for pb in self.pooled])
        self.members_trajectory.append(
            [sum(1 for s in self.states if s.member[b.index] and b.active) for b in self.blocs]
        )

    # ---------------------------------------------------------------- 1. shocks
    def apply_shocks(self, t: int) -> None:
        for c in self.shocks:
            if self._fires(c, t):
                self.shock_fired[c.index] = True
                self.apply_shock(c, t)

    def _fires(self, c: CompiledShock, t: int) -> bool:
        s = c.spec
        if s.probability is None:
            return self.shock_step[c.index] == t
        if s.window is not None and not s.window[0] <= t <= s.window[1]:
            return False
        hit = uniform_at(self.root_seed, f"shock:{c.key}:fire", self.replicate, t, 0) < s.probability
        return hit if s.repeat else hit and not self.shock_fired[c.index]

    def apply_shock(self, c: CompiledShock, t: int) -> None:
        """Apply one shock to this replicate and log it."""
        _SHOCKS[c.kind](self, c, t)
        self.log(t, c.kind, c.text)

    def shock_targets(self, c: CompiledShock) -> list[ReferenceState]:
        """The states a shock targets, in index order."""
        return [self.states[i] for i in c.targets]

    def _attack(self, a: int, targets: list, severity: float) -> None:
        """Threat near the front and the attacker; wary states see the attacker as more hostile; neutral opinion shifts."""
        p = self.p
        attacker = self.states[a]
        hit = {x.index for x in targets}
        for x in targets:
            for other in self.states:
                other.threat_scale += (severity * other.decay[x.index]) * other.decay[a]
            x.threat_scale += severity
            for other in self.states:
                j = other.index
                if j != a and j not in hit and attacker.affinity[j] < 0.0:
                    fear = (p.attack_hostility * severity) * other.decay[x.index]
                    attacker.affinity[j] -= fear
                    other.affinity[a] -= fear
            for other in self.states:
                exposure = (severity * other.decay[x.index]) * other.decay[a]
                shift = portable.exp1(-p.attack_opinion * (exposure * exposure))
                other.neutrality = max(other.neutral_floor, other.neutrality * shift)
        for other in self.states:
            other.refresh_threat_weight(a)
            attacker.refresh_threat_weight(other.index)
        self._add_affinity([a], [x.index for x in targets], -0.5 * severity)

    def _add_affinity(self, a, b, delta: float) -> None:
        """Add ``delta`` to the affinity of every pair (i in a, j in b), i != j, both ways, once per pair."""
        pairs = sorted({(min(i, j), max(i, j)) for i in a for j in b if i != j})
        for i, j in pairs:
            x, y = self.states[i], self.states[j]
            x.affinity[j] += delta
            y.affinity[i] += delta
            x.refresh_threat_weight(j)
            y.refresh_threat_weight(i)

    # ---------------------------------------------------------------- 7. admission
    def admit(self, t: int) -> None:
        """Members vote on each applicant by the bloc's rule."""
        for s in self.states:
            s.admitted = [False] * len(self.blocs)
        for bloc in self.blocs:
            b = bloc.index
            for applicant in self.states:
                if not applicant.applying[b] or applicant.pending[b] <= applicant.floor[b]:
                    continue  # no application, or still in negotiation and ratification
                voters = [s for s in self.states if s.member[b]]
                yes = {s.index: s.votes_for(bloc, applicant) for s in voters}
                # a declared veto (veto shock) blocks the admission whatever the rule
                ok = self._decide(bloc, voters, yes) and not any(s.vetoes_declared(bloc, applicant) for s in voters)
                # nor is a state with a territorial conflict admitted by a bloc whose rule excludes it
                disputed = applicant.disputed and not bloc.admits_disputed
                ok = ok and not disputed
                if ok:
                    applicant.admitted[b] = True
                else:
                    no = [s.code for s in self._voted_no(bloc, applicant, voters, yes)]
                    names = ",".join(no + (["territorial conflict"] if disputed else [])) or "the rule"
                    self.log(t, "veto", f"{names} block {applicant.code}'s application to {bloc.code}")

    def _voted_no(
        self, bloc: ReferenceBloc, applicant: ReferenceState, voters: list[ReferenceState], yes: dict[int, bool]
    ) -> list[ReferenceState]:
        """The members who said no: a declared veto always; a vote only where the rule reads it (every
        member under unanimity and qualified majority, the leader under leader, nobody otherwise)."""
        if bloc.admission in (UNANIMITY, QMV):
            read = {s.index for s in voters}
        elif bloc.admission == LEADER:
            read = {bloc.leader}
        else:
            read = set()
        return [s for s in voters if s.vetoes_declared(bloc, applicant) or (s.index in read and not yes[s.index])]

    def _decide(self, bloc: ReferenceBloc, voters: list[ReferenceState], yes: dict[int, bool]) -> bool:
        n = len(voters)
        if bloc.admission == OPEN:
            return True
        if bloc.admission == CLOSED:
            return False
        if bloc.admission == LEADER:
            leader = bloc.leader
            leader_yes = yes.get(leader, True) if leader >= 0 else True
            return leader_yes or n == 0
        n_yes = sum(1 for s in voters if yes[s.index])
        if bloc.admission == UNANIMITY:
            return n_yes == n
        assert bloc.admission == QMV
        contrib = self.pooled[bloc.index].contrib
        power_all = _total(contrib[s.index] for s in voters)
        power_yes = _total(contrib[s.index] for s in voters if yes[s.index])
        p = self.p
        return n == 0 or (n_yes >= p.qmv_states * n and power_yes >= p.qmv_power * power_all)

    # ---------------------------------------------------------------- 8. founding
    def found(self, t: int) -> None:
        """Latent blocs: eligible states converge on who is willing to found; enough of them found it."""
        p, k = self.p, self.replicate
        for s in self.states:
            s.founding = [False] * len(self.blocs)
        for bloc in self.blocs:
            b = bloc.index
            if bloc.min_founders <= 0 or bloc.active:
                continue
            if not uniform_at(self.root_seed, f"found_attempt:{bloc.code}", k, t, 0) < p.founding_rate:
                continue
            stance = {
                s.index: logistic_at(self.root_seed, f"found:{bloc.code}", k, -1, s.index) * p.founding_noise
                for s in self.states
                if bloc.eligible[s.index]
            }
            willing = [bloc.eligible[i] for i in range(len(self.states))]
            commitment = [1.0] * len(self.states)
            for _ in range(FOUNDING_ROUNDS):
                pooled = list(self.pooled)
                pooled[b] = self.pool(bloc, willing, commitment, True)
                still = [
                    willing[s.index] and s.utility(b, pooled) - p.inertia - p.founding_cost + stance[s.index] > 0.0
                    for s in self.states
                ]
                if still == willing:
                    break
                willing = still
            power_eligible = _total(s.power for s in self.states if bloc.eligible[s.index])
            power_willing = _total(s.power for s in self.states if willing[s.index])
            if sum(willing) >= bloc.min_founders and power_willing >= bloc.min_power_share * power_eligible:
                for s in self.states:
                    s.founding[b] = willing[s.index]

    # ---------------------------------------------------------------- 9. commit
    def commit(self, t: int) -> None:
        """Exits, admissions and foundings take effect together; integration grows; blocs re-pooled."""
        for kind, attr, verb in (("exit", "leaving", "leaves"), ("join", "admitted", "joins")):
            for s in self.states:
                for bloc in self.blocs:
                    if getattr(s, attr)[bloc.index]:
                        self.log(t, kind, f"{s.code} {verb} {bloc.code}")
        founded = [bloc for bloc in self.blocs if any(s.founding[bloc.index] for s in self.states)]
        for bloc in founded:
            names = ",".join(s.code for s in self.states if s.founding[bloc.index])
            self.log(t, "found", f"{bloc.code} founded by {names}")
        for s in self.states:
            for b in range(len(self.blocs)):
                s.member[b] = (s.member[b] and not s.leaving[b]) or s.admitted[b] or s.founding[b]
        for bloc in founded:
            bloc.formed = t
            bloc.active = True
        for bloc in self.blocs:
            if bloc.active:
                bloc.integration = min(bloc.integration_max, bloc.integration + bloc.integration_growth)
        self.pooled = self.pool_all()

    # ---------------------------------------------------------------- results as arrays
    @property
    def member(self) -> np.ndarray:
        """(S, B) bool memberships."""
        return np.array([s.member for s in self.states], dtype=bool)

    @property
    def active(self) -> np.ndarray:
        return np.array([b.active for b in self.blocs], dtype=bool)

    @property
    def formed(self) -> np.ndarray:
        return np.array([b.formed for b in self.blocs], dtype=np.int64)

    @property
    def share(self) -> np.ndarray:
        return np.array([s.share for s in self.states])

    @property
    def capital(self) -> np.ndarray:
        return np.array([s.capital for s in self.states])

    @property
    def power(self) -> np.ndarray:
        return np.array([s.power for s in self.states])

    @property
    def effective(self) -> np.ndarray:
        return np.array([pb.effective for pb in self.pooled])


# ---------------------------------------------------------------- shocks, one function a kind
def _leave(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    """withdraw, expel: the targets leave the bloc and may not apply again."""
    for x in m.shock_targets(c):
        x.member[c.bloc] = False
        x.barred[c.bloc] = True


def _join(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    for x in m.shock_targets(c):
        x.member[c.bloc] = True
        x.barred[c.bloc] = False
    _activate(m.blocs[c.bloc], t)


def _found(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    for x in m.shock_targets(c):
        x.member[c.bloc] = True
    _activate(m.blocs[c.bloc], t)


def _activate(bloc: ReferenceBloc, t: int) -> None:
    if not bloc.active:
        bloc.formed = t
    bloc.active = True


def _commitment(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    s, b = c.spec, c.bloc
    for x in m.shock_targets(c):
        x.commitment[b] = s.value if s.value is not None else _clip(x.commitment[b] + s.change, 0.0, 1.0)


def _relation(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    m._add_affinity(c.targets, c.others, c.spec.change)


def _spending(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    s = c.spec
    for x in m.shock_targets(c):
        if s.factor is not None:
            x.spend_factor *= s.factor
        else:
            x.spend_fixed = s.pct_gdp


def _mobilisation(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    for x in m.shock_targets(c):
        x.mobilisation *= c.spec.factor


def _threat(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    for x in m.shock_targets(c):
        x.threat_scale *= c.spec.factor


def _attack(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    m._attack(c.attacker, m.shock_targets(c), c.spec.severity)
    if c.spec.war:  # a war starts: both sides gain combat experience
        for x in [m.states[c.attacker], *m.shock_targets(c)]:
            x.combat = 1.0
        for x in m.shock_targets(c):
            x.disputed = True


def _settlement(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    for x in m.shock_targets(c):
        x.disputed = False


def _government(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    s = c.spec
    for x in m.shock_targets(c):
        x.us_attitude += s.us_attitude
        x.eu_attitude += s.eu_attitude
        x.neutrality = _clip(x.neutrality + s.neutrality, 0.0, 1.0)
    for idx, delta in c.affinity:
        m._add_affinity(c.targets, idx, delta)


def _veto(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    against = list(c.others) if len(c.others) else range(len(m.states))
    for x in m.shock_targets(c):
        for a in against:
            if c.spec.lift:
                x.vetoes.discard((c.bloc, int(a)))
            else:
                x.vetoes.add((c.bloc, int(a)))


def _integration(m: ReferenceModel, c: CompiledShock, t: int) -> None:
    bloc = m.blocs[c.bloc]
    bloc.integration = _clip(bloc.integration + c.spec.change, 0.0, 1.0)


_SHOCKS = {
    "withdraw": _leave, "expel": _leave, "join": _join, "found": _found, "commitment": _commitment,
    "relation": _relation, "spending": _spending, "mobilisation": _mobilisation, "threat": _threat,
    "attack": _attack, "government": _government, "veto": _veto, "integration": _integration,
    "settlement": _settlement,
}  # fmt: skip
