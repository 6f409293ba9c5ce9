"""How long the shipped calibration and an ensemble what-if take, and where the time goes.

Runs `sim calibrate scenarios/calibration/baseline.yaml` into a fresh folder (all cores),
then `sim whatif scenarios/baseline.yaml --ensemble <that folder> --price-cut all=99%@2026-01`
over the calibration's ensemble size (default 100 sets, 2 paired replicates each), and prints:
wall time of each; candidates per minute; the share of the workers' time spent inside the
model (the rest is Dask, the store and the search); plausible sets found.

    python benchmarks/calibration.py [--out /tmp/calibration-bench] [--sets 100] [--skip-calibration]

Goals: the calibration (12 free parameters, with its ensemble) under 30 min on 2 cores; an
ensemble what-if over 100 sets under 5 min; under 10 % of worker time outside the model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "scenarios" / "calibration" / "baseline.yaml"


def timed(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/calibration-bench"))
    parser.add_argument("--sets", type=int, default=100)
    parser.add_argument("--skip-calibration", action="store_true", help="reuse the calibration already in --out")
    args = parser.parse_args()
    sim = [sys.executable, "-m", "sim"]
    if not args.skip_calibration:
        shutil.rmtree(args.out, ignore_errors=True)
        wall = timed([*sim, "calibrate", str(CALIBRATION), "--out", str(args.out), "--quiet"])
        print(f"calibration: {wall / 60:.1f} min wall (goal < 30 min)")
    status = json.loads((args.out / "calibration.json").read_text())["status"]
    print(f"  {status['candidates']} candidates, {status['plausible_sets']} plausible sets")
    print(f"  {status['evaluations_per_minute']} candidates per minute on {status['workers']} workers")
    share = status["model_share_of_worker_time"]
    if share is not None:
        print(f"  time outside the model: {100 * (1 - share):.0f} % of worker time (goal < 10 %)")
    whatif_out = args.out.parent / f"{args.out.name}-whatif"
    baseline = str(ROOT / "scenarios" / "baseline.yaml")
    ensemble = ["--ensemble", str(args.out), "--sets", str(args.sets)]
    cut = ["--price-cut", "all=99%@2026-01"]
    wall = timed([*sim, "whatif", baseline, *ensemble, *cut, "--out", str(whatif_out), "--quiet"])
    print(f"ensemble what-if over {args.sets} sets, 2 paired replicates each: {wall / 60:.1f} min wall (goal < 5 min)")


if __name__ == "__main__":
    main()
