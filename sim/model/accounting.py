"""The month's books: what each vendor was asked for, what its GPUs served, and what it billed.

Order: every stream's demand is turned into GPU-hours (tokens / tokens per GPU-hour, or
GPU-hours rented); each vendor's GPUs serve the streams in its allocation order; every
customer is served its stream's fraction and billed for what it was served, at the price
its class pays. Revenue is always a price times a served quantity:
  MaaS  = tokens served x list price (developers) or contract price (enterprises)
  IaaS  = GPU-hours served x GPU-hour price (labs, private deployments, fine-tuning,
          self-hosting developers)
  PaaS  = platform fee x enterprise size under contract (not GPU-bound)
Costs are GPU-hours used x the vendor's GPU-hour cost, per stream. Definitions in
docs/ODD.md ("Accounting").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.demand import developer_tokens
from sim.model.developer_choice import API_MODE, SELF_HOST
from sim.model.developers import DeveloperPopulation
from sim.model.enterprises import EnterprisePopulation, Purchases
from sim.model.families import FamilyBook
from sim.model.gpus import API_STREAM, FIRST_PARTY, IAAS, allocate, service_levels
from sim.model.labs import LabPopulation
from sim.model.losses import subsidy_draw
from sim.model.procurement import API, PRIVATE
from sim.model.vendors import VendorBook
from sim.scenario.calendar import DAYS_PER_MONTH
from sim.scenario.schema import Scenario

THOUSANDS_A_MONTH = DAYS_PER_MONTH / 1000.0  # tokens/day x this x yuan/1k tokens = yuan/month


@dataclass(frozen=True)
class MonthAccounts:
    """Per-vendor totals for one month (arrays over vendors), in real-market units."""

    month: int
    active: np.ndarray
    price: np.ndarray  # yuan / 1k tokens, posted list price
    contract_price: np.ndarray  # yuan / 1k tokens, enterprises
    gpu_hour_price: np.ndarray  # yuan / GPU-hour
    gpu_hour_cost: np.ndarray  # yuan / GPU-hour
    unit_cost: np.ndarray  # yuan / 1k API tokens
    tokens_per_gpu_hour: np.ndarray
    gpus: np.ndarray  # GPU-equivalents
    gpu_hours_available: np.ndarray  # a month
    gpu_demand: np.ndarray  # [vendors, streams] GPU-hours asked for
    gpu_hours: np.ndarray  # [vendors, streams] GPU-hours served
    developer_api_tokens: np.ndarray  # tokens / day, served
    enterprise_api_tokens: np.ndarray
    private_tokens: np.ndarray  # enterprises' private deployments
    self_hosted_tokens: np.ndarray  # developers self-hosting open weights
    first_party_tokens: np.ndarray
    lab_gpu_hours: np.ndarray  # a month, served
    private_gpu_hours: np.ndarray
    finetune_gpu_hours: np.ndarray
    self_host_gpu_hours: np.ndarray
    maas_developer_revenue: np.ndarray  # yuan / month
    maas_enterprise_revenue: np.ndarray
    iaas_lab_revenue: np.ndarray
    iaas_private_revenue: np.ndarray
    iaas_finetune_revenue: np.ndarray
    iaas_self_host_revenue: np.ndarray
    paas_revenue: np.ndarray
    platform_fee: np.ndarray  # yuan/month per unit of enterprise size
    platform_units: np.ndarray  # enterprise size under platform contracts
    api_token_demand: np.ndarray  # tokens / day asked for (developers + enterprises), before rationing
    family_api_tokens: np.ndarray  # [vendors, families] tokens / day, external API
    family_private_tokens: np.ndarray  # [vendors, families] private + self-hosted
    family_first_party_tokens: np.ndarray  # [vendors, families]
    developers: np.ndarray  # real developer accounts (API and self-hosting)
    developers_self_hosting: np.ndarray
    enterprises_api: np.ndarray  # real enterprises
    enterprises_private: np.ndarray
    switches_out: np.ndarray  # real developer accounts
    switches_in: np.ndarray
    developers_adopted: float  # with those buying from the outside option
    enterprises_adopted: float
    developers_outside: float  # real developer accounts buying from sellers outside the vendors
    outside_tokens: float  # tokens / day they buy there (no vendor's)
    holds_loss_floor: np.ndarray  # bool: its token price was held at its loss floor this month
    subsidy_drawn: np.ndarray  # yuan of this month's token losses a named subsidy paid

    @property
    def api_tokens(self) -> np.ndarray:
        return self.developer_api_tokens + self.enterprise_api_tokens

    @property
    def service_level(self) -> np.ndarray:
        """Fraction of API token demand served."""
        return service_levels(self.gpu_hours, self.gpu_demand)[:, API_STREAM]

    @property
    def iaas_service_level(self) -> np.ndarray:
        return service_levels(self.gpu_hours, self.gpu_demand)[:, IAAS]

    @property
    def maas_revenue(self) -> np.ndarray:
        return self.maas_developer_revenue + self.maas_enterprise_revenue

    @property
    def iaas_revenue(self) -> np.ndarray:
        return (
            self.iaas_lab_revenue + self.iaas_private_revenue + self.iaas_finetune_revenue + self.iaas_self_host_revenue
        )

    @property
    def revenue(self) -> np.ndarray:
        return self.maas_revenue + self.iaas_revenue + self.paas_revenue

    @property
    def maas_cost(self) -> np.ndarray:
        return self.gpu_hours[:, API_STREAM] * self.gpu_hour_cost

    @property
    def iaas_cost(self) -> np.ndarray:
        return self.gpu_hours[:, IAAS] * self.gpu_hour_cost

    @property
    def maas_margin(self) -> np.ndarray:
        """Gross margin on tokens sold: negative when they sell below what serving them costs."""
        return gross_margin(self.maas_revenue, self.maas_cost)

    @property
    def gross_margin(self) -> np.ndarray:
        """Gross margin of what the GPUs earn from customers (tokens and GPU-hours; platform fees use none)."""
        return gross_margin(self.maas_revenue + self.iaas_revenue, self.maas_cost + self.iaas_cost)

    @property
    def first_party_cost(self) -> np.ndarray:
        return self.gpu_hours[:, FIRST_PARTY] * self.gpu_hour_cost


def gross_margin(revenue: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(revenue - serving cost) / revenue; NaN-free: 0 where a vendor has no revenue."""
    return np.divide(revenue - cost, revenue, out=np.zeros_like(revenue), where=revenue > 0)


def share_of(values: np.ndarray) -> np.ndarray:
    """Each vendor's fraction of the total; all zeros before the market exists."""
    total = float(np.sum(values))
    return np.asarray(values, dtype=np.float64) / total if total > 0 else np.zeros(len(values))


@dataclass(frozen=True)
class Demand:
    """What every stream asks of each vendor this month, before GPUs are allocated."""

    developer_api_tokens: np.ndarray  # tokens/day
    self_hosted_tokens: np.ndarray  # tokens/day
    self_host_gpu_hours: np.ndarray  # a month
    enterprise: Purchases
    lab_gpu_hours: np.ndarray
    first_party_tokens: np.ndarray


def month_demand(
    month: int,
    scenario: Scenario,
    book: VendorBook,
    sizes: np.ndarray,
    purchases: Purchases,
    labs: LabPopulation,
) -> Demand:
    """Every stream's wanted quantity per vendor (developers' tokens grow as their price falls).

    `sizes` is the developers' summed size per [vendor, mode] (API, self-hosting).
    """
    dev = scenario.developers
    efficiency = scenario.serving.private_efficiency

    self_hosted = developer_tokens(sizes[:, SELF_HOST], book.self_host_cost(efficiency), month, dev)
    return Demand(
        developer_api_tokens=developer_tokens(sizes[:, API_MODE], book.posted, month, dev),
        self_hosted_tokens=self_hosted,
        self_host_gpu_hours=self_hosted * DAYS_PER_MONTH / book.self_host_tokens_per_gpu_hour(efficiency),
        enterprise=purchases,
        lab_gpu_hours=labs.gpu_hours(),
        first_party_tokens=book.first_party_demand,
    )


def gpu_demand(demand: Demand, book: VendorBook) -> np.ndarray:
    """GPU-hours each stream asks of each vendor this month, [vendors, streams]."""
    per_token = DAYS_PER_MONTH / book.tokens_per_gpu_hour
    ent = demand.enterprise
    streams = np.zeros((book.count, 3))
    streams[:, FIRST_PARTY] = demand.first_party_tokens * per_token
    streams[:, API_STREAM] = (demand.developer_api_tokens + ent.api_tokens) * per_token
    streams[:, IAAS] = (
        demand.lab_gpu_hours + ent.private_gpu_hours + ent.finetune_gpu_hours + demand.self_host_gpu_hours
    )
    return streams * book.active[:, None]


def close_month(
    month: int,
    scenario: Scenario,
    book: VendorBook,
    families: FamilyBook,
    developers: DeveloperPopulation,
    enterprises: EnterprisePopulation,
    purchases: Purchases,
    labs: LabPopulation,
    outside_price: float,
) -> MonthAccounts:
    """Serve every stream within each vendor's GPUs and bill what was served."""
    counts, sizes = developers.tally(book.count + 1)  # sellers: the vendors, then the outside option
    demand = month_demand(month, scenario, book, sizes[: book.count], purchases, labs)
    asked = gpu_demand(demand, book)
    available = book.gpus * scenario.serving.usable_hours * book.active
    served_hours = allocate(asked, available, book.allocation, scenario.serving.priority_ratio)
    service = service_levels(served_hours, asked)
    api, iaas, own = service[:, API_STREAM], service[:, IAAS], service[:, FIRST_PARTY]

    ent = demand.enterprise
    dev_tokens, ent_tokens = demand.developer_api_tokens * api, ent.api_tokens * api
    private_tokens, self_hosted = ent.private_tokens * iaas, demand.self_hosted_tokens * iaas
    first_party = demand.first_party_tokens * own
    lab_hours, private_hours = demand.lab_gpu_hours * iaas, ent.private_gpu_hours * iaas
    finetune_hours, self_host_hours = ent.finetune_gpu_hours * iaas, demand.self_host_gpu_hours * iaas

    maas_developer_revenue = dev_tokens * THOUSANDS_A_MONTH * book.posted
    maas_enterprise_revenue = ent_tokens * THOUSANDS_A_MONTH * book.contract_price
    maas_cost = served_hours[:, API_STREAM] * book.gpu_hour_cost
    subsidy_drawn = subsidy_draw(book.losses.subsidy_left, maas_developer_revenue + maas_enterprise_revenue, maas_cost)

    outside_count, outside_size = counts[book.count, API_MODE], sizes[book.count, API_MODE]
    counts = counts[: book.count]
    ent_counts = enterprises.by_vendor_and_mode(book.count, enterprises.weight)
    out, joined = developers.switches(book.count)
    return MonthAccounts(
        month=month,
        active=book.active.copy(),
        price=book.posted.copy(),
        contract_price=book.contract_price,
        gpu_hour_price=book.gpu_hour_price.copy(),
        gpu_hour_cost=book.gpu_hour_cost.copy(),
        unit_cost=book.unit_cost,
        tokens_per_gpu_hour=book.tokens_per_gpu_hour,
        gpus=book.gpus,
        gpu_hours_available=available,
        gpu_demand=asked,
        gpu_hours=served_hours,
        developer_api_tokens=dev_tokens,
        enterprise_api_tokens=ent_tokens,
        private_tokens=private_tokens,
        self_hosted_tokens=self_hosted,
        first_party_tokens=first_party,
        lab_gpu_hours=lab_hours,
        private_gpu_hours=private_hours,
        finetune_gpu_hours=finetune_hours,
        self_host_gpu_hours=self_host_hours,
        maas_developer_revenue=maas_developer_revenue,
        maas_enterprise_revenue=maas_enterprise_revenue,
        iaas_lab_revenue=lab_hours * book.gpu_hour_price,
        iaas_private_revenue=private_hours * book.gpu_hour_price,
        iaas_finetune_revenue=finetune_hours * book.gpu_hour_price,
        iaas_self_host_revenue=self_host_hours * book.gpu_hour_price,
        paas_revenue=ent.platform_units * book.platform_fee * book.active,
        platform_fee=book.platform_fee.copy(),
        platform_units=ent.platform_units * book.active,
        api_token_demand=(demand.developer_api_tokens + ent.api_tokens) * book.active,
        family_api_tokens=families.api_tokens_by_family(dev_tokens + ent_tokens),
        family_private_tokens=families.private_tokens_by_family(private_tokens + self_hosted),
        family_first_party_tokens=families.first_party_tokens_by_family(first_party),
        developers=counts.sum(axis=1),
        developers_self_hosting=counts[:, SELF_HOST].copy(),
        enterprises_api=ent_counts[:, API].copy(),
        enterprises_private=ent_counts[:, PRIVATE].copy(),
        switches_out=out,
        switches_in=joined,
        developers_adopted=float(counts.sum() + outside_count),
        developers_outside=float(outside_count),
        outside_tokens=float(developer_tokens(outside_size, outside_price, month, scenario.developers)),
        enterprises_adopted=float(ent_counts.sum()),
        holds_loss_floor=book.losses.holds_floor.copy(),
        subsidy_drawn=subsidy_drawn,
    )
