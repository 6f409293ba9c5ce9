"""Scheduled events: each type is one function that changes the market's state.

Events dated in a month take effect at the start of that month, before prices are set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.model.vendors import VendorBook
from sim.scenario.schema import (
    ALL_VENDORS,
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


def _targets(book: VendorBook, vendor: str) -> np.ndarray:
    if vendor == ALL_VENDORS:
        return np.arange(book.count)
    return np.array([book.index(vendor)])


def apply_price(event: PriceEvent, book: VendorBook, frictions: Frictions) -> None:
    for i in _targets(book, event.vendor):
        book.list_price[i] = event.price if event.price is not None else book.list_price[i] * (1 + event.change)


def apply_quality(event: QualityEvent, book: VendorBook, frictions: Frictions) -> None:
    i = book.index(event.vendor)
    book.quality[i] = event.quality if event.quality is not None else book.quality[i] + event.change


def apply_open_weights(event: OpenWeightsEvent, book: VendorBook, frictions: Frictions) -> None:
    if event.vendor is None:
        book.third_party_open_weights = True
    else:
        book.own_open_model[book.index(event.vendor)] = True


def apply_supply(event: SupplyEvent, book: VendorBook, frictions: Frictions) -> None:
    for i in _targets(book, event.vendor):
        if event.capacity_growth_cap is not None:
            book.capacity_growth_cap[i] = event.capacity_growth_cap
        if event.capacity_change is not None:
            book.capacity[i] *= 1 + event.capacity_change
        if event.unit_cost_change is not None:
            book.base_cost[i] *= 1 + event.unit_cost_change


def apply_entry(event: EntryEvent, book: VendorBook, frictions: Frictions) -> None:
    book.active[book.index(event.vendor)] = True


def apply_exit(event: ExitEvent, book: VendorBook, frictions: Frictions) -> None:
    book.active[book.index(event.vendor)] = False


def apply_switching(event: SwitchingEvent, book: VendorBook, frictions: Frictions) -> None:
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
    EntryEvent: apply_entry,
    ExitEvent: apply_exit,
    SwitchingEvent: apply_switching,
}


def apply_event(event, book: VendorBook, frictions: Frictions) -> None:
    HANDLERS[type(event)](event, book, frictions)
