"""Scheduled events: each type is one function that changes the market's state.

Events dated in a month take effect at the start of that month, before prices are set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.model.families import FamilyBook
from sim.model.vendors import VendorBook
from sim.scenario.schema import (
    ALL_VENDORS,
    EfficiencyEvent,
    EntryEvent,
    ExitEvent,
    OpenWeightsEvent,
    PriceEvent,
    QualityEvent,
    SupplyEvent,
    SwitchingEvent,
)


@dataclass
class Frictions:
    """Switching frictions that events can change during a run."""

    switching_cost: float
    lock_in_rate: float
    lock_in_weight: float
    migration_cost: float


@dataclass
class Market:
    """What events act on: the vendors, the model families and the switching frictions."""

    vendors: VendorBook
    families: FamilyBook
    frictions: Frictions


def _targets(book: VendorBook, vendor: str) -> np.ndarray:
    if vendor == ALL_VENDORS:
        return np.arange(book.count)
    return np.array([book.index(vendor)])


def apply_price(event: PriceEvent, market: Market) -> None:
    book = market.vendors
    prices = book.list_price if event.stream == "token" else book.gpu_hour_price
    for i in _targets(book, event.vendor):
        if event.price is not None:
            prices[i] = event.price
        elif event.change is not None:
            prices[i] *= 1 + event.change
        if event.trend is not None:
            book.gpu_price_trend[i] = event.trend


def apply_quality(event: QualityEvent, market: Market) -> None:
    families = market.families
    i = families.index(event.family)
    families.quality[i] = event.quality if event.quality is not None else families.quality[i] + event.change


def apply_open_weights(event: OpenWeightsEvent, market: Market) -> None:
    market.families.open[market.families.index(event.family)] = True


def apply_supply(event: SupplyEvent, market: Market) -> None:
    book = market.vendors
    for i in _targets(book, event.vendor):
        if event.capacity_growth_cap is not None:
            book.imported_growth_cap[i] = event.capacity_growth_cap
            if event.scope == "all":
                book.domestic_growth_cap[i] = event.capacity_growth_cap
        if event.capacity_change is not None:
            book.imported_gpus[i] *= 1 + event.capacity_change
            if event.scope == "all":
                book.domestic_gpus[i] *= 1 + event.capacity_change
        if event.gpu_hour_cost_change is not None:
            imported = book.imported_gpus[i] / book.gpus[i] if event.scope == "imported" else 1.0
            book.gpu_hour_cost[i] *= 1 + event.gpu_hour_cost_change * imported
        if event.customer_capex is not None:
            book.customer_capex[i] = event.customer_capex


def apply_efficiency(event: EfficiencyEvent, market: Market) -> None:
    book = market.vendors
    for i in _targets(book, event.vendor):
        book.efficiency[i] *= 1 + event.change


def apply_entry(event: EntryEvent, market: Market) -> None:
    book = market.vendors
    book.active[book.index(event.vendor)] = True


def apply_exit(event: ExitEvent, market: Market) -> None:
    book = market.vendors
    book.active[book.index(event.vendor)] = False


def apply_switching(event: SwitchingEvent, market: Market) -> None:
    frictions = market.frictions
    if event.switching_cost is not None:
        frictions.switching_cost = event.switching_cost
    if event.switching_cost_change is not None:
        frictions.switching_cost *= 1 + event.switching_cost_change
    if event.lock_in_rate is not None:
        frictions.lock_in_rate = event.lock_in_rate
    if event.lock_in_weight is not None:
        frictions.lock_in_weight = event.lock_in_weight
    if event.lock_in_weight_change is not None:
        frictions.lock_in_weight *= 1 + event.lock_in_weight_change
    if event.migration_cost is not None:
        frictions.migration_cost = event.migration_cost


HANDLERS: dict[type, Callable] = {
    PriceEvent: apply_price,
    QualityEvent: apply_quality,
    OpenWeightsEvent: apply_open_weights,
    SupplyEvent: apply_supply,
    EfficiencyEvent: apply_efficiency,
    EntryEvent: apply_entry,
    ExitEvent: apply_exit,
    SwitchingEvent: apply_switching,
}


def apply_event(event, market: Market) -> None:
    HANDLERS[type(event)](event, market)
