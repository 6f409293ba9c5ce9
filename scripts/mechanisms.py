"""Switch the mechanisms behind the leaders' divergence off one at a time and print what is left.

For each case: the gap between the token leader and the revenue leader in H1 2025
(`sim.report.summary.leader_gap`: 0 when one vendor leads both), each metric's leader, and
Volcano's and Alibaba's token and revenue shares (ratios of the period's sums), averaged
over two seeds. The baseline is not refitted for any case: this shows what each mechanism
contributes to the fitted model, not what a model without it would fit.

    python scripts/mechanisms.py                 # 40,000 developer and 15,000 enterprise agents
    python scripts/mechanisms.py --developers 200000 --enterprises 100000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import sim
from sim.report.summary import leader_gap

ROOT = Path(__file__).resolve().parent.parent
PERIOD = ("2025-01", "2025-06")


def cases(base: sim.Scenario) -> dict[str, list[str] | Path]:
    """Each mechanism switched off, as overrides of the baseline (or another shipped scenario)."""
    vendors, labs = list(base.vendors), list(base.labs)
    equal_offers = [
        f"vendors.{v}.{field}"
        for v in vendors
        for field in ("incumbency=0.2", "trust=0.6", "integration=0.6", "allocation=[first_party, iaas, api]")
    ]
    no_ties = [f"labs.{lab}.investors=[]" for lab in labs]
    internal_first = next(i for i, event in enumerate(base.events) if event.id == "tencent_internal_first")
    return {
        "baseline": [],
        "equal incumbency, trust, integration and allocation; no equity ties": equal_offers + no_ties,
        "no equity ties between labs and clouds": no_ties,
        "equal incumbency": [f"vendors.{v}.incumbency=0.2" for v in vendors],
        "the same GPU allocation order for every vendor": [
            f"vendors.{v}.allocation=[first_party, iaas, api]" for v in vendors
        ],
        "no ByteDance apps (Volcano's first-party demand off)": ["vendors.volcano.first_party.users=0"],
        "no ecosystem gravity": ["developers.ecosystem_weight=0"],
        "no large-account channel": ["enterprises.large_accounts.volume_weight=0"],
        "no domestic-procurement rule for sovereignty buyers": ["enterprises.weights.domestic_chips=0"],
        "Tencent without its internal-first GPU policy": [f"events.{internal_first}.customer_capex=1"],
        "Qwen without open weights": ["families.qwen.open_weights=false"],
        "no price war (scenarios/no_price_war.yaml)": ROOT / "scenarios" / "no_price_war.yaml",
    }


def shares(result: sim.RunResult, column: str):
    sums = result.wide(column).loc[PERIOD[0] : PERIOD[1]].sum()
    return sums / sums.sum()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--developers", type=int, default=40_000)
    parser.add_argument("--enterprises", type=int, default=15_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    size = [f"agents.developers={args.developers}", f"agents.enterprises={args.enterprises}"]
    base = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", size)
    print("| switched off | leader gap | token leader | revenue leader | Volcano tokens / revenue", end=" ")
    print("| Alibaba tokens / revenue | Huawei / Tencent revenue |")
    print("|---|---:|---|---|---:|---:|---:|")
    for name, change in cases(base).items():
        scenario = sim.load_scenario(change, size) if isinstance(change, Path) else sim.override(base, *change)
        runs = [sim.run(scenario, seed=seed) for seed in args.seeds]
        gap = np.mean([leader_gap(run, *PERIOD) for run in runs])
        tokens = np.mean([shares(run, "api_tokens_per_day") for run in runs], axis=0)
        revenue = np.mean([shares(run, "revenue") for run in runs], axis=0)
        ids = list(scenario.vendors)
        v, a, h, t = (ids.index(vendor) for vendor in ("volcano", "alibaba", "huawei", "tencent"))
        volcano = f"{100 * tokens[v]:.0f} % / {100 * revenue[v]:.0f} %"
        alibaba = f"{100 * tokens[a]:.0f} % / {100 * revenue[a]:.0f} %"
        leaders = f"{ids[int(tokens.argmax())]} | {ids[int(revenue.argmax())]}"
        others = f"{100 * revenue[h]:.0f} % / {100 * revenue[t]:.0f} %"
        print(f"| {name} | {gap:.2f} | {leaders} | {volcano} | {alibaba} | {others} |")


if __name__ == "__main__":
    main()
