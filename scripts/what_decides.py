"""Which free parameters decide an ensemble what-if's answer: the sets where it moves against the rest.

Runs the what-if under the calibration's plausible sets (one paired replicate each, at the
calibration's reduced agent counts by default), then, for one vendor, metric and month,
splits the sets into those where the effect is above the median effect and the others
(or, when most sets show no effect, those that show one and those that do not), and prints
each free parameter's median in both groups with the rank correlation of parameter and effect.

    python scripts/what_decides.py runs/calibration-baseline --against scenarios/chip_controls.yaml \\
        --vendor alibaba --metric token_share --at 2025-03
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

import sim
from sim.whatif.analysis import ensemble_whatif
from sim.whatif.ensemble import read_ensemble

ROOT = Path(__file__).resolve().parent.parent
REDUCED = ["agents.developers=40000", "agents.enterprises=15000"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("calibration", type=Path, help="a finished calibration folder")
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.yaml")
    parser.add_argument("--against", type=Path)
    parser.add_argument("--price-cut", action="append", default=[])
    parser.add_argument("--switching-cost", action="append", default=[])
    parser.add_argument("--vendor", required=True)
    parser.add_argument("--metric", default="token_share")
    parser.add_argument("--at", required=True, metavar="YYYY-MM")
    parser.add_argument("--sets", type=int, default=50)
    parser.add_argument("--full-scale", action="store_true", help="the scenario's own agent counts")
    args = parser.parse_args()
    scale = [] if args.full_scale else REDUCED
    scenario = sim.load_scenario(args.scenario, scale)
    changes = sim.Changes(args.price_cut, [], args.switching_cost, [], scale, args.against)
    result = ensemble_whatif(scenario, changes, read_ensemble(args.calibration), sets=args.sets, replicates=1)
    metric, month = (
        ["token_share", "revenue_share", "api_tokens_per_day", "revenue", "gross_margin"].index(args.metric),
        result.dates.index(args.at),
    )
    vendor = list(result.baseline.vendors).index(args.vendor)
    effect = result.samples["whatif"][:, metric, month, vendor] - result.samples["baseline"][:, metric, month, vendor]
    moved = effect != 0 if np.mean(effect == 0) >= 0.5 else effect > np.median(effect)
    label = ("shows an effect", "shows none") if np.mean(effect == 0) >= 0.5 else ("above median", "below")
    record = json.loads((args.calibration / "calibration.json").read_text())
    print(f"{args.vendor} {args.metric} at {args.at}: {moved.sum()} of {len(effect)} sets {label[0]}")
    print(f"{'parameter':52s} {label[0]:>15s} {label[1]:>12s} {'spearman':>9s}")
    for name in record["parameters"]:
        values = result.sets[name].to_numpy()
        rho = stats.spearmanr(values, effect).statistic
        print(f"{name:52s} {np.median(values[moved]):15.4g} {np.median(values[~moved]):12.4g} {rho:+9.2f}")


if __name__ == "__main__":
    main()
