"""Checking a run against public targets (data/targets.yaml): simulated value beside public figure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.report.summary import leaders
from sim.run import RunResult
from sim.scenario.calendar import month_at, month_index


@dataclass(frozen=True)
class TargetCheck:
    """One comparison: what was measured, the public figure, the simulated value, and the verdict."""

    target: str
    item: str
    public: str
    simulated: str
    passed: bool


def load_targets(path: str | Path) -> list[dict[str, Any]]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["targets"]


def _months(result: RunResult, period: list[str]) -> list[str]:
    start = result.scenario.start
    first, last = month_index(start, str(period[0])), month_index(start, str(period[1]))
    return [month_at(start, i) for i in range(first, last + 1)]


def _period_mean(result: RunResult, metric: str, period: list[str]):
    table = result.wide(metric)
    return table.loc[_months(result, period)].mean()


def check_share_target(result: RunResult, target: dict, metric: str) -> list[TargetCheck]:
    means = _period_mean(result, metric, target["period"])
    tol = float(target["tolerance"])
    checks = [
        TargetCheck(
            target["id"],
            f"{vendor} {metric}",
            f"{value:.3f} ± {tol:.2f}",
            f"{means[vendor]:.3f}",
            abs(means[vendor] - value) <= tol,
        )
        for vendor, value in target["values"].items()
    ]
    ranked = list(means.sort_values(ascending=False).index)
    named = list(target["values"])
    if metric == "token_share":
        order_ok = ranked[: len(named)] == sorted(named, key=lambda v: -target["values"][v])
        checks.append(
            TargetCheck(target["id"], "ranking", " > ".join(named) + " > others", " > ".join(ranked[:4]), order_ok)
        )
    else:
        checks.append(
            TargetCheck(
                target["id"],
                "leader",
                f"{named[0]} leads, volcano does not",
                ranked[0],
                ranked[0] == named[0] and ranked[0] != "volcano",
            )
        )
    return checks


def check_divergence(result: RunResult, target: dict) -> list[TargetCheck]:
    months = _months(result, target["period"])
    tokens, revenue = leaders(result, "token_share"), leaders(result, "revenue_share")
    failing = [m for m in months if not (tokens[m] == "volcano" and revenue[m] == "alibaba")]
    return [
        TargetCheck(
            target["id"],
            "token leader volcano, revenue leader alibaba",
            f"all {len(months)} months",
            f"{len(months) - len(failing)} of {len(months)}",
            not failing,
        )
    ]


def check_headline_growth(result: RunResult, target: dict) -> list[TargetCheck]:
    table = result.wide("headline_tokens_per_day")["volcano"]
    ratio = table["2025-09"] / table["2024-05"]
    low, high = target["values"]["ratio"] / 2, target["values"]["ratio"] * 2
    return [
        TargetCheck(
            target["id"],
            "volcano headline tokens Sep 2025 / May 2024",
            f"{target['values']['ratio']:.0f} (x/÷2)",
            f"{ratio:.0f}",
            low <= ratio <= high,
        )
    ]


def check_price_war(result: RunResult, target: dict) -> list[TargetCheck]:
    prices = result.wide("price")
    before = month_at(result.scenario.start, month_index(result.scenario.start, "2024-05") - 1)
    checks = []
    for vendor in ("alibaba", "baidu", "tencent"):
        after = prices.loc[_months(result, target["period"]), vendor].min()
        cut = 1 - after / prices.loc[before, vendor]
        checks.append(
            TargetCheck(
                target["id"],
                f"{vendor} cut by Jun 2024",
                "cut within a month of volcano",
                f"-{100 * cut:.1f} %",
                cut > 0.5,
            )
        )
    return checks


CHECKS = {
    "token_share_h1_2025": lambda r, t: check_share_target(r, t, "token_share"),
    "revenue_share_alibaba_2025q1": lambda r, t: check_share_target(r, t, "revenue_share"),
    "metric_divergence_2025": check_divergence,
    "volcano_headline_growth": check_headline_growth,
    "price_war_followers": check_price_war,
}


def check_targets(result: RunResult, targets: list[dict[str, Any]]) -> list[TargetCheck]:
    """Every target with a known check; an unknown target id is an error, not a silent pass."""
    checks: list[TargetCheck] = []
    for target in targets:
        if target["id"] not in CHECKS:
            raise KeyError(f"no check is defined for target {target['id']!r}")
        checks.extend(CHECKS[target["id"]](result, target))
    return checks
