"""The developer population: its state as arrays, and one month of its decisions.

`step_rows` is the description of a developer's monthly behaviour. The model runs it on
every row at once; a DeveloperAgent's own `step()` runs it on its single row. Draws are
made per month for the whole population before anyone acts, so both give identical
results whatever the order agents act in. `developer_kernel.py` runs the same rule
compiled, for all rows at once, and is tested to give identical results; it is handed the
population's arrays, so it needs nothing from this module.
"""

from __future__ import annotations

import weakref

import numpy as np

from sim.model import developer_kernel
from sim.model.adoption import adopts
from sim.model.developer_choice import API_MODE, DeveloperMonth, choose_option
from sim.model.traits import draw, draw_size_biased
from sim.scenario.schema import Developers

NOT_ADOPTED = developer_kernel.NOT_ADOPTED  # -1
EXITED = developer_kernel.EXITED  # -2

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


# The compiled month's work arrays per population, outside its state: a copy of a population
# (the game's snapshots) then starts with none rather than copying a million rows of scratch.
_WORK: weakref.WeakKeyDictionary[DeveloperPopulation, developer_kernel.Scratch] = weakref.WeakKeyDictionary()


class DeveloperPopulation:
    """State of every developer agent: tastes, size, vendor, mode (API or self-hosted) and tenure."""

    def __init__(
        self,
        count: int,
        spec: Developers,
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
        self.weight = relative_weight.astype(np.float64) * (spec.population / count)  # real accounts per agent
        self.mass = self.weight * self.size  # real size-1 developers' worth of demand per agent
        self.price_sensitivity = draw(spec.price_sensitivity, count, rng)
        self.quality_sensitivity = draw(spec.quality_sensitivity, count, rng)
        self.queue_position = rng.random(count, dtype=np.float32)
        self.vendor = np.full(count, NOT_ADOPTED, dtype=np.int8)
        self.mode = np.full(count, API_MODE, dtype=np.int8)
        self.tenure = np.zeros(count, dtype=np.int16)
        self.moved_from = np.full(count, NOT_ADOPTED, dtype=np.int8)

    def seed_adopters(self, fraction: float, month: DeveloperMonth, tenure: np.ndarray) -> None:
        """Initial adopters (the front of the queue) pick a vendor by the usual rule."""
        rows = np.flatnonzero(self.queue_position < fraction)
        current = np.full(rows.size, NOT_ADOPTED, dtype=np.int64)
        picks = self._choose(rows, current, np.zeros(rows.size, dtype=np.int64), np.zeros(rows.size), month)
        self.vendor[rows], self.mode[rows] = self._split(picks, month)
        self.tenure[rows] = tenure[rows]

    def _choose(
        self, rows: np.ndarray, vendor: np.ndarray, mode: np.ndarray, tenure: np.ndarray, month: DeveloperMonth
    ) -> np.ndarray:
        return choose_option(
            self.price_sensitivity[rows],
            self.quality_sensitivity[rows],
            self.size[rows],
            vendor,
            mode,
            tenure,
            month.choice_draws[rows],
            month.offer,
            month.tastes,
        )

    @staticmethod
    def _split(picks: np.ndarray, month: DeveloperMonth) -> tuple[np.ndarray, np.ndarray]:
        """Option indices -> (vendor, mode); -1 stays -1 (nothing available)."""
        n_vendors = month.offer.log_price.shape[0]
        return np.where(picks >= 0, picks % n_vendors, picks), np.where(picks >= 0, picks // n_vendors, API_MODE)

    def begin_month(self) -> None:
        self.moved_from.fill(NOT_ADOPTED)

    def load_kernel(self, month: DeveloperMonth) -> None:
        """Load (or compile, the first time) the compiled month now, at set-up, rather than in
        the first step: a month, a tally and a count of switches on a copy with no rows."""
        if self.kernel == "numba":
            empty, no_draws = developer_kernel.with_no_rows(self, month)
            n_sellers = month.offer.log_price.shape[0]
            empty.step_all(no_draws)
            empty.tally(n_sellers)
            empty.switches(n_sellers - 1)

    def step_all(self, month: DeveloperMonth) -> None:
        """One month for every developer: `step_rows` on all rows, or its compiled twin."""
        if self.kernel == "numba":
            developer_kernel.step(
                self.vendor,
                self.mode,
                self.tenure,
                self.moved_from,
                self.queue_position,
                self.size,
                self.price_sensitivity,
                self.quality_sensitivity,
                month,
                self._work(),
            )
        else:
            self.step_rows(slice(0, self.count), month)

    def _work(self) -> developer_kernel.Scratch:
        work = _WORK.get(self)
        if work is None or not work.fits(self.count):
            work = _WORK[self] = developer_kernel.Scratch(self.count, self.tenure.dtype)
        return work

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
        mode_before = self.mode[index].astype(np.int64)
        picks = self._choose(
            chosen,
            np.where(gone, NOT_ADOPTED, before)[choosers],
            mode_before[choosers],
            self.tenure[chosen],
            month,
        )
        picked_vendor, picked_mode = self._split(picks, month)
        after, mode_after = before.copy(), mode_before.copy()
        after[choosers], mode_after[choosers] = picked_vendor, picked_mode
        after[leaving] = EXITED
        mode_after[leaving] = API_MODE  # the tally counts modes of adopters only
        changed = (after != before) | (mode_after != mode_before)

        self.vendor[index] = after
        self.mode[index] = mode_after
        self.tenure[rows] += adopted
        self.tenure[index[changed]] = 0
        moved = was_adopted & (after != before) & ~leaving
        self.moved_from[index] = np.where(moved, before, NOT_ADOPTED)

    def tally(self, n_sellers: int) -> tuple[np.ndarray, np.ndarray]:
        """Real developer accounts and their summed sizes per [seller, mode], in one pass each."""
        if self.kernel == "numba":
            return developer_kernel.tally(self.vendor, self.mode, self.weight, self.mass, n_sellers)
        # option code 2 + seller + S * mode; the non-adopters' codes -2, -1 land in bins 0 and 1
        codes = self.vendor.astype(np.intp)
        codes += 2
        codes += n_sellers * self.mode  # mode is 0 for everyone who has not adopted
        bins = 2 + 2 * n_sellers
        counts = np.bincount(codes, weights=self.weight, minlength=bins)[2:bins]
        sizes = np.bincount(codes, weights=self.mass, minlength=bins)[2:bins]
        return counts.reshape(2, n_sellers).T, sizes.reshape(2, n_sellers).T

    def switches(self, n_vendors: int) -> tuple[np.ndarray, np.ndarray]:
        """Real developer accounts that left each vendor and that joined each vendor this month."""
        if self.kernel == "numba":
            return developer_kernel.switches(self.moved_from, self.vendor, self.weight, n_vendors)
        movers = np.flatnonzero(self.moved_from >= 0)  # few: only this month's switchers
        weights = self.weight[movers]
        out = np.bincount(self.moved_from[movers], weights=weights, minlength=n_vendors)[:n_vendors]
        joined = np.bincount(self.vendor[movers], weights=weights, minlength=n_vendors)[:n_vendors]
        return out, joined

    def adopters(self) -> int:
        return int(np.count_nonzero(self.vendor >= 0))
