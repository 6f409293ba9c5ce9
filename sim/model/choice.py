"""Random-utility (logit) choice: the one rule behind every developer's and CIO's decision.

A decision maker with current option c picks the option with the highest utility plus
Gumbel noise, and leaves c only if the gain beats a switching cost s. That is exactly a
multinomial logit in which c's utility gets +s, so each chooser needs one uniform draw,
inverted through its own cumulative probabilities. Rows are choosers, columns options;
-inf marks an option that is not available, +inf a bonus that forbids leaving.
"""

from __future__ import annotations

import numpy as np


def choice_weights(utilities: np.ndarray) -> np.ndarray:
    """Unnormalised logit weights per row: exp(utility - row maximum).

    A row with +inf utilities puts weight 1 on each of them and 0 elsewhere (an infinite
    switching cost keeps the chooser where it is); a row with nothing available is all 0.
    """
    utilities = _as_float(utilities)
    top = utilities.max(axis=1, keepdims=True)
    if np.isfinite(top).all():
        return np.exp(utilities - top)  # the common case: -inf options get weight 0
    infinite = np.isposinf(top)
    finite_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        weights = np.where(infinite, np.isposinf(utilities), np.exp(utilities - finite_top))
    return np.nan_to_num(weights, nan=0.0)


def logit_probabilities(utilities: np.ndarray) -> np.ndarray:
    """Choice probabilities per row: softmax over available options (all zeros if none)."""
    weights = choice_weights(utilities)
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


def choose(utilities: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Index of the option each row picks, given one uniform draw in [0, 1) per row.

    The draw is scaled to the row's total weight and located in the cumulative weights, so
    options with zero weight are never picked. Returns -1 for a row with no available option.
    """
    weights = choice_weights(utilities)
    cumulative = _running_total(weights)
    totals = cumulative[:, -1]
    thresholds = np.asarray(uniforms, dtype=totals.dtype) * totals
    picks = (cumulative <= thresholds[:, None]).sum(axis=1)
    overflow = np.flatnonzero(picks >= weights.shape[1])  # rounding at u close to 1
    if overflow.size:
        reversed_available = weights[overflow, ::-1] > 0
        picks[overflow] = weights.shape[1] - 1 - np.argmax(reversed_available, axis=1)
    return np.where(totals > 0, picks, -1)


def _running_total(weights: np.ndarray) -> np.ndarray:
    """Cumulative sum across options, one whole column at a time (np.cumsum along a short
    second axis walks the array element by element and is several times slower)."""
    cumulative = np.empty_like(weights, order="F")
    cumulative[:, 0] = weights[:, 0]
    for option in range(1, weights.shape[1]):
        np.add(cumulative[:, option - 1], weights[:, option], out=cumulative[:, option])
    return cumulative


def _as_float(values: np.ndarray) -> np.ndarray:
    """Floating-point utilities as given (float32 halves the memory traffic of big choices)."""
    values = np.asarray(values)
    return values if np.issubdtype(values.dtype, np.floating) else values.astype(np.float64)


def with_stay_bonus(utilities: np.ndarray, current: np.ndarray, bonus: np.ndarray | float) -> np.ndarray:
    """Add a switching cost as a bonus on each row's current option (-1: no current option)."""
    utilities = np.array(_as_float(utilities), copy=True)
    rows = np.flatnonzero(current >= 0)
    bonus = np.broadcast_to(np.asarray(bonus, dtype=np.float64), current.shape)
    kept = utilities[rows, current[rows]]
    utilities[rows, current[rows]] = np.where(np.isneginf(kept), kept, kept + bonus[rows])
    return utilities
