"""Running a sweep on Dask: a LocalCluster on this machine's cores, or any cluster by address.

Each task evaluates a batch of runs on a worker and returns their outcomes; this process
stores each batch the moment it comes back, so a crash loses only the runs in flight, and
workers need no shared disk (a cluster of several machines works the same as a laptop).
A bounded number of tasks is in flight at a time, so memory does not grow with the sweep.
Every run is determined by its input and seed alone: the results are the same whatever
the number of workers or the order runs finish in.

`distributed` is imported when a sweep runs, not when `sim` is imported, to keep the
other commands quick to start.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from sim.report.files import write_json
from sim.report.folders import folder_lock, kept_if_refused
from sim.scenario.loading import Problem, ScenarioError
from sim.sweep.models import Job, RunRecord, evaluate_batch
from sim.sweep.plan import Plan, PlannedRun, Work, make_plan
from sim.sweep.spec import Sweep, load_sweep
from sim.sweep.store import MANIFEST, Compacted, RunStore, check_folder, compact, manifest, write_inputs

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

TASKS_PER_THREAD = 2  # tasks queued per worker thread: keeps workers busy without piling up inputs
MIN_IN_FLIGHT = 4
THREADS_CHECK_S = 5.0  # how often to ask the scheduler how many threads it has (clusters grow)


@dataclass(frozen=True)
class SweepRun:
    """How a call to `run_sweep` went, and where its outputs are."""

    folder: Path
    plan: Plan = field(repr=False)
    reused: int  # distinct runs already stored before this call
    executed: int  # distinct runs computed by this call
    compacted: Compacted
    elapsed_s: float
    workers: int

    @property
    def results(self) -> Path:
        return self.folder / "results.parquet"

    @property
    def complete(self) -> bool:
        return self.compacted.failed == 0 and self.compacted.missing == 0


def run_sweep(
    sweep: Sweep | str | Path,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Client | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    force: bool = False,
    overrides: list[str] | None = None,
) -> SweepRun:
    """Run every run of the sweep not stored yet, then compact the stored runs into the dataset.

    `workers`: local processes (default: all cores); `scheduler`: the address of a running
    Dask scheduler instead; `client`: a Dask client to use as is (for notebooks and tests).
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep, overrides)
    folder = Path(out) if out is not None else Path("runs") / sweep.name
    with folder_lock(folder), kept_if_refused(folder, kept_in_store(folder / "runs")):
        check_folder(folder, sweep.name, replace=force)
        return _run_locked(sweep, folder, workers, scheduler, client, batch_size, progress)


def kept_in_store(runs: Path) -> str:
    """What a sweep or calibration stopped by a refused write keeps, and how to go on from it."""
    return (
        f"runs stored in {runs} before it are kept, each whole, and files written earlier are unchanged; "
        "free space or make the folder writable (or choose another --out), then run the same command "
        "again: stored runs are reused"
    )


def _run_locked(
    sweep: Sweep,
    folder: Path,
    workers: int | None,
    scheduler: str | None,
    client: Client | None,
    batch_size: int | None,
    progress: bool,
) -> SweepRun:
    """The sweep itself, while this process holds the folder's lock."""
    plan = make_plan(sweep)
    started = _now()
    write_inputs(folder, plan, {"state": "running", "started": started})
    store = RunStore(folder / "runs")
    keep = bool(sweep.outcomes and sweep.outcomes.trajectory_columns)
    distinct = plan.first_runs()
    done = store.index(keep).done
    todo = [planned for key, planned in distinct.items() if key not in done]
    began = time.perf_counter()
    threads = 0
    if todo:
        with connect(workers, scheduler, client) as dask:
            threads = _threads(dask)
            execute(dask, plan, todo, store, batch_size or sweep.model.batch_size, progress, len(distinct))
    compacted = compact(folder, plan, store.index(keep), keep)
    elapsed = time.perf_counter() - began
    status = {
        "state": "complete" if compacted.failed == compacted.missing == 0 else "incomplete",
        "started": started,
        "finished": _now(),
        "ok": compacted.ok,
        "failed": compacted.failed,
        "missing": compacted.missing,
        "reused": len(distinct) - len(todo),
        "executed": len(todo),
        "elapsed_s": round(elapsed, 3),
        "workers": threads,
    }
    write_json(folder / MANIFEST, manifest(plan, status))
    return SweepRun(folder, plan, len(distinct) - len(todo), len(todo), compacted, elapsed, threads)


@dataclass(frozen=True)
class Preview:
    """What a sweep would run, without running it: for `sim sweep --dry-run`."""

    plan: Plan
    folder: Path
    distinct: int
    stored: int

    @property
    def to_run(self) -> int:
        return self.distinct - self.stored


def preview(sweep: Sweep, out: str | Path | None = None) -> Preview:
    """The plan and how much of it the output folder already holds."""
    folder = Path(out) if out is not None else Path("runs") / sweep.name
    plan = make_plan(sweep)
    distinct = plan.first_runs()
    stored = 0
    if (folder / "runs").is_dir():
        keep = bool(sweep.outcomes and sweep.outcomes.trajectory_columns)
        done = RunStore(folder / "runs").index(keep).done
        stored = sum(key in done for key in distinct)
    return Preview(plan, folder, len(distinct), stored)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def default_workers() -> int:
    """One worker process per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@contextmanager
def connect(workers: int | None, scheduler: str | None, client: Client | None) -> Iterator[Client]:
    """A Dask client: the one given, one connected to `scheduler`, or a LocalCluster of processes.

    Local workers are processes with one thread each: the model is pure Python and NumPy,
    so threads would contend for the interpreter lock rather than run in parallel.
    """
    if client is not None:
        yield client
        return
    from distributed import Client

    if scheduler is not None:
        try:
            remote = Client(scheduler, timeout="30s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ScenarioError(
                [Problem("--scheduler", scheduler, f"cannot connect to the Dask scheduler: {exc}")]
            ) from None
        with remote:
            yield remote
        return
    with local_cluster(workers or default_workers()) as cluster, Client(cluster, set_as_default=False) as local:
        yield local


# Dask's nanny starts every worker with MALLOC_TRIM_THRESHOLD_=65536, to hand freed memory
# back to the system sooner. Setting it turns off glibc's adaptive mmap threshold: every
# large NumPy array is then mapped and unmapped afresh, which doubles a market run's time.
# Sweep workers keep glibc's default (docs/sweeps.md shows the same for `dask worker`).
KEEP_MALLOC_DEFAULTS = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def local_cluster(workers: int) -> LocalCluster:
    """A LocalCluster of single-threaded worker processes, set up for the model's speed."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(KEEP_MALLOC_DEFAULTS):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )


def _threads(client: Client) -> int:
    return sum(client.nthreads().values())


def _batches(todo: list[PlannedRun], size: int) -> Iterator[list[PlannedRun]]:
    for start in range(0, len(todo), max(1, size)):
        yield todo[start : start + size]


class _Submitter:
    """Submits batches as tasks, keeping enough in flight to feed every worker thread."""

    def __init__(self, client: Client, plan: Work, batches: Iterator[list[PlannedRun]]) -> None:
        from distributed import as_completed

        self.client, self.plan, self.batches = client, plan, batches
        self.pending = as_completed(loop=client.loop)
        self.in_flight: dict[str, list[PlannedRun]] = {}
        self.threads, self.checked = _threads(client), time.monotonic()
        self.model = plan.model

    def top_up(self) -> None:
        if time.monotonic() - self.checked > THREADS_CHECK_S:
            self.threads, self.checked = _threads(self.client), time.monotonic()
        wanted = max(MIN_IN_FLIGHT, TASKS_PER_THREAD * self.threads)
        for batch in islice(self.batches, max(0, wanted - len(self.in_flight))):
            self._submit(batch)

    def _submit(self, batch: list[PlannedRun]) -> None:
        prepared: dict[int, Any] = {}
        jobs = []
        for planned in batch:
            if planned.point not in prepared:
                prepared[planned.point] = self.plan.prepared(planned.point)
            jobs.append(Job(planned.key, planned.seed, prepared[planned.point]))
        future = self.client.submit(evaluate_batch, self.model, jobs, self.plan.outcomes, pure=False)
        self.in_flight[future.key] = batch
        self.pending.add(future)

    def finished(self) -> Iterator[tuple[Future, list[PlannedRun]]]:
        for future in self.pending:
            yield future, self.in_flight.pop(future.key)


def execute(
    client: Client,
    plan: Work,
    todo: list[PlannedRun],
    store: RunStore,
    batch_size: int,
    progress: bool,
    total: int | None = None,
) -> int:
    """Run `todo` on the cluster, storing each batch as it returns; the number of failed runs.

    The progress bar counts all `total` distinct runs, those stored before included, so a
    resumed sweep shows where it stands; its rate and time left count this call's runs only.
    """
    submitter = _Submitter(client, plan, _batches(todo, batch_size))
    failed = 0
    total = total or len(todo)
    bar = tqdm(total=total, initial=total - len(todo), desc=plan.name, unit="run", disable=not progress, smoothing=0.1)
    with bar:
        submitter.top_up()
        for future, batch in submitter.finished():
            records = _records(future, batch, plan.model_version)
            store.save(records)
            failed += sum(not r.ok for r in records)
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(len(records))
            future.release()
            submitter.top_up()
    return failed


def _records(future: Future, batch: list[PlannedRun], expected_version: str) -> list[RunRecord]:
    """The batch's records; a task that could not finish (a worker died) fails each of its runs."""
    try:
        records = future.result()
    except Exception as exc:  # the task itself failed: KilledWorker, lost connection, ...
        error = f"{type(exc).__name__}: {exc}"
        return [RunRecord(p.key, p.seed, False, 0.0, "", expected_version, error=error) for p in batch]
    return [_checked(record, expected_version) for record in records]


def _checked(record: RunRecord, expected: str) -> RunRecord:
    """Refuse results from a worker running other model code than this process planned with."""
    if record.model_version == expected:
        return record
    error = (
        f"the worker runs model version {record.model_version}, the sweep was planned with {expected}: "
        "install the same version of sim on every worker"
    )
    return RunRecord(record.key, record.seed, False, record.elapsed_s, record.worker, record.model_version, error=error)
