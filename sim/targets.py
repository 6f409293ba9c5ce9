"""Public targets (data/targets.yaml) as moments: a simulated value beside a public figure.

Every target becomes one or more `Moment`s. A moment knows its public figure, the rule
that says how far the simulation may be from it (an absolute or relative tolerance, a
factor, or a one-sided bound) and the last month of data it describes. Two uses read the
same moments, so a target is measured in one place only:

- `sim targets` shows each moment as a check (within its tolerance or not);
- `sim calibrate` fits parameters by the moments' scaled misses `z` (|z| <= 1 is within
  tolerance) and uses `ends` to tell fitted figures from later ones it must predict.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sim.run import RunResult
from sim.scenario.calendar import month_at, month_index, parse_month
from sim.scenario.loading import Problem, ScenarioError, quoted, read_yaml_mapping

if TYPE_CHECKING:
    import pandas as pd

Rule = Literal["absolute", "relative", "factor", "at_least", "at_most"]
Unit = Literal["share", "count", "yuan", "ratio"]
MAX_MISS = 100.0  # the scaled miss of a value that vanished or is not a number: far off, but finite
GAP_SCALE = 0.02  # a ranking or leader missed by 2 share points counts as one tolerance off
REVENUE_PERIODS = {"year_2024": ("2024-01", "2024-12"), "h1_2025": ("2025-01", "2025-06")}
HALF_YEARS = {"h1_2025": ("2025-01", "2025-06"), "h2_2025": ("2025-07", "2025-12")}
# enterprises' own copies of open weights: their GPU-hours and fine-tuning
PRIVATE_STREAMS = {"iaas_private_revenue": 1.0, "iaas_finetune_revenue": 1.0}
# APIs enterprises buy, plus private deployments (private_tokens_per_day less developers' self-hosting)
ENTERPRISE_TOKENS = {
    "enterprise_api_tokens_per_day": 1.0,
    "private_tokens_per_day": 1.0,
    "self_hosted_tokens_per_day": -1.0,
}
HEADLINE_MONTHS = {"may_2024": "2024-05", "sep_2025": "2025-09"}


@dataclass(frozen=True)
class Moment:
    """One simulated figure against its public counterpart."""

    target: str
    item: str
    simulated: float
    public: float
    rule: Rule
    tolerance: float
    ends: str  # the last month the figure describes (YYYY-MM)
    unit: Unit = "ratio"
    public_text: str | None = None  # how to read the public side when the number alone says little
    simulated_text: str | None = None

    @property
    def name(self) -> str:
        return f"{self.target}: {self.item}"

    @property
    def z(self) -> float:
        """The miss in units of the tolerance: |z| <= 1 within it; 0 inside a one-sided bound."""
        return scaled_miss(self.rule, self.simulated, self.public, self.tolerance)

    @property
    def passed(self) -> bool:
        if self.rule in ("at_least", "at_most"):
            return self.z == 0.0
        return abs(self.z) <= 1.0

    def check(self) -> TargetCheck:
        public = self.public_text or _public_text(self)
        simulated = self.simulated_text or _number(self.simulated, self.unit)
        return TargetCheck(self.target, self.item, public, simulated, self.passed)


def scaled_miss(rule: Rule, simulated: float, public: float, tolerance: float) -> float:
    """How far `simulated` is from `public`, in units of the tolerance, for each rule."""
    if not math.isfinite(simulated):
        return MAX_MISS
    if rule == "absolute":
        miss = (simulated - public) / tolerance
    elif rule == "relative":
        miss = (simulated / public - 1.0) / tolerance
    elif rule == "factor":
        miss = math.log(simulated / public) / math.log(tolerance) if simulated > 0 else -MAX_MISS
    elif rule == "at_least":
        miss = max(0.0, public - simulated) / tolerance
    else:
        miss = max(0.0, simulated - public) / tolerance
    return max(-MAX_MISS, min(MAX_MISS, miss))


@dataclass(frozen=True)
class TargetCheck:
    """One comparison: what was measured, the public figure, the simulated value, and the verdict."""

    target: str
    item: str
    public: str
    simulated: str
    passed: bool


def _number(value: float, unit: Unit) -> str:
    if unit == "share":
        return f"{value:.3f}"
    if unit == "yuan":
        return f"{value / 1e9:.1f} bn"
    if unit == "count":
        return f"{value:.3g}"
    return f"{value:.2f}"


def _public_text(moment: Moment) -> str:
    figure = _number(moment.public, moment.unit)
    tolerance = moment.tolerance
    return {
        "absolute": f"{figure} ± {_number(tolerance, moment.unit)}",
        "relative": f"{figure} ± {100 * tolerance:.0f} %",
        "factor": f"{figure} (×/÷{tolerance:g})",
        "at_least": f"≥ {figure}",
        "at_most": f"≤ {figure}",
    }[moment.rule]


def load_targets(path: str | Path, vendors: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The targets of a targets file, each a mapping with a known `id` holding what its moments
    read (see SHAPES); a ScenarioError naming the file, line and field otherwise.

    With `vendors`, every target must also be measurable on a scenario with these vendors
    (`sim targets` measures them all; a calibration checks only those it fits).
    """
    path = Path(path)
    _, data, lines = read_yaml_mapping(path, "targets")
    targets = data.get("targets")
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ScenarioError([Problem(str(path), "targets", "expected a list of targets", lines.get(("targets",)))])
    for i, target in enumerate(targets):
        if not isinstance(target.get("id"), str) or target["id"] not in MOMENTS:
            message = f"unknown target id {quoted(target.get('id'))}; expected one of: {', '.join(MOMENTS)}"
            raise ScenarioError([Problem(str(path), f"targets.{i}.id", message, lines.get(("targets", str(i))))])
        found = target_problem(target, vendors)
        if found is not None:
            where, message = found
            at = ("targets", str(i))
            line = lines.get((*at, *where.split(".", 1))) or lines.get((*at, where.split(".")[0])) or lines.get(at)
            raise ScenarioError([Problem(str(path), f"targets.{i}.{where}", f"{target['id']}: {message}", line)])
    return targets


# --- what each target must hold ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What a target of one id must hold for its moments to be measured, checked when it is read.

    The moments read `values` by key, `period` and `tolerance` as written, and some vendors by
    id. A file that does not hold them would pass validation and fail in every run of a
    calibration (or at the end of `sim targets`), so it is refused up front instead, naming the
    field and what was expected.
    """

    values: Literal["vendors", "months"] | tuple[str, ...] | None  # what `values` is keyed by (None: no values)
    required: tuple[str, ...] = ()  # keys of `values` that must all be there (else: at least one)
    period: bool = False  # a `period: [YYYY-MM, YYYY-MM]`
    tolerance: Literal["number", "factor"] | None = None  # a positive number, or "within a factor of X"
    vendors: tuple[str, ...] = ()  # vendors the moments read whatever the values say


PERIOD_SHARES = Shape("vendors", period=True, tolerance="number")
DAILY_LEVEL = Shape(("total_per_day",), required=("total_per_day",), period=True, tolerance="factor")
HEADLINE_MONTHS_SHAPE = Shape("months", tolerance="factor", vendors=("volcano",))
SHAPES: dict[str, Shape] = {
    "token_share_h1_2025": PERIOD_SHARES,
    "revenue_share_alibaba_2025q1": PERIOD_SHARES,
    "metric_divergence_2025": Shape(None, period=True, vendors=("volcano", "alibaba")),
    "volcano_headline_growth": Shape(("ratio",), required=("ratio",), vendors=("volcano",)),
    "price_war_followers": Shape(None, period=True, vendors=("alibaba", "baidu", "tencent")),
    "external_api_tokens_h1_2025": DAILY_LEVEL,
    "external_api_tokens_2024": DAILY_LEVEL,
    "ai_cloud_revenue_share_h1_2025": PERIOD_SHARES,
    "ai_cloud_market_revenue": Shape(tuple(REVENUE_PERIODS)),
    "ai_cloud_market_growth": Shape(("ratio",), required=("ratio",), tolerance="number"),
    "alibaba_ai_revenue_growth": Shape(("ratio_at_least",), required=("ratio_at_least",), vendors=("alibaba",)),
    "volcano_headline_tokens": Shape(
        (*HEADLINE_MONTHS, "ratio"), required=(*HEADLINE_MONTHS, "ratio"), vendors=("volcano",)
    ),
    "token_share_2024": PERIOD_SHARES,
    "volcano_headline_tokens_by_month": HEADLINE_MONTHS_SHAPE,
    "volcano_headline_path": HEADLINE_MONTHS_SHAPE,
    "ai_cloud_revenue_ranking_h1_2025": Shape(None, vendors=("alibaba", "volcano")),
    "enterprise_tokens_2025": Shape(tuple(HALF_YEARS), tolerance="factor"),
    "private_deployment_revenue": Shape(tuple(REVENUE_PERIODS), tolerance="factor"),
    "national_daily_tokens": Shape("months", tolerance="number"),
}


def target_problem(target: dict[str, Any], vendors: Collection[str] | None = None) -> tuple[str, str] | None:
    """The first thing a target of a known id lacks for its moments, as (field, what was expected).

    With `vendors` (a scenario's vendor ids), the vendors the target names or its moments read
    must be among them; without, only the file's own shape is checked.
    """
    shape = SHAPES[target["id"]]
    if shape.period:
        period = target.get("period")
        if not (isinstance(period, list | tuple) and len(period) == 2 and all(_is_month(m) for m in period)):
            return "period", f"expected [first month, last month] as YYYY-MM, got {_short(period)}"
    if shape.tolerance is not None:
        found = _tolerance_problem(target.get("tolerance"), shape.tolerance)
        if found is not None:
            return "tolerance", found
    if shape.values is not None:
        found = _values_problem(target.get("values"), shape, vendors)
        if found is not None:
            return found
    if vendors is not None:
        lacking = [vendor for vendor in shape.vendors if vendor not in vendors]
        if lacking:
            return (
                "id",
                f"its moments read vendor {lacking[0]!r}, which the scenario lacks (its vendors: {', '.join(vendors)})",
            )
    return None


def _values_problem(values: Any, shape: Shape, vendors: Collection[str] | None) -> tuple[str, str] | None:
    if not isinstance(values, dict) or not values:
        return "values", f"expected a mapping of {_keys_wanted(shape)} to figures, got {_short(values)}"
    for key, value in values.items():
        name = str(key)
        if shape.values == "months":
            if not _is_month(name):
                return f"values.{key}", "expected a month YYYY-MM as the key"
        elif shape.values == "vendors":
            if vendors is not None and name not in vendors:
                return f"values.{key}", f"not a vendor of the scenario (its vendors: {', '.join(vendors)})"
        elif name not in shape.values:
            return f"values.{key}", f"not a figure this target has; expected {_keys_wanted(shape)}"
        if _finite(value) is None:
            return f"values.{key}", f"expected a finite number, got {_short(value)}"
    missing = [key for key in shape.required if key not in values]
    if missing:
        return "values", f"missing {', '.join(missing)}; expected {_keys_wanted(shape)}"
    return None


def _keys_wanted(shape: Shape) -> str:
    if shape.values == "months":
        return "months (YYYY-MM)"
    if shape.values == "vendors":
        return "vendor ids"
    assert shape.values is not None
    wanted = " and ".join(shape.values) if shape.required else "one or more of " + ", ".join(shape.values)
    return wanted


def _tolerance_problem(tolerance: Any, kind: str) -> str | None:
    if kind == "factor":
        try:
            factor = _factor({"tolerance": tolerance})
        except (IndexError, ValueError):
            factor = math.nan
        if not (math.isfinite(factor) and factor > 1):
            return f"expected 'within a factor of X' with X above 1, got {_short(tolerance)}"
        return None
    number = _finite(tolerance)
    if number is None or number <= 0:
        return f"expected a positive number, got {_short(tolerance)}"
    return None


def _finite(value: Any) -> float | None:
    """A finite number, also as YAML 1.1 leaves some (20.83e9 is read as text); None otherwise."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _is_month(value: Any) -> bool:
    try:
        parse_month(str(value)[:40])
    except ValueError:
        return False
    return True


def _short(value: Any) -> str:
    """A value as it may be quoted in a one-line message, whatever it holds."""
    return quoted(value, 60)


# --- where each target's data lies ----------------------------------------------------------------


def target_span(target: dict[str, Any]) -> tuple[str, str]:
    """The first and last month of data a target describes (to check it lies inside a scenario)."""
    if "period" in target:
        return str(target["period"][0]), str(target["period"][1])
    kind = target["id"]
    if kind in ("ai_cloud_market_revenue", "private_deployment_revenue"):
        spans = [REVENUE_PERIODS[key] for key in target["values"]]
        return min(s[0] for s in spans), max(s[1] for s in spans)
    if kind == "enterprise_tokens_2025":
        spans = [HALF_YEARS[key] for key in target["values"]]
        return min(s[0] for s in spans), max(s[1] for s in spans)
    if kind == "ai_cloud_revenue_ranking_h1_2025":
        return "2025-01", "2025-06"
    if kind == "ai_cloud_market_growth":
        return "2024-01", "2025-06"
    if kind == "alibaba_ai_revenue_growth":
        return "2024-04", "2025-06"
    if kind in ("volcano_headline_tokens", "volcano_headline_growth"):
        return "2024-05", "2025-09"
    if kind in ("volcano_headline_tokens_by_month", "volcano_headline_path", "national_daily_tokens"):
        months = sorted(str(month) for month in target["values"])
        return months[0], months[-1]
    raise KeyError(f"no moment is defined for target {kind!r}")


def _months(result: RunResult, period: list[str] | tuple[str, str]) -> list[str]:
    start = result.scenario.start
    first, last = month_index(start, str(period[0])), month_index(start, str(period[1]))
    return [month_at(start, i) for i in range(first, last + 1)]


def _factor(target: dict) -> float:
    """The tolerance factor of a 'within a factor of X' target."""
    return float(str(target["tolerance"]).split("factor of")[1].split()[0].rstrip(";,"))


# --- each target's moments --------------------------------------------------------------------------


def period_share_moments(result: RunResult, target: dict, quantity: str, metric: str) -> list[Moment]:
    """Shares over a period as the ratio of the period's sums (the market grows fast), plus the ranking."""
    period = target["period"]
    sums = result.wide(quantity).loc[_months(result, period)].sum()
    shares = sums / sums.sum() if sums.sum() > 0 else sums
    tol, ends = float(target["tolerance"]), str(period[1])
    moments = [
        Moment(target["id"], f"{vendor} {metric}", float(shares[vendor]), float(value), "absolute", tol, ends, "share")
        for vendor, value in target["values"].items()
    ]
    ranked = list(shares.sort_values(ascending=False).index)
    named = list(target["values"])
    if metric == "token_share":
        expected = sorted(named, key=lambda v: -target["values"][v])
        others = shares.drop(expected)
        steps = [shares[lower] - shares[upper] for upper, lower in itertools.pairwise(expected)]
        gap = max([*steps, (others.max() if len(others) else 0.0) - shares[expected[-1]]])
        moments.append(
            Moment(
                target["id"], "ranking", float(gap), 0.0, "at_most", GAP_SCALE, ends, "share",
                public_text=" > ".join(expected) + " > others",
                simulated_text=" > ".join(ranked[:4]),
            )
        )  # fmt: skip
    else:
        leader = named[0]
        gap = shares.drop(leader).max() - shares[leader] if len(shares) > 1 else 0.0
        moments.append(
            Moment(
                target["id"], "leader", float(gap), 0.0, "at_most", GAP_SCALE, ends, "share",
                public_text=f"{leader} leads, volcano does not",
                simulated_text=ranked[0],
            )
        )  # fmt: skip
    return moments


def divergence_moments(result: RunResult, target: dict) -> list[Moment]:
    """Every month of the period: volcano leads on tokens while alibaba leads on revenue."""
    months = _months(result, target["period"])
    tokens = result.wide("token_share").loc[months].idxmax(axis=1)
    revenue = result.wide("revenue_share").loc[months].idxmax(axis=1)
    failing = int((~((tokens == "volcano") & (revenue == "alibaba"))).sum())
    return [
        Moment(
            target["id"], "token leader volcano, revenue leader alibaba", failing / len(months), 0.0, "at_most",
            1 / 3, str(target["period"][1]),
            public_text=f"all {len(months)} months",
            simulated_text=f"{len(months) - failing} of {len(months)}",
        )
    ]  # fmt: skip


def headline_growth_moments(result: RunResult, target: dict) -> list[Moment]:
    table = result.wide("headline_tokens_per_day")["volcano"]
    ratio = table["2025-09"] / table["2024-05"] if table["2024-05"] > 0 else 0.0
    public = float(target["values"]["ratio"])
    item = "volcano headline tokens Sep 2025 / May 2024"
    return [Moment(target["id"], item, float(ratio), public, "factor", 2.0, "2025-09", "count")]


def headline_level_moments(result: RunResult, target: dict) -> list[Moment]:
    table = result.wide("headline_tokens_per_day")["volcano"]
    values = {key: float(value) for key, value in target["values"].items()}
    moments = [
        Moment(target["id"], f"volcano headline tokens/day {month}", float(table[month]), values[key], "factor", 1.5,
               month, "count")
        for key, month in HEADLINE_MONTHS.items()
    ]  # fmt: skip
    return moments + headline_growth_moments(result, target)


def headline_by_month_moments(result: RunResult, target: dict) -> list[Moment]:
    """Volcano's headline tokens per day in each month named (YYYY-MM: figure), within a factor."""
    table = result.wide("headline_tokens_per_day")["volcano"]
    factor = _factor(target)
    return [
        Moment(target["id"], f"volcano headline tokens/day {month}", float(table[str(month)]), float(value), "factor",
               factor, str(month), "count")
        for month, value in sorted(target["values"].items(), key=lambda item: str(item[0]))
    ]  # fmt: skip


def price_war_moments(result: RunResult, target: dict) -> list[Moment]:
    prices = result.wide("price")
    before = month_at(result.scenario.start, month_index(result.scenario.start, "2024-05") - 1)
    moments = []
    for vendor in ("alibaba", "baidu", "tencent"):
        after = prices.loc[_months(result, target["period"]), vendor].min()
        cut = 1 - after / prices.loc[before, vendor]
        moments.append(
            Moment(
                target["id"], f"{vendor} cut by Jun 2024", float(cut), 0.5, "at_least", 0.1,
                str(target["period"][1]),
                public_text="cut within a month of volcano", simulated_text=f"-{100 * cut:.1f} %",
            )
        )  # fmt: skip
    return moments


def daily_level_moments(result: RunResult, target: dict, column: str) -> list[Moment]:
    """A market total per day, averaged over the period's months, within a factor."""
    period = target["period"]
    mean = float(result.market.set_index("date").loc[_months(result, period), column].mean())
    item = f"{column} mean {period[0]}..{period[1]}"
    public = float(target["values"]["total_per_day"])
    return [Moment(target["id"], item, mean, public, "factor", _factor(target), str(period[1]), "count")]


def _market_revenue(result: RunResult, first: str, last: str) -> float:
    return float(result.market.set_index("date").loc[_months(result, (first, last)), "revenue"].sum())


def market_revenue_moments(result: RunResult, target: dict) -> list[Moment]:
    moments = []
    for key, value in target["values"].items():
        first, last = REVENUE_PERIODS[key]
        simulated = _market_revenue(result, first, last)
        # float(): YAML 1.1 reads 20.83e9 (no exponent sign) as a string
        moments.append(Moment(target["id"], f"AI cloud revenue {key}", simulated, float(value), "relative", 0.25,
                              last, "yuan"))  # fmt: skip
    return moments


def market_growth_moments(result: RunResult, target: dict) -> list[Moment]:
    ratio = _market_revenue(result, "2025-01", "2025-06") / _market_revenue(result, "2024-01", "2024-12")
    value, tol = float(target["values"]["ratio"]), float(target["tolerance"])
    return [Moment(target["id"], "revenue H1 2025 / 2024", ratio, value, "absolute", tol, "2025-06")]


def revenue_ranking_moments(result: RunResult, target: dict) -> list[Moment]:
    """H1 2025 revenue (ratio of the period's sums): alibaba first, volcano second, everyone else below."""
    first, last = target_span(target)
    sums = result.wide("revenue").loc[_months(result, (first, last))].sum()
    shares = sums / sums.sum() if sums.sum() > 0 else sums
    ranked = list(shares.sort_values(ascending=False).index)
    rest = shares.drop(["alibaba", "volcano"])
    gaps = {
        "alibaba first": shares["volcano"] - shares["alibaba"],
        "volcano second": (rest.max() if len(rest) else 0.0) - shares["volcano"],
    }
    return [
        Moment(target["id"], item, float(max(gap, 0.0)), 0.0, "at_most", GAP_SCALE, last, "share",
               public_text="alibaba > volcano > others", simulated_text=" > ".join(ranked[:3]))
        for item, gap in gaps.items()
    ]  # fmt: skip


def _market_total(result: RunResult, columns: dict[str, float], first: str, last: str) -> pd.Series:
    """Month by month for first..last: the named columns, each times its sign, summed over vendors."""
    months = _months(result, (first, last))
    return sum(sign * result.wide(column).loc[months].sum(axis=1) for column, sign in columns.items())


def _period_factor_moments(
    result: RunResult,
    target: dict,
    periods: dict[str, tuple[str, str]],
    columns: dict[str, float],
    how: str,
    label: str,
) -> list[Moment]:
    """One 'within a factor' moment per period named in the target: the market total of
    `columns` over the period, its daily mean (`how="mean"`, tokens) or its sum (`"sum"`, yuan)."""
    unit = {"mean": "count", "sum": "yuan"}[how]
    moments = []
    for key, value in target["values"].items():
        first, last = periods[key]
        total = _market_total(result, columns, first, last)
        simulated = float(total.mean() if how == "mean" else total.sum())
        moments.append(Moment(target["id"], f"{label} {key}", simulated, float(value), "factor", _factor(target),
                              last, unit))  # fmt: skip
    return moments


def enterprise_tokens_moments(result: RunResult, target: dict) -> list[Moment]:
    """Enterprises' tokens per day (API tokens they buy + private deployments), each half's daily mean."""
    return _period_factor_moments(result, target, HALF_YEARS, ENTERPRISE_TOKENS, "mean", "enterprise tokens/day")


def private_revenue_moments(result: RunResult, target: dict) -> list[Moment]:
    """Revenue from enterprises' private deployments (GPU-hours and fine-tuning), summed over each period."""
    return _period_factor_moments(result, target, REVENUE_PERIODS, PRIVATE_STREAMS, "sum", "private-deployment revenue")


def national_tokens_moments(result: RunResult, target: dict) -> list[Moment]:
    """Every vendor's headline tokens per day summed, in each month named, at most the national figure."""
    table = result.wide("headline_tokens_per_day").sum(axis=1)
    tolerance = float(target["tolerance"])
    return [
        Moment(target["id"], f"all vendors' headline tokens/day {month}", float(table[str(month)]), float(value),
               "at_most", tolerance * float(value), str(month), "count")
        for month, value in sorted(target["values"].items(), key=lambda item: str(item[0]))
    ]  # fmt: skip


def alibaba_growth_moments(result: RunResult, target: dict) -> list[Moment]:
    revenue = result.wide("revenue")["alibaba"]
    earlier = revenue.loc["2024-04":"2024-06"].sum()
    ratio = float(revenue.loc["2025-04":"2025-06"].sum() / earlier) if earlier > 0 else math.inf
    floor = float(target["values"]["ratio_at_least"])
    item = "alibaba revenue Q2 2025 / Q2 2024"
    return [Moment(target["id"], item, ratio, floor, "at_least", 0.1 * floor, "2025-06")]


MOMENTS = {
    # shares over a period are the ratio of the period's sums (brief v2, "Accounting")
    "token_share_h1_2025": lambda r, t: period_share_moments(r, t, "api_tokens_per_day", "token_share"),
    "revenue_share_alibaba_2025q1": lambda r, t: period_share_moments(r, t, "revenue", "revenue_share"),
    "metric_divergence_2025": divergence_moments,
    "volcano_headline_growth": headline_growth_moments,
    "price_war_followers": price_war_moments,
    # version 2
    "external_api_tokens_h1_2025": lambda r, t: daily_level_moments(r, t, "api_tokens_per_day"),
    "external_api_tokens_2024": lambda r, t: daily_level_moments(r, t, "api_tokens_per_day"),
    "ai_cloud_revenue_share_h1_2025": lambda r, t: period_share_moments(r, t, "revenue", "revenue_share"),
    "ai_cloud_market_revenue": market_revenue_moments,
    "ai_cloud_market_growth": market_growth_moments,
    "alibaba_ai_revenue_growth": alibaba_growth_moments,
    "volcano_headline_tokens": headline_level_moments,
    # out-of-sample checks (data/checks.yaml): public figures the baseline is not fitted to
    "token_share_2024": lambda r, t: period_share_moments(r, t, "api_tokens_per_day", "token_share"),
    "volcano_headline_tokens_by_month": headline_by_month_moments,
    # version 3
    "volcano_headline_path": headline_by_month_moments,
    "ai_cloud_revenue_ranking_h1_2025": revenue_ranking_moments,
    "enterprise_tokens_2025": enterprise_tokens_moments,
    "private_deployment_revenue": private_revenue_moments,
    # out-of-sample bounds (data/checks.yaml)
    "national_daily_tokens": national_tokens_moments,
}


def measure(result: RunResult, targets: list[dict[str, Any]]) -> list[Moment]:
    """Every target's moments; an unknown target id is an error, not a silent pass."""
    moments: list[Moment] = []
    for target in targets:
        if target["id"] not in MOMENTS:
            raise KeyError(f"no moment is defined for target {target['id']!r}")
        try:
            moments.extend(MOMENTS[target["id"]](result, target))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            message = f"its values do not fit the check ({type(error).__name__}: {error})"
            raise ScenarioError([Problem("targets", str(target["id"]), message)]) from None
    return moments


def check_targets(result: RunResult, targets: list[dict[str, Any]]) -> list[TargetCheck]:
    """Every target as checks: each moment within its tolerance or not."""
    return [moment.check() for moment in measure(result, targets)]
