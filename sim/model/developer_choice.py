"""What a developer weighs when it picks a model-API vendor.

Utility of vendor j for developer i:
    U_ij = -beta_i * log(price_j) + gamma_i * quality_j + eta * developer_share_j
           + rho * log(service_level_j)
plus a switching cost (base + weight * lock-in) on the current vendor. Vendors out of the
market get -inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.choice import choose, with_stay_bonus
from sim.model.lock_in import lock_in, switching_cost


@dataclass(frozen=True)
class DeveloperOffer:
    """The vendor attributes every developer sees this month (last month's shares and service)."""

    log_price: np.ndarray
    quality: np.ndarray
    developer_share: np.ndarray
    log_service: np.ndarray
    active: np.ndarray
    stickiness: np.ndarray


@dataclass(frozen=True)
class DeveloperTastes:
    ecosystem_weight: float
    reliability_weight: float
    switching_cost: float
    lock_in_rate: float
    lock_in_weight: float


def vendor_utilities(beta: np.ndarray, gamma: np.ndarray, offer: DeveloperOffer, tastes: DeveloperTastes) -> np.ndarray:
    """Systematic utility of each vendor for each developer, [developers, vendors]."""
    common = tastes.ecosystem_weight * offer.developer_share + tastes.reliability_weight * offer.log_service
    vendor_terms = np.where(offer.active, common, -np.inf)  # -inf marks vendors out of the market
    # Built vendor-major ([vendors, developers] in memory, returned transposed): the choice
    # reduces over vendors, which is then a pass over contiguous columns, several times faster.
    # float32 is ample for utilities of order 10 and halves the memory traffic.
    utilities = np.multiply.outer((-offer.log_price).astype(np.float32), beta.astype(np.float32, copy=False))
    utilities += np.multiply.outer(offer.quality.astype(np.float32), gamma.astype(np.float32, copy=False))
    utilities += vendor_terms[:, None].astype(np.float32)
    return utilities.T


def stay_bonus(current: np.ndarray, tenure: np.ndarray, offer: DeveloperOffer, tastes: DeveloperTastes) -> np.ndarray:
    """Switching cost each developer would pay to leave its current vendor (0 with none)."""
    has_vendor = current >= 0
    stickiness = offer.stickiness[np.where(has_vendor, current, 0)]
    level = lock_in(tenure, tastes.lock_in_rate, stickiness)
    cost = switching_cost(level, tastes.switching_cost, tastes.lock_in_weight)
    return np.where(has_vendor, cost, 0.0)


def choose_vendor(
    beta: np.ndarray,
    gamma: np.ndarray,
    current: np.ndarray,
    tenure: np.ndarray,
    uniforms: np.ndarray,
    offer: DeveloperOffer,
    tastes: DeveloperTastes,
) -> np.ndarray:
    """The vendor each developer picks (current = -1 for a newcomer or a forced move)."""
    utilities = vendor_utilities(beta, gamma, offer, tastes)
    bonus = stay_bonus(current, tenure, offer, tastes)
    return choose(with_stay_bonus(utilities, current, bonus), uniforms)
