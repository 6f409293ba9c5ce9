"""The market's Mesa agents: vendors, developers and enterprise CIOs.

Each agent is a real `mesa.Agent` that reads and writes its own row of the arrays the
model owns. Its `step()` runs the population's rule on that one row, so stepping agents
one by one (reference mode, notebooks) and stepping the population at once (batched
mode) execute the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, overload

import mesa
import numpy as np

from sim.model.choice import with_stay_bonus
from sim.model.developer_choice import SELF_HOST, current_option, stay_bonus, vendor_utilities
from sim.model.lock_in import lock_in
from sim.model.procurement import MODES, option_utilities, with_migration_cost

if TYPE_CHECKING:
    from sim.model.market import MarketModel


class Column[T]:
    """A read-only attribute of an agent: one entry of a column the model owns, at the agent's
    row, so the agent and the population's arrays can never disagree.

    `state` names the model's holder of the arrays (`developers`, `enterprises`, `vendors`,
    `labs`), `column` the array, `kind` the Python type a user reads (float, int, bool).
    """

    def __init__(self, state: str, column: str, kind: Callable[[Any], T] = float, doc: str | None = None) -> None:
        self.state, self.column, self.kind = state, column, kind
        self.__doc__ = doc or f"`{state}.{column}` at this agent's row."

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, agent: None, owner: type | None = None) -> Column[T]: ...

    @overload
    def __get__(self, agent: object, owner: type | None = None) -> T: ...

    def __get__(self, agent, owner=None):
        if agent is None:
            return self
        return self.kind(getattr(getattr(agent.model, self.state), self.column)[agent.row])

    def __set__(self, agent: object, value: object) -> None:
        raise AttributeError(f"{self.name} is read from model.{self.state}.{self.column}; the agent cannot set it")


class VendorAgent(mesa.Agent):
    """A cloud vendor: sets its price each month."""

    price = Column("vendors", "posted", doc="The token price it posts this month (yuan per 1,000 tokens).")
    unit_cost = Column("vendors", "unit_cost")
    gpus = Column("vendors", "gpus")
    gpu_hour_price = Column("vendors", "gpu_hour_price")
    active = Column("vendors", "active", bool)

    def __init__(self, model: MarketModel, index: int):
        super().__init__(model)
        self.index = index
        self.vendor_id = model.vendors.ids[index]

    @property
    def row(self) -> int:
        return self.index

    def step(self) -> None:
        self.model.vendors.set_price(self.index, self.model.month)

    def __repr__(self) -> str:
        return f"VendorAgent({self.vendor_id!r}, price={self.price:.4g})"


class LabAgent(mesa.Agent):
    """A model lab: rents GPUs and, at renewal, re-splits them across clouds."""

    gpus = Column("labs", "gpus")

    def __init__(self, model: MarketModel, row: int):
        super().__init__(model)
        self.row = row
        self.lab_id = model.labs.ids[row]

    @property
    def split(self) -> dict[str, float]:
        """Fraction of its rented GPUs on each vendor."""
        return dict(zip(self.model.vendors.ids, self.model.labs.split[self.row].tolist(), strict=True))

    def step(self) -> None:
        model = self.model
        model.labs.step_rows(np.array([self.row]), model.lab_offer, model.month, model.vendor_left_labs())

    def __repr__(self) -> str:
        return f"LabAgent({self.lab_id!r}, gpus={self.gpus:.0f})"


class DeveloperAgent(mesa.Agent):
    """A developer (startup or app builder); stands for `represents` real accounts (its sampling weight)."""

    tenure = Column("developers", "tenure", int, "Months with its current seller.")
    size = Column("developers", "size")
    represents = Column(
        "developers", "weight", doc="How many real developer accounts this agent stands for (its sampling weight)."
    )
    price_sensitivity = Column("developers", "price_sensitivity")
    quality_sensitivity = Column("developers", "quality_sensitivity")

    def __init__(self, model: MarketModel, row: int):
        super().__init__(model)
        self.row = row

    @property
    def _population(self):
        return self.model.developers

    @property
    def vendor(self) -> str | None:
        """Id of the vendor whose API it uses ('outside' for a seller outside the vendors),
        or None if it has not adopted (or has left)."""
        code = int(self._population.vendor[self.row])
        return [*self.model.vendors.ids, "outside"][code] if code >= 0 else None

    @property
    def lock_in(self) -> float:
        """Lock-in with its current seller, 0-1 (0 when it has none); the same stickiness the
        choice uses (the outside option's is 1)."""
        code = int(self._population.vendor[self.row])
        if code < 0:
            return 0.0
        stickiness = self.model.developer_month.offer.stickiness[code]
        return float(lock_in(self.tenure, self.model.frictions.lock_in_rate, stickiness))

    @property
    def self_hosting(self) -> bool:
        """Whether it runs open weights on rented GPUs rather than buying its vendor's API."""
        return int(self._population.vendor[self.row]) >= 0 and int(self._population.mode[self.row]) == SELF_HOST

    def utilities(self) -> dict[str, float]:
        """Systematic utility of each option this month (vendor ids for APIs, `id/self-host` for
        self-hosting on that vendor's GPUs), with the switching cost on the current one."""
        month = self.model.developer_month
        rows = np.array([self.row])
        population = self._population
        n_sellers = self.model.vendors.count + 1
        utilities = vendor_utilities(
            population.price_sensitivity[rows],
            population.quality_sensitivity[rows],
            population.size[rows],
            month.offer,
            month.tastes,
        )
        vendor = population.vendor[rows].astype(np.int64)
        bonus = stay_bonus(vendor, population.tenure[rows], month.offer, month.tastes)
        current = current_option(vendor, population.mode[rows].astype(np.int64), n_sellers)
        utilities = with_stay_bonus(utilities, current, bonus)[0]
        ids = self.model.vendors.ids
        options = [*ids, "outside", *(f"{vendor}/self-host" for vendor in ids), "outside/self-host"]
        return dict(zip(options, utilities.tolist(), strict=True))

    def step(self) -> None:
        self._population.step_rows(np.array([self.row]), self.model.developer_month)

    def __repr__(self) -> str:
        return f"DeveloperAgent(row={self.row}, vendor={self.vendor!r}, tenure={self.tenure})"


class EnterpriseAgent(mesa.Agent):
    """An enterprise CIO; stands for `represents` real enterprises (its sampling weight)."""

    months_left = Column("enterprises", "months_left", int, "Months until its contract comes up for renewal.")
    size = Column("enterprises", "size", doc="Relative size: its use and its budget scale with it.")
    represents = Column(
        "enterprises", "weight", doc="How many real enterprises this agent stands for (its sampling weight)."
    )
    sovereign = Column(
        "enterprises", "sovereign", bool, "Whether it needs data sovereignty (values private deployment more)."
    )

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

    def utilities(self) -> dict[tuple[str, str], float]:
        """Systematic utility of each (vendor, mode) option this month, migration cost included
        on its current vendor's options: what it weighs when it next chooses."""
        month = self.model.enterprise_month
        rows = np.array([self.row])
        utilities = option_utilities(
            self._population.incumbent[rows].astype(np.int64),
            self._population.sovereign[rows],
            self._population.size[rows],
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
