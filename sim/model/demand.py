"""Token demand: constant price elasticity and a usage trend, with no cap.

A price cut raises the tokens each buyer asks for by (p / p_ref)^-elasticity. Nothing
caps it here: what bounds it is physical, the GPUs that serve it (sim/model/gpus.py), so
the answer to "what if prices drop 99 % again" is decided by capacity and margins, which
the data describe, not by a ceiling no figure pins.
"""

from __future__ import annotations

import numpy as np


def demand_multiplier(price: np.ndarray, reference_price: float, elasticity: float) -> np.ndarray:
    """How many times the reference-price demand a buyer uses at `price`: (p / p_ref)^-e."""
    ratio = np.asarray(price, dtype=np.float64) / reference_price
    return ratio ** (-elasticity)


def usage_trend(growth: float, month: int) -> float:
    """Exogenous growth of usage (longer prompts, agents, more end users) since the start."""
    return (1.0 + growth) ** month


def developer_tokens(
    size, price, month: int, tokens_per_day: float, reference_price: float, elasticity: float, growth: float
) -> np.ndarray:
    """Tokens/day a developer of relative `size` demands at `price` in `month` (before rationing).

    Linear in size, so a vendor's total is this function applied to the sum of its developers' sizes.
    """
    multiplier = demand_multiplier(price, reference_price, elasticity)
    return tokens_per_day * np.asarray(size, dtype=np.float64) * multiplier * usage_trend(growth, month)
