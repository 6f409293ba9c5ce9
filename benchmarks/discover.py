"""How long scenario discovery takes on a 10,000-run table, on one core (goal: under 30 s).

    python benchmarks/discover.py            # 10,000 runs, 8 inputs
    python benchmarks/discover.py --runs 50000 --inputs 12

The table is synthetic (uniform inputs; the condition holds where two of them cross a
threshold, with 10 % of the outcomes flipped as noise), so the figure measures the methods,
not a sweep. Each stage is timed as `sim discover` runs it: the analysis libraries' import,
PRIM (up to three boxes, each with its whole trajectory and quasi-p values), CART, the
extra-trees feature scores, and the four output files. Threads are limited to one.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.discover.cases import Cases  # noqa: E402
from sim.discover.conditions import parse_condition  # noqa: E402

GOAL_S = 30.0


def synthetic(runs: int, inputs: int, seed: int = 1) -> tuple[Cases, np.ndarray]:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.uniform(size=(runs, inputs)), columns=[f"x{i + 1}" for i in range(inputs)])
    met = ((table["x1"] > 0.6) & (table["x2"] < 0.3)).to_numpy()
    flip = rng.uniform(size=runs) < 0.1
    met = np.where(flip, ~met, met)
    values = pd.DataFrame({"y": met.astype(float)})
    cases = Cases(Path("synthetic"), "sweep", "runs", table, values, pd.DataFrame(index=values.index), "", "synthetic")
    return cases, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--inputs", type=int, default=8)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cases, met = synthetic(args.runs, args.inputs)
    condition = parse_condition("y > 0.5")
    times: dict[str, float] = {}
    began = time.perf_counter()
    from sim.discover import methods

    with methods._quiet():  # the same quiet import the command makes
        import ema_workbench.analysis.prim  # noqa: F401
        import sklearn.ensemble  # noqa: F401
    times["import ema_workbench and scikit-learn"] = time.perf_counter() - began
    step = time.perf_counter()
    inputs, _ = methods._usable_inputs(cases)
    boxes = methods.find_boxes(inputs, met)
    times[f"PRIM ({len(boxes)} box{'' if len(boxes) == 1 else 'es'})"] = time.perf_counter() - step
    step = time.perf_counter()
    tree = methods.cart(inputs, met)
    times["CART"] = time.perf_counter() - step
    step = time.perf_counter()
    scores = methods.feature_scores(inputs, met)
    times[f"extra trees ({methods.TREES} trees)"] = time.perf_counter() - step
    found = methods.Discovery(cases, condition, met, tuple(boxes), tree, scores, "the rule")
    step = time.perf_counter()
    from sim.discover.report import box_sentence, save_discovery

    with tempfile.TemporaryDirectory() as folder:
        save_discovery(found, Path(folder))
    times["discover.md, boxes.json and two charts"] = time.perf_counter() - step
    total = time.perf_counter() - began
    print(f"scenario discovery on {args.runs:,} runs x {args.inputs} inputs, one core")
    for stage, seconds in times.items():
        print(f"  {stage:<42} {seconds:6.2f} s")
    verdict = "met" if total < GOAL_S else "missed"
    print(f"  {'total':<42} {total:6.2f} s (goal < {GOAL_S:.0f} s: {verdict})")
    first = boxes[0]
    print("  " + box_sentence(first, "runs"))


if __name__ == "__main__":
    main()
