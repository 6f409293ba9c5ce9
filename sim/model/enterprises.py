"""The enterprise population: CIOs' state as arrays, and one month of their decisions.

As for developers, `step_rows` is the only implementation of a CIO's monthly behaviour,
run on all rows by the model and on one row by an EnterpriseAgent's `step()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.developers import Rows, absolute_rows
from sim.model.procurement import EnterpriseOffer, ProcurementTastes, choose_option
from sim.model.traits import categorical, draw
from sim.scenario.schema import Enterprises

NONE = -1


@dataclass(frozen=True)
class EnterpriseMonth:
    """Everything a CIO needs to act this month, fixed before anyone acts."""

    offer: EnterpriseOffer
    tastes: ProcurementTastes
    adoption_rate: float
    contract_months: int
    event_draws: np.ndarray
    choice_draws: np.ndarray


class EnterprisePopulation:
    """State of every enterprise agent: budget, incumbent cloud, current vendor, mode and contract."""

    def __init__(self, count: int, spec: Enterprises, incumbency: np.ndarray, rng: np.random.Generator):
        self.count = count
        self.budget = draw(spec.budget, count, rng)
        self.incumbent = categorical(incumbency, count, rng)
        self.sovereign = rng.random(count) < spec.sovereignty_need
        self.queue_position = rng.random(count, dtype=np.float32)
        self.vendor = np.full(count, NONE, dtype=np.int8)
        self.mode = np.full(count, NONE, dtype=np.int8)
        self.months_left = np.zeros(count, dtype=np.int16)
        self.moved_from = np.full(count, NONE, dtype=np.int8)

    def seed_adopters(self, fraction: float, month: EnterpriseMonth, months_left: np.ndarray) -> None:
        rows = np.flatnonzero(self.queue_position < fraction)
        self._choose(rows, np.full(rows.size, NONE, dtype=np.int64), month)
        self.months_left[rows] = months_left[rows]

    def begin_month(self) -> None:
        self.moved_from.fill(NONE)

    def step_rows(self, rows: Rows, month: EnterpriseMonth) -> None:
        """One month for the given CIOs: adopt, or at renewal choose vendor and mode again."""
        vendor = self.vendor[rows].astype(np.int64)
        adopted = vendor >= 0
        vendor_gone = adopted & ~month.offer.active[np.maximum(vendor, 0)]
        newcomer = ~adopted & (month.event_draws[rows] < month.adoption_rate)
        renewing = adopted & ((self.months_left[rows] <= 1) | vendor_gone)

        choosers = np.flatnonzero(newcomer | renewing)
        current = np.where(vendor_gone, NONE, vendor)[choosers]
        self._choose(absolute_rows(rows, choosers), current, month)

        waiting = adopted & ~renewing
        self.months_left[absolute_rows(rows, np.flatnonzero(waiting))] -= 1
        new_vendor = self.vendor[rows].astype(np.int64)
        self.moved_from[rows] = np.where(adopted & (new_vendor != vendor), vendor, NONE)

    def _choose(self, rows: np.ndarray, current: np.ndarray, month: EnterpriseMonth) -> None:
        picks = choose_option(
            self.incumbent[rows].astype(np.int64),
            self.sovereign[rows],
            current,
            month.choice_draws[rows],
            month.offer,
            month.tastes,
        )
        chosen = picks >= 0
        self.vendor[rows] = np.where(chosen, picks // 2, NONE)
        self.mode[rows] = np.where(chosen, picks % 2, NONE)
        self.months_left[rows] = month.contract_months

    def by_vendor_and_mode(self, n_vendors: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Count (or sum of weights) per [vendor, mode]."""
        adopted = self.vendor >= 0
        option = 2 * self.vendor[adopted].astype(np.int64) + self.mode[adopted]
        w = None if weights is None else weights[adopted]
        return np.bincount(option, weights=w, minlength=2 * n_vendors)[: 2 * n_vendors].reshape(n_vendors, 2)

    def adopters(self) -> int:
        return int(np.count_nonzero(self.vendor >= 0))
