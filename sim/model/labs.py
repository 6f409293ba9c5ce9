"""Model labs: few, large renters of GPU clusters, likely the largest single part of AI IaaS.

Each lab rents a GPU fleet that grows at its own rate and splits it across clouds by a logit
on the GPU-hour price, an equity tie (a vendor that invested in it), the IaaS service level
and the GPUs the vendor has on offer (a cluster needs spare GPUs), renewed every
`contract_months`; the labs' contracts are spread evenly over that
cycle, so some lab renews in most months. The split is a share, not a single pick: real labs
rent from several clouds, and five labs drawn at random would make revenue shares a lottery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.choice import logit_probabilities
from sim.model.first_party import logistic_growth
from sim.scenario.schema import LabChoice, Scenario


@dataclass(frozen=True)
class LabOffer:
    """What labs see when they renew: each vendor's GPU-hour price, IaaS service, the GPUs it
    has on offer, and presence."""

    log_gpu_price: np.ndarray
    log_iaas_service: np.ndarray
    log_gpus_on_offer: np.ndarray
    active: np.ndarray


def gpus_on_offer(gpus: np.ndarray, other_gpu_hours: np.ndarray, usable_hours: float) -> np.ndarray:
    """GPUs a vendor can offer labs: its fleet less what its own apps and other customers used
    last month, at least 1 % of the fleet (some cluster can always be carved out)."""
    spare = gpus - other_gpu_hours / usable_hours
    return np.maximum(spare, 0.01 * gpus)


def split_utilities(investor: np.ndarray, offer: LabOffer, tastes: LabChoice) -> np.ndarray:
    """Utility of renting from each vendor, [labs, vendors]."""
    common = (
        -tastes.price_weight * offer.log_gpu_price
        + tastes.reliability_weight * offer.log_iaas_service
        + tastes.capacity_weight * offer.log_gpus_on_offer
    )
    utilities = common[None, :] + tastes.investor_bonus * investor
    return np.where(offer.active[None, :], utilities, -np.inf)


class LabPopulation:
    """Every lab's rented GPUs, equity ties and current split across vendors."""

    def __init__(self, scenario: Scenario):
        vendor_ids = list(scenario.vendors)
        labs = list(scenario.labs.values())
        self.ids = list(scenario.labs)
        self.names = [lab.name for lab in labs]
        self.count = len(labs)
        self.gpus = np.array([lab.gpus for lab in labs], dtype=np.float64)
        self.growth = np.array([lab.growth for lab in labs], dtype=np.float64)
        self.ceiling = np.array([lab.ceiling for lab in labs], dtype=np.float64)
        self.investor = np.zeros((self.count, len(vendor_ids)))
        for row, lab in enumerate(labs):
            for vendor in lab.investors:
                self.investor[row, vendor_ids.index(vendor)] = 1.0
        self.split = np.zeros((self.count, len(vendor_ids)))
        self.tastes = scenario.lab_choice
        cycle = self.tastes.contract_months
        self.renewal_offset = (np.arange(self.count) * cycle) // max(self.count, 1)
        self.hours_per_gpu = scenario.serving.usable_hours  # a rented GPU is billed the hours it can serve

    def grow(self) -> None:
        self.gpus = logistic_growth(self.gpus, self.growth, self.ceiling)

    def renews(self, rows: np.ndarray, month: int) -> np.ndarray:
        """Which of the given labs renew this month (every lab chooses in the first month)."""
        if month == 0:
            return np.ones(rows.size, dtype=bool)
        return (month - self.renewal_offset[rows]) % self.tastes.contract_months == 0

    def step_rows(self, rows: slice | np.ndarray, offer: LabOffer, month: int, vendor_left: bool) -> None:
        """Re-split the given labs' rental at renewal, or at once when a vendor they use has left."""
        rows = np.arange(self.count)[rows]
        renewing = rows if vendor_left else rows[self.renews(rows, month)]
        if renewing.size:
            self.split[renewing] = logit_probabilities(split_utilities(self.investor[renewing], offer, self.tastes))

    def gpu_hours(self) -> np.ndarray:
        """GPU-hours a month each vendor is asked for by labs, [vendors]."""
        return (self.gpus[:, None] * self.split).sum(axis=0) * self.hours_per_gpu
