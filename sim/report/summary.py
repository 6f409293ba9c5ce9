"""The run's summary: final and whole-period shares, leaders per metric, months the leaders differ."""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.run import RunResult

METRICS = ("token_share", "revenue_share")
QUANTITIES = {"token_share": "api_tokens_per_day", "revenue_share": "revenue"}  # what each share divides


def period_shares(result: RunResult, metric: str) -> pd.Series:
    """A share over the whole run: the ratio of the period's sums (the market grows fast), not a
    mean of monthly shares."""
    sums = result.wide(QUANTITIES[metric]).sum()
    total = float(sums.sum())
    return sums / total if total > 0 else sums * 0.0


def leaders(result: RunResult, metric: str) -> pd.Series:
    """The vendor with the largest share in each month (dates as index)."""
    return result.wide(metric).idxmax(axis=1)


def divergence_months(result: RunResult) -> list[str]:
    """Months in which the token-share leader is not the revenue-share leader."""
    tokens, revenue = leaders(result, "token_share"), leaders(result, "revenue_share")
    market_exists = result.wide("token_share").sum(axis=1) > 0
    return [date for date in tokens.index if market_exists[date] and tokens[date] != revenue[date]]


def leader_gap(result: RunResult, first: str, last: str) -> float:
    """How far apart the two metrics' leaders are over a period (shares as ratios of sums): the
    token leader's token share minus its revenue share, plus the revenue leader's revenue share
    minus its token share. Zero when one vendor leads both by the same margin on each."""
    tokens = result.wide("api_tokens_per_day").loc[first:last].sum()
    revenue = result.wide("revenue").loc[first:last].sum()
    token_share, revenue_share = tokens / tokens.sum(), revenue / revenue.sum()
    token_leader, revenue_leader = token_share.idxmax(), revenue_share.idxmax()
    return float(
        (token_share[token_leader] - revenue_share[token_leader])
        + (revenue_share[revenue_leader] - token_share[revenue_leader])
    )


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
        "period_share": {},
        "leaders": {},
        "divergence_months": divergence_months(result),
        "versions": result.versions,
    }
    for metric in METRICS:
        table = result.wide(metric)
        summary["final"][metric] = _rounded(table.iloc[-1])
        summary["period_share"][metric] = _rounded(period_shares(result, metric))
        monthly = leaders(result, metric)
        summary["leaders"][metric] = {"final": monthly.iloc[-1], "months_leading": monthly.value_counts().to_dict()}
    return summary


def _rounded(series: pd.Series) -> dict[str, float]:
    return {vendor: round(float(value), 6) for vendor, value in series.items()}
