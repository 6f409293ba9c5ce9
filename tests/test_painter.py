"""Charts drawn in painter processes are the charts drawn in-process, and a run's set of
outputs is complete whatever happens to the painters."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT

import sim
from sim.report import painter as painters
from sim.report.outputs import save_run
from sim.report.painter import Painter

SMALL = ["agents.developers=2000", "agents.enterprises=200", "months=14"]
CHARTS = ("shares.png", "revenue_streams.png")


@pytest.fixture(scope="module")
def result():
    return sim.run(sim.load_scenario("scenarios/baseline.yaml", SMALL))


# The command forks before anything starts a thread; this test process already runs numpy's.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_painter_draws_the_same_bytes_as_drawing_in_process(result, tmp_path: Path, monkeypatch, method) -> None:
    monkeypatch.setattr(painters, "start_method", lambda: method)
    save_run(result, tmp_path / "here")
    with Painter() as painter:
        save_run(result, tmp_path / "painted", painter)
    for name in CHARTS:
        assert (tmp_path / "painted" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_charts_whose_painters_have_gone_are_drawn_in_process(result, tmp_path: Path) -> None:
    save_run(result, tmp_path / "here")
    with Painter() as painter:
        for process, _ in painter._links:
            process.kill()
            process.join()
        save_run(result, tmp_path / "painted", painter)
    for name in CHARTS:
        assert (tmp_path / "painted" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_a_chart_that_fails_in_a_painter_fails_the_save(result, tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with Painter() as painter, pytest.raises(OSError):
        painter.save_charts(result, {"chart": blocker / "shares.png"})()


def test_painters_are_gone_once_closed(result, tmp_path: Path) -> None:
    with Painter() as painter:
        painter.save_charts(result, {"chart": tmp_path / "shares.png"})()
        processes = [process for process, _ in painter._links]
        assert all(process.is_alive() for process in processes)
    assert not any(process.is_alive() for process in processes)


def test_the_command_forks_its_painters_before_starting_any_thread() -> None:
    program = "import sim.cli, sim.report.painter as p; print(p.start_method())"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == ("fork" if sys.platform == "linux" else "spawn")


def test_a_process_running_other_threads_spawns_its_painters() -> None:
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait)
    helper.start()
    try:
        assert painters.start_method() == "spawn"
    finally:
        stop.set()
        helper.join()
