"""The vendors' state as arrays (one column per vendor) and their monthly price setting.

`set_price(i, month)` is the only implementation of a vendor's price decision; the model
calls it for each vendor, a VendorAgent's `step()` for its own column.
"""

from __future__ import annotations

import numpy as np

from sim.model.pricing import PricingContext, posted_price
from sim.model.supply import grown_capacity, logistic_growth, unit_cost
from sim.scenario.calendar import DAYS_PER_MONTH
from sim.scenario.schema import Scenario


class VendorBook:
    """Prices, costs, capacity and attributes of every vendor, as numpy arrays."""

    def __init__(self, scenario: Scenario):
        specs = list(scenario.vendors.values())
        self.ids = list(scenario.vendors)
        self.names = [v.name for v in specs]
        self.count = len(specs)
        self.policies = [list(v.pricing) for v in specs]

        def column(attr: str, dtype=np.float64) -> np.ndarray:
            return np.array([getattr(v, attr) for v in specs], dtype=dtype)

        self.list_price = column("price")
        self.posted = self.list_price.copy()
        self.posted_history = np.zeros((scenario.months, self.count))
        self.base_cost = column("unit_cost")
        self.learning = column("learning")
        self.unit_cost = self.base_cost.copy()
        self.quality = column("quality")
        self.trust = column("trust")
        self.integration = column("integration")
        self.own_open_model = column("open_weights", bool)
        self.incumbency = column("incumbency")
        self.stickiness = column("stickiness")
        self.active = column("active", bool)
        self.capacity = column("capacity")
        self.capacity_growth = column("capacity_growth")
        self.capacity_growth_cap = np.full(self.count, np.inf)
        self.first_party = column("first_party_tokens")
        self.first_party_growth = column("first_party_growth")
        self.first_party_ceiling = column("first_party_ceiling")
        self.cumulative_tokens = np.zeros(self.count)
        self.reference_tokens = self.capacity * DAYS_PER_MONTH
        self.third_party_open_weights = False
        self.last_token_share = np.zeros(self.count)
        self.last_developer_share = np.zeros(self.count)
        self.last_service_level = np.ones(self.count)

    def index(self, vendor_id: str) -> int:
        return self.ids.index(vendor_id)

    def open_weights_exist(self) -> bool:
        return self.third_party_open_weights or bool((self.own_open_model & self.active).any())

    def set_price(self, vendor: int, month: int) -> None:
        """Post this month's price from the list price and the vendor's reactive policies."""
        context = PricingContext(
            vendor=vendor,
            list_prices=self.list_price,
            posted_history=self.posted_history,
            month=month,
            active=self.active,
            unit_cost=float(self.unit_cost[vendor]),
            previous_posted=float(self.posted_history[month - 1, vendor])
            if month > 0
            else float(self.list_price[vendor]),
            previous_token_share=float(self.last_token_share[vendor]),
        )
        price = posted_price(self.policies[vendor], context)
        self.posted[vendor] = price
        self.posted_history[month, vendor] = price

    def grow(self, month: int) -> None:
        """Advance capacity and own-app demand one month (nothing in the first month)."""
        if month == 0:
            return
        self.capacity = grown_capacity(self.capacity, self.capacity_growth, self.capacity_growth_cap)
        self.first_party = logistic_growth(self.first_party, self.first_party_growth, self.first_party_ceiling)

    def update_costs(self) -> None:
        self.unit_cost = unit_cost(self.base_cost, self.cumulative_tokens, self.reference_tokens, self.learning)
