"""Where the baseline's 2024 token share comes from, and whether one lever moves it.

The baseline misses IDC's 2024 figure (data/targets.yaml: Volcano 46.4 % of the year's
external API tokens; the baseline has about 38 %). This prints, over 2024 and H1 2025, each vendor's share of all API
tokens split into developers' and enterprises' tokens; then Volcano's 2024 and H1 2025
shares and the number of missed figures (targets and checks) when one lever at a time is
moved from the baseline's value.

    python scripts/token_share_2024.py                # reduced agents (40k / 15k), a few seconds
    python scripts/token_share_2024.py --full         # the baseline's own agent counts
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim
from sim.targets import load_targets, measure

ROOT = Path(__file__).resolve().parent.parent
REDUCED = ["agents.developers=40000", "agents.enterprises=15000"]
PERIODS = {"2024": ("2024-01", "2024-12"), "H1 2025": ("2025-01", "2025-06")}
LEVERS = [
    [],
    ["developers.ecosystem_weight=0.5"],
    ["developers.ecosystem_weight=1.5"],
    ["developers.ecosystem_weight=4.0"],
    ["developers.review_probability=0.4"],
    ["developers.switching_cost=0.1"],
    ["developers.lock_in.rate=0.02"],
    ["enterprises.weights.integration=1.0"],
    ["enterprises.weights.price=2.0"],
]


def split_by_buyer(result, period: tuple[str, str]) -> str:
    table = result.trajectories
    rows = table[(table["date"] >= period[0]) & (table["date"] <= period[1])]
    sums = rows.groupby("vendor")[["developer_tokens_per_day", "enterprise_api_tokens_per_day"]].sum()
    total = sums.sum().sum()
    lines = [f"{'vendor':10s} {'developers':>11s} {'enterprises':>12s} {'all':>6s}"]
    for vendor, row in sums.iterrows():
        developers, enterprises = row.iloc[0] / total, row.iloc[1] / total
        lines.append(f"{vendor:10s} {developers:11.3f} {enterprises:12.3f} {developers + enterprises:6.3f}")
    lines.append(f"{'all':10s} {sums.iloc[:, 0].sum() / total:11.3f} {sums.iloc[:, 1].sum() / total:12.3f} {1:6.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the baseline's own agent counts")
    args = parser.parse_args()
    counts = [] if args.full else REDUCED
    figures = load_targets(ROOT / "data" / "targets.yaml") + load_targets(ROOT / "data" / "checks.yaml")
    baseline = sim.run(sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", counts))
    for name, period in PERIODS.items():
        print(f"Share of all external API tokens, {name}, by buyer:\n{split_by_buyer(baseline, period)}\n")
    print(f"{'lever (one at a time)':45s} {'volcano 2024':>12s} {'H1 2025':>8s} {'missed':>7s}")
    for lever in LEVERS:
        scenario = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", counts + lever)
        moments = {m.name: m for m in measure(sim.run(scenario), figures)}
        missed = sum(not m.check().passed for m in moments.values())
        share_2024 = moments["token_share_2024: volcano token_share"].simulated
        share_2025 = moments["token_share_h1_2025: volcano token_share"].simulated
        print(f"{' '.join(lever) or '(baseline)':45s} {share_2024:12.3f} {share_2025:8.3f} {missed:7d}")


if __name__ == "__main__":
    main()
