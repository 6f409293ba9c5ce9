"""The enterprise population: CIOs' state as arrays, and one month of their decisions.

As for developers, `step_rows` is the description of a CIO's monthly behaviour, run on all
rows by the model and on one row by an EnterpriseAgent's `step()`; `enterprise_kernel.py`
runs it compiled, tested to give identical results, handed the population's arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import developer_kernel, enterprise_kernel
from sim.model.developers import Rows, absolute_rows
from sim.model.procurement import PRIVATE, EnterpriseMonth, EnterpriseOffer, bills, budget_fraction, choose_option
from sim.model.traits import categorical, draw, draw_size_biased
from sim.scenario.schema import Enterprises

NONE = enterprise_kernel.NONE  # -1


@dataclass(frozen=True)
class Purchases:
    """Real enterprises' wanted quantities per vendor this month, within budgets, before rationing."""

    api_tokens: np.ndarray  # tokens/day
    private_tokens: np.ndarray  # tokens/day
    private_gpu_hours: np.ndarray  # a month
    finetune_gpu_hours: np.ndarray  # a month
    platform_units: np.ndarray  # enterprise size under platform contracts (PaaS: not GPU-bound)


class EnterprisePopulation:
    """State of every enterprise agent: size, sector, incumbent cloud, current vendor, mode and contract."""

    def __init__(
        self,
        count: int,
        spec: Enterprises,
        incumbency: np.ndarray,
        rng: np.random.Generator,
        size_weighted: bool = True,
        kernel: developer_kernel.Kernel = "auto",
    ):
        self.count = count
        self.kernel = developer_kernel.resolve(kernel)  # numba or numpy: the same results, at different speeds
        if size_weighted:
            self.size, relative_weight = draw_size_biased(spec.size, count, rng)
        else:
            self.size, relative_weight = draw(spec.size, count, rng), np.ones(count, dtype=np.float32)
        self.weight = relative_weight.astype(np.float64) * (spec.population / count)  # real enterprises per agent
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

    def load_kernel(self, month: EnterpriseMonth) -> None:
        """Load (or compile, the first time) the compiled month now, at set-up, rather than in
        the first step: a month and the purchases on a copy with no rows."""
        if self.kernel == "numba":
            empty, no_draws = developer_kernel.with_no_rows(self, month)
            empty.step_all(no_draws)
            empty.purchases(month.offer, month.offer.trust.shape[0])

    def step_all(self, month: EnterpriseMonth) -> None:
        """One month for every CIO: `step_rows` on all rows, or its compiled twin."""
        if self.kernel == "numba":
            enterprise_kernel.step(
                self.vendor,
                self.mode,
                self.months_left,
                self.moved_from,
                self.queue_position,
                self.size,
                self.incumbent,
                self.sovereign,
                month,
            )
        else:
            self.step_rows(slice(0, self.count), month)

    def step_rows(self, rows: Rows, month: EnterpriseMonth) -> None:
        """One month for the given CIOs: adopt, or at renewal choose vendor and mode again."""
        vendor = self.vendor[rows].astype(np.int64)
        adopted = vendor >= 0
        vendor_gone = adopted & ~month.offer.active[np.maximum(vendor, 0)]
        in_potential = self.queue_position[rows] < month.potential
        newcomer = ~adopted & in_potential & (month.event_draws[rows] < month.adoption_rate)
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
            self.size[rows],
            current,
            month.choice_draws[rows],
            month.offer,
            month.tastes,
        )
        chosen = picks >= 0
        self.vendor[rows] = np.where(chosen, picks // 2, NONE)
        self.mode[rows] = np.where(chosen, picks % 2, NONE)
        self.months_left[rows] = month.contract_months

    def purchases(self, offer: EnterpriseOffer, n_vendors: int) -> Purchases:
        """What the adopted enterprises want to buy this month from each vendor, within their budgets."""
        if self.kernel == "numba":
            totals = enterprise_kernel.purchases(self.vendor, self.mode, self.size, self.weight, offer, n_vendors)
            return Purchases(*totals)
        rows = np.flatnonzero(self.vendor >= 0)
        vendor, mode = self.vendor[rows].astype(np.intp), self.mode[rows]
        wanted = bills(self.size[rows], offer, vendor)
        private = mode == PRIVATE
        cost = np.where(private, wanted.private_cost, wanted.api_cost)
        scale = budget_fraction(cost, self.size[rows], offer.budget) * self.weight[rows]

        def per_vendor(values: np.ndarray, where: np.ndarray) -> np.ndarray:
            return np.bincount(vendor, weights=values * scale * where, minlength=n_vendors)[:n_vendors]

        return Purchases(
            api_tokens=per_vendor(wanted.api_tokens, ~private),
            private_tokens=per_vendor(wanted.private_tokens, private),
            private_gpu_hours=per_vendor(wanted.private_gpu_hours, private),
            finetune_gpu_hours=per_vendor(wanted.finetune_gpu_hours, private),
            platform_units=per_vendor(wanted.platform_units, np.ones(rows.size, dtype=bool)),
        )

    def by_vendor_and_mode(self, n_vendors: int, values: np.ndarray) -> np.ndarray:
        """Sum of `values` (e.g. self.weight) per [vendor, mode] of the adopted, in one pass.

        Option code 3 + 2 * vendor + mode; those who have not adopted (vendor and mode -1)
        land in bin 0 and are dropped, so each total adds the same values in the same order
        as a sum over the adopted rows alone.
        """
        codes = self.vendor.astype(np.intp)
        codes *= 2
        codes += self.mode
        codes += 3
        totals = np.bincount(codes, weights=values, minlength=3 + 2 * n_vendors)
        return totals[3 : 3 + 2 * n_vendors].reshape(n_vendors, 2)

    def adopters(self) -> int:
        """Number of adopted agents (not weighted)."""
        return int(np.count_nonzero(self.vendor >= 0))
