"""The market's Mesa agents: vendors, developers and enterprise CIOs.

Each agent is a real `mesa.Agent` that reads and writes its own row of the arrays the
model owns. Its `step()` runs the population's rule on that one row, so stepping agents
one by one (reference mode, notebooks) and stepping the population at once (batched
mode) execute the same code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.choice import with_stay_bonus
from sim.model.demand import developer_tokens
from sim.model.developer_choice import stay_bonus, vendor_utilities
from sim.model.lock_in import lock_in
from sim.model.procurement import MODES, option_utilities, with_migration_cost

if TYPE_CHECKING:
    from sim.model.market import MarketModel


class VendorAgent(mesa.Agent):
    """A cloud vendor: sets its price each month."""

    def __init__(self, model: MarketModel, index: int):
        super().__init__(model)
        self.index = index
        self.vendor_id = model.vendors.ids[index]

    @property
    def price(self) -> float:
        return float(self.model.vendors.posted[self.index])

    @property
    def unit_cost(self) -> float:
        return float(self.model.vendors.unit_cost[self.index])

    @property
    def capacity(self) -> float:
        return float(self.model.vendors.capacity[self.index])

    @property
    def active(self) -> bool:
        return bool(self.model.vendors.active[self.index])

    def step(self) -> None:
        self.model.vendors.set_price(self.index, self.model.month)

    def __repr__(self) -> str:
        return f"VendorAgent({self.vendor_id!r}, price={self.price:.4g})"


class DeveloperAgent(mesa.Agent):
    """A developer (startup or app builder); stands for `represents` real accounts (its sampling weight)."""

    def __init__(self, model: MarketModel, row: int):
        super().__init__(model)
        self.row = row

    @property
    def _population(self):
        return self.model.developers

    @property
    def vendor(self) -> str | None:
        """Id of the vendor whose API it uses, or None if it has not adopted (or has left)."""
        code = int(self._population.vendor[self.row])
        return self.model.vendors.ids[code] if code >= 0 else None

    @property
    def tenure(self) -> int:
        return int(self._population.tenure[self.row])

    @property
    def lock_in(self) -> float:
        """Lock-in with its current vendor, 0-1 (0 when it has none)."""
        code = int(self._population.vendor[self.row])
        if code < 0:
            return 0.0
        rate = self.model.frictions.lock_in_rate
        return float(lock_in(self.tenure, rate, self.model.vendors.stickiness[code]))

    @property
    def size(self) -> float:
        return float(self._population.size[self.row])

    @property
    def represents(self) -> float:
        """How many real developer accounts this agent stands for (its sampling weight)."""
        return float(self._population.weight[self.row])

    @property
    def price_sensitivity(self) -> float:
        return float(self._population.price_sensitivity[self.row])

    @property
    def quality_sensitivity(self) -> float:
        return float(self._population.quality_sensitivity[self.row])

    @property
    def tokens_per_day(self) -> float:
        """Real tokens/day served to the accounts this agent stands for, this month (0 if none)."""
        code = int(self._population.vendor[self.row])
        if code < 0 or not self.model.ledger:
            return 0.0
        dev = self.model.spec.developers
        served = self.model.ledger[-1].service_level[code]
        tokens = developer_tokens(
            self.size,
            self.model.vendors.posted[code],
            self.model.month,
            dev.tokens_per_day,
            dev.reference_price,
            dev.demand_elasticity,
            dev.demand_cap,
            dev.usage_growth,
        )
        return float(tokens * served * self.represents)

    def utilities(self) -> dict[str, float]:
        """Systematic utility of each vendor this month, with the switching cost on the current one."""
        month = self.model.developer_month
        rows = np.array([self.row])
        current = self._population.vendor[rows].astype(np.int64)
        utilities = vendor_utilities(
            self._population.price_sensitivity[rows],
            self._population.quality_sensitivity[rows],
            month.offer,
            month.tastes,
        )
        bonus = stay_bonus(current, self._population.tenure[rows], month.offer, month.tastes)
        utilities = with_stay_bonus(utilities, current, bonus)[0]
        return dict(zip(self.model.vendors.ids, utilities.tolist(), strict=True))

    def step(self) -> None:
        self._population.step_rows(np.array([self.row]), self.model.developer_month)

    def __repr__(self) -> str:
        return f"DeveloperAgent(row={self.row}, vendor={self.vendor!r}, tenure={self.tenure})"


class EnterpriseAgent(mesa.Agent):
    """An enterprise CIO; stands for `represents` real enterprises (its sampling weight)."""

    def __init__(self, model: MarketModel, row: int):
        super().__init__(model)
        self.row = row

    @property
    def _population(self):
        return self.model.enterprises

    @property
    def vendor(self) -> str | None:
        code = int(self._population.vendor[self.row])
        return self.model.vendors.ids[code] if code >= 0 else None

    @property
    def mode(self) -> str | None:
        """'api' (a vendor's model API) or 'private' (open weights on the vendor's cloud)."""
        code = int(self._population.mode[self.row])
        return MODES[code] if code >= 0 else None

    @property
    def incumbent(self) -> str:
        return self.model.vendors.ids[int(self._population.incumbent[self.row])]

    @property
    def months_left(self) -> int:
        return int(self._population.months_left[self.row])

    @property
    def budget(self) -> float:
        return float(self._population.budget[self.row])

    @property
    def represents(self) -> float:
        """How many real enterprises this agent stands for (its sampling weight)."""
        return float(self._population.weight[self.row])

    @property
    def sovereign(self) -> bool:
        """Whether it needs data sovereignty (values private deployment more)."""
        return bool(self._population.sovereign[self.row])

    def utilities(self) -> dict[tuple[str, str], float]:
        """Systematic utility of each (vendor, mode) option this month, migration cost included
        on its current vendor's options: what it weighs when it next chooses."""
        month = self.model.enterprise_month
        rows = np.array([self.row])
        utilities = option_utilities(
            self._population.incumbent[rows].astype(np.int64),
            self._population.sovereign[rows],
            month.offer,
            month.tastes,
        )
        utilities = with_migration_cost(utilities, self._population.vendor[rows].astype(np.int64), month.tastes)[0]
        options = [(vendor, mode) for vendor in self.model.vendors.ids for mode in MODES]
        return dict(zip(options, utilities.tolist(), strict=True))

    def step(self) -> None:
        self._population.step_rows(np.array([self.row]), self.model.enterprise_month)

    def __repr__(self) -> str:
        return f"EnterpriseAgent(row={self.row}, vendor={self.vendor!r}, mode={self.mode!r})"
