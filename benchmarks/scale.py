"""How fast and how big: set-up and step time, throughput and peak memory by agent count.

Usage (from the project root, with the project's virtual environment):

    python benchmarks/scale.py                      # the full table (about 10 minutes)
    python benchmarks/scale.py --quick              # small sizes only, for a smoke check

Every configuration runs in a fresh process so that peak RSS is its own. Prints:
  1. batched mode at N developers (enterprises N/10, the baseline's vendors, 36 months):
     set-up s, step s, developer agent-steps/s, the time to create every Mesa agent object
     when first asked for (`len(model.agents)`; the batched mode itself never needs them),
     and peak RSS with those objects alive;
  2. the reference mode (every Mesa agent stepped by `shuffle_do`) at the same N, over a
     few months (it is slow), with the per-month speed ratio to the batched mode;
  3. the fitted exponent b of step time ~ N^b and ~ months^b;
  4. the wall time of a whole `sim run` at the largest N, and of the shipped baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def measure(developers: int, months: int, mode: str, kernel: str = "auto") -> dict:
    """Build and run one model in this process; report times and peak RSS.

    developers = 0 means the shipped baseline's own agent counts. `kernel` chooses the
    developers' month in the batched mode: numba (compiled) or numpy (the reference rule)."""
    began = time.perf_counter()
    import sim  # imported inside the timing so set-up includes nothing twice across configs
    from sim.model.market import MarketModel

    counts = [f"agents.developers={developers}", f"agents.enterprises={max(1, developers // 10)}"] if developers else []
    scenario = sim.load_scenario(BASELINE, [*counts, f"months={months}"])
    imported = time.perf_counter()
    model = MarketModel(scenario, mode=mode, kernel=kernel)
    built, cpu_before = time.perf_counter(), time.process_time()
    model.run()
    stepped, cpu_after = time.perf_counter(), time.process_time()
    views = len(model.agents)  # creates and registers every Mesa agent object (lazy until asked for)
    viewed = time.perf_counter()
    return {
        "agents": views,
        "views_s": viewed - stepped,
        "developers": developers,
        "months": months,
        "mode": mode,
        "kernel": model.developers.kernel,
        "import_s": imported - began,
        "setup_s": built - imported,
        "step_s": stepped - built,
        "step_cpu_s": cpu_after - cpu_before,  # this process's own time: on a busy machine, the time on one core
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }


def in_fresh_process(developers: int, months: int, mode: str, kernel: str = "auto") -> dict:
    command = [sys.executable, __file__, "--one", str(developers), str(months), mode, kernel]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def whole_run_seconds(overrides: list[str]) -> float:
    """Wall time of `sim run` as a user types it, outputs written included."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "sim", "run", str(BASELINE), "--quiet", "--out", folder]
        for item in overrides:
            command += ["--set", item]
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        return time.perf_counter() - began


def exponent(x: list[float], y: list[float]) -> float:
    return float(stats.linregress(np.log(x), np.log(y)).slope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", nargs=4, metavar=("N", "MONTHS", "MODE", "KERNEL"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reference-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--reference-months", type=int, default=2, help="months the slow reference mode runs")
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), int(args.one[1]), args.one[2], args.one[3])))
        return
    if args.quick:
        args.sizes, args.reference_sizes = [5_000, 20_000, 80_000], [5_000]
    console = Console(width=130)

    batched = {n: in_fresh_process(n, 36, "batched") for n in args.sizes}
    table = Table(title="Batched mode: baseline vendors, enterprises = N/10, 36 monthly steps")
    for header in (
        "developers N",
        "kernel",
        "set-up s",
        "step s",
        "dev agent-steps/s",
        "all agent-steps/s",
        "Mesa views s",
        "peak RSS GB",
    ):
        table.add_column(header, justify="right")
    for n, r in batched.items():
        agents = n + n // 10
        table.add_row(
            f"{n:,}",
            r["kernel"],
            f"{r['setup_s']:.2f}",
            f"{r['step_s']:.2f}",
            f"{n * 36 / r['step_s'] / 1e6:.1f} M",
            f"{agents * 36 / r['step_s'] / 1e6:.1f} M",
            f"{r['views_s']:.2f}",
            f"{r['peak_rss_gb']:.2f}",
        )
    console.print(table)

    months = args.reference_months
    ratio_table = Table(title=f"Reference mode (each Mesa agent stepped by shuffle_do), {months} months, vs batched")
    for header in ("developers N", "reference s/month", "batched s/month", "speed ratio"):
        ratio_table.add_column(header, justify="right")
    for n in args.reference_sizes:
        reference = in_fresh_process(n, months, "reference")
        fast = batched.get(n) or in_fresh_process(n, 36, "batched")
        per_month_ref, per_month_fast = reference["step_s"] / months, fast["step_s"] / fast["months"]
        ratio_table.add_row(
            f"{n:,}", f"{per_month_ref:.2f}", f"{per_month_fast:.4f}", f"{per_month_ref / per_month_fast:,.0f}x"
        )
    console.print(ratio_table)

    sizes = list(batched)
    scale_n = exponent(sizes, [batched[n]["step_s"] for n in sizes])
    largest = max(sizes)  # fixed costs matter least there
    month_runs = {m: in_fresh_process(largest, m, "batched") for m in (12, 24, 48)} | {36: batched[largest]}
    scale_months = exponent(sorted(month_runs), [month_runs[m]["step_s"] for m in sorted(month_runs)])
    console.print(
        f"Step time ~ N^{scale_n:.2f} (N = {', '.join(f'{n:,}' for n in sizes)}), "
        f"~ months^{scale_months:.2f} (N = {largest:,}, months = 12, 24, 36, 48)"
    )
    if len(sizes) > 2:
        upper = sizes[-2:]
        console.print(f"  over the two largest N only: N^{exponent(upper, [batched[n]['step_s'] for n in upper]):.2f}")
    months = sorted(month_runs)
    line = stats.linregress(months, [month_runs[m]["step_s"] for m in months])
    console.print(
        f"  step time = {1000 * line.slope:.1f} ms x months {1000 * line.intercept:+.0f} ms "
        f"(R^2 {line.rvalue**2:.4f}): "
        "linear; the first months are cheaper because fewer developers have adopted"
    )

    shipped = in_fresh_process(0, 36, "batched")
    console.print(
        f"Shipped baseline ({shipped['agents']:,} agents): set-up + 36 months in "
        f"{shipped['setup_s'] + shipped['step_s']:.2f} s (import {shipped['import_s']:.2f} s)"
    )
    whole = whole_run_seconds([f"agents.developers={largest}", f"agents.enterprises={largest // 10}"])
    default = whole_run_seconds([])
    console.print(
        f"Whole `sim run` (import, set-up, 36 months, outputs): {whole:.1f} s at {largest:,} developers; "
        f"{default:.1f} s for the shipped baseline"
    )


if __name__ == "__main__":
    main()
