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


def categorical(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws of an index with probability proportional to weights (e.g. incumbent cloud)."""
    weights = np.asarray(weights, dtype=np.float64)
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), len(weights) - 1).astype(np.int8)
