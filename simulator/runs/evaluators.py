"""Where tasks run: in this process, on an embedded Dask cluster, on a scheduler, or on an HPC batch queue.

Every evaluator is a context manager with one method, ``as_completed(calls)``, that yields
``(call, result)`` pairs as tasks finish (in any order). Leaving the ``with`` block, normally, on an
error or on Ctrl-C, tears the workers down. Tasks must be pure functions of their arguments: a
task lost with a worker is simply run again and gives the same result.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from simulator.errors import InputError

CLUSTER_KINDS = ("slurm", "pbs")
SUBMIT_COMMANDS = {"slurm": "sbatch", "pbs": "qsub"}  # what dask-jobqueue runs to submit a worker job
RETRIES = 3
# Local worker processes beyond this many per core only add memory and start-up time (`--workers` is capped).
MAX_WORKERS_PER_CORE = 4
POLL_SECONDS = 0.02  # how often a Dask sweep looks for finished tasks while it also watches its workers
# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536. Setting it at all switches off glibc's
# dynamic mmap threshold, and at 64 KiB the engine's many short-lived arrays are mapped and unmapped
# every step: about 1.5x slower. 128 MiB keeps the speed and still returns memory between tasks.
WORKER_TRIM_THRESHOLD = "134217728"
PRE_SPAWN_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
# The scheduler's HTTP server on a free loopback port: None would try port 8787 and print a warning on
# stderr when it is taken (another sweep, a notebook); nothing of sim uses the dashboard.
NO_DASHBOARD = "127.0.0.1:0"


class ClusterFailure(InputError):
    """The cluster failed a running computation (its workers are gone, the batch system refused a job):
    an expected failure, after which the finished work is kept and can be resumed."""


class WorkersLost(ClusterFailure):
    """Every worker of a Dask cluster is gone and none came back within the timeout."""


def max_workers() -> int:
    """The most local worker processes ``--workers`` may ask for: MAX_WORKERS_PER_CORE x the cores."""
    return MAX_WORKERS_PER_CORE * (os.cpu_count() or 1)


def cap_workers(n: int, option: str = "--workers") -> tuple[int, str | None]:
    """``n`` capped at max_workers(), with the note to print when it was capped."""
    top = max_workers()
    if n <= top:
        return n, None
    cores = os.cpu_count() or 1
    return top, (
        f"{option} {n:,} is more than {MAX_WORKERS_PER_CORE} per core on this machine ({cores} cores); using {top}"
    )


def check_memory(text: str, option: str = "--cluster-memory") -> str:
    """A batch job's memory (``8GB``, ``64GiB``, ``500MB``); a one-line InputError otherwise."""
    from dask.utils import parse_bytes

    try:
        size = parse_bytes(str(text).strip())
    except (ValueError, TypeError, KeyError, OverflowError):  # OverflowError: '1e400GB'
        size = None
    if not size or size <= 0:
        raise InputError(f"{option} '{text}' is not an amount of memory; give e.g. 8GB, 64GiB or 500MB")
    return str(text).strip()


@dataclass(frozen=True)
class Call:
    """One task: ``fn(*args)``, with a key that names it in logs and dashboards."""

    key: str
    fn: Callable[..., Any]
    args: tuple = ()


@dataclass
class ClusterOptions:
    """Batch-queue resources of one job (``--cluster-*`` options); each job runs ``cores`` workers."""

    cores: int = 4
    memory: str = "8GB"
    walltime: str = "01:00:00"
    queue: str | None = None
    account: str | None = None
    jobs: int = 1
    interface: str | None = None
    prologue: list[str] = field(default_factory=list)
    directives: list[str] = field(default_factory=list)


class Evaluator:
    """Runs calls and yields their results as they complete."""

    description = "evaluator"

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release workers (idempotent)."""

    def workers(self) -> int:
        """Worker threads available now (for the record and to size the submission window)."""
        return 1

    def as_completed(self, calls: Iterable[Call]) -> Iterator[tuple[Call, Any]]:
        raise NotImplementedError


class InProcess(Evaluator):
    """Runs each call in this process, in order (tests, debugging, a single core)."""

    description = "in-process"

    def as_completed(self, calls: Iterable[Call]) -> Iterator[tuple[Call, Any]]:
        for call in calls:
            yield call, call.fn(*call.args)


class DaskEvaluator(Evaluator):
    """Submits calls to a ``distributed.Client``; at most a window of tasks is in flight at a time.

    The window (a few tasks per worker thread) keeps the scheduler's and client's memory bounded
    however many tasks a sweep has; a task whose worker dies is rescheduled (``retries``).
    """

    def __init__(self, lost_timeout: float = 10.0) -> None:
        self.client: Any = None
        self.cluster: Any = None  # set by evaluators that start their own cluster
        self._threads = (0.0, 0)
        self.lost_timeout = lost_timeout  # seconds without any worker, once there were some, before giving up

    def workers(self) -> int:
        now = time.monotonic()
        if now - self._threads[0] > 1.0 and self.client is not None:
            with contextlib.suppress(Exception):  # a transient scheduler hiccup must not stop the sweep
                self._threads = (now, sum(self.client.nthreads().values()))
            if self._threads[0] and now - self._threads[0] > self.lost_timeout:
                return 0  # the scheduler has not answered for --timeout: no worker can be counted on
        return self._threads[1]

    def check_failures(self) -> None:
        """Raise an InputError for a failure the cluster reported outside any task (a refused batch job)."""

    def as_completed(self, calls: Iterable[Call]) -> Iterator[tuple[Call, Any]]:
        from distributed import as_completed

        todo = iter(calls)
        in_flight: dict[Any, Call] = {}
        tag = uuid.uuid4().hex[:8]
        done = as_completed()

        def fill() -> None:
            limit = max(4, 3 * self.workers())
            while len(in_flight) < limit:
                call = next(todo, None)
                if call is None:
                    return
                fut = self.client.submit(call.fn, *call.args, key=f"{call.key}-{tag}", pure=False, retries=RETRIES)
                in_flight[fut] = call
                done.add(fut)

        fill()
        watch = _WorkerWatch(self)
        try:
            while in_flight:
                if not done.has_ready():
                    watch.check()  # WorkersLost once no worker has been seen for lost_timeout seconds
                    time.sleep(POLL_SECONDS)
                    continue
                fut = next(done)
                call = in_flight.pop(fut)
                result = fut.result()
                fut.release()
                watch.alive()
                yield call, result
                fill()
        finally:
            for fut in in_flight:
                fut.cancel()

    def close(self) -> None:
        """Close the client, then the cluster if this evaluator started one."""
        if self.client is not None:
            client, self.client = self.client, None
            _quietly(client.close)
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            _quietly(cluster.close)


class _WorkerWatch:
    """Notices when a Dask cluster has had no worker for ``lost_timeout`` seconds (after having had some).

    A cluster that never had a worker (batch jobs still queued) is waited for; one whose workers all
    died (killed, out of memory, wall time over) would otherwise leave the client waiting forever.
    """

    def __init__(self, evaluator: DaskEvaluator) -> None:
        self.evaluator = evaluator
        self.seen = evaluator.workers() > 0
        self.gone_since: float | None = None

    def alive(self) -> None:
        self.seen, self.gone_since = True, None

    def check(self) -> None:
        self.evaluator.check_failures()
        if self.evaluator.workers() > 0:
            self.alive()
            return
        if not self.seen:
            return
        now = time.monotonic()
        if self.gone_since is None:
            self.gone_since = now
        elif now - self.gone_since > self.evaluator.lost_timeout:
            raise WorkersLost(
                f"every Dask worker is gone and none came back within {self.evaluator.lost_timeout:g} s (--timeout)"
            )


class DaskLocal(DaskEvaluator):
    """An embedded ``LocalCluster`` of ``n`` single-threaded worker processes on loopback."""

    def __init__(self, n: int, lost_timeout: float = 10.0) -> None:
        super().__init__(lost_timeout)
        self.n = n
        self.description = f"Dask LocalCluster, {n} worker process{'es' if n != 1 else ''}"

    def __enter__(self) -> DaskLocal:
        import dask
        from distributed import Client, LocalCluster

        _quiet_logs()
        try:
            with _workers_ignore_sigint(), dask.config.set({PRE_SPAWN_TRIM: worker_trim_threshold()}):
                self.cluster = LocalCluster(
                    n_workers=self.n,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=NO_DASHBOARD,
                    silence_logs=logging.ERROR,
                )
            self.client = Client(self.cluster)
        except (KeyboardInterrupt, MemoryError, OSError):
            self.close()
            raise  # Ctrl-C; a full disk or too little memory: the CLI's own one-line messages
        except Exception as exc:  # noqa: BLE001 - a cluster that does not start is the machine's limit, not a bug
            self.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(
                f"the local Dask cluster of {self.n} worker process{'es' if self.n != 1 else ''} did not start "
                f"({type(exc).__name__}: {reason}); use fewer --workers, or --workers 0 to run in this process"
            ) from None
        except BaseException:
            self.close()
            raise
        return self


class DaskScheduler(DaskEvaluator):
    """An existing Dask cluster, reached at a scheduler address (``tcp://host:port``) or a scheduler file."""

    def __init__(self, address: str, timeout: float = 10.0, wait_for_workers: bool = True) -> None:
        super().__init__(timeout)
        self.address = address
        self.timeout = timeout
        self.wait = wait_for_workers
        self.description = f"Dask scheduler at {address}"

    def __enter__(self) -> DaskScheduler:
        from distributed import Client

        _quiet_logs()
        # tcp://HOST:PORT, HOST:PORT (Dask's default protocol) or the path of a scheduler file
        host_port = re.fullmatch(r"[^/\s]+:\d+", self.address) is not None
        is_file = "://" not in self.address and (os.path.exists(self.address) or not host_port)
        if is_file:
            _check_scheduler_file(self.address)
        try:
            if is_file:
                self.client = Client(scheduler_file=self.address, timeout=self.timeout)
            else:
                self.client = Client(self.address, timeout=self.timeout)
        except (KeyboardInterrupt, MemoryError):
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the connection raises, the scheduler is not reachable
            self.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(f"cannot reach the Dask scheduler at {self.address}: {reason}") from None
        if self.wait:
            try:
                self.client.wait_for_workers(1, timeout=self.timeout)
            except (OSError, TimeoutError):
                self.close()
                raise InputError(
                    f"the Dask scheduler at {self.address} has no workers (waited {self.timeout:g} s); "
                    "start some with: dask worker " + self.address
                ) from None
        return self


def _check_scheduler_file(path: str) -> None:
    """``--scheduler PATH``: a file written by ``dask scheduler --scheduler-file`` (JSON with an ``address``)."""
    import json

    what = "give tcp://HOST:PORT or a file written by 'dask scheduler --scheduler-file'"
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(f"--scheduler '{path}' is neither a scheduler address nor an existing file; {what}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
        raise InputError(f"--scheduler '{path}' is not a readable scheduler file ({reason}); {what}") from None
    if not isinstance(data, dict) or not isinstance(data.get("address"), str):
        raise InputError(f"--scheduler '{path}' is not a scheduler file (it has no 'address'); {what}")


class DaskJobqueue(DaskEvaluator):
    """Workers submitted as batch jobs (SLURM or PBS) through dask-jobqueue (the ``cluster`` extra)."""

    def __init__(self, kind: str, options: ClusterOptions, loopback: bool = False, lost_timeout: float = 60.0) -> None:
        super().__init__(lost_timeout)
        if kind not in CLUSTER_KINDS:
            from simulator.errors import suggest

            raise InputError(f"unknown --cluster '{kind}'{suggest(kind, CLUSTER_KINDS)}")
        check_memory(options.memory)
        self.kind = kind
        self.options = options
        self.loopback = loopback
        self.description = f"dask-jobqueue {kind.upper()}, {options.jobs} job(s) x {options.cores} workers"
        self.refused: list[BaseException] = []  # submissions the batch system refused (see make_cluster)

    def make_cluster(self) -> Any:
        """The jobqueue cluster object (starts a scheduler here; submits nothing until scaled)."""
        try:
            import dask_jobqueue
        except ImportError:
            raise InputError(
                "--cluster needs dask-jobqueue: pip install 'coalition-sim[cluster]' (or pip install dask-jobqueue)"
            ) from None
        o = self.options
        cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[self.kind]
        refused = self.refused

        class RecordedJob(cls.job_cls):  # type: ignore[name-defined,misc]
            """A job whose failed submission (sbatch or qsub refused it) the sweep reports instead of waiting."""

            async def start(self) -> None:
                try:
                    await super().start()
                except Exception as exc:
                    refused.append(exc)
                    raise

        scheduler_options: dict[str, Any] = {"dashboard_address": NO_DASHBOARD}
        if self.loopback:
            scheduler_options["host"] = "127.0.0.1"
        kwargs: dict[str, Any] = {
            "cores": o.cores,
            "processes": o.cores,  # one single-threaded worker process per core
            "memory": o.memory,
            "walltime": o.walltime,
            "queue": o.queue,
            "account": o.account,
            "python": sys.executable,
            "job_script_prologue": [
                "export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1",
                f"export MALLOC_TRIM_THRESHOLD_={worker_trim_threshold()}",
                *o.prologue,
            ],
            "job_extra_directives": list(o.directives),
            "scheduler_options": scheduler_options,
            "job_cls": RecordedJob,
        }
        if o.interface:
            kwargs["interface"] = o.interface
        _quiet_logs()
        return cls(**kwargs)

    def job_script(self) -> str:
        """The batch script each job would run, without submitting anything."""
        cluster = self.make_cluster()
        try:
            return cluster.job_script()
        finally:
            _quietly(cluster.close)

    def __enter__(self) -> DaskJobqueue:
        import shutil

        from distributed import Client

        command = SUBMIT_COMMANDS[self.kind]
        if shutil.which(command) is None:
            raise InputError(
                f"--cluster {self.kind} submits its workers with '{command}', which is not on this machine's PATH; "
                f"run sim sweep on a node that can submit {self.kind.upper()} jobs, or use --scheduler"
            )
        try:
            self.cluster = self.make_cluster()
            self.cluster.scale(jobs=self.options.jobs)
            self.client = Client(self.cluster)
        except (KeyboardInterrupt, MemoryError, OSError, InputError):
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. an --cluster-interface this machine does not have
            self.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(
                f"the {self.kind.upper()} cluster did not start ({type(exc).__name__}: {reason})"
            ) from None
        except BaseException:
            self.close()
            raise
        return self

    def check_failures(self) -> None:
        if self.refused:
            reason = " ".join(str(self.refused[0]).split()) or type(self.refused[0]).__name__
            command = SUBMIT_COMMANDS[self.kind]
            raise ClusterFailure(
                f"{command} did not accept the worker job ({reason}); check --cluster-queue, --cluster-account "
                "and --cluster-directive (--print-job-script shows the script)"
            )


def make_evaluator(
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_options: ClusterOptions | None = None,
    timeout: float = 10.0,
) -> Evaluator:
    """Choose an evaluator: ``scheduler`` > ``cluster`` > ``workers`` (0 = in this process).

    Args:
        workers: local worker processes (default: the number of cores; 0 runs in-process).
        scheduler: address (``tcp://host:port``) or scheduler file of a running Dask cluster.
        cluster: ``slurm`` or ``pbs`` to submit workers as batch jobs.
        cluster_options: resources of those jobs.
        timeout: seconds to wait for a scheduler (and for its first worker), and for a worker again when
            all have gone (at least 60 s for batch jobs, whose replacements queue).
    """
    if scheduler:
        return DaskScheduler(scheduler, timeout=timeout)
    if cluster:
        return DaskJobqueue(cluster, cluster_options or ClusterOptions(), lost_timeout=max(timeout, 60.0))
    n = (os.cpu_count() or 1) if workers is None else workers
    return InProcess() if n == 0 else DaskLocal(min(n, max_workers()), lost_timeout=timeout)


@contextlib.contextmanager
def _workers_ignore_sigint():
    """Spawn worker processes with SIGINT ignored: Ctrl-C reaches the whole process group, but only the
    client should handle it (it closes the cluster); otherwise every worker prints a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def worker_trim_threshold() -> str:
    """MALLOC_TRIM_THRESHOLD_ for worker processes: the user's if set, else WORKER_TRIM_THRESHOLD."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_", WORKER_TRIM_THRESHOLD)


def _quiet_logs() -> None:
    """Dask's connection and shutdown chatter is not for analysts; real failures still raise."""
    names = ("distributed", "distributed.client", "distributed.scheduler", "distributed.nanny", "tornado")
    # tornado.application logs the failed submission of a batch job (reported by DaskJobqueue.check_failures)
    for name in (*names, "tornado.application", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _quietly(fn: Callable[[], Any]) -> None:
    with contextlib.suppress(Exception):  # closing a cluster that is already gone is not an error
        fn()
