"""What a developer weighs when it picks how to get tokens: a vendor's API, or self-hosting.

Options are the sellers' APIs (option j: the V vendors, then the outside option, e.g.
DeepSeek's own API, as seller V) and, for a developer large enough to run its own
deployment while an open-weight model exists, self-hosting open weights on vendor j's
rented GPUs (option S + j, S = V + 1 sellers; the outside seller rents no GPUs). Utility
for developer i:
    API j:        -beta_i * log(price_j) + gamma_i * quality_j + eta * ecosystem_share_j
                  + rho * log(api_service_j) + appeal_j (0 for vendors)
    self-host j:  -beta_i * log(self-host cost per 1k tokens on j) + gamma_i * open_quality
                  + effort + rho * log(iaas_service_j)
plus a switching cost (base + weight * lock-in) on the current option. Vendors out of the
market get -inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.choice import choose, with_stay_bonus
from sim.model.lock_in import lock_in, switching_cost

API_MODE, SELF_HOST = 0, 1


@dataclass(frozen=True)
class DeveloperOffer:
    """The options every developer sees this month (last month's shares and service)."""

    log_price: np.ndarray
    quality: np.ndarray
    ecosystem_share: np.ndarray  # last month's share of all tokens running on the vendor's own family
    log_service: np.ndarray
    active: np.ndarray
    stickiness: np.ndarray
    log_self_host_cost: np.ndarray  # yuan/1k tokens on each vendor's rented GPUs
    open_quality: float  # best open-weight model (-inf: none exists)
    log_iaas_service: np.ndarray
    hosts: np.ndarray  # which sellers rent GPUs for self-hosting (active vendors)
    appeal: np.ndarray  # utility constant per seller (the outside option's; 0 for vendors)


@dataclass(frozen=True)
class DeveloperTastes:
    ecosystem_weight: float
    reliability_weight: float
    switching_cost: float
    lock_in_rate: float
    lock_in_weight: float
    self_host_min_size: float
    self_host_effort: float


@dataclass(frozen=True)
class DeveloperMonth:
    """Everything a developer needs to act this month, fixed before anyone acts: plain data,
    read alike by the numpy rule (developers.py) and its compiled twin (developer_kernel.py)."""

    offer: DeveloperOffer
    tastes: DeveloperTastes
    potential: float
    hazard: float
    exit_rate: float
    review_probability: float
    event_draws: np.ndarray  # one uniform per developer: adopt / exit / review
    choice_draws: np.ndarray  # one uniform per developer: which vendor


def can_self_host(size: np.ndarray, offer: DeveloperOffer, tastes: DeveloperTastes) -> np.ndarray:
    """Which developers have self-hosting options at all: large enough, and open weights exist."""
    return (np.asarray(size) >= tastes.self_host_min_size) & bool(np.isfinite(offer.open_quality))


@dataclass(frozen=True)
class OptionTerms:
    """Every option's utility as price_coef * beta_i + taste_coef * gamma_i + constant, in float32.

    Options are the API columns (sellers), then the self-hosting columns. A developer's
    utility of option k is built in this order, rounding to float32 after each operation:
    (price_coef[k] * beta_i) + (taste_coef[k] * gamma_i) + constant[k]. The numpy rule
    below and the compiled one (developer_kernel.py) both read these terms.
    """

    price_coef: np.ndarray  # -log(price) per API option, -log(self-host cost) per hosting option
    taste_coef: np.ndarray  # model quality per API option, the open-weight model's per hosting option
    constant: np.ndarray  # ecosystem, service, appeal or effort; -inf where the option is not available


def option_terms(offer: DeveloperOffer, tastes: DeveloperTastes) -> OptionTerms:
    """The per-option terms of this month's utilities (hosting columns only mean anything
    while an open-weight model exists)."""
    api_common = (
        tastes.ecosystem_weight * offer.ecosystem_share + tastes.reliability_weight * offer.log_service + offer.appeal
    )
    host_common = tastes.self_host_effort + tastes.reliability_weight * offer.log_iaas_service
    return OptionTerms(
        price_coef=np.concatenate([-offer.log_price, -offer.log_self_host_cost]).astype(np.float32),
        taste_coef=np.concatenate([offer.quality, np.full(offer.log_price.shape[0], offer.open_quality)]).astype(
            np.float32
        ),
        constant=np.concatenate(
            [np.where(offer.active, api_common, -np.inf), np.where(offer.hosts, host_common, -np.inf)]
        ).astype(np.float32),
    )


def vendor_utilities(
    beta: np.ndarray,
    gamma: np.ndarray,
    size: np.ndarray,
    offer: DeveloperOffer,
    tastes: DeveloperTastes,
    hosting: bool = True,
) -> np.ndarray:
    """Systematic utility of each option for each developer, [developers, 2 * sellers].

    With `hosting=False` only the API columns, [developers, sellers]: for developers who
    cannot self-host, whose self-hosting columns would all be -inf.
    """
    n_sellers = offer.log_price.shape[0]
    terms = option_terms(offer, tastes)
    # Built option-major ([options, developers] in memory, returned transposed): the choice
    # reduces over options, which is then a pass over contiguous columns, several times faster.
    # float32 is ample for utilities of order 10 and halves the memory traffic.
    beta32, gamma32 = beta.astype(np.float32, copy=False), gamma.astype(np.float32, copy=False)
    columns = (2 if hosting else 1) * n_sellers
    utilities = np.empty((columns, beta.shape[0]), dtype=np.float32)
    np.multiply.outer(terms.price_coef[:columns], beta32, out=utilities)
    utilities += np.multiply.outer(terms.taste_coef[:columns], gamma32)
    utilities += terms.constant[:columns, None]
    if hosting:
        host = utilities[n_sellers:]
        if np.isfinite(offer.open_quality):
            host[:, size < tastes.self_host_min_size] = -np.inf
        else:
            host.fill(-np.inf)
    return utilities.T


def current_option(vendor: np.ndarray, mode: np.ndarray, n_sellers: int) -> np.ndarray:
    """Option index of each developer's current choice (-1: none)."""
    return np.where(vendor >= 0, vendor + n_sellers * np.maximum(mode, 0), -1)


def stay_bonus(current: np.ndarray, tenure: np.ndarray, offer: DeveloperOffer, tastes: DeveloperTastes) -> np.ndarray:
    """Switching cost each developer would pay to leave its current vendor (0 with none)."""
    has_vendor = current >= 0
    stickiness = offer.stickiness[np.where(has_vendor, current, 0)]
    level = lock_in(tenure, tastes.lock_in_rate, stickiness)
    cost = switching_cost(level, tastes.switching_cost, tastes.lock_in_weight)
    return np.where(has_vendor, cost, 0.0)


def choose_option(
    beta: np.ndarray,
    gamma: np.ndarray,
    size: np.ndarray,
    current_vendor: np.ndarray,
    current_mode: np.ndarray,
    tenure: np.ndarray,
    uniforms: np.ndarray,
    offer: DeveloperOffer,
    tastes: DeveloperTastes,
) -> np.ndarray:
    """The option each developer picks (current_vendor = -1 for a newcomer or a forced move).

    Developers who cannot self-host choose among the API columns only: their self-hosting
    columns would carry zero weight after the API ones, so the pick is the same, for less work.
    """
    n_sellers = offer.log_price.shape[0]
    bonus = stay_bonus(current_vendor, tenure, offer, tastes)
    current = current_option(current_vendor, current_mode, n_sellers)
    picks = np.empty(np.asarray(beta).shape[0], dtype=np.int64)
    hosts = can_self_host(size, offer, tastes)
    for hosting, rows in ((True, np.flatnonzero(hosts)), (False, np.flatnonzero(~hosts))):
        if rows.size:
            utilities = vendor_utilities(beta[rows], gamma[rows], size[rows], offer, tastes, hosting)
            picks[rows] = choose(with_stay_bonus(utilities, current[rows], bonus[rows]), uniforms[rows])
    return picks
