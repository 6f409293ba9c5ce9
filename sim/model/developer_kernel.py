"""The developers' month compiled with numba: the rule of developers.py, row by row in one pass.

`DeveloperPopulation.step_rows` (numpy, over arrays) is the reference and the description of
the rule; this module runs the same arithmetic, in the same order and at the same precision
(float32 where the reference uses float32), for the whole population at once, with a
fraction of the CPU time at a million developers. It shares rather than rewrites what it can: the per-option
utility terms (`developer_choice.option_terms`), the switching cost (`stay_bonus`), and the
exponential of the logit weights, which is numpy's own: numpy's float32 exp is vectorised
and not correctly rounded, so a compiled exp would differ from it in the last bit.
tests/test_kernel.py checks that both paths give identical trajectories for the same seed.

It is handed plain data (the population's arrays and the month's offer and draws), never the
population itself, so it depends on nothing above the choice rule it shares.

numba is optional: without it, or with the environment variable SIM_KERNEL=numpy, the
model runs the numpy rule.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Literal

import numpy as np

from sim.environment import kernel_from_environment
from sim.model.developer_choice import (
    API_MODE,
    DeveloperMonth,
    DeveloperOffer,
    DeveloperTastes,
    option_terms,
    stay_bonus,
)

Kernel = Literal["auto", "numba", "numpy"]
KERNELS: tuple[Kernel, ...] = ("auto", "numba", "numpy")

NOT_ADOPTED, EXITED = -1, -2  # a developer's vendor before adopting and after leaving (developers.py)
try:
    import numba
except ImportError:  # not installed, or built for another numpy: the numpy rule runs
    numba = None
NUMBA_INSTALLED = numba is not None


def resolve(kernel: Kernel) -> Literal["numba", "numpy"]:
    """Which implementation runs: `auto` is numba when it is installed, unless the environment
    asks for one (SIM_KERNEL=numpy or numba; any other value is refused, see sim.environment)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if kernel == "auto":
        kernel = kernel_from_environment()
    if kernel == "auto":
        usable = NUMBA_INSTALLED and _exp_is_exact_at_zero_and_minus_inf()
        return "numba" if usable else "numpy"
    if kernel == "numba" and not NUMBA_INSTALLED:
        raise ValueError("kernel='numba' needs the numba package (pip install numba); kernel='numpy' does not")
    return kernel


def _exp_is_exact_at_zero_and_minus_inf() -> bool:
    """Rows with an infinite switching cost rely on numpy's exp giving exactly 1 at 0 and 0 at -inf."""
    return all(
        np.array_equal(np.exp(np.array([0.0, -np.inf], dtype=dtype)), np.array([1.0, 0.0], dtype=dtype))
        for dtype in (np.float32, np.float64)
    )


def compiled(function):
    """Compiled with numba, cached on disk so that later processes load it instead of compiling.

    Without numba the function stays plain Python; `resolve` then never chooses it.
    """
    if numba is None:
        return function
    return numba.njit(cache=True, nogil=True)(function)


@compiled
def _mark_actors(vendor, tenure, event_draws, gone_by_state, all_active, adopted_acts_below, hazard, acts):
    """Who acts this month (its draw, or its vendor left); everyone else who uses a vendor
    stays one month longer.

    One branch-free pass that the compiler vectorises while every vendor is in the market
    (the draws make the outcome random: a branch per row would mispredict often, and
    looking up whether a vendor left would stop the vectorising).
    """
    if all_active:
        for i in range(vendor.shape[0]):
            adopted = vendor[i] >= 0
            below = adopted_acts_below if adopted else hazard
            act = event_draws[i] < below
            tenure[i] += np.int16(adopted & ~act)
            acts[i] = act
    else:
        for i in range(vendor.shape[0]):
            state = vendor[i]
            adopted = state >= 0
            below = adopted_acts_below if adopted else hazard
            act = (event_draws[i] < below) | gone_by_state[state + 2]
            tenure[i] += np.int16(adopted & ~act)
            acts[i] = act


@compiled
def _select(
    actors,
    vendor,
    mode,
    tenure,
    moved_from,
    queue_position,
    size,
    event_draws,
    gone_by_state,
    exit_rate,
    hazard,
    potential,
    self_host_min_size,
    open_weights,
    n_sellers,
    chooser_row,
    chooser_vendor,
    chooser_mode,
    chooser_tenure,
    chooser_start,
):
    """Adoption, exit and review for the actors; those who choose are listed, not served.

    Those who exit are updated here; each chooser's row, current vendor (-1: none or
    gone), mode and tenure are written to the chooser arrays, with where its options start
    in one flat array of all choosers' options (2 * sellers if it can self-host, else
    sellers; the last entry is the total). Returns the number of choosers and their longest
    tenure.
    """
    choosers, options, longest = 0, 0, 0
    for i in actors:
        state = vendor[i]
        event = event_draws[i]
        if state < 0:
            if state == NOT_ADOPTED and queue_position[i] < potential and event < hazard:
                current = NOT_ADOPTED
            else:
                moved_from[i] = NOT_ADOPTED
                continue
        elif gone_by_state[state + 2]:
            current = NOT_ADOPTED
        elif event < exit_rate:
            vendor[i] = EXITED
            mode[i] = API_MODE
            tenure[i] = 0
            moved_from[i] = NOT_ADOPTED
            continue
        else:
            current = state
        chooser_row[choosers] = i
        chooser_vendor[choosers] = current
        chooser_mode[choosers] = mode[i]
        chooser_tenure[choosers] = tenure[i]
        longest = max(longest, tenure[i])
        chooser_start[choosers] = options
        options += 2 * n_sellers if open_weights and size[i] >= self_host_min_size else n_sellers
        choosers += 1
    chooser_start[choosers] = options
    return choosers, longest


@compiled
def _shifted_utilities(
    rows, vendor_now, mode_now, tenure_now, start, stay_bonus, beta, gamma, price_coef, taste_coef, constant, out
):
    """Each chooser's utilities minus its row maximum (exp of which are its logit weights).

    `stay_bonus[seller, tenure]` is the switching cost of leaving that seller after that
    tenure. Rows whose maximum is not finite get what their weights must be once
    exponentiated: 0 (weight 1) on each +inf option and -inf (weight 0) elsewhere; all -inf
    when nothing is available.
    """
    minus_inf = np.float32(-np.inf)
    n_sellers = stay_bonus.shape[0]
    for c in range(rows.shape[0]):
        i, first, width = rows[c], start[c], start[c + 1] - start[c]
        b, g = beta[i], gamma[i]
        top = minus_inf
        for k in range(width):
            u = price_coef[k] * b
            u = u + taste_coef[k] * g
            u = u + constant[k]
            out[first + k] = u
            top = max(top, u)
        # The switching cost on the current option, without a branch: elsewhere a bonus of 0,
        # which leaves a float32 utility exactly as it was. A cost is not negative (the
        # scenario's bounds), so the row's maximum can only rise to the new value.
        seller = vendor_now[c]
        option = seller + n_sellers * max(mode_now[c], 0)
        applies = seller >= 0 and option < width
        at = first + option if applies else first
        kept = out[at]
        bonus = stay_bonus[max(seller, 0), tenure_now[c]] if applies and kept != minus_inf else 0.0
        out[at] = np.float32(np.float64(kept) + bonus)
        top = max(top, out[at])
        if bonus < 0:
            top = out[first]
            for k in range(1, width):
                top = max(top, out[first + k])
        if np.isfinite(top):
            for k in range(width):
                out[first + k] = out[first + k] - top
        elif top > 0:
            for k in range(width):
                out[first + k] = np.float32(0.0) if out[first + k] == top else minus_inf


@compiled
def _pick_and_apply(rows, start, weights, uniforms, n_sellers, vendor, mode, tenure, moved_from):
    """Each chooser's pick by its uniform draw (choice.choose), then its new state (step_rows)."""
    for c in range(rows.shape[0]):
        i, first, width = rows[c], start[c], start[c + 1] - start[c]
        total = weights[first]
        for k in range(1, width):
            total = total + weights[first + k]
        threshold = uniforms[i] * total
        running = weights[first]
        pick = np.int64(running <= threshold)
        for k in range(1, width):
            running = running + weights[first + k]
            pick += running <= threshold
        if pick >= width:  # rounding at u close to 1: the last available option
            pick = width - 1
            while pick > 0 and not weights[first + pick] > 0:
                pick -= 1
        if not total > 0:
            pick = -1
        before, mode_before = vendor[i], mode[i]
        after = pick % n_sellers if pick >= 0 else NOT_ADOPTED
        mode_after = pick // n_sellers if pick >= 0 else API_MODE
        vendor[i] = after
        mode[i] = mode_after
        stays = after == before and mode_after == mode_before
        tenure[i] = (tenure[i] + (before >= 0)) * stays
        moved_from[i] = before if (before >= 0 and after != before) else NOT_ADOPTED


@compiled
def _tally(vendor, mode, weight, mass, n_sellers, counts, sizes):
    """np.bincount's sums, both at once, in the same order (so bit for bit the same)."""
    for i in range(vendor.shape[0]):
        code = vendor[i] + 2 + n_sellers * mode[i]
        counts[code] += weight[i]
        sizes[code] += mass[i]


@compiled
def _switches(moved_from, vendor, weight, n_vendors, left, joined):
    """np.bincount's sums over this month's movers (few), in the same order."""
    for i in range(moved_from.shape[0]):
        before = moved_from[i]
        if before >= 0:
            if before < n_vendors:
                left[before] += weight[i]
            after = vendor[i]
            if 0 <= after < n_vendors:
                joined[after] += weight[i]


class Scratch:
    """Per-chooser work arrays, kept between months by their owner (a million-row allocation
    each month costs). Every entry `step` reads it has written that month."""

    def __init__(self, count: int, tenure_dtype: np.dtype):
        self.acts = np.empty(count, dtype=np.bool_)
        self.row = np.empty(count, dtype=np.int64)
        self.vendor = np.empty(count, dtype=np.int64)
        self.mode = np.empty(count, dtype=np.int64)
        self.tenure = np.empty(count, dtype=tenure_dtype)
        self.start = np.empty(count + 1, dtype=np.int64)

    def fits(self, count: int) -> bool:
        return self.row.shape[0] == count


def stay_bonus_table(offer: DeveloperOffer, tastes: DeveloperTastes, longest_tenure: int) -> np.ndarray:
    """`stay_bonus` for every [seller, tenure] up to the longest: the same numbers, looked up."""
    n_sellers = offer.log_price.shape[0]
    sellers = np.repeat(np.arange(n_sellers), longest_tenure + 1)
    tenures = np.tile(np.arange(longest_tenure + 1), n_sellers)
    return stay_bonus(sellers, tenures, offer, tastes).reshape(n_sellers, longest_tenure + 1)


def step(
    vendor: np.ndarray,
    mode: np.ndarray,
    tenure: np.ndarray,
    moved_from: np.ndarray,
    queue_position: np.ndarray,
    size: np.ndarray,
    price_sensitivity: np.ndarray,
    quality_sensitivity: np.ndarray,
    month: DeveloperMonth,
    work: Scratch,
) -> None:
    """One month for every developer, changing the first four arrays in place: the same result
    as DeveloperPopulation.step_rows on all rows."""
    offer, tastes = month.offer, month.tastes
    n_sellers = offer.log_price.shape[0]
    f32 = np.float32
    gone_by_state = np.concatenate([[False, False], ~offer.active])  # index: vendor + 2 (exited, none, sellers)
    _mark_actors(
        vendor,
        tenure,
        month.event_draws,
        gone_by_state,
        bool(offer.active.all()),
        f32(month.exit_rate + month.review_probability),
        f32(month.hazard),
        work.acts,
    )
    choosers, longest = _select(
        np.flatnonzero(work.acts),
        vendor,
        mode,
        tenure,
        moved_from,
        queue_position,
        size,
        month.event_draws,
        gone_by_state,
        f32(month.exit_rate),
        f32(month.hazard),
        f32(month.potential),
        f32(tastes.self_host_min_size),
        bool(np.isfinite(offer.open_quality)),
        n_sellers,
        work.row,
        work.vendor,
        work.mode,
        work.tenure,
        work.start,
    )
    rows, start = work.row[:choosers], work.start[: choosers + 1]
    terms = option_terms(offer, tastes)
    weights = np.empty(int(start[-1]), dtype=np.float32)
    _shifted_utilities(
        rows,
        work.vendor[:choosers],
        work.mode[:choosers],
        work.tenure[:choosers],
        start,
        stay_bonus_table(offer, tastes, int(longest)),
        price_sensitivity,
        quality_sensitivity,
        terms.price_coef,
        terms.taste_coef,
        terms.constant,
        weights,
    )
    np.exp(weights, out=weights)
    _pick_and_apply(
        rows,
        start,
        weights,
        month.choice_draws,
        n_sellers,
        vendor,
        mode,
        tenure,
        moved_from,
    )


def tally(
    vendor: np.ndarray, mode: np.ndarray, weight: np.ndarray, mass: np.ndarray, n_sellers: int
) -> tuple[np.ndarray, np.ndarray]:
    """DeveloperPopulation.tally in one compiled pass."""
    bins = 2 + 2 * n_sellers
    counts, sizes = np.zeros(bins), np.zeros(bins)
    _tally(vendor, mode, weight, mass, n_sellers, counts, sizes)
    return counts[2:].reshape(2, n_sellers).T, sizes[2:].reshape(2, n_sellers).T


def switches(
    moved_from: np.ndarray, vendor: np.ndarray, weight: np.ndarray, n_vendors: int
) -> tuple[np.ndarray, np.ndarray]:
    """DeveloperPopulation.switches in one compiled pass."""
    left, joined = np.zeros(n_vendors), np.zeros(n_vendors)
    _switches(moved_from, vendor, weight, n_vendors, left, joined)
    return left, joined


def with_no_rows[P, M](population: P, month: M) -> tuple[P, M]:
    """A copy of a population and its month (a dataclass with `event_draws` and `choice_draws`)
    with every per-agent array empty (views, nothing copied).

    Running a month on it runs each compiled function once on arguments of the very types
    the real month passes, and changes nothing: the way to load the kernels at set-up, and
    before timing.
    """
    empty = copy.copy(population)
    for name, value in vars(population).items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (population.count,):
            setattr(empty, name, value[:0])
    empty.count = 0
    return empty, dataclasses.replace(month, event_draws=month.event_draws[:0], choice_draws=month.choice_draws[:0])
