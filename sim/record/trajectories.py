"""What is measured each month, and how shares, HHI and margins are derived from the books.

Every column here is defined, with its unit, in docs/ODD.md ("Observation"). A new column
is one entry in `VENDOR_COLUMNS` or `MARKET_COLUMNS` and one line in that table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model.accounting import MonthAccounts, gross_margin, share_of
from sim.model.gpus import API_STREAM, FIRST_PARTY, IAAS
from sim.scenario.calendar import DAYS_PER_MONTH, month_at


def herfindahl(shares: np.ndarray) -> float:
    """Herfindahl-Hirschman index on a 0-1 scale: the sum of squared shares."""
    return float(np.sum(np.square(shares)))


VendorMeasure = Callable[[MonthAccounts], np.ndarray]

VENDOR_COLUMNS: dict[str, VendorMeasure] = {
    "token_share": lambda a: share_of(a.api_tokens),
    "revenue_share": lambda a: share_of(a.revenue),
    "api_tokens_per_day": lambda a: a.api_tokens,
    "developer_tokens_per_day": lambda a: a.developer_api_tokens,
    "enterprise_api_tokens_per_day": lambda a: a.enterprise_api_tokens,
    "headline_tokens_per_day": lambda a: a.api_tokens + a.first_party_tokens,
    "first_party_tokens_per_day": lambda a: a.first_party_tokens,
    "private_tokens_per_day": lambda a: a.private_tokens + a.self_hosted_tokens,
    "self_hosted_tokens_per_day": lambda a: a.self_hosted_tokens,
    "revenue": lambda a: a.revenue,
    "maas_revenue": lambda a: a.maas_revenue,
    "maas_developer_revenue": lambda a: a.maas_developer_revenue,
    "maas_enterprise_revenue": lambda a: a.maas_enterprise_revenue,
    "iaas_revenue": lambda a: a.iaas_revenue,
    "iaas_lab_revenue": lambda a: a.iaas_lab_revenue,
    "iaas_private_revenue": lambda a: a.iaas_private_revenue,
    "iaas_finetune_revenue": lambda a: a.iaas_finetune_revenue,
    "iaas_self_host_revenue": lambda a: a.iaas_self_host_revenue,
    "paas_revenue": lambda a: a.paas_revenue,
    "platform_fee": lambda a: a.platform_fee,
    "platform_units": lambda a: a.platform_units,
    "api_token_demand_per_day": lambda a: a.api_token_demand,
    "price": lambda a: a.price,
    "contract_price": lambda a: a.contract_price,
    "unit_cost": lambda a: a.unit_cost,
    "gpu_hour_price": lambda a: a.gpu_hour_price,
    "gpu_hour_cost": lambda a: a.gpu_hour_cost,
    "gross_margin": lambda a: a.gross_margin,
    "maas_margin": lambda a: a.maas_margin,
    "holds_loss_floor": lambda a: a.holds_loss_floor.astype(np.float64),
    "subsidy_drawn": lambda a: a.subsidy_drawn,
    "iaas_margin": lambda a: gross_margin(a.iaas_revenue, a.iaas_cost),
    "maas_cost": lambda a: a.maas_cost,
    "iaas_cost": lambda a: a.iaas_cost,
    "first_party_cost": lambda a: a.first_party_cost,
    "gpus": lambda a: a.gpus,
    "tokens_per_gpu_hour": lambda a: a.tokens_per_gpu_hour,
    "gpu_hours_available": lambda a: a.gpu_hours_available,
    "gpu_hours_first_party": lambda a: a.gpu_hours[:, FIRST_PARTY],
    "gpu_hours_iaas": lambda a: a.gpu_hours[:, IAAS],
    "gpu_hours_api": lambda a: a.gpu_hours[:, API_STREAM],
    "gpu_utilisation": lambda a: np.divide(
        a.gpu_hours.sum(axis=1), a.gpu_hours_available, out=np.zeros(len(a.gpus)), where=a.gpu_hours_available > 0
    ),
    "service_level": lambda a: a.service_level,
    "iaas_service_level": lambda a: a.iaas_service_level,
    "lab_gpu_hours": lambda a: a.lab_gpu_hours,
    "private_gpu_hours": lambda a: a.private_gpu_hours,
    "finetune_gpu_hours": lambda a: a.finetune_gpu_hours,
    "self_host_gpu_hours": lambda a: a.self_host_gpu_hours,
    "developers": lambda a: a.developers,
    "developers_self_hosting": lambda a: a.developers_self_hosting,
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
    "private_tokens_per_day": lambda a: float((a.private_tokens + a.self_hosted_tokens).sum()),
    "revenue": lambda a: float(a.revenue.sum()),
    "maas_revenue": lambda a: float(a.maas_revenue.sum()),
    "iaas_revenue": lambda a: float(a.iaas_revenue.sum()),
    "paas_revenue": lambda a: float(a.paas_revenue.sum()),
    "hhi_tokens": lambda a: herfindahl(share_of(a.api_tokens)),
    "hhi_revenue": lambda a: herfindahl(share_of(a.revenue)),
    "mean_price": lambda a: (
        float(np.average(a.price, weights=a.api_tokens)) if a.api_tokens.sum() > 0 else float("nan")
    ),
    "revenue_per_million_tokens": lambda a: (
        float(a.maas_revenue.sum() / (a.api_tokens.sum() * DAYS_PER_MONTH / 1e6)) if a.api_tokens.sum() > 0 else 0.0
    ),
    "switching_rate": lambda a: float(a.switches_out.sum() / a.developers_adopted) if a.developers_adopted > 0 else 0.0,
    "developers_adopted": lambda a: a.developers_adopted,
    "developers_outside": lambda a: a.developers_outside,
    "outside_tokens_per_day": lambda a: a.outside_tokens,
    "enterprises_adopted": lambda a: a.enterprises_adopted,
}


def family_rows(
    ledger: Sequence[MonthAccounts],
    vendor_ids: list[str],
    family_ids: list[str],
    start: str,
    outside_family: str | None = None,
):
    """Tokens per day by model family, host vendor and mode (api, private, first_party), long format.

    Tokens developers buy from the outside option (e.g. DeepSeek's own API) appear with host
    `outside`: they are the family's tokens, not any vendor's.
    """
    rows = []
    for accounts in ledger:
        date = month_at(start, accounts.month)
        if outside_family is not None and accounts.outside_tokens > 0:
            rows.append(
                {
                    "step": accounts.month,
                    "date": date,
                    "family": outside_family,
                    "vendor": "outside",
                    "mode": "api",
                    "tokens_per_day": float(accounts.outside_tokens),
                }
            )
        for mode, table in (
            ("api", accounts.family_api_tokens),
            ("private", accounts.family_private_tokens),
            ("first_party", accounts.family_first_party_tokens),
        ):
            for v, vendor in enumerate(vendor_ids):
                for f, family in enumerate(family_ids):
                    if table[v, f] > 0:
                        rows.append(
                            {
                                "step": accounts.month,
                                "date": date,
                                "family": family,
                                "vendor": vendor,
                                "mode": mode,
                                "tokens_per_day": float(table[v, f]),
                            }
                        )
    columns = ["step", "date", "family", "vendor", "mode", "tokens_per_day"]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class Trajectories:
    """A run's record: per vendor and month (long format) and per month for the market."""

    vendors: pd.DataFrame
    market: pd.DataFrame
    vendor_ids: list[str]
    families: pd.DataFrame

    def wide(self, column: str) -> pd.DataFrame:
        """One column as a month x vendor table (e.g. token_share), for plots and quick reads."""
        table = self.vendors.pivot(index="date", columns="vendor", values=column)
        return table[self.vendor_ids]


def record(
    ledger: Sequence[MonthAccounts],
    vendor_ids: list[str],
    start: str,
    family_ids: list[str],
    outside_family: str | None = None,
) -> Trajectories:
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
    return Trajectories(
        vendors=vendors,
        market=pd.DataFrame(market_rows),
        vendor_ids=list(vendor_ids),
        families=family_rows(ledger, vendor_ids, family_ids, start, outside_family),
    )


SHARE_COLUMNS = ("token_share", "revenue_share")
SHARE_TOLERANCE = 1e-9


class ImplausibleRun(ValueError):
    """A run whose outputs break an invariant: written out, they would be nonsense."""


def check_invariants(trajectories: Trajectories) -> None:
    """Refuse outputs no market can have, before anything is written.

    Every number is finite; every share is in [0, 1]; each month's shares sum to 1 (or are
    all 0, before the market exists). Extreme but valid inputs that overflow the model's
    arithmetic end here, with the first offending column and month named.
    """
    for name, table in (("trajectories", trajectories.vendors), ("market", trajectories.market)):
        numbers = table.select_dtypes("number")
        bad = ~np.isfinite(numbers.to_numpy(dtype=np.float64))
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise ImplausibleRun(
                f"{name}: {numbers.columns[column]} is not a finite number in {table['date'].iloc[row]}; "
                "the scenario's values are too extreme for the model's arithmetic"
            )
    for column in SHARE_COLUMNS:
        _check_shares(trajectories.wide(column), column)


def _check_shares(shares: pd.DataFrame, column: str) -> None:
    outside = (shares < -SHARE_TOLERANCE) | (shares > 1 + SHARE_TOLERANCE)
    if outside.to_numpy().any():
        date = shares.index[outside.any(axis=1).to_numpy()][0]
        raise ImplausibleRun(f"{column} outside [0, 1] in {date}; check the scenario for negative quantities")
    sums = shares.sum(axis=1)
    wrong = ~((sums - 1).abs().le(SHARE_TOLERANCE) | sums.abs().le(SHARE_TOLERANCE))
    if wrong.any():
        date = sums.index[wrong.to_numpy()][0]
        raise ImplausibleRun(f"{column} sums to {sums[date]:.6g} in {date}, not 1")
