"""The vendors' state as arrays (one column per vendor) and their monthly price setting.

`set_price(i, month)` is the only implementation of a vendor's price decision; the model
calls it for each vendor, a VendorAgent's `step()` for its own column.
"""

from __future__ import annotations

import numpy as np

from sim.model.first_party import first_party_tokens, logistic_growth
from sim.model.gpus import (
    STREAMS,
    expected_demand,
    grown_fleet,
    investment_appetite,
    token_unit_cost,
    wanted_growth,
)
from sim.model.losses import LossBook, after_month
from sim.model.pricing import PricingContext, posted_price
from sim.scenario.schema import Scenario, Serving


class VendorBook:
    """Prices, GPUs, costs and attributes of every vendor, as numpy arrays."""

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
        self.contract_discount = column("contract_discount")
        self.gpu_hour_price = column("gpu_hour_price")
        self.gpu_price_trend = column("gpu_price_trend")
        self.gpu_hour_cost = column("gpu_hour_cost")
        gpus = column("gpus")
        self.imported_gpus = gpus * column("imported_chips")
        self.domestic_gpus = gpus - self.imported_gpus
        self.imported_growth_cap = np.full(self.count, np.inf)
        self.domestic_growth_cap = np.full(self.count, np.inf)
        self.efficiency = column("serving_efficiency")
        self.customer_capex = column("customer_capex")
        self.market_tokens_per_gpu_hour = scenario.serving.tokens_per_gpu_hour
        self.allocation = np.array([[STREAMS.index(s) for s in v.allocation] for v in specs], dtype=np.intp)
        self.platform_fee = column("platform_fee")
        self.trust = column("trust")
        self.integration = column("integration")
        self.incumbency = column("incumbency")
        self.stickiness = column("stickiness")
        self.active = column("active", bool)
        apps = [v.first_party for v in specs]
        self.app_users = np.array([a.users if a else 0.0 for a in apps])
        self.app_users_growth = np.array([a.users_growth if a else 0.0 for a in apps])
        self.app_users_ceiling = np.array([a.users_ceiling if a else np.inf for a in apps])
        self.tokens_per_user = np.array([a.tokens_per_user if a else 0.0 for a in apps])
        self.tokens_per_user_growth = np.array([a.tokens_per_user_growth if a else 0.0 for a in apps])
        self.tokens_per_user_ceiling = np.array([a.tokens_per_user_ceiling if a else np.inf for a in apps])
        self.last_token_share = np.zeros(self.count)
        self.last_ecosystem_share = np.zeros(self.count)
        self.last_api_service = np.ones(self.count)
        self.last_iaas_service = np.ones(self.count)
        self.last_gpu_demand = np.zeros((self.count, len(STREAMS)))  # [vendors, streams] GPU-hours asked
        self.gpu_demand_before = np.zeros((self.count, len(STREAMS)))  # the month before that
        self.last_gross_margin = np.zeros(self.count)
        self.loss_floor = np.array([v.losses.floor for v in specs])
        self.loss_patience = np.array([v.losses.months for v in specs])
        self.losses = LossBook(
            subsidy_left=np.array([v.losses.subsidy for v in specs], dtype=np.float64),
            months_below=np.zeros(self.count, dtype=np.int64),
            holds_floor=np.zeros(self.count, dtype=bool),
        )
        self.tokens_per_gpu_hour_ceiling = scenario.serving.tokens_per_gpu_hour_ceiling

    def domestic_chip_share(self) -> np.ndarray:
        """Fraction of each vendor's fleet on domestic chips: what domestic-procurement rules reward."""
        fleet = self.imported_gpus + self.domestic_gpus
        return np.divide(self.domestic_gpus, fleet, out=np.zeros(self.count), where=fleet > 0)

    def index(self, vendor_id: str) -> int:
        return self.ids.index(vendor_id)

    @property
    def gpus(self) -> np.ndarray:
        return self.imported_gpus + self.domestic_gpus

    @property
    def tokens_per_gpu_hour(self) -> np.ndarray:
        """Tokens (input + output) one of its GPU-hours serves on its API, at most the cited ceiling."""
        return np.minimum(self.market_tokens_per_gpu_hour * self.efficiency, self.tokens_per_gpu_hour_ceiling)

    @property
    def unit_cost(self) -> np.ndarray:
        """Cost of serving 1,000 API tokens, yuan: GPU-hour cost / tokens per GPU-hour."""
        return token_unit_cost(self.gpu_hour_cost, self.tokens_per_gpu_hour)

    def self_host_tokens_per_gpu_hour(self, private_efficiency: float) -> np.ndarray:
        """Tokens per GPU-hour of a private or self-hosted deployment on its GPUs (below its own API's)."""
        return self.tokens_per_gpu_hour * private_efficiency

    def self_host_cost(self, private_efficiency: float) -> np.ndarray:
        """What 1,000 tokens cost a customer running open weights on rented GPUs, yuan."""
        return 1000.0 * self.gpu_hour_price / self.self_host_tokens_per_gpu_hour(private_efficiency)

    @property
    def contract_price(self) -> np.ndarray:
        """Enterprises' token price: the posted list price less the negotiated discount."""
        return self.posted * (1.0 - self.contract_discount)

    @property
    def first_party_demand(self) -> np.ndarray:
        """Tokens/day the group's own apps ask for (zero for a vendor out of the market)."""
        return first_party_tokens(self.app_users, self.tokens_per_user) * self.active

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
            holds_loss_floor=bool(self.losses.holds_floor[vendor]),
            loss_floor=float(self.loss_floor[vendor]),
            contract_discount=float(self.contract_discount[vendor]),
        )
        price = posted_price(self.policies[vendor], context)
        self.posted[vendor] = price
        self.posted_history[month, vendor] = price

    def follow_gpu_price_trend(self) -> None:
        """This month's GPU-hour list prices before any event of the month sets one."""
        self.gpu_hour_price = self.gpu_hour_price * (1.0 + self.gpu_price_trend)

    def grow(self, month: int, serving: Serving) -> None:
        """Advance GPUs, serving efficiency and own apps one month (nothing in the first).

        The fleet grows towards what the demand it expects needs at the target utilisation (for
        paying customers only as far as last month's gross margin makes it worth it, unless a
        subsidy is still paying for the vendor's token losses, and only for the share of their
        demand its `customer_capex` policy provides for), at most `max_gpu_growth` a
        month, the imported part at most as export controls allow.
        """
        if month == 0:
            return
        backed = self.losses.subsidy_left > 0  # a backer paying for the losses pays for the GPUs too
        appetite = np.where(backed, 1.0, investment_appetite(self.last_gross_margin)) * self.customer_capex
        expected = expected_demand(self.last_gpu_demand, self.gpu_demand_before, serving.max_gpu_growth)
        wanted = wanted_growth(self.gpus, expected, appetite, serving.usable_hours, serving.target_utilisation)
        self.imported_gpus, self.domestic_gpus = grown_fleet(
            self.imported_gpus,
            self.domestic_gpus,
            wanted,
            serving.max_gpu_growth,
            self.imported_growth_cap,
            self.domestic_growth_cap,
            serving.domestic_substitution,
        )
        self.market_tokens_per_gpu_hour = min(
            self.market_tokens_per_gpu_hour * (1.0 + serving.efficiency_growth), self.tokens_per_gpu_hour_ceiling
        )
        self.app_users = logistic_growth(self.app_users, self.app_users_growth, self.app_users_ceiling)
        self.tokens_per_user = logistic_growth(
            self.tokens_per_user, self.tokens_per_user_growth, self.tokens_per_user_ceiling
        )

    def record_losses(
        self, maas_revenue: np.ndarray, maas_cost: np.ndarray, drawn: np.ndarray, maas_margin: np.ndarray
    ) -> None:
        """Spend what the subsidy paid of the month's token losses; count months below the loss floor."""
        self.losses = after_month(
            self.losses, maas_revenue, maas_cost, drawn, maas_margin, self.loss_floor, self.loss_patience
        )
