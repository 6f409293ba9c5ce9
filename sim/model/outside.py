"""Sellers outside the vendors (DeepSeek's own API and the like): an option for developers.

Developers see it as one more column beside the vendors' APIs (index V), priced by its own
dated schedule and offering its family's quality. Its tokens belong to no vendor.
"""

from __future__ import annotations

from sim.scenario.calendar import month_index
from sim.scenario.schema import OutsideOption


def outside_price(option: OutsideOption, start: str, month: int) -> float:
    """The schedule's price in force in `month` (months counted from `start`)."""
    price = option.prices[0].price
    for entry in option.prices:
        if month_index(start, entry.date) <= month:
            price = entry.price
    return price
