"""Serving capacity, unit cost and rationing.

Capacity grows each month, at most at a cap a chip-supply shock can impose. Unit cost
falls with cumulative volume (learning) and moves with cost shocks. When demand exceeds
capacity every buyer of that vendor is served the same fraction.
"""

from __future__ import annotations

import numpy as np


def grown_capacity(capacity: np.ndarray, growth: np.ndarray, growth_cap: np.ndarray) -> np.ndarray:
    """Next month's capacity (tokens/day)."""
    return capacity * (1.0 + np.minimum(growth, growth_cap))


def unit_cost(
    base_cost: np.ndarray, cumulative_tokens: np.ndarray, reference_tokens: np.ndarray, learning: np.ndarray
) -> np.ndarray:
    """Cost per 1k tokens after learning: base * (cumulative / reference) ** -learning, never above base."""
    experience = np.maximum(cumulative_tokens / reference_tokens, 1.0)
    return base_cost * experience ** (-learning)


def service_level(demand: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Fraction of demand served: 1 unless demand exceeds capacity."""
    rationed = demand > capacity
    return np.divide(capacity, demand, out=np.ones_like(demand, dtype=np.float64), where=rationed)


def logistic_growth(level: np.ndarray, rate: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """One month of growth that slows as the level nears its ceiling (own apps saturate)."""
    return level * (1.0 + rate * (1.0 - level / ceiling))
