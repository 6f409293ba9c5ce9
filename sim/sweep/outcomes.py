"""What each run of the market model keeps: shares at given months, period means, leaders, divergence.

A sweep of a thousand runs cannot keep a thousand full records in memory or on a laptop's
disk by default, so each run is reduced, on the worker, to a few named numbers (one row
per outcome). Full trajectories are optional. Outcome names are stable strings that read
as what they are, so `results.query("outcome == 'token_share[volcano]@2026-12'")` works:

    token_share[volcano]@2026-12            a vendor column at a month
    revenue_share[alibaba]@2025-01..2025-06 its mean over a period (both months included)
    leader[token_share]@2026-12             the leading vendor (in `label`; `value` is empty)
    hhi_tokens@2026-12                      a market column at a month
    divergence_months                       months the token and revenue leaders differ
                                            (`label`: the first such month)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
from pydantic import ConfigDict, Field, model_validator

from sim.report.summary import divergence_months
from sim.run import RunResult
from sim.scenario.calendar import Month, month_index
from sim.scenario.schema import Strict

OUTCOME_COLUMNS = ("outcome", "metric", "vendor", "period", "value", "label")


class Period(Strict):
    """Months from `from` to `to`, both included; outcomes are the means over them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Month = Field(alias="from")
    end: Month = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if month_index(self.start, self.end) < 0:
            raise ValueError(f"`to` ({self.end}) is before `from` ({self.start})")
        return self

    @property
    def label(self) -> str:
        return f"{self.start}..{self.end}"


class OutcomeSpec(Strict):
    """What each run of the market model keeps (docs/sweeps.md, "Outcomes")."""

    at: list[Month] = Field(default_factory=list, description="months for shares and leaders (default: the last)")
    metrics: list[str] = Field(
        default_factory=lambda: ["token_share", "revenue_share"], min_length=1, description="vendor columns"
    )
    periods: list[Period] = Field(default_factory=list, description="means of the metrics over these periods")
    leaders: bool = Field(True, description="the vendor with the largest value of each metric at each month")
    divergence: bool = Field(True, description="months in which the token and revenue leaders differ")
    market: list[str] = Field(default_factory=list, description="market columns at each month in `at`")
    trajectories: bool | list[str] = Field(False, description="keep these columns per month and vendor (true: metrics)")

    @property
    def trajectory_columns(self) -> list[str]:
        if self.trajectories is True:
            return list(self.metrics)
        return list(self.trajectories or [])


@dataclass
class OutcomeRows:
    """One run's outcomes as parallel lists: cheap to build per run, one Arrow table per batch."""

    outcome: list[str] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    vendor: list[str] = field(default_factory=list)
    period: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    label: list[str | None] = field(default_factory=list)

    def add(
        self, outcome: str, metric: str, value: float, vendor: str = "", period: str = "", label: str | None = None
    ) -> None:
        self.outcome.append(outcome)
        self.metric.append(metric)
        self.vendor.append(vendor)
        self.period.append(period)
        self.value.append(float(value))
        self.label.append(label)

    def __len__(self) -> int:
        return len(self.outcome)

    def columns(self) -> dict[str, list]:
        return {name: getattr(self, name) for name in OUTCOME_COLUMNS}


def extract(result: RunResult, spec: OutcomeSpec) -> OutcomeRows:
    """The outcomes `spec` asks for, from one run (a month the run does not reach gives NaN)."""
    rows = OutcomeRows()
    tables = {metric: result.wide(metric) for metric in spec.metrics}
    for date in spec.at:
        for metric, table in tables.items():
            for vendor in table.columns:
                value = table.at[date, vendor] if date in table.index else math.nan
                rows.add(f"{metric}[{vendor}]@{date}", metric, value, vendor, date)
        for column in spec.market:
            market = result.market.set_index("date")[column]
            rows.add(f"{column}@{date}", column, market.get(date, math.nan), "", date)
        if spec.leaders:
            for metric, table in tables.items():
                rows.add(f"leader[{metric}]@{date}", "leader", math.nan, "", date, _leader(table, date))
    for period in spec.periods:
        for metric, table in tables.items():
            means = table.loc[period.start : period.end].mean()
            for vendor in table.columns:
                rows.add(
                    f"{metric}[{vendor}]@{period.label}", metric, means.get(vendor, math.nan), vendor, period.label
                )
    if spec.divergence:
        months = divergence_months(result)
        dates = result.trajectories["date"]
        span = f"{dates.iloc[0]}..{dates.iloc[-1]}"
        rows.add("divergence_months", "divergence_months", len(months), "", span, months[0] if months else None)
    return rows


def _leader(table: pd.DataFrame, date: str) -> str | None:
    """The vendor with the largest value; none if the month is missing or nobody has any."""
    if date not in table.index:
        return None
    row = table.loc[date]
    return str(row.idxmax()) if row.max() > 0 else None


def trajectories(result: RunResult, columns: list[str]) -> pd.DataFrame | None:
    """The kept columns per month and vendor, or None when the sweep keeps none."""
    if not columns:
        return None
    return result.trajectories[["date", "vendor", *columns]].reset_index(drop=True)
