"""Token demand: constant price elasticity and a usage trend, with no cap.

A price cut raises the tokens each buyer asks for by (p / p_ref)^-elasticity. Nothing
caps it here: what bounds it is physical, the GPUs that serve it (sim/model/gpus.py), so
the answer to "what if prices drop 99 % again" is decided by capacity and margins, which
the data describe, not by a ceiling no figure pins.
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario.schema import Developers


def demand_multiplier(price: np.ndarray, reference_price: float, elasticity: float) -> np.ndarray:
    """How many times the reference-price demand a buyer uses at `price`: (p / p_ref)^-e."""
    ratio = np.asarray(price, dtype=np.float64) / reference_price
    return ratio ** (-elasticity)


def usage_trend(growth: float, month: int, ceiling: float = math.inf) -> float:
    """Growth of use per buyer since the start (longer prompts, agents, more end users).

    Logistic towards `ceiling` times the starting use, at rate log(1 + growth) a month while
    far below it; with no ceiling, exactly (1 + growth) ** month.
    """
    if math.isinf(ceiling):
        return (1.0 + growth) ** month
    rise = (1.0 + growth) ** month
    return ceiling * rise / (ceiling - 1.0 + rise)


def developer_tokens(size, price, month: int, spec: Developers) -> np.ndarray:
    """Tokens/day a developer of relative `size` demands at `price` in `month` (before rationing).

    Linear in size, so a vendor's total is this function applied to the sum of its developers' sizes.
    """
    multiplier = demand_multiplier(price, spec.reference_price, spec.demand_elasticity)
    trend = usage_trend(spec.usage_growth, month, spec.usage_ceiling)
    return spec.tokens_per_day * np.asarray(size, dtype=np.float64) * multiplier * trend
