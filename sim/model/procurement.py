"""What an enterprise CIO weighs at adoption and at contract renewal.

Options are (vendor, mode) for mode in {API, private deployment of open weights on the
vendor's infrastructure}; option k = 2 * vendor + mode. Utility of option (j, m) for CIO i:
    w_trust * trust_j + w_int * integration_j * [j is i's incumbent cloud] + w_q * quality_j
    + (m = API)     * (-w_price * log price_j)
    + (m = private) * (private_preference + sovereignty_bonus * needs_sovereignty_i
                       + own_model_edge * [j hosts its own open model])
Private options exist only while some open-weight model exists. Changing vendor at renewal
costs `migration_cost`, added as a bonus on both options of the current vendor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.choice import choose

API, PRIVATE = 0, 1
MODES = ("api", "private")


@dataclass(frozen=True)
class EnterpriseOffer:
    """Vendor attributes every CIO sees this month."""

    trust: np.ndarray
    integration: np.ndarray
    quality: np.ndarray
    log_price: np.ndarray
    own_open_model: np.ndarray
    open_weights_exist: bool
    active: np.ndarray


@dataclass(frozen=True)
class ProcurementTastes:
    trust: float
    integration: float
    quality: float
    price: float
    private_preference: float
    sovereignty_bonus: float
    own_model_edge: float
    migration_cost: float


def option_utilities(
    incumbent: np.ndarray, sovereign: np.ndarray, offer: EnterpriseOffer, tastes: ProcurementTastes
) -> np.ndarray:
    """Systematic utility of each (vendor, mode) option for each CIO, [cios, 2 * vendors]."""
    n, n_vendors = incumbent.shape[0], offer.trust.shape[0]
    vendor_part = tastes.trust * offer.trust + tastes.quality * offer.quality
    is_incumbent = incumbent[:, None] == np.arange(n_vendors)[None, :]
    base = vendor_part[None, :] + tastes.integration * offer.integration[None, :] * is_incumbent
    api = base - tastes.price * offer.log_price[None, :]
    private_extra = tastes.private_preference + tastes.own_model_edge * offer.own_open_model
    private = base + private_extra[None, :] + tastes.sovereignty_bonus * sovereign[:, None]
    if not offer.open_weights_exist:
        private = np.full_like(private, -np.inf)
    utilities = np.empty((n, 2 * n_vendors))
    utilities[:, API::2] = np.where(offer.active[None, :], api, -np.inf)
    utilities[:, PRIVATE::2] = np.where(offer.active[None, :], private, -np.inf)
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
    current_vendor: np.ndarray,
    uniforms: np.ndarray,
    offer: EnterpriseOffer,
    tastes: ProcurementTastes,
) -> np.ndarray:
    """The option each CIO picks (current_vendor = -1 for a first purchase or a forced move)."""
    utilities = option_utilities(incumbent, sovereign, offer, tastes)
    return choose(with_migration_cost(utilities, current_vendor, tastes), uniforms)
