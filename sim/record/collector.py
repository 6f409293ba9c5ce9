"""A Mesa `DataCollector` for the market model, fed by the recorder's own measures.

Mesa users and Mesa's visualisation components read a model's `datacollector`. Its model
reporters here are the recorder's `VENDOR_COLUMNS` and `MARKET_COLUMNS` applied to the
month the model has just closed (`model.ledger[-1]`), so the collected values are the
recorded trajectories' values, not a second set of books. Reporter names:

  date                       the month, YYYY-MM
  token_share[VENDOR]        one per vendor (likewise revenue_share, revenue, ...)
  revenue, maas_revenue, ... the market totals of MARKET_COLUMNS, by their names

The collector collects after each month (`MarketModel.step`), not before the first: until
a month is closed there is nothing to report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import mesa

from sim.record.trajectories import MARKET_COLUMNS, VENDOR_COLUMNS
from sim.scenario.calendar import month_at

COLLECTED_VENDOR_COLUMNS = ("token_share", "revenue_share", "revenue", "api_tokens_per_day")


def vendor_reporter_name(column: str, vendor: str) -> str:
    """The reporter name of one vendor's column: `token_share[volcano]`."""
    return f"{column}[{vendor}]"


def _last_month(model):
    return model.ledger[-1]


def _vendor_value(model, column: str, index: int) -> float:
    return float(VENDOR_COLUMNS[column](_last_month(model))[index])


def _market_value(model, column: str) -> float:
    return float(MARKET_COLUMNS[column](_last_month(model)))


def _date(model) -> str:
    return month_at(model.spec.start, _last_month(model).month)


def model_reporters(
    vendor_ids: Sequence[str], vendor_columns: Sequence[str] = COLLECTED_VENDOR_COLUMNS
) -> dict[str, Callable]:
    """Reporter per vendor and column, and one per market total, each reading the last closed month."""
    reporters: dict[str, Callable] = {"date": partial(_date)}
    for column in vendor_columns:
        for index, vendor in enumerate(vendor_ids):
            reporters[vendor_reporter_name(column, vendor)] = partial(_vendor_value, column=column, index=index)
    for column in MARKET_COLUMNS:
        reporters[column] = partial(_market_value, column=column)
    return reporters


def market_datacollector(
    vendor_ids: Sequence[str], vendor_columns: Sequence[str] = COLLECTED_VENDOR_COLUMNS
) -> mesa.DataCollector:
    """The DataCollector `sim.build_model` attaches to every market model."""
    return mesa.DataCollector(model_reporters=model_reporters(vendor_ids, vendor_columns))
