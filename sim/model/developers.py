"""The developer population: its state as arrays, and one month of its decisions.

`step_rows` is the only implementation of a developer's monthly behaviour. The model runs
it on every row at once; a DeveloperAgent's own `step()` runs it on its single row. Draws
are made per month for the whole population before anyone acts, so both give identical
results whatever the order agents act in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.adoption import adopts
from sim.model.developer_choice import DeveloperOffer, DeveloperTastes, choose_vendor
from sim.model.traits import draw, draw_size_biased
from sim.scenario.schema import Developers

NOT_ADOPTED = -1
EXITED = -2

Rows = slice | np.ndarray  # a contiguous block of the population, or chosen rows


def absolute_rows(rows: Rows, local: np.ndarray) -> np.ndarray:
    """Population indices of positions `local` within `rows`."""
    if isinstance(rows, slice):
        return local + (rows.start or 0)
    return rows[local]


def _vendor_gone(state: np.ndarray, adopted: np.ndarray, active: np.ndarray) -> np.ndarray | None:
    """Which developers' vendor has left the market (None, cheaply, when every vendor is active)."""
    if active.all():
        return None
    return adopted & ~active[np.maximum(state, 0)]


@dataclass(frozen=True)
class DeveloperMonth:
    """Everything a developer needs to act this month, fixed before anyone acts."""

    offer: DeveloperOffer
    tastes: DeveloperTastes
    potential: float
    hazard: float
    exit_rate: float
    review_probability: float
    event_draws: np.ndarray  # one uniform per developer: adopt / exit / review
    choice_draws: np.ndarray  # one uniform per developer: which vendor


class DeveloperPopulation:
    """State of every developer agent: tastes, size, vendor and tenure with it."""

    def __init__(self, count: int, spec: Developers, rng: np.random.Generator, size_weighted: bool = True):
        self.count = count
        if size_weighted:
            self.size, relative_weight = draw_size_biased(spec.size, count, rng)
        else:
            self.size, relative_weight = draw(spec.size, count, rng), np.ones(count, dtype=np.float32)
        self.weight = relative_weight.astype(np.float64) * (spec.population / count)  # real accounts per agent
        self.mass = self.weight * self.size  # real size-1 developers' worth of demand per agent
        self.price_sensitivity = draw(spec.price_sensitivity, count, rng)
        self.quality_sensitivity = draw(spec.quality_sensitivity, count, rng)
        self.queue_position = rng.random(count, dtype=np.float32)
        self.vendor = np.full(count, NOT_ADOPTED, dtype=np.int8)
        self.tenure = np.zeros(count, dtype=np.int16)
        self.moved_from = np.full(count, NOT_ADOPTED, dtype=np.int8)

    def seed_adopters(self, fraction: float, month: DeveloperMonth, tenure: np.ndarray) -> None:
        """Initial adopters (the front of the queue) pick a vendor by the usual rule."""
        rows = np.flatnonzero(self.queue_position < fraction)
        current = np.full(rows.size, NOT_ADOPTED, dtype=np.int64)
        picks = choose_vendor(
            self.price_sensitivity[rows],
            self.quality_sensitivity[rows],
            current,
            np.zeros(rows.size),
            month.choice_draws[rows],
            month.offer,
            month.tastes,
        )
        self.vendor[rows] = picks
        self.tenure[rows] = tenure[rows]

    def begin_month(self) -> None:
        self.moved_from.fill(NOT_ADOPTED)

    def step_rows(self, rows: Rows, month: DeveloperMonth) -> None:
        """One month for the given developers: adopt, exit, or review and maybe switch.

        Only developers whose draw makes them act are worked on; everyone else who uses a
        vendor simply stays one month longer (tenure + 1).
        """
        state = self.vendor[rows]
        event = month.event_draws[rows]
        adopted = state >= 0
        vendor_gone = _vendor_gone(state, adopted, month.offer.active)
        acts = np.where(adopted, event < month.exit_rate + month.review_probability, event < month.hazard)
        if vendor_gone is not None:
            acts |= vendor_gone

        local = np.flatnonzero(acts)
        index = absolute_rows(rows, local)
        before = state[local].astype(np.int64)
        draws = event[local]
        was_adopted = before >= 0
        gone = vendor_gone[local] if vendor_gone is not None else np.zeros(local.size, dtype=bool)
        newcomer = (before == NOT_ADOPTED) & adopts(self.queue_position[index] < month.potential, draws, month.hazard)
        leaving = was_adopted & ~gone & (draws < month.exit_rate)
        reviewing = was_adopted & ~leaving

        choosers = np.flatnonzero(newcomer | reviewing)
        chosen = index[choosers]
        picks = choose_vendor(
            self.price_sensitivity[chosen],
            self.quality_sensitivity[chosen],
            np.where(gone, NOT_ADOPTED, before)[choosers],
            self.tenure[chosen],
            month.choice_draws[chosen],
            month.offer,
            month.tastes,
        )
        after = before.copy()
        after[choosers] = picks
        after[leaving] = EXITED
        changed = after != before

        self.vendor[index] = after
        self.tenure[rows] += adopted
        self.tenure[index[changed]] = 0
        self.moved_from[index] = np.where(was_adopted & changed & ~leaving, before, NOT_ADOPTED)

    def tally(self, n_vendors: int) -> tuple[np.ndarray, np.ndarray]:
        """Real developer accounts and their summed sizes per vendor, in one pass."""
        codes = self.vendor.astype(np.intp) + 2  # shift so the non-adopters' codes -2, -1 get bins of their own
        counts = np.bincount(codes, weights=self.weight, minlength=n_vendors + 2)[2 : n_vendors + 2]
        sizes = np.bincount(codes, weights=self.mass, minlength=n_vendors + 2)[2 : n_vendors + 2]
        return counts, sizes

    def switches(self, n_vendors: int) -> tuple[np.ndarray, np.ndarray]:
        """Real developer accounts that left each vendor and that joined each vendor this month."""
        movers = np.flatnonzero(self.moved_from >= 0)  # few: only this month's switchers
        weights = self.weight[movers]
        out = np.bincount(self.moved_from[movers], weights=weights, minlength=n_vendors)[:n_vendors]
        joined = np.bincount(self.vendor[movers], weights=weights, minlength=n_vendors)[:n_vendors]
        return out, joined

    def adopters(self) -> int:
        return int(np.count_nonzero(self.vendor >= 0))
