"""Token demand: constant price elasticity, capped, with an exogenous usage trend."""

from __future__ import annotations

import numpy as np


def demand_multiplier(price: np.ndarray, reference_price: float, elasticity: float, cap: float) -> np.ndarray:
    """How many times the reference-price demand a buyer uses at `price`: (p / p_ref)^-e, at most `cap`.

    The cap stands for what a buyer can use at all: a 99 % cut does not make a chatbot
    send 100 times as many messages.
    """
    ratio = np.asarray(price, dtype=np.float64) / reference_price
    return np.minimum(cap, ratio ** (-elasticity))


def usage_trend(growth: float, month: int) -> float:
    """Exogenous growth of usage (longer prompts, agents, more users) since the start."""
    return (1.0 + growth) ** month


def developer_tokens(
    size, price, month: int, tokens_per_day: float, reference_price: float, elasticity: float, cap: float, growth: float
) -> np.ndarray:
    """Tokens/day a developer of relative `size` demands at `price` in `month` (before rationing).

    Linear in size, so a vendor's total is this function applied to the sum of its developers' sizes.
    """
    multiplier = demand_multiplier(price, reference_price, elasticity, cap)
    return tokens_per_day * np.asarray(size, dtype=np.float64) * multiplier * usage_trend(growth, month)
