"""The run's summary: final and period-mean shares, leaders per metric, months the leaders differ."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.run import RunResult

METRICS = ("token_share", "revenue_share")


def leaders(result: RunResult, metric: str) -> pd.Series:
    """The vendor with the largest share in each month (dates as index)."""
    return result.wide(metric).idxmax(axis=1)


def divergence_months(result: RunResult) -> list[str]:
    """Months in which the token-share leader is not the revenue-share leader."""
    tokens, revenue = leaders(result, "token_share"), leaders(result, "revenue_share")
    market_exists = result.wide("token_share").sum(axis=1) > 0
    return [date for date in tokens.index if market_exists[date] and tokens[date] != revenue[date]]


def summarize(result: RunResult) -> dict[str, Any]:
    """Everything a reader needs to judge and reproduce the run, as plain JSON-able data."""
    final_date = result.trajectories["date"].iloc[-1]
    summary: dict[str, Any] = {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "scenario_hash": result.scenario_hash,
        "mode": result.mode,
        "period": {"start": result.trajectories["date"].iloc[0], "end": final_date},
        "final": {},
        "period_mean": {},
        "leaders": {},
        "divergence_months": divergence_months(result),
        "versions": result.versions,
    }
    for metric in METRICS:
        table = result.wide(metric)
        summary["final"][metric] = _rounded(table.iloc[-1])
        summary["period_mean"][metric] = _rounded(table.mean())
        monthly = leaders(result, metric)
        summary["leaders"][metric] = {"final": monthly.iloc[-1], "months_leading": monthly.value_counts().to_dict()}
    return summary


def _rounded(series: pd.Series) -> dict[str, float]:
    return {vendor: round(float(value), 6) for vendor, value in series.items()}
