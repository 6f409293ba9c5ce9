"""Charts drawn in painter processes are the charts drawn in-process, and a run's set of
outputs is complete whatever happens to the painters."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
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


@pytest.mark.skipif(
    not Path(f"/proc/self/task/{os.getpid()}/children").exists(), reason="reads child processes from /proc"
)
def test_painters_leave_when_the_command_is_killed(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "sim", "run", "scenarios/baseline.yaml", "--quiet", "--out", str(tmp_path / "out")]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    painters_of_run = Path(f"/proc/{run.pid}/task/{run.pid}/children")
    deadline = time.monotonic() + 30
    while len(painters_of_run.read_text().split()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    painter_ids = [int(pid) for pid in painters_of_run.read_text().split()]
    assert len(painter_ids) == 2, "the command started two painters"
    run.kill()
    run.wait()
    deadline = time.monotonic() + 20
    while any(map(_running, painter_ids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_running, painter_ids)), "painters outlived the command"


def _running(pid: int) -> bool:
    """Whether a process is there and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_charts_are_drawn_in_process_when_no_painter_can_start(result, tmp_path: Path, monkeypatch) -> None:
    def refused(self):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr("multiprocessing.process.BaseProcess.start", refused)
    save_run(result, tmp_path / "here")
    with Painter() as painter:
        assert not painter._links
        save_run(result, tmp_path / "painted", painter)
    for name in CHARTS:
        assert (tmp_path / "painted" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_a_chart_drawn_again_after_its_painter_died_leaves_no_unfinished_file(result, tmp_path: Path) -> None:
    folder = tmp_path / "painted"
    folder.mkdir()
    (folder / ".shares.png.abc123.part").write_bytes(b"half a PNG")  # what a painter killed mid-save leaves
    with Painter() as painter:
        for process, _ in painter._links:
            process.kill()
            process.join()
        save_run(result, folder, painter)
    assert not list(folder.glob(".*.part"))


def test_a_failed_table_write_waits_for_the_charts_so_nothing_is_written_after(
    result, tmp_path: Path, monkeypatch
) -> None:
    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sim.report.outputs.write_json", full_disk)
    folder = tmp_path / "painted"
    with Painter() as painter:
        with pytest.raises(OSError, match="No space"):
            save_run(result, folder, painter)
        written = sorted(path.name for path in folder.iterdir())
        time.sleep(1.0)
        assert sorted(path.name for path in folder.iterdir()) == written
    assert {"shares.png", "revenue_streams.png"} <= set(written)


def test_a_painter_draws_from_arrays_without_importing_pandas(result, tmp_path: Path) -> None:
    """What a painter receives unpickles and draws both charts in an interpreter that never loads pandas."""
    from sim.report.chart_data import ChartData

    (tmp_path / "data.pickle").write_bytes(pickle.dumps(ChartData.of(result)))
    program = (
        "import pickle, sys; from pathlib import Path; from sim.report.charts import save_chart; "
        f"data = pickle.loads(Path({str(tmp_path / 'data.pickle')!r}).read_bytes()); "
        f"[save_chart(kind, data, Path({str(tmp_path)!r}) / (kind + '.png')) for kind in ('chart', 'streams')]; "
        "print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False"
    here = tmp_path / "here"
    save_run(result, here)
    assert (tmp_path / "chart.png").read_bytes() == (here / "shares.png").read_bytes()
    assert (tmp_path / "streams.png").read_bytes() == (here / "revenue_streams.png").read_bytes()
