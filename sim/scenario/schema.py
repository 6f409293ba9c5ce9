"""The scenario schema: every parameter the model reads, with its unit, default and bounds.

A scenario is validated once, here, so the model can trust every number it receives.
Unknown keys are errors (`extra="forbid"`): a typo must never become a silent default.
Units: prices and costs in yuan per 1,000 tokens, tokens per day, money in yuan per month,
rates per month, utilities in logit units (a difference of 1 multiplies odds by e).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.scenario.calendar import Month, month_index

VENDOR_ID = re.compile(r"^[a-z][a-z0-9_]*$")
ALL_VENDORS = "all"

# Validation context keys (model_validate(..., context={...})), set by `loading` so that one
# reading of a file reports every problem in it:
CHECKS_LATER = "checks_later"  # the whole-scenario checks are left to the caller (consistency_problems)
PARTIAL = "partial"  # a section in error keeps its valid fields instead of failing (see Strict)


MAX_MAGNITUDE = 1e15
"""No finite real number in a scenario is larger than this: every quantity the model reads is far
smaller, and products of such numbers stay far from overflowing to infinity."""


class Strict(BaseModel):
    """Base for every scenario section: unknown keys are errors, values are checked on assignment.

    Real numbers must be finite (`.inf` only where a field says so: `MayBeInfinite`), at
    most MAX_MAGNITUDE in size, and real numbers: `true` is not read as 1 (strict mode).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _sane_value(cls, value: object) -> object:
        if isinstance(value, float) and math.isfinite(value) and abs(value) > MAX_MAGNITUDE:
            raise ValueError(f"expected a number of at most {MAX_MAGNITUDE:.0e} in size")
        if isinstance(value, str) and not _encodable(value):
            raise ValueError("text with an unpaired UTF-16 surrogate cannot be printed or written to a file")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _partial_if_asked(cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo) -> Self:
        """The section, or its errors; with PARTIAL in the context, a section in error instead
        keeps the fields that are valid and leaves the others out (unchecked, never to be run).

        `loading` asks for this only after it has the field errors, so that the checks of the
        whole scenario can still look at every section that is not itself in error.
        """
        try:
            return handler(data)
        except ValidationError:
            if not (info.context or {}).get(PARTIAL) or not isinstance(data, dict):
                raise
        valid = {}
        for name, field in cls.model_fields.items():
            if name in data:
                try:
                    valid[name] = TypeAdapter(field.annotation).validate_python(data[name], context=info.context)
                except ValidationError:
                    continue
        return cls.model_construct(**valid)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MayBeInfinite = Annotated[float, Field(allow_inf_nan=True)]
"""A bound or cost where `.inf` means "none" or "never"; NaN is still refused by its bounds."""


def _plain_name(name: str) -> str:
    """A name goes into charts, tables and CSV files: no control characters (a NUL cuts a string
    short in C libraries), and no leading =, +, - or @, which a spreadsheet runs as a formula."""
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        raise ValueError("a name may not hold control characters (such as NUL, a tab or a line break)")
    if name[:1] in ("=", "+", "-", "@"):
        raise ValueError("a name may not begin with =, +, - or @: a spreadsheet would run it as a formula")
    return name


DisplayName = Annotated[
    str, Field(min_length=1, max_length=80, description="display name"), AfterValidator(_plain_name)
]
"""A name shown in charts and tables: long enough for any company, short enough for a legend."""


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


def _only_positive(distribution: Fixed | LogNormal | Uniform | Pareto) -> Fixed | LogNormal | Uniform | Pareto:
    """A size scales tokens and spend: a size of zero or less would give negative shares."""
    lowest = {"fixed": "value", "uniform": "low"}.get(distribution.dist)
    if lowest is not None and getattr(distribution, lowest) <= 0:
        raise ValueError(f"a size must be more than 0: {lowest} must be > 0")
    return distribution


SizeDistribution = Annotated[Distribution, AfterValidator(_only_positive)]


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


class Objective(Strict):
    """What a strategic vendor maximises over its horizon: a weighted sum of fractions.

    Profit is counted as a share of the whole market's revenue over the horizon (so that it is
    on the scale of the shares); token and revenue shares are the horizon's ratios of sums.
    """

    profit: float = Field(0.0, ge=0, description="weight on discounted gross profit / the market's revenue")
    token_share: float = Field(0.0, ge=0, description="weight on the share of external API tokens")
    revenue_share: float = Field(0.0, ge=0, description="weight on the share of AI cloud revenue")

    @model_validator(mode="after")
    def _something(self) -> Objective:
        if self.profit + self.token_share + self.revenue_share <= 0:
            raise ValueError("give at least one positive weight: profit, token_share or revenue_share")
        return self


class Strategy(Strict):
    """A vendor that chooses its token list price (`sim game`), instead of following its timeline.

    From the game's first month the vendor sets its price as a multiple of the price it had
    then, once for the rest of the run, within `price_bounds`; its rivals' choices are taken
    as given (a best response), and the game iterates until no vendor gains by changing.
    """

    objective: Objective
    loss_budget: MayBeInfinite = Field(
        math.inf, ge=0, description="token losses (serving cost above token revenue) it accepts over the horizon, yuan"
    )
    discount_rate: float = Field(0.01, ge=0, le=0.5, description="monthly discount rate of profit")
    price_bounds: list[float] = Field(
        default_factory=lambda: [0.05, 20.0],
        min_length=2,
        max_length=2,
        description="lowest and highest price as multiples of its price when the game starts",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Strategy:
        low, high = self.price_bounds
        if not 0 < low < high:
            raise ValueError(f"price_bounds: expected 0 < low < high, got {low:g} and {high:g}")
        return self


class LossResponse(Strict):
    """What a vendor does when its tokens sell far below cost for long (brief rule 8: firms
    behave as firms). Losses on tokens are first drawn from a named subsidy budget (the group
    backing a usage strategy); once it is spent, each month whose MaaS gross margin is below
    `floor` counts, and after `months` such months in a row the vendor never again posts a
    token price whose margin would fall below the floor (a margin floor with a lag)."""

    floor: float = Field(
        -1.0, ge=-100, lt=1, description="MaaS gross margin, (revenue - cost) / revenue, the vendor tolerates"
    )
    months: int = Field(6, ge=1, le=120, description="months in a row below the floor before prices respond")
    subsidy: MayBeInfinite = Field(
        0.0, ge=0, description="yuan of token losses a named backer covers first (.inf: without limit)"
    )


Stream = Literal["first_party", "iaas", "api"]
FAMILY_ID = VENDOR_ID


class FirstParty(Strict):
    """The group's own apps (e.g. the Doubao app, Douyin): users x tokens per user, on the vendor's GPUs.

    First-party tokens earn no AI cloud revenue but draw on the same GPUs as paying customers.
    """

    users: float = Field(ge=0, description="monthly active users of the group's AI apps at the start")
    users_growth: float = Field(0.0, ge=-1, le=5, description="monthly growth of users while few (logistic)")
    users_ceiling: MayBeInfinite = Field(math.inf, gt=0, description="users the apps saturate at")
    tokens_per_user: float = Field(ge=0, description="tokens per user per day at the start")
    tokens_per_user_growth: float = Field(
        0.0, ge=-1, le=2, description="monthly growth of tokens per user while few (longer chats, reasoning, video)"
    )
    tokens_per_user_ceiling: MayBeInfinite = Field(
        math.inf, gt=0, description="tokens per user per day that use saturates at (logistic)"
    )

    @model_validator(mode="after")
    def _ceilings_above_start(self) -> FirstParty:
        _at_least("users_ceiling", self.users_ceiling, "users", self.users)
        _at_least("tokens_per_user_ceiling", self.tokens_per_user_ceiling, "tokens_per_user", self.tokens_per_user)
        return self


def _at_least(name: str, ceiling: float, start_name: str, start: float) -> None:
    """A logistic ceiling below the starting level would make growth run away, not saturate."""
    if ceiling < start:
        raise ValueError(f"{name}: {ceiling:g} is below {start_name} ({start:g}); a ceiling is at least the start")


class Vendor(Strict):
    """A cloud vendor selling model-API tokens (MaaS), AI PaaS and GPU-hours (AI IaaS)."""

    name: DisplayName
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$", description="chart colour")
    active: bool = Field(True, description="in the market from the start (else enters by event)")
    price: float = Field(gt=0, description="list price of its representative blended token offer, yuan/1k tokens")
    pricing: list[PricingPolicy] = Field(
        default_factory=list, description="reactive policies applied in order after the schedule"
    )
    contract_discount: float = Field(
        0.0, ge=0, lt=1, description="enterprises' negotiated discount off the token list price"
    )
    gpus: float = Field(gt=0, description="GPU-equivalents serving AI cloud and own apps at the start")
    imported_chips: float = Field(
        0.9, ge=0, le=1, description="fraction of its GPUs that are import-controlled (supply shocks act on these)"
    )
    gpu_hour_cost: float = Field(gt=0, description="cost of running one GPU-hour (depreciation, power, space), yuan")
    gpu_hour_price: float = Field(gt=0, description="AI IaaS list price of one GPU-hour at the start, yuan")
    gpu_price_trend: float = Field(
        -0.01, ge=-0.5, le=0.5, description="monthly change of the GPU-hour price (falls slowly)"
    )
    serving_efficiency: float = Field(
        1.0, gt=0, description="tokens per GPU-hour relative to the market's (chips and serving stack)"
    )
    customer_capex: float = Field(
        1.0,
        ge=0,
        le=1,
        description="fraction of paying customers' expected GPU demand the vendor buys GPUs for (its own apps "
        "always get theirs); below 1 an internal-first policy that leaves customers short when demand grows",
    )
    allocation: list[Stream] = Field(
        default_factory=lambda: ["first_party", "iaas", "api"],
        min_length=3,
        max_length=3,
        description="who is served first when GPUs are short: an order of first_party, iaas, api",
    )
    platform_fee: float = Field(0.0, ge=0, description="AI PaaS fee per enterprise customer of size 1, yuan/month")
    trust: float = Field(0.5, ge=0, le=1, description="security, sovereignty and reliability, 0-1")
    integration: float = Field(0.5, ge=0, le=1, description="depth of integration with its cloud stack, 0-1")
    incumbency: float = Field(0.0, ge=0, le=1, description="share of enterprises' existing cloud contracts")
    stickiness: float = Field(1.0, ge=0, description="multiplier on the lock-in accrual rate")
    first_party: FirstParty | None = Field(None, description="the group's own apps, if any")
    losses: LossResponse = Field(
        default_factory=LossResponse, description="how long it sells tokens below cost, and who pays for it"
    )
    strategy: Strategy | None = Field(
        None, description="objectives for `sim game`: the vendor then chooses its price (else it follows its timeline)"
    )

    @model_validator(mode="after")
    def _allocation_is_an_order(self) -> Vendor:
        if sorted(self.allocation) != ["api", "first_party", "iaas"]:
            raise ValueError("allocation must list first_party, iaas and api once each, in priority order")
        return self


class Family(Strict):
    """A model family (Doubao, Qwen, DeepSeek, ...): its quality and whether its weights are open."""

    name: DisplayName
    owner: str | None = Field(None, description="vendor whose API sells it first-party; omit for a third party")
    quality: float = Field(description="quality index read from public leaderboards, logit units; moved by events")
    open_weights: bool = Field(False, description="weights open from the start (else by an open_weights event)")


class Lab(Strict):
    """A model lab (Moonshot, MiniMax, Zhipu, ...): rents GPU clusters for training and serving."""

    name: DisplayName
    gpus: float = Field(gt=0, description="GPU-equivalents it rents at the start")
    growth: float = Field(
        0.05, ge=-1, le=5, description="monthly growth of the GPUs it rents while far below its ceiling"
    )
    ceiling: MayBeInfinite = Field(math.inf, gt=0, description="GPUs its rental saturates at (logistic)")
    investors: list[str] = Field(default_factory=list, description="vendors holding equity in it (public ties)")

    @model_validator(mode="after")
    def _ceiling_above_start(self) -> Lab:
        _at_least("ceiling", self.ceiling, "gpus", self.gpus)
        return self


class LabChoice(Strict):
    """How labs split their GPU rental across clouds (a logit share, renewed yearly)."""

    price_weight: float = Field(3.0, ge=0, description="weight on -log GPU-hour price")
    investor_bonus: float = Field(1.5, ge=0, description="utility of renting from a vendor that invested in it")
    reliability_weight: float = Field(2.0, ge=0, description="weight on log IaaS service level")
    capacity_weight: float = Field(
        0.0,
        ge=0,
        le=3,
        description="weight on log GPUs the vendor has on offer (spare after its other customers and own "
        "apps); 1: a logit over equally good cluster slots, 0: capacity does not matter",
    )
    contract_months: int = Field(12, ge=1, le=120, description="months between re-splits")


class Serving(Strict):
    """How many tokens a GPU-hour serves: the market's efficiency and its trend."""

    tokens_per_gpu_hour: float = Field(gt=0, description="tokens (input + output) per GPU-hour at the start")
    efficiency_growth: float = Field(0.05, ge=-0.5, le=1, description="monthly growth of tokens per GPU-hour")
    tokens_per_gpu_hour_ceiling: MayBeInfinite = Field(
        math.inf,
        gt=0,
        description="most tokens a GPU-hour can serve (a cited serving disclosure); the trend stops there",
    )
    usable_hours: float = Field(500.0, gt=0, le=744, description="GPU-hours per GPU per month that can be sold or used")
    max_gpu_growth: float = Field(
        0.25, ge=0, le=5, description="fastest monthly growth of a vendor's GPU fleet (how fast chips can be bought)"
    )
    domestic_substitution: float = Field(
        0.5, ge=0, le=1, description="fraction of the imported GPUs export controls block that domestic chips replace"
    )
    priority_ratio: MayBeInfinite = Field(
        3.0,
        ge=1,
        description="when GPUs are short, a stream earlier in a vendor's allocation order is served this many "
        "times the fraction of the next (.inf: strict priority; 1: all alike)",
    )
    target_utilisation: float = Field(
        0.8, gt=0, le=1, description="share of its GPU-hours a vendor plans to use; it buys GPUs to keep below it"
    )
    private_efficiency: float = Field(
        0.3, gt=0, le=1, description="tokens per GPU-hour of a private or self-hosted deployment, relative"
    )

    @model_validator(mode="after")
    def _ceiling_above_start(self) -> Serving:
        _at_least("tokens_per_gpu_hour_ceiling", self.tokens_per_gpu_hour_ceiling, "tokens_per_gpu_hour",
                  self.tokens_per_gpu_hour)  # fmt: skip
        return self


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


class SelfHosting(Strict):
    """Large developers may run an open-weight model on rented GPUs instead of buying an API."""

    min_size: float = Field(100.0, gt=0, description="smallest developer size that can run its own deployment")
    effort: float = Field(-1.0, description="utility of self-hosting against an API (engineering and operations)")


class DatedPrice(Strict):
    """A price from a month on (until the next entry)."""

    date: Month
    price: float = Field(gt=0, description="yuan/1k tokens, blended like the vendors' offers")
    note: str | None = None


class OutsideOption(Strict):
    """Sellers outside the vendors (DeepSeek's own API and the like): developers may buy there.

    Their tokens are not the vendors' and count in no vendor's share (IDC's basis).
    """

    family: str = Field(description="model family it sells (its quality)")
    appeal: float = Field(0.0, description="utility against a vendor's API at equal price and quality")
    prices: list[DatedPrice] = Field(min_length=1, description="price schedule, in date order")

    @model_validator(mode="after")
    def _in_order(self) -> OutsideOption:
        dates = [month_index("2000-01", p.date) for p in self.prices]
        if dates != sorted(dates):
            raise ValueError("prices must be in date order")
        return self


class Developers(Strict):
    """Startups and app builders: the token-volume side of the market."""

    population: float = Field(gt=0, description="real developer accounts that could ever adopt")
    initially_adopted: float = Field(0.05, ge=0, le=1, description="fraction already using an API at start")
    size: SizeDistribution = Field(
        default_factory=lambda: Pareto(minimum=1.0, alpha=1.8, cap=1000.0),
        description="relative token demand of a developer",
    )
    price_sensitivity: Distribution = Field(
        default_factory=lambda: LogNormal(median=1.0, sigma=0.3), description="weight on -log price"
    )
    quality_sensitivity: Distribution = Field(
        default_factory=lambda: LogNormal(median=1.0, sigma=0.3), description="weight on quality"
    )
    ecosystem_weight: float = Field(
        1.0, ge=0, description="weight on the share of all tokens running on the vendor's own family: ecosystem gravity"
    )
    ecosystem_source: Literal["all_tokens", "public_tokens", "external_tokens"] = Field(
        "all_tokens",
        description="tokens that make a family's gravity: all; public (APIs and the groups' own apps, not "
        "private deployments); or external (APIs and private deployments, not the groups' own apps)",
    )
    reliability_weight: float = Field(1.0, ge=0, description="weight on log service level (rationing)")
    tokens_per_day: float = Field(gt=0, description="demand of a size-1 developer at the reference price, tokens/day")
    reference_price: float = Field(0.12, gt=0, description="price at which demand is tokens_per_day, yuan/1k tokens")
    demand_elasticity: float = Field(0.7, ge=0, le=3, description="constant price elasticity of token demand")
    usage_growth: float = Field(
        0.05, ge=-1, le=2, description="exogenous growth of usage per month while far below its ceiling"
    )
    usage_ceiling: MayBeInfinite = Field(
        math.inf, gt=1, description="use per developer saturates at this multiple of the starting use (logistic)"
    )
    adoption: Adoption = Field(default_factory=Adoption)
    self_hosting: SelfHosting = Field(default_factory=SelfHosting)
    outside_option: OutsideOption | None = Field(None, description="sellers outside the vendors, if any")
    review_probability: float = Field(
        0.15, ge=0, le=1, description="chance per month an adopter reconsiders its vendor"
    )
    switching_cost: MayBeInfinite = Field(
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
    price: float = Field(0.5, ge=0, description="weight on -log monthly cost of the option")
    service: float = Field(1.0, ge=0, description="weight on log service level of the stream it would buy")
    capacity: float = Field(
        0.0,
        ge=0,
        le=3,
        description="weight on log GPUs the vendor has on offer (quotas for its API, clusters for a private "
        "deployment): AI bought on its own merits, not only through the incumbent cloud",
    )
    domestic_chips: float = Field(
        0.0,
        ge=0,
        le=10,
        description="weight a CIO needing sovereignty puts on the fraction of a vendor's GPUs that are domestic "
        "chips (domestic-procurement rules for state and regulated buyers)",
    )


class LargeAccounts(Strict):
    """The large-account channel: vendors' account teams sell models to large firms directly.

    A large account weighs a vendor's share of last month's public tokens (the models with the
    most use) beside its cloud contract, so model APIs are bought on their own merits and not
    only through the incumbent cloud. `volume_weight: 0` switches the channel off.
    """

    min_size: float = Field(30.0, gt=0, description="smallest enterprise size an account team sells to")
    volume_weight: float = Field(
        0.0, ge=0, le=20, description="utility of a vendor's ecosystem share (0 to 1) to a large account"
    )


class Enterprises(Strict):
    """Enterprise CIOs: at adoption and renewal each buys a model API or a private deployment.

    What they buy follows from their use (tokens a month), capped by a budget; they pay for
    what they are served: tokens at the contract price, GPU-hours at the IaaS price, and
    platform (PaaS) fees.
    """

    population: float = Field(gt=0, description="real enterprises that could adopt AI cloud services")
    initially_adopted: float = Field(0.1, ge=0, le=1)
    adoption_rate: float = Field(
        0.03, ge=0, le=1, description="Bass p: adoption hazard per month within the potential, before imitation"
    )
    imitation: float = Field(
        0.0, ge=0, le=5, description="Bass q: extra hazard per month times the adopted fraction of the potential"
    )
    potential: float = Field(1.0, gt=0, le=1, description="fraction of enterprises that ever adopt (saturation)")
    size: SizeDistribution = Field(
        default_factory=lambda: Pareto(minimum=1.0, alpha=1.5, cap=300.0),
        description="relative size (use and budget scale with it)",
    )
    tokens_per_day: float = Field(
        gt=0, description="tokens/day a size-1 enterprise uses at the reference price at the start"
    )
    usage_growth: float = Field(
        0.05, ge=-1, le=2, description="monthly growth of enterprises' use while far below its ceiling"
    )
    usage_ceiling: MayBeInfinite = Field(
        math.inf, gt=1, description="use per enterprise saturates at this multiple of the starting use (logistic)"
    )
    demand_elasticity: float = Field(0.3, ge=0, le=3, description="price elasticity of API token use")
    budget: float = Field(gt=0, description="most a size-1 enterprise spends on AI cloud, yuan/month")
    contract_months: int = Field(12, ge=1, le=120, description="contract term; choices happen only at renewal")
    weights: EnterpriseWeights = Field(default_factory=EnterpriseWeights)
    large_accounts: LargeAccounts = Field(default_factory=LargeAccounts)
    sovereignty_need: float = Field(0.3, ge=0, le=1, description="fraction in sectors needing data sovereignty")
    sovereignty_bonus: float = Field(
        1.5, ge=0, description="utility of private deployment to those who need sovereignty"
    )
    private_preference: float = Field(-1.0, description="utility of private deployment to everyone (effort)")
    own_model_edge: float = Field(
        0.5, ge=0, description="extra utility of private deployment on the vendor that owns the open model"
    )
    private_fills: bool = Field(
        True,
        description="a private deployment runs the GPUs it rents full (its marginal token is free); "
        "false: it serves only the tokens the enterprise needs at the reference price",
    )
    private_min_gpus: float = Field(
        8.0, ge=0, description="GPUs a private deployment reserves however little it serves"
    )
    finetune_gpu_hours: float = Field(
        0.0, ge=0, description="fine-tuning GPU-hours a month of a size-1 private deployer"
    )
    migration_cost: MayBeInfinite = Field(
        2.0, ge=0, description="utility cost of changing vendor at renewal (.inf: never)"
    )


class AgentCounts(Strict):
    """How many agents to simulate, and how they are sampled from the real population.

    `size_weighted` samples developers in proportion to their size and enterprises in
    proportion to their size, and weights each agent by the inverse, so that every agent
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
    """A list-price change: set `price`, or scale by `change` (-0.99 is a 99 % cut).

    `stream: token` changes the token list price (enterprise contracts follow it at their
    discount); `stream: gpu_hour` the AI IaaS price of a GPU-hour, and `trend` how fast that
    price moves from then on (the public rental-price path has a steep and a slow phase).
    """

    type: Literal["price"]
    vendor: str
    stream: Literal["token", "gpu_hour"] = "token"
    price: float | None = Field(None, gt=0, description="yuan/1k tokens, or yuan per GPU-hour")
    change: float | None = Field(None, gt=-1, description="fractional change, > -1 (a price stays positive)")
    trend: float | None = Field(
        None, ge=-0.5, le=0.5, description="stream gpu_hour: the GPU-hour price's monthly change from this month on"
    )

    @model_validator(mode="after")
    def _one_of(self) -> PriceEvent:
        if self.trend is not None and self.stream != "gpu_hour":
            raise ValueError("trend applies to the GPU-hour price only: add stream: gpu_hour")
        if self.price is not None and self.change is not None:
            raise ValueError("give one of price (yuan/1k tokens) or change (fraction), not both")
        if self.price is None and self.change is None and self.trend is None:
            raise ValueError("give exactly one of price (yuan/1k tokens) or change (fraction)")
        return self


class QualityEvent(EventBase):
    """A model release: set the family's `quality`, or add `change` to it."""

    type: Literal["quality"]
    family: str
    quality: float | None = None
    change: float | None = None

    @model_validator(mode="after")
    def _one_of(self) -> QualityEvent:
        if (self.quality is None) == (self.change is None):
            raise ValueError("give exactly one of quality or change")
        return self


class OpenWeightsEvent(EventBase):
    """A family's weights become open: any vendor can host it, enterprises can deploy it privately."""

    type: Literal["open_weights"]
    family: str


class SupplyEvent(EventBase):
    """A chip-supply or cost shock on a vendor's import-controlled chips (or on all its chips).

    Export controls act on imported GPUs: with `scope: imported` (the default) the cap and
    the changes apply to that part of the fleet only, so a vendor on domestic chips (Huawei)
    is barely touched.
    """

    type: Literal["supply"]
    vendor: str
    scope: Literal["imported", "all"] = "imported"
    capacity_growth_cap: float | None = Field(None, ge=-1, description="monthly GPU fleet growth at most this")
    capacity_change: float | None = Field(None, gt=-1, description="one-off fractional change in GPUs")
    gpu_hour_cost_change: float | None = Field(None, gt=-1, description="fractional change in GPU-hour cost")
    customer_capex: float | None = Field(
        None,
        ge=0,
        le=1,
        description="from now on, the fraction of paying customers' expected GPU demand the vendor buys GPUs "
        "for (vendors.<id>.customer_capex); below 1 an internal-first policy",
    )


class EfficiencyEvent(EventBase):
    """A serving-efficiency gain (e.g. a new inference stack): tokens per GPU-hour scale by 1 + change."""

    type: Literal["efficiency"]
    vendor: str = Field(ALL_VENDORS, description="a vendor id or all")
    change: float = Field(gt=-1, description="fractional change in tokens per GPU-hour")


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
    switching_cost: MayBeInfinite | None = Field(None, ge=0)
    switching_cost_change: float | None = Field(None, gt=-1, description="fractional change")
    lock_in_rate: float | None = Field(None, ge=0)
    lock_in_weight: float | None = Field(None, ge=0, allow_inf_nan=False)
    lock_in_weight_change: float | None = Field(None, gt=-1, description="fractional change")
    migration_cost: MayBeInfinite | None = Field(None, ge=0)


Event = Annotated[
    PriceEvent
    | QualityEvent
    | OpenWeightsEvent
    | SupplyEvent
    | EfficiencyEvent
    | EntryEvent
    | ExitEvent
    | SwitchingEvent,
    Field(discriminator="type"),
]


# --- the scenario ----------------------------------------------------------------------------


class Scenario(Strict):
    """A complete, validated scenario: what the model is built from."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=80, description="used for the output folder")
    description: str = ""
    start: Month
    months: int = Field(ge=1, le=600)
    seed: int = Field(0, ge=0, lt=2**63)
    agents: AgentCounts = Field(default_factory=AgentCounts)
    vendors: dict[str, Vendor] = Field(min_length=1, max_length=100)
    families: dict[str, Family] = Field(min_length=1, max_length=100)
    serving: Serving
    labs: dict[str, Lab] = Field(default_factory=dict, max_length=1000)
    lab_choice: LabChoice = Field(default_factory=LabChoice)
    developers: Developers
    enterprises: Enterprises
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Scenario:
        """Refuse a scenario whose sections disagree, naming the first problem; `loading`, which
        reports every problem of a file at once, asks for them later (`CHECKS_LATER`)."""
        if not (info.context or {}).get(CHECKS_LATER):
            for problem in consistency_problems(self):
                raise ValueError(problem)
        return self


def consistency_problems(scenario: Scenario, partial: bool = False) -> list[str]:
    """Every way the scenario's sections disagree, each as "field: what is wrong".

    `partial` is a scenario some of whose fields were in error and left out (see Strict): a
    check that needs one of them is skipped, since its field's own error is already reported.
    """
    problems: list[str] = []
    for check in (_vendor_problems, _family_problems, _lab_problems, _event_problems, _someone_stays):
        try:
            problems += check(scenario)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            if not partial:
                raise
    return problems


def _vendor_problems(scenario: Scenario) -> list[str]:
    problems = [
        f"vendors.{vendor_id}: the id must be lower-case letters, digits or _ (and not 'all')"
        for vendor_id in scenario.vendors
        if not VENDOR_ID.match(vendor_id) or vendor_id == ALL_VENDORS
    ]
    if not any(v.active for v in scenario.vendors.values()):
        problems.append("at least one vendor must be active at the start")
    if sum(v.incumbency for v in scenario.vendors.values()) <= 0:
        problems.append("vendors: at least one vendor needs incumbency > 0 (enterprise cloud contracts)")
    return problems


def _lab_problems(scenario: Scenario) -> list[str]:
    return [
        f"labs.{lab_id}.investors: unknown vendor {vendor!r}; expected one of: " + ", ".join(scenario.vendors)
        for lab_id, lab in scenario.labs.items()
        for vendor in lab.investors
        if vendor not in scenario.vendors
    ]


def _event_problems(scenario: Scenario) -> list[str]:
    problems = []
    first_with_id: dict[str, int] = {}
    for i, event in enumerate(scenario.events):
        problems += _check_event(scenario, i, event)
        if event.id is not None and first_with_id.setdefault(event.id, i) != i:
            problems.append(
                f"events.{i}.id: {event.id!r} is already the id of events.{first_with_id[event.id]}; "
                "ids must be unique (drop_events and sweeps name events by id)"
            )
    return problems


def _family_problems(scenario: Scenario) -> list[str]:
    problems = []
    outside = scenario.developers.outside_option
    if outside is not None:
        if outside.family not in scenario.families:
            known = ", ".join(scenario.families)
            problems.append(
                f"developers.outside_option.family: unknown model family {outside.family!r}; expected one of: {known}"
            )
        if month_index(scenario.start, outside.prices[0].date) > 0:
            problems.append(
                f"developers.outside_option.prices.0.date: the first price must be dated at or before "
                f"the start ({scenario.start})"
            )
    for family_id, family in scenario.families.items():
        if not FAMILY_ID.match(family_id):
            problems.append(f"families.{family_id}: the id must be lower-case letters, digits or _")
        if family.owner is not None and family.owner not in scenario.vendors:
            known = ", ".join(scenario.vendors)
            problems.append(f"families.{family_id}.owner: unknown vendor {family.owner!r}; expected one of: {known}")
    owned = [f.owner for f in scenario.families.values() if f.owner is not None]
    problems += [
        f"vendors.{vendor_id}: every vendor owns exactly one model family (families.*.owner)"
        for vendor_id in scenario.vendors
        if owned.count(vendor_id) != 1
    ]
    return problems


def _check_event(scenario: Scenario, index: int, event: EventBase) -> list[str]:
    where = f"events.{index}"
    if month_index(scenario.start, event.date) < 0:
        return [f"{where}.date: {event.date} is before the scenario starts ({scenario.start})"]
    family = getattr(event, "family", None)
    if family is not None and family not in scenario.families:
        known = ", ".join(scenario.families)
        return [f"{where}.family: unknown model family {family!r}; expected one of: {known}"]
    vendor = getattr(event, "vendor", None)
    allows_all = isinstance(event, (PriceEvent, SupplyEvent, EfficiencyEvent))
    if vendor is None or (allows_all and vendor == ALL_VENDORS) or vendor in scenario.vendors:
        return []
    known = ", ".join(scenario.vendors) + (", all" if allows_all else "")
    return [f"{where}.vendor: unknown vendor {vendor!r}; expected one of: {known}"]


def _someone_stays(scenario: Scenario) -> list[str]:
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
            return [f"events.{index}: after this exit ({event.date}) no vendor is left in the market"]
    return []
