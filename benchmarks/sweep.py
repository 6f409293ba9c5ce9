"""Sweeps on Dask: throughput, parallel efficiency, overhead per run, and resume after kill -9.

Usage (from the project root, with the project's virtual environment):

    python benchmarks/sweep.py                                  # the goals (about 15 minutes on 2 cores)
    python benchmarks/sweep.py --runs 100 --efficiency-runs 20 --resume-runs 40   # a quick check
    python benchmarks/sweep.py --set agents.developers=20000 --set agents.enterprises=10000

Every sweep is N runs of the shipped baseline (scenarios/baseline.yaml, default agent
counts unless --set says otherwise), one parameter set run with N seeds. Prints:
  1. the main sweep of --runs runs on 2 local worker processes: wall time, runs per second,
     and where the time goes (plan, cluster start-up, the runs, compaction);
  2. overhead per run: (workers x run-phase wall time - the runs' own time) / runs, as a
     fraction of a run's own time (scheduling, transfer, storing, and on a 2-core machine
     the client and scheduler competing with the workers for the cores);
  3. parallel efficiency from 1 to 2 workers on --efficiency-runs runs: T1 / (2 T2), run phase,
     beside the same ratio for plain processes without Dask (what the machine itself allows:
     two processes on two virtual cores may not run twice as fast as one);
  4. resume: `sim sweep` is killed with SIGKILL (with its worker processes) at about half of
     --resume-runs; the rerun must do only the missing runs, and its dataset must equal that
     of an uninterrupted sweep.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
from distributed import Client
from rich.console import Console
from rich.table import Table

import sim
from sim.sweep.plan import make_plan
from sim.sweep.runner import local_cluster
from sim.sweep.store import RunStore, compact

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def sweep_file(folder: Path, runs: int, name: str) -> Path:
    """N runs of the baseline: its own switching cost as the one 'parameter', N seeds."""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nbase: {BASELINE}\n"
        "parameters:\n  developers.switching_cost: [0.5]   # the baseline's own value\n"
        f"design: {{method: grid}}\nreplicates: {runs}\n"
    )
    return path


def timed_sweep(path: Path, out: Path, workers: int, overrides: list[str]) -> dict:
    """Run a sweep on a fresh LocalCluster; time each phase separately."""
    began = time.perf_counter()
    sweep = sim.load_sweep(path, overrides)
    plan = make_plan(sweep)  # run_sweep plans again: subtracted from its time below
    plan_s = time.perf_counter() - began
    began = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
        client.run(lambda: __import__("sim.sweep.models"))  # workers import the model before timing starts
        startup_s = time.perf_counter() - began
        began = time.perf_counter()
        sim.run_sweep(sweep, out, client=client, progress=False)
        total_s = time.perf_counter() - began
    began = time.perf_counter()
    compact(out, plan, RunStore(out / "runs").index(False), False)
    compact_s = time.perf_counter() - began
    runs = pd.read_parquet(out / "runs.parquet")
    own = float(runs["elapsed_s"].sum())
    run_phase = total_s - compact_s - plan_s
    return {
        "runs": len(runs),
        "ok": int((runs["status"] == "ok").sum()),
        "workers": workers,
        "plan_s": plan_s,
        "startup_s": startup_s,
        "run_phase_s": run_phase,
        "compact_s": compact_s,
        "wall_s": startup_s + total_s,
        "mean_run_s": own / len(runs),
        "overhead": (workers * run_phase - own) / own,
    }


def _baseline_runs(job: tuple[list[str], list[int]]) -> float:
    overrides, seeds = job
    scenario = sim.load_scenario(BASELINE, overrides)
    sim.run(scenario, seed=seeds[0])  # warm up: imports and first-call costs are not the hardware's
    began = time.perf_counter()
    for seed in seeds:
        sim.run(scenario, seed=seed)
    return time.perf_counter() - began


def hardware_efficiency(runs: int, overrides: list[str]) -> float:
    """T1 / (2 T2) for the same runs in plain processes, without Dask: what the machine itself allows."""
    seeds = list(range(runs))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        one = pool.submit(_baseline_runs, (overrides, seeds)).result()
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        halves = [pool.submit(_baseline_runs, (overrides, seeds[k::2])) for k in (0, 1)]
        two = max(f.result() for f in halves)
    return one / (2 * two)


def kill_and_resume(path: Path, out: Path, reference: Path, overrides: list[str], console: Console) -> dict:
    """SIGKILL `sim sweep` (and its workers) at about half its runs, rerun, compare with `reference`."""
    command = [sys.executable, "-m", "sim", "sweep", str(path), "--workers", "2", "--out", str(out)]
    for item in overrides:
        command += ["--set", item]
    total = sim.load_sweep(path, overrides).spec.replicates
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    while process.poll() is None and _stored(out) < total // 2:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    stored = _stored(out)
    console.print(f"killed with SIGKILL after {stored} of {total} runs were stored")
    rerun = subprocess.run(command, capture_output=True, text=True, check=True)
    done_now = int(re.search(r"(\d+) runs done now", rerun.stdout).group(1))
    identical = pd.read_parquet(out / "results.parquet").equals(pd.read_parquet(reference / "results.parquet"))
    versions = {_model_version(folder) for folder in (out, reference)}
    if len(versions) > 1:
        console.print(f"the model's code changed between the two sweeps (versions {sorted(versions)}): not comparable")
    return {"total": total, "stored_at_kill": stored, "rerun_did": done_now, "identical": identical}


def _model_version(folder: Path) -> str:
    return json.loads((folder / "manifest.json").read_text())["model"]["version"]


def _stored(out: Path) -> int:
    """Runs stored so far (one file per run for the market model)."""
    folder = out / "runs"
    return sum(1 for p in folder.glob("*.out.parquet") if not p.name.startswith(".")) if folder.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000, help="runs of the main sweep on 2 workers (default 1000)")
    parser.add_argument("--efficiency-runs", type=int, default=40, help="runs for 1 vs 2 workers (default 40)")
    parser.add_argument("--resume-runs", type=int, default=200, help="runs of the kill -9 test (default 200)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    args = parser.parse_args()
    console = Console(width=120)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hardware = hardware_efficiency(args.efficiency_runs, args.overrides)
        main_run = timed_sweep(sweep_file(folder, args.runs, "main"), folder / "main", 2, args.overrides)
        efficiency_file = sweep_file(folder, args.efficiency_runs, "efficiency")
        one = timed_sweep(efficiency_file, folder / "one", 1, args.overrides)
        two = timed_sweep(efficiency_file, folder / "two", 2, args.overrides)
        resume_file = sweep_file(folder, args.resume_runs, "resume")
        timed_sweep(resume_file, folder / "uninterrupted", 2, args.overrides)
        resume = kill_and_resume(resume_file, folder / "killed", folder / "uninterrupted", args.overrides, console)

    table = Table(title=f"Sweeps of the baseline on Dask LocalCluster ({os.cpu_count()} cores)")
    for header in (
        "sweep",
        "runs",
        "workers",
        "wall s",
        "plan s",
        "start s",
        "runs s",
        "compact s",
        "s/run",
        "overhead",
    ):
        table.add_column(header, justify="right")
    for label, r in (("main", main_run), ("efficiency, 1 worker", one), ("efficiency, 2 workers", two)):
        table.add_row(
            label,
            f"{r['runs']:,}",
            str(r["workers"]),
            f"{r['wall_s']:.1f}",
            f"{r['plan_s']:.1f}",
            f"{r['startup_s']:.1f}",
            f"{r['run_phase_s']:.1f}",
            f"{r['compact_s']:.2f}",
            f"{r['mean_run_s']:.3f}",
            f"{100 * r['overhead']:.1f} %",
        )
    console.print(table)
    efficiency = one["run_phase_s"] / (2 * two["run_phase_s"])
    console.print(
        f"{main_run['runs']:,} runs on 2 workers: {main_run['wall_s'] / 60:.1f} min wall "
        f"({main_run['runs'] / main_run['wall_s']:.2f} runs/s), goal < 10 min"
    )
    console.print(f"overhead per run on 2 workers: {100 * main_run['overhead']:.1f} % of a run's own time (goal < 5 %)")
    console.print(f"overhead per run on 1 worker: {100 * one['overhead']:.1f} % (a free core for client and scheduler)")
    console.print(
        f"parallel efficiency 1 -> 2 workers: {100 * efficiency:.0f} % (goal >= 80 %); the same runs in two plain "
        f"processes without Dask: {100 * hardware:.0f} % (what this machine allows)"
    )
    console.print(
        f"resume after SIGKILL at {resume['stored_at_kill']} of {resume['total']} runs: the rerun did "
        f"{resume['rerun_did']} runs (missing: {resume['total'] - resume['stored_at_kill']}); "
        f"dataset identical to an uninterrupted sweep: {resume['identical']}"
    )
    console.print(f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
