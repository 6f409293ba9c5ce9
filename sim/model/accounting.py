"""The month's books: tokens served, revenue and costs per vendor, from the agents' state.

Definitions (docs/ODD.md, "Accounting"): external API tokens are developers' and
enterprises' model-API tokens (the IDC basis); headline tokens add the vendor's own apps;
private tokens run on open weights a vendor hosts for an enterprise. When demand exceeds
capacity every stream of that vendor is served the same fraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.demand import demand_multiplier, developer_tokens, usage_trend
from sim.model.developers import DeveloperPopulation
from sim.model.enterprises import EnterprisePopulation
from sim.model.procurement import API, PRIVATE
from sim.model.supply import service_level
from sim.model.vendors import VendorBook
from sim.scenario.calendar import DAYS_PER_MONTH
from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class MonthAccounts:
    """Per-vendor totals for one month (arrays over vendors), in real-market units."""

    month: int
    active: np.ndarray
    price: np.ndarray  # yuan / 1k tokens
    unit_cost: np.ndarray  # yuan / 1k tokens
    capacity: np.ndarray  # tokens / day
    service_level: np.ndarray  # fraction of demand served
    developer_api_tokens: np.ndarray  # tokens / day
    enterprise_api_tokens: np.ndarray  # tokens / day
    private_tokens: np.ndarray  # tokens / day
    first_party_tokens: np.ndarray  # tokens / day
    api_revenue: np.ndarray  # yuan / month, developers' token spend
    enterprise_revenue: np.ndarray  # yuan / month, API platform contracts
    private_revenue: np.ndarray  # yuan / month, IaaS for private deployments
    serving_cost: np.ndarray  # yuan / month: tokens at unit cost plus enterprise service costs
    developers: np.ndarray  # real developer accounts
    enterprises_api: np.ndarray  # real enterprises
    enterprises_private: np.ndarray
    switches_out: np.ndarray  # real developer accounts
    switches_in: np.ndarray
    developers_adopted: float
    enterprises_adopted: float

    @property
    def api_tokens(self) -> np.ndarray:
        return self.developer_api_tokens + self.enterprise_api_tokens

    @property
    def revenue(self) -> np.ndarray:
        return self.api_revenue + self.enterprise_revenue + self.private_revenue


def share_of(values: np.ndarray) -> np.ndarray:
    """Each vendor's fraction of the total; all zeros before the market exists."""
    total = float(np.sum(values))
    return np.asarray(values, dtype=np.float64) / total if total > 0 else np.zeros(len(values))


def close_month(
    month: int,
    scenario: Scenario,
    book: VendorBook,
    developers: DeveloperPopulation,
    enterprises: EnterprisePopulation,
) -> MonthAccounts:
    """Serve demand within capacity and book revenue and cost for every vendor."""
    dev, ent = scenario.developers, scenario.enterprises
    n = book.count
    trend = usage_trend(dev.usage_growth, month)

    developer_counts, developer_sizes = developers.tally(n)
    dev_demand = developer_tokens(
        developer_sizes,
        book.posted,
        month,
        dev.tokens_per_day,
        dev.reference_price,
        dev.demand_elasticity,
        dev.demand_cap,
        dev.usage_growth,
    )
    budget = enterprises.by_vendor_and_mode(n, enterprises.spend)
    ent_multiplier = demand_multiplier(book.posted, dev.reference_price, ent.demand_elasticity, ent.demand_cap)
    ent_demand = budget[:, API] * ent.tokens_per_yuan * trend * ent_multiplier
    private_demand = budget[:, PRIVATE] * ent.tokens_per_yuan * trend
    first_party = book.first_party * book.active

    served = service_level(dev_demand + ent_demand + private_demand + first_party, book.capacity)
    dev_tokens, ent_tokens, private_tokens = dev_demand * served, ent_demand * served, private_demand * served
    tokens_per_month = DAYS_PER_MONTH / 1000.0
    api_revenue = dev_tokens * book.posted * tokens_per_month
    private_revenue = budget[:, PRIVATE] * ent.private_spend_multiplier
    token_cost = (dev_tokens + ent_tokens) * book.unit_cost * tokens_per_month  # private GPUs: in the IaaS cost
    serving_cost = token_cost + ent.service_cost_share * (budget[:, API] + private_revenue)

    counts = enterprises.by_vendor_and_mode(n, enterprises.weight)
    out, joined = developers.switches(n)
    return MonthAccounts(
        month=month,
        active=book.active.copy(),
        price=book.posted.copy(),
        unit_cost=book.unit_cost.copy(),
        capacity=book.capacity.copy(),
        service_level=served,
        developer_api_tokens=dev_tokens,
        enterprise_api_tokens=ent_tokens,
        private_tokens=private_tokens,
        first_party_tokens=first_party * served,
        api_revenue=api_revenue,
        enterprise_revenue=budget[:, API].copy(),
        private_revenue=private_revenue,
        serving_cost=serving_cost,
        developers=developer_counts,
        enterprises_api=counts[:, API].copy(),
        enterprises_private=counts[:, PRIVATE].copy(),
        switches_out=out,
        switches_in=joined,
        developers_adopted=float(developer_counts.sum()),
        enterprises_adopted=float(counts.sum()),
    )
