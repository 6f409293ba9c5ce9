"""The scenario schema: every parameter the model reads, with its unit, default and bounds.

A scenario is validated once, here, so the model can trust every number it receives.
Unknown keys are errors (`extra="forbid"`): a typo must never become a silent default.
Units: prices and costs in yuan per 1,000 tokens, tokens per day, money in yuan per month,
rates per month, utilities in logit units (a difference of 1 multiplies odds by e).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.scenario.calendar import Month, month_index

VENDOR_ID = re.compile(r"^[a-z][a-z0-9_]*$")
ALL_VENDORS = "all"


class Strict(BaseModel):
    """Base for every scenario section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --- distributions of heterogeneous agent traits -------------------------------------------


class Fixed(Strict):
    """Every agent gets the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float


class LogNormal(Strict):
    """Positive, right-skewed trait: median and sigma of the underlying normal."""

    dist: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0)
    sigma: float = Field(ge=0, le=5)


class Uniform(Strict):
    """Trait spread evenly between two bounds."""

    dist: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self


class Pareto(Strict):
    """Heavy-tailed size (a few large customers, many small ones), capped to keep sums stable."""

    dist: Literal["pareto"] = "pareto"
    minimum: float = Field(gt=0)
    alpha: float = Field(gt=1, description="tail index; > 1 so the mean exists")
    cap: float = Field(ge=1, description="largest value drawn, as a multiple of minimum")


Distribution = Annotated[Fixed | LogNormal | Uniform | Pareto, Field(discriminator="dist")]


# --- vendors ---------------------------------------------------------------------------------


class MatchCheapest(Strict):
    """Keep the price at most `ratio` times the cheapest rival's price seen `lag` months ago."""

    policy: Literal["match_cheapest"]
    ratio: float = Field(1.0, ge=1.0, description="tolerated premium over the cheapest rival")
    lag: int = Field(0, ge=0, le=24, description="months before the vendor reacts")


class DefendShare(Strict):
    """Cut the price by `step` each month the vendor's token share is below `target`.

    At or above target the price holds at last month's level: a defended price is not raised.
    """

    policy: Literal["defend_share"]
    target: float = Field(gt=0, lt=1, description="token share to defend")
    step: float = Field(0.1, gt=0, lt=1, description="fractional cut per month below target")


class MarginFloor(Strict):
    """Never price below unit cost times (1 + margin)."""

    policy: Literal["margin_floor"]
    margin: float = Field(0.0, ge=-1, description="minimum mark-up over unit serving cost")


PricingPolicy = Annotated[MatchCheapest | DefendShare | MarginFloor, Field(discriminator="policy")]


class Vendor(Strict):
    """A cloud vendor selling model-API tokens, platform services and IaaS."""

    name: str = Field(description="display name")
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$", description="chart colour")
    active: bool = Field(True, description="in the market from the start (else enters by event)")
    price: float = Field(gt=0, description="list price of its representative blended offer, yuan/1k tokens")
    pricing: list[PricingPolicy] = Field(
        default_factory=list, description="reactive policies applied in order after the schedule"
    )
    unit_cost: float = Field(gt=0, description="serving cost at start, yuan/1k tokens")
    learning: float = Field(0.0, ge=0, lt=1, description="elasticity of unit cost to cumulative tokens served")
    quality: float = Field(0.0, description="model quality index, utility units per unit of sensitivity")
    trust: float = Field(0.5, ge=0, le=1, description="security, sovereignty and reliability, 0-1")
    integration: float = Field(0.5, ge=0, le=1, description="depth of integration with its cloud stack, 0-1")
    open_weights: bool = Field(False, description="publishes open-weight models from the start")
    incumbency: float = Field(0.0, ge=0, le=1, description="share of enterprises' existing cloud contracts")
    stickiness: float = Field(1.0, ge=0, description="multiplier on the lock-in accrual rate")
    capacity: float = Field(gt=0, description="serving capacity at start, tokens/day")
    capacity_growth: float = Field(0.05, ge=-1, le=5, description="capacity growth per month")
    first_party_tokens: float = Field(0.0, ge=0, description="own apps' token demand at start, tokens/day")
    first_party_growth: float = Field(0.0, ge=-1, le=5, description="growth of own apps' demand per month while small")
    first_party_ceiling: float = Field(
        math.inf, gt=0, description="level own apps' demand saturates at (logistic growth), tokens/day"
    )


# --- developers and enterprises --------------------------------------------------------------


class Adoption(Strict):
    """Bass diffusion whose market potential grows as the cheapest tokens get cheaper."""

    innovation: float = Field(0.01, ge=0, le=1, description="Bass p: external adoption hazard per month")
    imitation: float = Field(0.2, ge=0, le=5, description="Bass q: word-of-mouth hazard per month")
    potential: float = Field(
        0.3, gt=0, le=1, description="fraction of the population that can adopt at the reference price"
    )
    potential_elasticity: float = Field(
        0.3, ge=0, le=3, description="growth of the potential with (reference / cheapest price)"
    )


class LockIn(Strict):
    """Vendor-specific stickiness that accrues with tenure and resets on a switch."""

    rate: float = Field(
        0.05, ge=0, le=5, description="accrual per month of tenure: L = 1 - exp(-rate*stickiness*tenure)"
    )
    weight: float = Field(
        2.0, ge=0, allow_inf_nan=False, description="switching cost added at full lock-in, utility units (finite)"
    )


class Developers(Strict):
    """Startups and app builders: the token-volume side of the market."""

    population: float = Field(gt=0, description="real developer accounts that could ever adopt")
    initially_adopted: float = Field(0.05, ge=0, le=1, description="fraction already using an API at start")
    size: Distribution = Field(
        default_factory=lambda: Pareto(minimum=1.0, alpha=1.8, cap=1000.0),
        description="relative token demand of a developer",
    )
    price_sensitivity: Distribution = Field(
        default_factory=lambda: LogNormal(median=1.0, sigma=0.3), description="weight on -log price"
    )
    quality_sensitivity: Distribution = Field(
        default_factory=lambda: LogNormal(median=1.0, sigma=0.3), description="weight on quality"
    )
    ecosystem_weight: float = Field(1.0, ge=0, description="weight on the vendor's developer share")
    reliability_weight: float = Field(1.0, ge=0, description="weight on log service level (rationing)")
    tokens_per_day: float = Field(gt=0, description="demand of a size-1 developer at the reference price, tokens/day")
    reference_price: float = Field(0.12, gt=0, description="price at which demand is tokens_per_day, yuan/1k tokens")
    demand_elasticity: float = Field(0.7, ge=0, le=3, description="constant price elasticity of token demand")
    demand_cap: float = Field(30.0, ge=1, description="largest demand multiplier a price cut can cause")
    usage_growth: float = Field(0.05, ge=-1, le=2, description="exogenous growth of usage per month")
    adoption: Adoption = Field(default_factory=Adoption)
    review_probability: float = Field(
        0.15, ge=0, le=1, description="chance per month an adopter reconsiders its vendor"
    )
    switching_cost: float = Field(
        1.0, ge=0, description="switching cost with no lock-in, utility units (.inf: never switch)"
    )
    lock_in: LockIn = Field(default_factory=LockIn)
    exit_rate: float = Field(0.0, ge=0, le=1, description="chance per month an adopter leaves the market")

    @model_validator(mode="after")
    def _chances_fit(self) -> Developers:
        if self.exit_rate + self.review_probability > 1:
            raise ValueError("exit_rate + review_probability must be <= 1 (they share one monthly draw)")
        return self


class EnterpriseWeights(Strict):
    """How much a CIO weighs each attribute of an offer, in utility units per unit attribute."""

    trust: float = Field(3.0, ge=0)
    integration: float = Field(3.0, ge=0, description="weight on integration with the incumbent cloud")
    quality: float = Field(0.5, ge=0)
    price: float = Field(0.1, ge=0, description="weight on -log price: weak")


class Enterprises(Strict):
    """Enterprise CIOs: the revenue side, choosing at adoption and at contract renewal."""

    population: float = Field(gt=0, description="real enterprises that could adopt AI cloud services")
    initially_adopted: float = Field(0.1, ge=0, le=1)
    adoption_rate: float = Field(0.03, ge=0, le=1, description="adoption hazard per month")
    budget: Distribution = Field(
        default_factory=lambda: Pareto(minimum=1.0e5, alpha=1.5, cap=200.0),
        description="AI cloud budget, yuan/month",
    )
    contract_months: int = Field(12, ge=1, le=120, description="contract term; choices happen only at renewal")
    weights: EnterpriseWeights = Field(default_factory=EnterpriseWeights)
    sovereignty_need: float = Field(0.3, ge=0, le=1, description="fraction needing data sovereignty")
    sovereignty_bonus: float = Field(
        1.5, ge=0, description="utility of private deployment to those who need sovereignty"
    )
    private_preference: float = Field(-1.0, description="utility of private deployment to everyone (effort, GPUs)")
    own_model_edge: float = Field(
        0.5, ge=0, description="extra utility of private deployment on a vendor hosting its own open model"
    )
    private_spend_multiplier: float = Field(
        1.5, gt=0, description="private deployment spend (IaaS) relative to the API budget"
    )
    migration_cost: float = Field(2.0, ge=0, description="utility cost of changing vendor at renewal (.inf: never)")
    service_cost_share: float = Field(
        0.6, ge=0, le=2, description="cost of platform services and IaaS as a fraction of enterprise revenue"
    )
    tokens_per_yuan: float = Field(
        100.0, ge=0, description="tokens/day per yuan/month of budget at the reference price"
    )
    demand_elasticity: float = Field(0.2, ge=0, le=3)
    demand_cap: float = Field(5.0, ge=1)


class AgentCounts(Strict):
    """How many agents to simulate, and how they are sampled from the real population.

    `size_weighted` samples developers in proportion to their size and enterprises in
    proportion to their budget, and weights each agent by the inverse, so that every agent
    carries about the same token volume or spend (sampling proportional to size, with
    Horvitz-Thompson weights). Totals are unbiased either way; shares of tokens and revenue
    are far less noisy than with `equal` weights when sizes are heavy-tailed.
    """

    developers: int = Field(200_000, ge=1, le=20_000_000, description="developer agents (docs/precision.md)")
    enterprises: int = Field(100_000, ge=1, le=5_000_000, description="enterprise agents (docs/precision.md)")
    sampling: Literal["size_weighted", "equal"] = Field(
        "size_weighted", description="how agents are drawn: in proportion to size (weighted) or with equal weights"
    )


# --- events ----------------------------------------------------------------------------------


class EventBase(Strict):
    """An event takes effect at the start of its month; one dated after the last month never happens.

    (A scenario shortened with `--set months=...` keeps its later events without error.)
    """

    id: str | None = Field(None, description="name other files can drop_events by")
    date: Month
    note: str | None = None


class PriceEvent(EventBase):
    """A list-price change: set `price`, or scale by `change` (-0.99 is a 99 % cut)."""

    type: Literal["price"]
    vendor: str
    price: float | None = Field(None, gt=0)
    change: float | None = Field(None, gt=-1, description="fractional change, > -1 (a price stays positive)")

    @model_validator(mode="after")
    def _one_of(self) -> PriceEvent:
        if (self.price is None) == (self.change is None):
            raise ValueError("give exactly one of price (yuan/1k tokens) or change (fraction)")
        return self


class QualityEvent(EventBase):
    """A model release: set `quality`, or add `change` to it."""

    type: Literal["quality"]
    vendor: str
    quality: float | None = None
    change: float | None = None

    @model_validator(mode="after")
    def _one_of(self) -> QualityEvent:
        if (self.quality is None) == (self.change is None):
            raise ValueError("give exactly one of quality or change")
        return self


class OpenWeightsEvent(EventBase):
    """Open weights become available: a vendor's own (`vendor`), or a third party's model any vendor can host."""

    type: Literal["open_weights"]
    vendor: str | None = Field(None, description="omit for a third-party model (e.g. DeepSeek)")


class SupplyEvent(EventBase):
    """A chip-supply or cost shock: cap capacity growth, scale capacity or unit cost."""

    type: Literal["supply"]
    vendor: str
    capacity_growth_cap: float | None = Field(None, ge=-1, description="monthly capacity growth at most this")
    capacity_change: float | None = Field(None, gt=-1, description="one-off fractional change in capacity")
    unit_cost_change: float | None = Field(None, gt=-1, description="fractional change in unit cost")


class EntryEvent(EventBase):
    """A vendor declared with `active: false` enters the market."""

    type: Literal["entry"]
    vendor: str


class ExitEvent(EventBase):
    """A vendor leaves: its developers and enterprises must choose again."""

    type: Literal["exit"]
    vendor: str


class SwitchingEvent(EventBase):
    """A change to switching frictions, e.g. a common API standard."""

    type: Literal["switching"]
    switching_cost: float | None = Field(None, ge=0)
    switching_cost_change: float | None = Field(None, gt=-1, description="fractional change")
    lock_in_rate: float | None = Field(None, ge=0)
    lock_in_weight: float | None = Field(None, ge=0, allow_inf_nan=False)
    lock_in_weight_change: float | None = Field(None, gt=-1, description="fractional change")
    migration_cost: float | None = Field(None, ge=0)


Event = Annotated[
    PriceEvent | QualityEvent | OpenWeightsEvent | SupplyEvent | EntryEvent | ExitEvent | SwitchingEvent,
    Field(discriminator="type"),
]


# --- the scenario ----------------------------------------------------------------------------


class Scenario(Strict):
    """A complete, validated scenario: what the model is built from."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="used for the output folder")
    description: str = ""
    start: Month
    months: int = Field(ge=1, le=600)
    seed: int = Field(0, ge=0, lt=2**63)
    agents: AgentCounts = Field(default_factory=AgentCounts)
    vendors: dict[str, Vendor] = Field(min_length=1, max_length=100)
    developers: Developers
    enterprises: Enterprises
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        for vendor_id in self.vendors:
            if not VENDOR_ID.match(vendor_id) or vendor_id == ALL_VENDORS:
                raise ValueError(f"vendors.{vendor_id}: the id must be lower-case letters, digits or _ (and not 'all')")
        if not any(v.active for v in self.vendors.values()):
            raise ValueError("at least one vendor must be active at the start")
        if sum(v.incumbency for v in self.vendors.values()) <= 0:
            raise ValueError("vendors: at least one vendor needs incumbency > 0 (enterprise cloud contracts)")
        for i, event in enumerate(self.events):
            _check_event(self, i, event)
        _check_someone_stays(self)
        return self


def _check_event(scenario: Scenario, index: int, event: EventBase) -> None:
    where = f"events.{index}"
    if month_index(scenario.start, event.date) < 0:
        raise ValueError(f"{where}.date: {event.date} is before the scenario starts ({scenario.start})")
    vendor = getattr(event, "vendor", None)
    allows_all = isinstance(event, (PriceEvent, SupplyEvent))
    if vendor is None or (allows_all and vendor == ALL_VENDORS) or vendor in scenario.vendors:
        return
    known = ", ".join(scenario.vendors) + (", all" if allows_all else "")
    raise ValueError(f"{where}.vendor: unknown vendor {vendor!r}; expected one of: {known}")


def _check_someone_stays(scenario: Scenario) -> None:
    """Entry and exit events must leave at least one vendor in the market at every moment."""
    active = {vendor_id for vendor_id, vendor in scenario.vendors.items() if vendor.active}
    dated = sorted(
        (month_index(scenario.start, e.date), i, e)
        for i, e in enumerate(scenario.events)
        if isinstance(e, (EntryEvent, ExitEvent))
    )
    for _, index, event in dated:
        (active.add if isinstance(event, EntryEvent) else active.discard)(event.vendor)
        if not active:
            raise ValueError(f"events.{index}: after this exit ({event.date}) no vendor is left in the market")
