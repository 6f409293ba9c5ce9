"""Adoption: a Bass hazard whose market potential grows as tokens get cheaper.

Cheap tokens let more applications exist, so the share of the population that can adopt
rises with (reference price / cheapest price) ** elasticity, up to everybody.
"""

from __future__ import annotations

import numpy as np


def market_potential(base: float, elasticity: float, reference_price: float, cheapest_price: float) -> float:
    """Fraction of the developer population that can adopt this month."""
    return float(min(1.0, base * (reference_price / cheapest_price) ** elasticity))


def adoption_hazard(innovation: float, imitation: float, adopters: float, potential_size: float) -> float:
    """Bass hazard for a non-adopter within the potential: p + q * adopters / potential."""
    if potential_size <= 0:
        return 0.0
    return float(min(1.0, innovation + imitation * min(1.0, adopters / potential_size)))


def adopts(in_potential: np.ndarray, uniforms: np.ndarray, hazard: float) -> np.ndarray:
    """Which non-adopters adopt this month, one uniform draw each."""
    return in_potential & (uniforms < hazard)
