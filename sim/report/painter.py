"""Drawing a run's charts in helper processes, so that they add the least to the user's wait.

Importing matplotlib and drawing a run's two charts take longer than the baseline takes to
simulate, and matplotlib draws on one core. `sim run` therefore starts a `Painter` before it
imports the model: its processes import matplotlib while the model runs (at a lower priority,
so the model keeps its core), then draw one chart each while the command writes the tables.
The command waits for every chart before the output folder is committed; a chart that fails
fails the whole set, as if it had been drawn in-process.

The charts are the same either way: a painter calls the same figure functions on the same
numbers (`ChartData`, sim/report/chart_data.py: the arrays a chart reads, without the model's
classes or pandas, so a painter imports neither Mesa nor pandas). Python callers of `save_run`
draw in their own process by default.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.report.chart_data import ChartData
    from sim.run import RunResult

PAINTER_NICENESS = 5  # below the command's own priority: the model keeps its core while painters import


class Painter:
    """Processes that draw charts; use as a context manager and start it early."""

    def __init__(self, processes: int = 2) -> None:
        method = start_method()
        context = multiprocessing.get_context(method)
        self._links: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        try:
            for _ in range(processes):
                self._start(context, method)
        except OSError:
            pass  # no (more) processes to be had: the charts left over are drawn in this process
        except BaseException:
            self.close()
            raise

    def _start(self, context, method: str) -> None:
        ours, theirs = context.Pipe()
        # A forked painter inherits this process's ends of every pipe; it closes them, or it
        # would never see its own pipe close when this process dies.
        ours_so_far = [link for _, link in self._links] + [ours] if method == "fork" else []
        process = context.Process(target=_paint, args=(theirs, ours_so_far), name="sim-painter", daemon=True)
        try:
            process.start()
        finally:
            theirs.close()
        self._links.append((process, ours))

    def save_charts(self, result: RunResult, paths: dict[str, Path]) -> Callable[[], None]:
        """Start drawing each chart kind into its path (one per process, in turn); return a
        function that waits for them all and raises the first failure.

        A chart whose painter has gone (it could not start, or was killed) is drawn in this
        process while waiting, so the set is complete either way.
        """
        from sim.report.chart_data import ChartData  # numpy: imported only once the painters have started

        data = ChartData.of(result)
        asked: list[tuple[str, Path, Connection | None]] = []
        for number, (kind, path) in enumerate(paths.items()):
            link = self._links[number % len(self._links)][1] if self._links else None
            try:
                if link is not None:
                    link.send((kind, data, path))
            except OSError:
                link = None
            asked.append((kind, path, link))

        def wait() -> None:
            failures = [_outcome(kind, data, path, link) for kind, path, link in asked]
            for failure in failures:
                if failure is not None:
                    raise failure

        return wait

    def close(self) -> None:
        """Stop the processes. Their answers have all been read by now (or are no longer
        wanted), so each is ended at once, even one still importing."""
        for process, link in self._links:
            link.close()
            process.terminate()
        for process, _ in self._links:
            process.join()

    def __enter__(self) -> Painter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_method() -> str:
    """ "fork" on Linux while this process runs a single thread (the command line, before it
    imports numpy): the painter starts with the scenario code already imported. Otherwise
    "spawn", a fresh interpreter, safe whatever threads the caller runs (a notebook, a test
    runner, the web app, numpy's own)."""
    if sys.platform == "linux" and _threads() == 1:
        return "fork"
    return "spawn"


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count() + 1  # cannot tell: count as threaded


def _outcome(kind: str, data: ChartData, path: Path, link: Connection | None) -> BaseException | None:
    """Wait for a painter's answer about one chart: None when drawn, else the error. Without
    a painter to answer, the chart is drawn here."""
    if link is not None:
        try:
            return link.recv()
        except (EOFError, OSError):
            pass
    from sim.report.charts import save_chart

    for unfinished in path.parent.glob(f".{path.name}.*.part"):  # a painter killed while saving
        unfinished.unlink(missing_ok=True)
    save_chart(kind, data, path)
    return None


def _paint(link: Connection, not_ours: list[Connection]) -> None:
    """A painter process: prepare, then draw each chart asked for until its pipe closes.

    Ctrl-C is left to the command, which stops its painters. The process leaves through
    os._exit: its files are complete, and tearing down matplotlib and numpy would only add
    to the command's wait.
    """
    for end in not_ours:
        end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):
        os.nice(PAINTER_NICENESS)
    _prepare()
    while True:
        try:
            job = link.recv()
        except EOFError:
            break
        kind, data, path = job
        try:
            from sim.report.charts import save_chart

            if not path.parent.is_dir():  # the command has given up on this folder: never recreate it
                raise FileNotFoundError(f"{path.parent} is gone")
            save_chart(kind, data, path)
            link.send(None)
        except Exception as error:  # sent to the command, which raises it
            link.send(error)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _prepare() -> None:
    """The imports a chart needs (matplotlib, and numpy with it), and the fonts loaded by a first draw."""
    from sim.report.charts import warm_up

    warm_up()
