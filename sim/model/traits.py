"""Drawing heterogeneous agent traits from the scenario's distributions, with the model's rng."""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import Distribution, Fixed, LogNormal, Pareto, Uniform


def draw(dist: Distribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """n values of a trait as float32 (enough precision for tastes and sizes, half the memory)."""
    match dist:
        case Fixed(value=value):
            values = np.full(n, value)
        case LogNormal(median=median, sigma=sigma):
            values = median * np.exp(sigma * rng.standard_normal(n))
        case Uniform(low=low, high=high):
            values = rng.uniform(low, high, n)
        case Pareto(minimum=minimum, alpha=alpha, cap=cap):
            values = minimum * np.minimum(cap, (1.0 - rng.random(n)) ** (-1.0 / alpha))
        case _:
            raise TypeError(f"unknown distribution {dist!r}")
    return values.astype(np.float32)


def draw_size_biased(dist: Distribution, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n values drawn in proportion to their size, with the weights that undo it (mean 1).

    Sampling a heavy-tailed trait (developer size, enterprise budget) in proportion to size
    gives every agent about the same share of the total, so a few giants no longer decide
    a vendor's share by chance. Each value x gets weight E[X] / x, so weighted sums are
    unbiased for the real population (Horvitz-Thompson). Fixed and uniform traits are drawn
    as usual with weight 1.
    """
    match dist:
        case Pareto(minimum=minimum, alpha=alpha, cap=cap):
            values, mean = _size_biased_pareto(alpha, cap, n, rng)
            values, mean = minimum * values, minimum * mean
        case LogNormal(median=median, sigma=sigma):
            values = median * np.exp(sigma * sigma + sigma * rng.standard_normal(n))
            mean = median * np.exp(sigma * sigma / 2)
        case _:
            return draw(dist, n, rng), np.ones(n, dtype=np.float32)
    return values.astype(np.float32), (mean / values).astype(np.float32)


def _size_biased_pareto(alpha: float, cap: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Size-biased draws of min(cap, Pareto(alpha, 1)) and the mean of the unbiased law.

    The capped law has density alpha x^-(alpha+1) on [1, cap) and an atom cap^-alpha at cap;
    biased by size, the atom gets probability cap^(1-alpha) / mean and the rest follows a
    Pareto(alpha - 1) truncated to [1, cap).
    """
    tail = cap ** (1.0 - alpha)
    mean = alpha / (alpha - 1.0) * (1.0 - tail) + tail
    at_cap = rng.random(n) < tail / mean
    body = (1.0 - rng.random(n) * (1.0 - tail)) ** (-1.0 / (alpha - 1.0))
    return np.where(at_cap, cap, np.minimum(body, cap)), mean


def categorical(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws of an index with probability proportional to weights (e.g. incumbent cloud)."""
    weights = np.asarray(weights, dtype=np.float64)
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), len(weights) - 1).astype(np.int8)
