"""Checking a run against public targets (data/targets.yaml): simulated value beside public figure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.report.summary import leaders
from sim.run import RunResult
from sim.scenario.calendar import month_at, month_index
from sim.scenario.loading import Problem, ScenarioError, read_yaml_mapping


@dataclass(frozen=True)
class TargetCheck:
    """One comparison: what was measured, the public figure, the simulated value, and the verdict."""

    target: str
    item: str
    public: str
    simulated: str
    passed: bool


def load_targets(path: str | Path) -> list[dict[str, Any]]:
    """The targets of a targets file, each a mapping with a known `id`; a ScenarioError otherwise."""
    path = Path(path)
    _, data, lines = read_yaml_mapping(path, "targets")
    targets = data.get("targets")
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ScenarioError([Problem(str(path), "targets", "expected a list of targets", lines.get(("targets",)))])
    for i, target in enumerate(targets):
        if not isinstance(target.get("id"), str) or target["id"] not in CHECKS:
            message = f"unknown target id {target.get('id')!r}; expected one of: {', '.join(CHECKS)}"
            raise ScenarioError([Problem(str(path), f"targets.{i}.id", message, lines.get(("targets", str(i))))])
    return targets


def _months(result: RunResult, period: list[str]) -> list[str]:
    start = result.scenario.start
    first, last = month_index(start, str(period[0])), month_index(start, str(period[1]))
    return [month_at(start, i) for i in range(first, last + 1)]


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


def _period_sums(result: RunResult, column: str, period: list[str]):
    """Each vendor's sum of `column` over the period's months."""
    return result.wide(column).loc[_months(result, period)].sum()


def _factor(target: dict) -> float:
    """The tolerance factor of a 'within a factor of X' target."""
    return float(str(target["tolerance"]).split("factor of")[1].split()[0].rstrip(";,"))


def check_period_share(result: RunResult, target: dict, quantity: str, metric: str) -> list[TargetCheck]:
    """Shares over a period as the ratio of the period's sums (the market grows fast), plus the ranking."""
    sums = _period_sums(result, quantity, target["period"])
    shares = sums / sums.sum() if sums.sum() > 0 else sums
    tol = float(target["tolerance"])
    checks = [
        TargetCheck(
            target["id"],
            f"{vendor} {metric}",
            f"{value:.3f} ± {tol:.2f}",
            f"{shares[vendor]:.3f}",
            abs(shares[vendor] - value) <= tol,
        )
        for vendor, value in target["values"].items()
    ]
    ranked = list(shares.sort_values(ascending=False).index)
    named = list(target["values"])
    if metric == "token_share":
        expected = sorted(named, key=lambda v: -target["values"][v])
        checks.append(
            TargetCheck(
                target["id"],
                "ranking",
                " > ".join(expected) + " > others",
                " > ".join(ranked[:4]),
                ranked[: len(named)] == expected,
            )
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


def check_daily_level(result: RunResult, target: dict, column: str) -> list[TargetCheck]:
    """A market total per day, averaged over the period's months, within a factor."""
    mean = float(result.market.set_index("date").loc[_months(result, target["period"]), column].mean())
    value, factor = float(target["values"]["total_per_day"]), _factor(target)
    return [
        TargetCheck(
            target["id"],
            f"{column} mean {target['period'][0]}..{target['period'][1]}",
            f"{value:.3g} (×/÷{factor:g})",
            f"{mean:.3g}",
            value / factor <= mean <= value * factor,
        )
    ]


def _market_revenue(result: RunResult, first: str, last: str) -> float:
    return float(result.market.set_index("date").loc[_months(result, [first, last]), "revenue"].sum())


def check_market_revenue(result: RunResult, target: dict) -> list[TargetCheck]:
    periods = {"year_2024": ("2024-01", "2024-12"), "h1_2025": ("2025-01", "2025-06")}
    checks = []
    for key, value in target["values"].items():
        value = float(value)  # YAML 1.1 reads 20.83e9 (no exponent sign) as a string
        simulated = _market_revenue(result, *periods[key])
        checks.append(
            TargetCheck(
                target["id"],
                f"AI cloud revenue {key}",
                f"{value / 1e9:.1f} bn ± 25 %",
                f"{simulated / 1e9:.1f} bn",
                abs(simulated / value - 1) <= 0.25,
            )
        )
    return checks


def check_market_growth(result: RunResult, target: dict) -> list[TargetCheck]:
    ratio = _market_revenue(result, "2025-01", "2025-06") / _market_revenue(result, "2024-01", "2024-12")
    value, tol = float(target["values"]["ratio"]), float(target["tolerance"])
    return [
        TargetCheck(
            target["id"],
            "revenue H1 2025 / 2024",
            f"{value:.2f} ± {tol:.2f}",
            f"{ratio:.2f}",
            abs(ratio - value) <= tol,
        )
    ]


def check_alibaba_growth(result: RunResult, target: dict) -> list[TargetCheck]:
    revenue = result.wide("revenue")["alibaba"]
    ratio = revenue.loc["2025-04":"2025-06"].sum() / revenue.loc["2024-04":"2024-06"].sum()
    floor = float(target["values"]["ratio_at_least"])
    return [
        TargetCheck(target["id"], "alibaba revenue Q2 2025 / Q2 2024", f"≥ {floor:g}", f"{ratio:.2f}", ratio >= floor)
    ]


def check_headline_levels(result: RunResult, target: dict) -> list[TargetCheck]:
    table = result.wide("headline_tokens_per_day")["volcano"]
    values = {key: float(value) for key, value in target["values"].items()}
    checks = []
    for key, month in (("may_2024", "2024-05"), ("sep_2025", "2025-09")):
        checks.append(
            TargetCheck(
                target["id"],
                f"volcano headline tokens/day {month}",
                f"{values[key]:.3g} (×/÷1.5)",
                f"{table[month]:.3g}",
                values[key] / 1.5 <= table[month] <= values[key] * 1.5,
            )
        )
    return checks + check_headline_growth(result, target)


CHECKS = {
    # shares over a period are the ratio of the period's sums (brief v2, "Accounting")
    "token_share_h1_2025": lambda r, t: check_period_share(r, t, "api_tokens_per_day", "token_share"),
    "revenue_share_alibaba_2025q1": lambda r, t: check_period_share(r, t, "revenue", "revenue_share"),
    "metric_divergence_2025": check_divergence,
    "volcano_headline_growth": check_headline_growth,
    "price_war_followers": check_price_war,
    # version 2
    "external_api_tokens_h1_2025": lambda r, t: check_daily_level(r, t, "api_tokens_per_day"),
    "external_api_tokens_2024": lambda r, t: check_daily_level(r, t, "api_tokens_per_day"),
    "ai_cloud_revenue_share_h1_2025": lambda r, t: check_period_share(r, t, "revenue", "revenue_share"),
    "ai_cloud_market_revenue": check_market_revenue,
    "ai_cloud_market_growth": check_market_growth,
    "alibaba_ai_revenue_growth": check_alibaba_growth,
    "volcano_headline_tokens": check_headline_levels,
}


def check_targets(result: RunResult, targets: list[dict[str, Any]]) -> list[TargetCheck]:
    """Every target with a known check; an unknown target id is an error, not a silent pass."""
    checks: list[TargetCheck] = []
    for target in targets:
        if target["id"] not in CHECKS:
            raise KeyError(f"no check is defined for target {target['id']!r}")
        try:
            checks.extend(CHECKS[target["id"]](result, target))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            message = f"its values do not fit the check ({type(error).__name__}: {error})"
            raise ScenarioError([Problem("targets", str(target["id"]), message)]) from None
    return checks
