"""Calibration: fit chosen parameters to the observed facts of historical episodes by ABC-SMC.

Likelihood-free inference (approximate Bayesian computation, sequential Monte Carlo, in the
population Monte Carlo form of Beaumont, Cornuet, Marin & Robert 2009, with the tolerance of each
generation set adaptively as a quantile of the previous one's distances, Del Moral, Doucet & Jasra
2012; Drovandi & Pettitt 2011):

- **prior**: independent uniforms on the ranges given (``--parameters name=low:high``);
- **simulation of a particle** θ: each episode of ``scenarios/history/`` is run with
  ``replicates_per_particle`` replicates at θ. All the particles of a batch run as one ensemble (a
  ``ParameterSample`` with ``assign: replicate`` gives replicate r the parameters of particle
  ``r mod P``; every batch takes replicate indices not used before, so no particle slot shares the
  random numbers of an earlier one), so a batch costs one run of each episode, split into blocks that run in this
  process, on local workers or on a Dask scheduler (``simulator.runs.evaluators``, as sweeps do);
- **distance**: the Brier score of θ over every binary fact of every episode (applied, joined,
  not_applied, not_joined): ``d(θ) = mean_f (p_f(θ) − y_f)²`` with ``p_f`` estimated by the share
  ``p̂_f`` of θ's n replicates in which the event happens by the end of the episode (the same event
  definitions as ``sim backtest``), each term corrected by ``− p̂_f(1 − p̂_f)/(n − 1)`` so that the
  estimate is unbiased (``Simulator.distances``). Spending facts are not part of the distance (the calibrated parameters are
  those of decisions; docs/VALIDATION.md);
- **generation 0**: ``particles / quantile`` draws from the prior; the best ``particles`` are kept;
- **generation t ≥ 1**: the tolerance ε_t is the ``quantile`` of the previous population's
  distances; candidates are drawn from the previous population by weight and moved by a Gaussian
  kernel with twice its weighted covariance (Beaumont et al. 2009), redrawn until inside the prior;
  a candidate is accepted if d ≤ ε_t, in batches until ``particles`` are accepted; weights
  ``w_i ∝ π(θ_i) / Σ_j w_j K(θ_i | θ_j)``;
- it stops after ``generations``, or earlier when a generation accepts fewer than
  ``min_acceptance`` of its candidates.

Every draw of the algorithm comes from ``numpy.random.Generator(PCG64(SeedSequence([seed, t])))``
in this process, and the simulations are the counter-based streams of the engine, so the same seed
gives the same posterior whatever the number of workers or the block size.

Output directory: ``posterior.parquet`` (the last population: parameters, weight, distance),
``populations.parquet`` (every generation), ``calibration.json`` (settings, priors, per-generation
tolerance, acceptance, effective sample size, posterior summaries) and, from the CLI,
``figures/pairs.png`` (analysis.calibration).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.errors import InputError, suggest
from simulator.scenario.language import ParameterSample, Scenario, revalidated
from simulator.scenario.params import PARAMS

DEFAULT_PARTICLES = 100
DEFAULT_REPLICATES = 10  # per particle and episode
DEFAULT_GENERATIONS = 4
DEFAULT_QUANTILE = 0.5
MIN_ACCEPTANCE = 0.02
MAX_BATCHES = 20  # per generation
DEFAULT_BLOCK = 500


# ---------------------------------------------------------------- priors
@dataclass(frozen=True)
class Prior:
    """A uniform prior on [low, high]."""

    name: str
    low: float
    high: float


def parse_priors(specs: list[str]) -> list[Prior]:
    """``name=low:high`` (or ``name``: a quarter to four times the default, within the bounds)."""
    if not specs:
        raise InputError("--parameters: name at least one parameter, e.g. --parameters switch_cost=0.5:4")
    out: list[Prior] = []
    for text in specs:
        for item in [t for t in text.split(",") if t.strip()]:
            name, _, rng = item.strip().partition("=")
            if name not in PARAMS:
                raise InputError(f"--parameters: unknown parameter '{name}'{suggest(name, PARAMS)}")
            spec = PARAMS[name]
            if rng:
                try:
                    low, high = (float(x) for x in rng.split(":"))
                except ValueError:
                    raise InputError(f"--parameters: '{item}' is not name=low:high (e.g. switch_cost=0.5:4)") from None
            elif spec.default > 0:
                low, high = max(spec.low, spec.default / 4), min(spec.high, spec.default * 4)
            else:
                low, high = spec.low, spec.high
            if not (spec.low <= low < high <= spec.high):
                raise InputError(
                    f"--parameters: {name} range {low:g}:{high:g} must be increasing and inside its bounds "
                    f"{spec.low:g}..{spec.high:g}"
                )
            if any(p.name == name for p in out):
                raise InputError(f"--parameters: {name} is named twice")
            out.append(Prior(name, low, high))
    if not out:
        raise InputError("--parameters: name at least one parameter, e.g. --parameters switch_cost=0.5:4")
    return out


# ---------------------------------------------------------------- the facts a particle is scored on
@dataclass(frozen=True)
class Fact:
    """One binary fact of one episode: did state s have event `codes` in bloc b by the end (y)?"""

    episode: str
    label: str
    state: int
    bloc: int
    codes: tuple[int, ...]
    y: float


def episode_facts(name: str, scenario: Scenario) -> list[Fact]:
    """The binary facts of an episode, with the state, bloc and event codes of its world."""
    from simulator.engine.timeline import KIND_CODE
    from simulator.runs.blocks import world_for
    from simulator.runs.timeline import FirstEvents
    from simulator.scenario.observed import BINARY_KINDS

    world = world_for(scenario)
    section = {"application": "first_application", "accession": "accession"}
    out = []
    for fact in scenario.observed:
        if fact.kind not in BINARY_KINDS:
            continue
        event, y = BINARY_KINDS[fact.kind]
        codes = tuple(int(c) for c in FirstEvents.KINDS[section[event]])
        assert all(c in KIND_CODE.values() for c in codes)
        out.append(
            Fact(
                name,
                f"{fact.kind} {fact.state} {fact.bloc}",
                world.index(fact.state),
                world.bloc_index(fact.bloc),
                codes,
                float(y),
            )
        )
    return out


def fact_counts(events: np.ndarray, facts: list[Fact], n_particles: int) -> np.ndarray:
    """(P, F) the number of each particle's replicates in which each fact's event happened.

    ``events`` are a block's (n, 5+) rows (replicate, step, state, bloc, kind); replicate r belongs
    to particle ``r mod P``.
    """
    out = np.zeros((n_particles, len(facts)), dtype=np.int64)
    if len(events) == 0:
        return out
    for f, fact in enumerate(facts):
        rows = events[(events[:, 2] == fact.state) & (events[:, 3] == fact.bloc) & np.isin(events[:, 4], fact.codes)]
        if len(rows):
            reps = np.unique(rows[:, 0].astype(np.int64))
            out[:, f] += np.bincount(reps % n_particles, minlength=n_particles)
    return out


def calibration_task(scenario_json: str, seed: int, start: int, stop: int, facts: list[Fact], n_particles: int):
    """One block of one episode's batch: the fact counts per particle (a pure function of its arguments)."""
    from simulator.runs.blocks import run_block

    scenario = Scenario.model_validate_json(scenario_json)
    block = run_block(scenario, seed, start, stop, timeline=True)
    return fact_counts(block.events, facts, n_particles)


# ---------------------------------------------------------------- simulation of a batch of particles
@dataclass
class Simulator:
    """Runs batches of particles on the episodes; counts simulations."""

    episodes: list[tuple[str, Scenario]]
    names: list[str]
    replicates: int
    seed: int
    evaluator: object  # simulator.runs.evaluators.Evaluator (entered)
    block_size: int = DEFAULT_BLOCK
    given: list[list[Fact]] | None = None  # facts per episode (default: the episodes' observed sections)
    facts: list[Fact] = field(default_factory=list)
    simulations: int = 0
    replicates_run: int = 0
    batches: int = 0
    offset: int = 0  # the first replicate index the next batch may use
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.per_episode = self.given or [episode_facts(name, sc) for name, sc in self.episodes]
        self.facts = [f for fs in self.per_episode for f in fs]
        if not self.facts:
            raise InputError("the episodes have no binary facts (applied, joined, not_applied, not_joined) to fit")
        self.y = np.array([f.y for f in self.facts])

    def probabilities(self, particles: np.ndarray, replicates: int | None = None) -> np.ndarray:
        """(P, F) each particle's probability of each fact (the share of its replicates)."""
        from simulator.runs.blocks import plan_blocks
        from simulator.runs.evaluators import Call

        t0 = time.perf_counter()
        P = len(particles)
        per = replicates or self.replicates
        sample = ParameterSample(parameters=self.names, rows=particles.tolist(), assign="replicate")
        n = P * per
        # Fresh random numbers for every batch: batch k runs replicates [k0, k0 + n), k0 = (replicates run
        # so far) rounded up to a multiple of P, so replicate r still belongs to particle r mod P but no
        # particle slot reuses the replicates (the random streams) of an earlier batch.
        k0 = -(-self.offset // P) * P
        self.offset = k0 + n
        self.replicates_run += n * len(self.episodes)
        calls, owner = [], {}
        for e, ((name, sc), facts) in enumerate(zip(self.episodes, self.per_episode, strict=True)):
            js = revalidated(sc, posterior=sample, replicates=n, seed=self.seed).model_dump_json()
            for a, b in plan_blocks(n, self.block_size):
                key = f"sim-calibrate-{self.batches}-{name}-{a}"
                owner[key] = e
                calls.append(Call(key, calibration_task, (js, self.seed, k0 + a, k0 + b, facts, P)))
        counts = [np.zeros((P, len(f)), dtype=np.int64) for f in self.per_episode]
        for call, result in self.evaluator.as_completed(calls):  # integer counts: the order does not matter
            counts[owner[call.key]] += result
        self.batches += 1
        self.simulations += P
        self.seconds += time.perf_counter() - t0
        return np.concatenate([c / per for c in counts], axis=1)

    def distances(self, particles: np.ndarray, replicates: int | None = None) -> np.ndarray:
        """The Brier score of each particle, corrected for the sampling noise of its estimated probabilities.

        With p̂ the share of n replicates, E[(p̂ − y)²] = (p − y)² + p(1 − p)/n: the noise would
        penalise particles whose probabilities are near 0.5. ``(p̂ − y)² − p̂(1 − p̂)/(n − 1)`` is
        unbiased for (p − y)², the Brier score of the particle's true probabilities.
        """
        n = replicates or self.replicates
        p = self.probabilities(particles, n)
        raw = (p - self.y[None, :]) ** 2
        if n > 1:
            raw = raw - p * (1.0 - p) / (n - 1)
        return raw.mean(axis=1)


# ---------------------------------------------------------------- ABC-SMC
@dataclass
class Generation:
    t: int
    epsilon: float
    particles: np.ndarray  # (N, k)
    weights: np.ndarray  # (N,) summing to 1
    distances: np.ndarray  # (N,)
    candidates: int
    seconds: float

    @property
    def acceptance(self) -> float:
        return len(self.particles) / self.candidates if self.candidates else 0.0

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.weights**2))


def _rng(seed: int, t: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(t)])))


def _inside(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.all((x >= lo) & (x <= hi), axis=-1)


def _kernel_density(x: np.ndarray, centres: np.ndarray, weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Σ_j w_j N(x_i; centre_j, cov) for each row of x (the normalising constant cancels in the weights)."""
    inv = np.linalg.inv(cov)
    diff = x[:, None, :] - centres[None, :, :]
    q = np.einsum("ijk,kl,ijl->ij", diff, inv, diff)
    return (np.exp(-0.5 * q) * weights[None, :]).sum(axis=1)


def abc_smc(
    simulator: Simulator,
    priors: list[Prior],
    particles: int = DEFAULT_PARTICLES,
    generations: int = DEFAULT_GENERATIONS,
    quantile: float = DEFAULT_QUANTILE,
    seed: int = 0,
    min_acceptance: float = MIN_ACCEPTANCE,
    progress: Callable[[str], None] | None = None,
) -> list[Generation]:
    """Run ABC-SMC; returns the populations, the last being the posterior sample."""
    lo = np.array([p.low for p in priors])
    hi = np.array([p.high for p in priors])
    k = len(priors)
    say = progress or (lambda _: None)
    # generation 0: rejection from the prior, keep the best `particles`
    t0 = time.perf_counter()
    rng = _rng(seed, 0)
    n0 = int(math.ceil(particles / quantile))
    cand = lo + (hi - lo) * rng.random((n0, k))
    d = simulator.distances(cand)
    order = np.argsort(d, kind="stable")[:particles]
    eps = float(d[order[-1]])
    pops = [
        Generation(0, eps, cand[order], np.full(particles, 1.0 / particles), d[order], n0, time.perf_counter() - t0)
    ]
    say(f"generation 0: epsilon {eps:.4f}, best {d[order[0]]:.4f}, {n0} candidates")
    for t in range(1, generations):
        t0 = time.perf_counter()
        prev = pops[-1]
        eps = float(np.quantile(prev.distances, quantile))
        rng = _rng(seed, t)
        mean = prev.weights @ prev.particles
        dev = prev.particles - mean
        cov = 2.0 * (dev.T * prev.weights) @ dev
        cov += np.diag(((hi - lo) * 1e-6) ** 2)  # a degenerate dimension keeps a tiny spread
        chol = np.linalg.cholesky(cov)
        accepted_x, accepted_d = [], []
        candidates = 0
        batch = particles
        for _ in range(MAX_BATCHES):
            anc = rng.choice(len(prev.particles), size=batch, p=prev.weights)
            x = prev.particles[anc] + rng.standard_normal((batch, k)) @ chol.T
            bad = ~_inside(x, lo, hi)
            while bad.any():  # redraw outside the prior's support (the prior density there is zero)
                anc2 = rng.choice(len(prev.particles), size=int(bad.sum()), p=prev.weights)
                x[bad] = prev.particles[anc2] + rng.standard_normal((int(bad.sum()), k)) @ chol.T
                bad = ~_inside(x, lo, hi)
            dx = simulator.distances(x)
            candidates += batch
            ok = dx <= eps
            accepted_x.append(x[ok])
            accepted_d.append(dx[ok])
            got = sum(len(a) for a in accepted_x)
            if got >= particles:
                break
            rate = max(got / candidates, 1.0 / candidates)
            batch = int(min(4 * particles, max(particles // 4, math.ceil((particles - got) / rate))))
        xs, ds = np.concatenate(accepted_x)[:particles], np.concatenate(accepted_d)[:particles]
        if len(xs) == 0:
            say(f"generation {t}: nothing accepted at epsilon {eps:.4f}; stopping")
            break
        w = 1.0 / _kernel_density(xs, prev.particles, prev.weights, cov)  # uniform prior: constant numerator
        w = w / w.sum()
        gen = Generation(t, eps, xs, w, ds, candidates, time.perf_counter() - t0)
        pops.append(gen)
        say(
            f"generation {t}: epsilon {eps:.4f}, acceptance {gen.acceptance:.2f}, ESS {gen.ess:.0f}, "
            f"{candidates} candidates"
        )
        if len(xs) < particles or gen.acceptance < min_acceptance:
            say(f"generation {t}: acceptance below {min_acceptance:g} or population incomplete; stopping")
            break
    return pops


# ---------------------------------------------------------------- summaries and files
def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    cw = cw / cw[-1]
    return float(x[order][min(int(np.searchsorted(cw, q)), len(x) - 1)])


def summarise(gen: Generation, priors: list[Prior]) -> dict:
    out = {}
    for j, p in enumerate(priors):
        x = gen.particles[:, j]
        mean = float(gen.weights @ x)
        sd = float(math.sqrt(max(0.0, gen.weights @ (x - mean) ** 2)))
        out[p.name] = {
            "prior": [p.low, p.high],
            "prior_sd": (p.high - p.low) / math.sqrt(12.0),
            "default": PARAMS[p.name].default,
            "mean": mean,
            "sd": sd,
            "q05": weighted_quantile(x, gen.weights, 0.05),
            "q50": weighted_quantile(x, gen.weights, 0.5),
            "q95": weighted_quantile(x, gen.weights, 0.95),
            "best_particle": float(x[int(np.argmin(gen.distances))]),  # smallest distance, not a MAP estimate
        }
    return out


def population_frame(pops: list[Generation], priors: list[Prior]) -> pd.DataFrame:
    frames = []
    for g in pops:
        f = pd.DataFrame(g.particles, columns=[p.name for p in priors])
        f.insert(0, "generation", g.t)
        f["weight"] = g.weights
        f["distance"] = g.distances
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def with_posterior(scenario: Scenario, path: str | Path) -> tuple[Scenario, list[str]]:
    """The scenario with the posterior of ``path``; and the parameters whose scenario values it replaces."""
    sample = load_posterior(path)
    replaced = sorted(set(sample.parameters) & set(scenario.parameters))
    return revalidated(scenario, posterior=sample), replaced


def load_posterior(path: str | Path) -> ParameterSample:
    """A calibration directory (or its posterior.parquet) as a ParameterSample to draw from."""
    import hashlib

    p = Path(path)
    file = p / "posterior.parquet" if p.is_dir() else p
    if not file.exists():
        raise InputError(f"--posterior: {file} not found (a directory written by `sim calibrate`)")
    try:
        frame = pd.read_parquet(file)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear error
        raise InputError(f"--posterior: {file} is not a readable Parquet file ({type(exc).__name__})") from None
    if "generation" in frame.columns:
        raise InputError(
            f"--posterior: {file} holds every generation (populations.parquet); give the directory or posterior.parquet"
        )
    names = [c for c in frame.columns if c not in ("weight", "distance")]
    if "weight" not in frame or not names or frame.empty:
        raise InputError(f"--posterior: {file} has no parameter columns and weights (written by `sim calibrate`?)")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    try:
        return ParameterSample(
            parameters=names,
            rows=frame[names].to_numpy(dtype=float).tolist(),
            weights=frame["weight"].to_numpy(dtype=float).tolist(),
            assign="draw",
            source=f"{file.parent.name}/{file.name} sha256:{digest}",
        )
    except ValueError as exc:
        raise InputError(f"--posterior: {file}: {exc}") from None


#: what `sim calibrate` writes in its directory (a calibration, or a leave-one-out with its folds)
CALIBRATION_ENTRIES = {
    "calibration.json",
    "posterior.parquet",
    "populations.parquet",
    "figures",
    "loo.json",
    "defaults",
}


def check_out(out: Path, overwrite: bool, marker: str, what: str) -> None:
    """An output directory may be new or empty; with --force, only one this command wrote (``marker``) and
    that holds only what it writes. Never '.', '/', home or a directory holding the current one."""
    from simulator.runs.rundir import refuse_unsafe

    out = Path(out)
    refuse_unsafe(out, "--out", "give a new directory")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out '{out}' is a file, not a directory")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise InputError(f"output directory '{out}' exists and is not empty; choose another --out or pass --force")
        if not (out / marker).exists():
            raise InputError(f"--force replaces only {what}; '{out}' has no {marker}")
        foreign = sorted(
            e.name for e in out.iterdir() if e.name not in CALIBRATION_ENTRIES and not e.name.startswith("without-")
        )
        if foreign:
            raise InputError(
                f"--force replaces only {what} that holds only what sim calibrate writes; '{out}' also holds "
                f"'{foreign[0]}'; give a new --out"
            )


@dataclass
class CalibrationResult:
    out_dir: Path
    populations: list[Generation]
    priors: list[Prior]
    report: dict


def run_calibration(
    files: list[str | Path],
    parameters: list[str],
    out_dir: str | Path,
    particles: int = DEFAULT_PARTICLES,
    replicates: int = DEFAULT_REPLICATES,
    generations: int = DEFAULT_GENERATIONS,
    quantile: float = DEFAULT_QUANTILE,
    seed: int = 0,
    workers: int | None = 0,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    episodes: list[tuple[str, Scenario]] | None = None,
    after_write: Callable[[Path, list[Generation], list[Prior], dict], None] | None = None,
) -> CalibrationResult:
    """Calibrate ``parameters`` on the episodes in ``files`` (or the given in-memory ``episodes``).

    ``after_write(directory, populations, priors, report)`` is called before the directory is moved
    into place (figures: analysis.calibration.pair_plot, which the CLI passes).
    """
    from simulator.runs.backtest import load_episodes
    from simulator.runs.evaluators import make_evaluator
    from simulator.runs.results import write_json

    if not 0.0 < quantile < 1.0:
        raise InputError(f"--quantile must be between 0 and 1 (got {quantile:g})")
    priors = parse_priors(parameters)
    if episodes is None:
        episodes = [(e.name, e.scenario) for e in load_episodes(files)]
    out = Path(out_dir)
    check_out(out, overwrite, "calibration.json", "a calibration directory")
    started = time.time()
    with make_evaluator(workers, scheduler) as ev:
        sim = Simulator(episodes, [p.name for p in priors], replicates, seed, ev)
        defaults = np.array([[PARAMS[p.name].default for p in priors]])
        reference_n = max(200, 10 * replicates)  # the two reference points, more precisely
        d_default = float(sim.distances(defaults, reference_n)[0])
        pops = abc_smc(sim, priors, particles, generations, quantile, seed, progress=progress)
        post = pops[-1]
        best = post.particles[int(np.argmin(post.distances))][None, :]
        mean = (post.weights @ post.particles)[None, :]
        d_mean = float(sim.distances(mean, reference_n)[0])
        description = getattr(ev, "description", type(ev).__name__)
    import shutil
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a result directory is as readable as a run's
    try:
        frame = population_frame(pops, priors)
        frame[frame["generation"] == post.t].drop(columns="generation").to_parquet(
            tmp / "posterior.parquet", index=False
        )
        frame.to_parquet(tmp / "populations.parquet", index=False)
        report = {
            "kind": "calibration",
            "method": "ABC-SMC (population Monte Carlo, adaptive tolerance); distance = Brier score over binary facts",
            "episodes": [name for name, _ in episodes],
            "files": [str(f) for f in files],
            "facts": [{"episode": f.episode, "label": f.label, "observed": f.y} for f in sim.facts],
            "parameters": [{"name": p.name, "low": p.low, "high": p.high} for p in priors],
            "particles": particles,
            "replicates_per_particle": replicates,
            "generations_requested": generations,
            "quantile": quantile,
            "seed": seed,
            "evaluator": description,
            "generations": [
                {
                    "generation": g.t,
                    "epsilon": g.epsilon,
                    "acceptance": g.acceptance,
                    "candidates": g.candidates,
                    "ess": g.ess,
                    "distance_median": float(np.median(g.distances)),
                    "distance_min": float(np.min(g.distances)),
                    "seconds": g.seconds,
                }
                for g in pops
            ],
            "simulations": sim.simulations,
            "simulated_replicates": sim.replicates_run,
            "seconds": time.time() - started,
            "reference_replicates": reference_n,
            "distance_at_defaults": d_default,
            "distance_at_posterior_mean": d_mean,
            "posterior_mean": dict(zip([p.name for p in priors], mean[0].tolist(), strict=True)),
            "best_particle": dict(zip([p.name for p in priors], best[0].tolist(), strict=True)),
            "posterior": summarise(post, priors),
        }
        write_json(tmp / "calibration.json", report)
        if after_write is not None:
            after_write(tmp, pops, priors, report)
    except BaseException:  # nothing half-written is left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():  # an empty directory, or a calibration directory replaced with --force
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        out.rename(old / out.name)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
    return CalibrationResult(out, pops, priors, report)


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2, allow_nan=False)


# ---------------------------------------------------------------- out-of-sample: leave one episode out
def leave_one_out(
    files: list[str | Path],
    parameters: list[str],
    out_dir: str | Path,
    replicates_backtest: int | None = None,
    progress: Callable[[str], None] | None = None,
    **options,
) -> dict:
    """For each episode: calibrate on the others, backtest it with that posterior and with the defaults.

    Writes ``OUT/without-NAME/`` (the calibration), ``OUT/without-NAME/heldout/`` (the backtest of
    NAME with the posterior), ``OUT/defaults/`` (the backtest of every episode at the defaults) and
    ``OUT/loo.json``; returns the table rows.
    """
    from simulator.runs.backtest import load_episodes, run_backtest
    from simulator.runs.results import write_json

    say = progress or (lambda _: None)
    out = Path(out_dir)
    parse_priors(parameters)  # bad parameters fail before anything runs
    episodes = load_episodes(files)
    if len(episodes) < 2:
        raise InputError("--leave-one-out needs at least two episodes")
    by_name = {e.name: f for e, f in zip(episodes, files, strict=True)}
    overwrite = options.pop("overwrite", False)
    check_out(out, overwrite, "loo.json", "a leave-one-out directory")
    out.mkdir(parents=True, exist_ok=True)
    # written first, so that an interrupted run can be replaced with --force; rewritten at the end
    write_json(out / "loo.json", {"kind": "leave_one_out", "parameters": parameters, "status": "running"})
    say("backtest at the defaults")
    base = run_backtest(files, out / "defaults", replicates=replicates_backtest, overwrite=True)
    rows = []
    for e in episodes:
        others = [f for n, f in by_name.items() if n != e.name]
        say(f"calibrating without {e.name}")
        cal = run_calibration(others, parameters, out / f"without-{e.name}", overwrite=True, progress=say, **options)
        post = load_posterior(cal.out_dir)
        held = run_backtest(
            [by_name[e.name]], cal.out_dir / "heldout", replicates=replicates_backtest, overwrite=True, posterior=post
        )
        s_def = next(x for x in base.report["episodes"] if x["name"] == e.name)["scores"]
        s_post = held.report["episodes"][0]["scores"]
        rows.append(
            {
                "episode": e.name,
                "calibrated_on": [n for n in by_name if n != e.name],
                "posterior_mean": cal.report["posterior_mean"],
                "brier_defaults": s_def["brier"]["model"],
                "brier_posterior": s_post["brier"]["model"],
                "brier_persistence": s_post["brier"]["persistence"],
                "brier_base_rate": s_def["brier"]["base_rate"],  # from the other episodes' outcomes
                "skill_vs_persistence_defaults": s_def["brier_skill"]["vs_persistence"],
                "skill_vs_persistence_posterior": s_post["brier_skill"]["vs_persistence"],
                "skill_vs_base_rate_defaults": s_def["brier_skill"]["vs_base_rate"],
                "skill_vs_base_rate_posterior": 1.0 - s_post["brier"]["model"] / s_def["brier"]["base_rate"],
                "log_score_defaults": s_def["log_score"]["model"],
                "log_score_posterior": s_post["log_score"]["model"],
            }
        )
    report = {"kind": "leave_one_out", "parameters": parameters, "status": "complete", "episodes": rows}
    write_json(out / "loo.json", report)
    return report
