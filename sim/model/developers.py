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
from sim.model.traits import draw
from sim.scenario.schema import Developers

NOT_ADOPTED = -1
EXITED = -2


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

    def __init__(self, count: int, spec: Developers, rng: np.random.Generator):
        self.count = count
        self.size = draw(spec.size, count, rng)
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
            self.price_sensitivity[rows], self.quality_sensitivity[rows], current,
            np.zeros(rows.size), month.choice_draws[rows], month.offer, month.tastes,
        )
        self.vendor[rows] = picks
        self.tenure[rows] = tenure[rows]

    def begin_month(self) -> None:
        self.moved_from.fill(NOT_ADOPTED)

    def step_rows(self, rows: np.ndarray, month: DeveloperMonth) -> None:
        """One month for the given developers: adopt, exit, or review and maybe switch."""
        state = self.vendor[rows].astype(np.int64)
        event = month.event_draws[rows]
        adopted = state >= 0
        vendor_gone = adopted & ~month.offer.active[np.maximum(state, 0)]
        newcomer = (state == NOT_ADOPTED) & adopts(self.queue_position[rows] < month.potential, event, month.hazard)
        leaving = adopted & ~vendor_gone & (event < month.exit_rate)
        reviewing = adopted & ~leaving & (vendor_gone | (event < month.exit_rate + month.review_probability))

        choosers = np.flatnonzero(newcomer | reviewing)
        chooser_rows = rows[choosers]
        current = np.where(vendor_gone, NOT_ADOPTED, state)[choosers]
        picks = choose_vendor(
            self.price_sensitivity[chooser_rows], self.quality_sensitivity[chooser_rows], current,
            self.tenure[chooser_rows], month.choice_draws[chooser_rows], month.offer, month.tastes,
        )
        new_state = state.copy()
        new_state[choosers] = picks
        new_state[leaving] = EXITED
        switched = adopted & (new_state != state)
        stayed = adopted & ~switched

        self.vendor[rows] = new_state
        self.tenure[rows] = np.where(stayed, np.minimum(self.tenure[rows] + 1, np.iinfo(np.int16).max), 0)
        self.moved_from[rows] = np.where(switched & ~leaving, state, NOT_ADOPTED)

    def counts_by_vendor(self, n_vendors: int) -> np.ndarray:
        adopted = self.vendor >= 0
        return np.bincount(self.vendor[adopted], minlength=n_vendors)[:n_vendors]

    def size_by_vendor(self, n_vendors: int) -> np.ndarray:
        adopted = self.vendor >= 0
        return np.bincount(self.vendor[adopted], weights=self.size[adopted], minlength=n_vendors)[:n_vendors]

    def switches(self, n_vendors: int) -> tuple[np.ndarray, np.ndarray]:
        """Developers who left each vendor and who joined each vendor this month."""
        moved = self.moved_from >= 0
        out = np.bincount(self.moved_from[moved], minlength=n_vendors)[:n_vendors]
        joined = np.bincount(self.vendor[moved & (self.vendor >= 0)], minlength=n_vendors)[:n_vendors]
        return out, joined

    def adopters(self) -> int:
        return int(np.count_nonzero(self.vendor >= 0))
