"""How much common random numbers narrow a what-if's intervals.

Runs the shipped baseline against a small change (Volcano cuts its list price 10 % in
January 2025) as paired replicates, then compares the mean width of the 90 % intervals on
token and revenue shares after the change: paired differences versus a Welch interval as
if the two sides had been run with independent seeds.

    python benchmarks/pairing.py [--replicates 12] [--change volcano=10%@2025-01]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=12)
    parser.add_argument("--change", default="volcano=10%@2025-01", help="a --price-cut value")
    args = parser.parse_args()
    month = args.change.split("@")[1]
    result = sim.whatif(sim.load_scenario(BASELINE), sim.Changes(price_cuts=[args.change]), args.replicates)
    table = result.table
    shares = table[table.metric.isin(["token_share", "revenue_share"]) & (table.date >= month)]
    paired = (shares.high - shares.low).mean()
    unpaired = (shares.unpaired_high - shares.unpaired_low).mean()
    print(f"--price-cut {args.change}, {args.replicates} replicates, shares from {month} on:")
    print(f"  mean 90 % interval width: paired {100 * paired:.4f} pp, unpaired {100 * unpaired:.4f} pp")
    print(f"  paired intervals are {unpaired / paired:.1f} times narrower")


if __name__ == "__main__":
    main()
