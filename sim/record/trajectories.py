"""What is measured each month, and how shares, HHI and margins are derived from the books.

Every column here is defined, with its unit, in docs/ODD.md ("Observation"). A new column
is one entry in `VENDOR_COLUMNS` or `MARKET_COLUMNS` and one line in that table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model.accounting import MonthAccounts, share_of
from sim.scenario.calendar import month_at


def herfindahl(shares: np.ndarray) -> float:
    """Herfindahl-Hirschman index on a 0-1 scale: the sum of squared shares."""
    return float(np.sum(np.square(shares)))


def gross_margin(revenue: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(revenue - serving cost) / revenue; NaN-free: 0 where a vendor has no revenue."""
    return np.divide(revenue - cost, revenue, out=np.zeros_like(revenue), where=revenue > 0)


VendorMeasure = Callable[[MonthAccounts], np.ndarray]

VENDOR_COLUMNS: dict[str, VendorMeasure] = {
    "token_share": lambda a: share_of(a.api_tokens),
    "revenue_share": lambda a: share_of(a.revenue),
    "api_tokens_per_day": lambda a: a.api_tokens,
    "developer_tokens_per_day": lambda a: a.developer_api_tokens,
    "enterprise_api_tokens_per_day": lambda a: a.enterprise_api_tokens,
    "headline_tokens_per_day": lambda a: a.api_tokens + a.first_party_tokens,
    "first_party_tokens_per_day": lambda a: a.first_party_tokens,
    "private_tokens_per_day": lambda a: a.private_tokens,
    "revenue": lambda a: a.revenue,
    "api_revenue": lambda a: a.api_revenue,
    "enterprise_api_revenue": lambda a: a.enterprise_revenue,
    "private_revenue": lambda a: a.private_revenue,
    "price": lambda a: a.price,
    "unit_cost": lambda a: a.unit_cost,
    "gross_margin": lambda a: gross_margin(a.revenue, a.serving_cost),
    "capacity_tokens_per_day": lambda a: a.capacity,
    "service_level": lambda a: a.service_level,
    "developers": lambda a: a.developers,
    "enterprises_api": lambda a: a.enterprises_api,
    "enterprises_private": lambda a: a.enterprises_private,
    "switches_in": lambda a: a.switches_in,
    "switches_out": lambda a: a.switches_out,
    "active": lambda a: a.active.astype(np.int8),
}

MarketMeasure = Callable[[MonthAccounts], float]

MARKET_COLUMNS: dict[str, MarketMeasure] = {
    "api_tokens_per_day": lambda a: float(a.api_tokens.sum()),
    "headline_tokens_per_day": lambda a: float((a.api_tokens + a.first_party_tokens).sum()),
    "private_tokens_per_day": lambda a: float(a.private_tokens.sum()),
    "revenue": lambda a: float(a.revenue.sum()),
    "hhi_tokens": lambda a: herfindahl(share_of(a.api_tokens)),
    "hhi_revenue": lambda a: herfindahl(share_of(a.revenue)),
    "mean_price": lambda a: (
        float(np.average(a.price, weights=a.api_tokens)) if a.api_tokens.sum() > 0 else float("nan")
    ),
    "switching_rate": lambda a: float(a.switches_out.sum() / a.developers_adopted) if a.developers_adopted > 0 else 0.0,
    "developers_adopted": lambda a: a.developers_adopted,
    "enterprises_adopted": lambda a: a.enterprises_adopted,
}


@dataclass(frozen=True)
class Trajectories:
    """A run's record: per vendor and month (long format) and per month for the market."""

    vendors: pd.DataFrame
    market: pd.DataFrame
    vendor_ids: list[str]

    def wide(self, column: str) -> pd.DataFrame:
        """One column as a month x vendor table (e.g. token_share), for plots and quick reads."""
        table = self.vendors.pivot(index="date", columns="vendor", values=column)
        return table[self.vendor_ids]


def record(ledger: Sequence[MonthAccounts], vendor_ids: list[str], start: str) -> Trajectories:
    """Turn the model's monthly books into the two trajectory tables."""
    vendor_rows = []
    market_rows = []
    for accounts in ledger:
        date = month_at(start, accounts.month)
        measures = {name: measure(accounts) for name, measure in VENDOR_COLUMNS.items()}
        for i, vendor in enumerate(vendor_ids):
            row = {"step": accounts.month, "date": date, "vendor": vendor}
            row.update({name: float(values[i]) for name, values in measures.items()})
            vendor_rows.append(row)
        market_row = {"step": accounts.month, "date": date}
        market_row.update({name: measure(accounts) for name, measure in MARKET_COLUMNS.items()})
        market_rows.append(market_row)
    vendors = pd.DataFrame(vendor_rows)
    vendors["active"] = vendors["active"].astype(int)
    return Trajectories(vendors=vendors, market=pd.DataFrame(market_rows), vendor_ids=list(vendor_ids))
