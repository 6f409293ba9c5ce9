"""Start-up and throughput side by side: what a user waits for, and what the model costs.

Usage (from the project root, with the project's virtual environment):

    python benchmarks/startup.py                 # a few minutes on 2 cores
    python benchmarks/startup.py --repeats 3     # quicker, noisier

Prints, each whole-process time the median of --repeats fresh processes:
  1. `python -c "import mesa"`, `sim validate scenarios/baseline.yaml`, `sim schema` and a
     default `sim run scenarios/baseline.yaml` (outputs written), with the model's own time
     (set-up and 36 monthly steps of the baseline, imports excluded);
  2. developer agent-steps per second at 100k and 1M developers (enterprises N/10, 36 months),
     for the compiled months (numba) and the numpy rule they are tested equal to (the rule
     as it was before it was compiled), each in a fresh process, per second of wall time and
     of the process's CPU time (the model runs on one core: on a shared machine CPU time is
     its time on that core); the first month includes loading the compiled kernels;
  3. the wall time of a whole `sim run` with 1M developers and 100k enterprises;
  4. where a default `sim run`'s time goes: each stage the command runs one after another,
     timed alone in a fresh process (the command's own imports and the scenario, Mesa, the
     model's modules with numba, the model, the tables), and the charts, which painter
     processes draw beside it; their sum is the least a run can take on this machine;
  5. each goal, met or missed.
The first run after installing compiles the numba kernel (cached on disk afterwards): a
warm-up process runs before anything is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from scale import BASELINE, ROOT, in_fresh_process

SIM = [sys.executable, "-m", "sim"]
MONTHS = 36
LARGE = ["--set", "agents.developers=1000000", "--set", "agents.enterprises=100000"]


def wall_seconds(command: list[str], repeats: int) -> float:
    """Median wall time of a command in fresh processes (its output discarded)."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            filled = [folder if part == "{out}" else part for part in command]
            began = time.perf_counter()
            subprocess.run(filled, check=True, capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def model_seconds(repeats: int) -> float:
    """Median of the shipped baseline's set-up + 36 steps, measured inside fresh processes."""
    runs = [in_fresh_process(0, MONTHS, "batched") for _ in range(repeats)]
    return statistics.median(r["setup_s"] + r["step_s"] for r in runs)


def throughput(developers: int, kernel: str, repeats: int) -> tuple[float, float, str]:
    """Developer agent-steps per second of wall time and of the process's CPU time (medians
    over fresh processes), and the kernel that ran. The model runs on one core, so CPU time
    is its time on that core even when other work shares the machine."""
    runs = [in_fresh_process(developers, MONTHS, "batched", kernel) for _ in range(repeats)]
    wall = statistics.median(r["step_s"] for r in runs)
    cpu = statistics.median(r["step_cpu_s"] for r in runs)
    return developers * MONTHS / wall, developers * MONTHS / cpu, runs[0]["kernel"]


def stages_in_fresh_processes(repeats: int) -> dict[str, float]:
    """The median of each stage over fresh processes."""
    command = [sys.executable, str(Path(__file__).with_name("stages.py"))]
    runs = [
        json.loads(subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
        for _ in range(repeats)
    ]
    return {name: statistics.median(r[name] for r in runs) for name in runs[0]}


def verdict(met: bool) -> str:
    return "[green]met[/green]" if met else "[red]missed[/red]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per figure (median; default 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="developer counts")
    args = parser.parse_args()
    console = Console(width=130)
    repeats = args.repeats

    run_default = [*SIM, "run", str(BASELINE), "--quiet", "--out", "{out}"]
    wall_seconds([*SIM, "run", str(BASELINE), "--quiet", "--set", "months=2", "--out", "{out}"], 1)  # warm-up
    mesa = wall_seconds([sys.executable, "-c", "import mesa"], repeats)
    validate = wall_seconds([*SIM, "validate", str(BASELINE)], repeats)
    schema = wall_seconds([*SIM, "schema"], repeats)
    run = wall_seconds(run_default, repeats)
    model = model_seconds(repeats)

    starts = Table(title=f"Whole-process wall time, median of {repeats}")
    for header in ("command", "s", "vs import mesa"):
        starts.add_column(header, justify="right" if header != "command" else "left")
    for name, seconds in (
        ('python -c "import mesa"', mesa),
        ("sim validate scenarios/baseline.yaml", validate),
        ("sim schema", schema),
        ("sim run scenarios/baseline.yaml (default)", run),
        ("  of which the model (set-up + 36 months)", model),
    ):
        starts.add_row(name, f"{seconds:.2f}", f"{seconds / mesa:.2f}x")
    console.print(starts)

    speeds = Table(
        title=f"Developer agent-steps per second (enterprises N/10, {MONTHS} months), median of {repeats}: "
        "per second of wall time / of CPU time"
    )
    for header in ("developers N", "numpy rule (reference)", "compiled", "speed-up (CPU)"):
        speeds.add_column(header, justify="right")
    fast_at = {}
    for n in args.sizes:
        reference_wall, reference_cpu, _ = throughput(n, "numpy", repeats)
        fast_wall, fast_cpu, kernel = throughput(n, "auto", repeats)
        fast_at[n] = (fast_wall, fast_cpu)
        speeds.add_row(
            f"{n:,}",
            f"{reference_wall / 1e6:.1f} / {reference_cpu / 1e6:.1f} M/s",
            f"{fast_wall / 1e6:.1f} / {fast_cpu / 1e6:.1f} M/s ({kernel})",
            f"{fast_cpu / reference_cpu:.1f}x",
        )
    console.print(speeds)

    large = wall_seconds([*SIM, "run", str(BASELINE), "--quiet", *LARGE, "--out", "{out}"], max(1, repeats // 2))
    console.print(f"Whole `sim run` with 1M developers and 100k enterprises: {large:.2f} s wall")

    parts = stages_in_fresh_processes(repeats)
    in_line = [name for name in parts if not name.endswith("chart")]
    least = sum(parts[name] for name in in_line) + max(parts["shares chart"], parts["streams chart"])
    split = Table(title=f"Where a default `sim run` goes: each stage alone in a fresh process, median of {repeats}")
    for header in ("stage", "s", "runs"):
        split.add_column(header, justify="right" if header == "s" else "left")
    for name, seconds in parts.items():
        split.add_row(
            name, f"{seconds:.3f}", "in a painter, beside the command" if name.endswith("chart") else "in line"
        )
    split.add_row("least a run can take: the stages in line + the slower chart", f"{least:.3f}", "")
    console.print(split)
    outside = least - parts["import mesa"] - parts["the model, run and recorded"]
    console.print(
        f"Outside Mesa's import and the model, a run needs at least {outside:.2f} s; "
        f"the goal below allows 0.2 x (import mesa + model) = {0.2 * (mesa + model):.2f} s."
    )

    largest = max(args.sizes)
    console.print("Goals:")
    half = mesa / 2
    console.print(f"  sim validate < 1/2 of import mesa: {validate:.2f} s vs {half:.2f} s, {verdict(validate < half)}")
    bound = 1.2 * (mesa + model)
    console.print(
        f"  default sim run <= 1.2 x (import mesa + model): {run:.2f} s vs {bound:.2f} s, {verdict(run <= bound)}"
    )
    wall, cpu = fast_at[largest]
    console.print(
        f"  >= 50 M developer agent-steps/s at {largest:,}: {wall / 1e6:.1f} M/s of wall time, "
        f"{verdict(wall >= 50e6)}; {cpu / 1e6:.1f} M/s of CPU time, {verdict(cpu >= 50e6)}"
    )
    console.print(f"  the 1M + 100k run under 5 s wall: {large:.2f} s, {verdict(large < 5.0)}")


if __name__ == "__main__":
    main()
