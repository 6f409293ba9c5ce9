"""What an enterprise CIO weighs at adoption and renewal, and what it then buys.

Options are (vendor, mode) for mode in {API, private deployment of open weights on the
vendor's GPUs}; option k = 2 * vendor + mode. What an enterprise buys follows from its use:
  API:     tokens/day = use at the contract price (constant elasticity), billed per token
           at the contract price, plus the vendor's platform (PaaS) fee;
  private: GPU-hours to serve its use on a private deployment (at least a reserved minimum
           of GPUs), plus fine-tuning GPU-hours, billed at the IaaS price, plus the PaaS fee;
           paid for whether used or not, they serve as many tokens as they can (or only
           what the enterprise needs, with `enterprises.private_fills: false`).
A budget caps what it buys (all quantities scale down together); it never sets what it pays.
Utility of option (j, m) for CIO i:
    w_trust * trust_j + w_int * integration_j * [j is i's incumbent cloud]
    + w_volume * ecosystem_share_j * [i is a large account]
    + w_domestic * domestic_chip_share_j * [i needs sovereignty]
    + w_q * quality of the models option (j, m) runs - w_price * log(monthly bill of (j, m))
    + w_service * log(service level of the stream (j, m) buys)
    + w_capacity * log(GPUs j has on offer: quotas for its API, clusters for a deployment)
    + (m = private) * (private_preference + sovereignty_bonus * needs_sovereignty_i
                       + own_model_edge * [j owns an open-weight family])
Large accounts (size at least `enterprises.large_accounts.min_size`) are sold to directly:
vendors' account teams pitch the models with the most use, so such a buyer weighs a vendor's
share of last month's public tokens (the developers' ecosystem signal) beside its cloud
contract. Buyers needing sovereignty fall under domestic-procurement rules, which favour
vendors whose fleets run on domestic chips.
Private options exist only while some open-weight model exists. Changing vendor at renewal
costs `migration_cost`, added as a bonus on both options of the current vendor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.choice import choose
from sim.scenario.calendar import DAYS_PER_MONTH

API, PRIVATE = 0, 1
MODES = ("api", "private")


@dataclass(frozen=True)
class EnterpriseOffer:
    """Vendor offers every CIO sees this month, with the quantities a size-1 enterprise would buy."""

    trust: np.ndarray
    integration: np.ndarray
    api_quality: np.ndarray
    private_quality: float  # best open-weight model; -inf when none is open
    owns_open_family: np.ndarray
    contract_price: np.ndarray  # yuan/1k tokens
    gpu_hour_price: np.ndarray  # yuan/GPU-hour
    platform_fee: np.ndarray  # yuan/month per unit size
    log_api_service: np.ndarray
    log_iaas_service: np.ndarray
    log_gpus_on_offer: np.ndarray  # spare GPUs after its own apps and other customers (labs.gpus_on_offer)
    ecosystem_share: np.ndarray  # last month's share of public tokens on the vendor's own families
    domestic_chip_share: np.ndarray  # fraction of the vendor's fleet on domestic chips
    active: np.ndarray
    api_tokens_per_size: np.ndarray  # tokens/day of a size-1 enterprise at each contract price
    private_tokens_per_size: float  # tokens/day of a size-1 enterprise on its own deployment
    private_tokens_per_gpu_hour: np.ndarray
    reserved_gpu_hours: float  # a private deployment's minimum GPU-hours a month
    private_fills: bool  # a private deployment runs the GPU-hours it rents full (its marginal token is free)
    finetune_gpu_hours: float  # per unit size a month, private deployers
    budget: float  # yuan/month per unit size

    @property
    def open_weights_exist(self) -> bool:
        return bool(np.isfinite(self.private_quality))


@dataclass(frozen=True)
class ProcurementTastes:
    trust: float
    integration: float
    quality: float
    price: float
    service: float
    capacity: float
    large_account_volume: float  # weight a large account puts on a vendor's ecosystem share
    large_account_size: float  # smallest size sold to by account teams
    domestic_chips: float  # weight a sovereignty buyer puts on a vendor's domestic-chip share
    private_preference: float
    sovereignty_bonus: float
    own_model_edge: float
    migration_cost: float


@dataclass(frozen=True)
class EnterpriseMonth:
    """Everything a CIO needs to act this month, fixed before anyone acts: plain data, read
    alike by the numpy rule (enterprises.py) and its compiled twin (enterprise_kernel.py)."""

    offer: EnterpriseOffer
    tastes: ProcurementTastes
    adoption_rate: float  # this month's Bass hazard for a non-adopter within the potential
    potential: float
    contract_months: int
    event_draws: np.ndarray
    choice_draws: np.ndarray


@dataclass(frozen=True)
class Bills:
    """What CIOs would buy and pay per option, [cios, vendors] (or [cios], one vendor each), before the cap."""

    api_tokens: np.ndarray  # tokens/day
    private_tokens: np.ndarray  # tokens/day
    private_gpu_hours: np.ndarray  # serving, a month
    finetune_gpu_hours: np.ndarray  # a month
    platform_units: np.ndarray  # enterprise size under a platform contract (PaaS is priced per unit)
    api_cost: np.ndarray  # yuan/month: tokens + platform
    private_cost: np.ndarray  # yuan/month: GPU-hours + platform


def bills(size: np.ndarray, offer: EnterpriseOffer, vendor: np.ndarray | None = None) -> Bills:
    """Quantities and monthly bills for enterprises of the given sizes.

    With `vendor` (one index per enterprise) each array is that vendor's option, [cios];
    without, every vendor's, [cios, vendors]. One formula for both, so what a CIO weighs
    is what it is then billed.
    """

    def per_vendor(values: np.ndarray) -> np.ndarray:
        return values[vendor] if vendor is not None else values[None, :]

    size = np.asarray(size, dtype=np.float64)
    size = size if vendor is not None else size[:, None]
    api_tokens = size * per_vendor(offer.api_tokens_per_size)
    needed_tokens = np.broadcast_to(size * offer.private_tokens_per_size, api_tokens.shape)
    tokens_per_gpu_hour = per_vendor(offer.private_tokens_per_gpu_hour)
    private_gpu_hours = np.maximum(needed_tokens * DAYS_PER_MONTH / tokens_per_gpu_hour, offer.reserved_gpu_hours)
    private_tokens = private_deployment_tokens(
        needed_tokens, private_gpu_hours, tokens_per_gpu_hour, offer.private_fills
    )
    finetune = np.broadcast_to(size * offer.finetune_gpu_hours, api_tokens.shape)
    platform_units = np.broadcast_to(size, api_tokens.shape)
    platform = platform_units * per_vendor(offer.platform_fee)
    api_cost = api_tokens * DAYS_PER_MONTH / 1000.0 * per_vendor(offer.contract_price) + platform
    private_cost = (private_gpu_hours + finetune) * per_vendor(offer.gpu_hour_price) + platform
    return Bills(api_tokens, private_tokens, private_gpu_hours, finetune, platform_units, api_cost, private_cost)


def private_deployment_tokens(needed, gpu_hours, tokens_per_gpu_hour, fills: bool):
    """Tokens/day a private deployment serves. Its GPU-hours are paid for whether used or not,
    so its marginal token is free: with `fills` the enterprise runs them full (tokens = GPU-hours
    x tokens per GPU-hour); without, it serves only what it needs at the reference price."""
    return gpu_hours * tokens_per_gpu_hour / DAYS_PER_MONTH if fills else needed


def budget_fraction(cost: np.ndarray, size: np.ndarray, budget: float) -> np.ndarray:
    """Fraction of its wanted quantities an enterprise can afford: min(1, budget / bill)."""
    cap = np.asarray(size, dtype=np.float64) * budget
    return np.minimum(1.0, np.divide(cap, cost, out=np.ones_like(cost), where=cost > 0))


@dataclass(frozen=True)
class VendorTerms:
    """The parts of a CIO's utility that depend on the vendor only; `option_utilities` adds the rest."""

    trust: np.ndarray  # w_trust * trust_j
    integration: np.ndarray  # w_int * integration_j, for a CIO whose incumbent cloud is j
    large_account: np.ndarray  # w_volume * ecosystem share_j, for a large account
    sovereign: np.ndarray  # w_domestic * domestic-chip share_j, for a CIO needing sovereignty
    api: np.ndarray  # w_q * API model quality + w_service * log API service
    private: np.ndarray | None  # private deployment's extras; None while no open-weight model exists


def vendor_terms(offer: EnterpriseOffer, tastes: ProcurementTastes) -> VendorTerms:
    """This month's per-vendor utility terms (the numpy rule and the compiled one both read them)."""
    capacity = tastes.capacity * offer.log_gpus_on_offer
    private = None
    if offer.open_weights_exist:
        private = (
            tastes.private_preference
            + tastes.quality * offer.private_quality
            + tastes.own_model_edge * offer.owns_open_family
            + tastes.service * offer.log_iaas_service
            + capacity
        )
    return VendorTerms(
        trust=tastes.trust * offer.trust,
        integration=tastes.integration * offer.integration,
        large_account=tastes.large_account_volume * offer.ecosystem_share,
        sovereign=tastes.domestic_chips * offer.domestic_chip_share,
        api=tastes.quality * offer.api_quality + tastes.service * offer.log_api_service + capacity,
        private=private,
    )


def is_large_account(size: np.ndarray, tastes: ProcurementTastes) -> np.ndarray:
    """Whether each CIO's firm is large enough for the vendors' account teams."""
    return np.asarray(size) >= tastes.large_account_size


def option_utilities(
    incumbent: np.ndarray, sovereign: np.ndarray, size: np.ndarray, offer: EnterpriseOffer, tastes: ProcurementTastes
) -> np.ndarray:
    """Systematic utility of each (vendor, mode) option for each CIO, [cios, 2 * vendors]."""
    n, n_vendors = incumbent.shape[0], offer.trust.shape[0]
    bill = bills(size, offer)
    terms = vendor_terms(offer, tastes)
    is_incumbent = incumbent[:, None] == np.arange(n_vendors)[None, :]
    is_large = is_large_account(size, tastes)[:, None]
    base = (
        terms.trust[None, :]
        + terms.integration[None, :] * is_incumbent
        + terms.large_account[None, :] * is_large
        + terms.sovereign[None, :] * sovereign[:, None]
    )
    api = base + terms.api[None, :] - tastes.price * np.log(bill.api_cost)
    utilities = np.empty((n, 2 * n_vendors))
    utilities[:, API::2] = np.where(offer.active[None, :], api, -np.inf)
    if terms.private is not None:
        private = (
            base
            + terms.private[None, :]
            + tastes.sovereignty_bonus * sovereign[:, None]
            - tastes.price * np.log(bill.private_cost)
        )
        utilities[:, PRIVATE::2] = np.where(offer.active[None, :], private, -np.inf)
    else:
        utilities[:, PRIVATE::2] = -np.inf
    return utilities


def with_migration_cost(utilities: np.ndarray, current_vendor: np.ndarray, tastes: ProcurementTastes) -> np.ndarray:
    """Add the migration cost as a bonus on both options of each CIO's current vendor (-1: none)."""
    utilities = utilities.copy()
    rows = np.flatnonzero(current_vendor >= 0)
    for mode in (API, PRIVATE):
        columns = 2 * current_vendor[rows] + mode
        kept = utilities[rows, columns]
        utilities[rows, columns] = np.where(np.isneginf(kept), kept, kept + tastes.migration_cost)
    return utilities


def choose_option(
    incumbent: np.ndarray,
    sovereign: np.ndarray,
    size: np.ndarray,
    current_vendor: np.ndarray,
    uniforms: np.ndarray,
    offer: EnterpriseOffer,
    tastes: ProcurementTastes,
) -> np.ndarray:
    """The option each CIO picks (current_vendor = -1 for a first purchase or a forced move)."""
    utilities = option_utilities(incumbent, sovereign, size, offer, tastes)
    return choose(with_migration_cost(utilities, current_vendor, tastes), uniforms)
