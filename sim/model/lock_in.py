"""Lock-in: prompt tuning, fine-tunes and workflow integration that accrue with tenure.

Lock-in L rises from 0 towards 1 as a developer stays with a vendor and resets to 0 on a
switch; the cost of switching grows with it. Vendor stickiness scales the accrual rate.
"""

from __future__ import annotations

import numpy as np


def lock_in(tenure_months: np.ndarray, rate: float, stickiness: np.ndarray) -> np.ndarray:
    """L = 1 - exp(-rate * stickiness * tenure), in [0, 1)."""
    return -np.expm1(-rate * np.asarray(stickiness) * np.asarray(tenure_months, dtype=np.float64))


def switching_cost(lock_in_level: np.ndarray, base: float, weight: float) -> np.ndarray:
    """Utility a developer gives up by leaving: a base cost plus weight x lock-in.

    An infinite base means developers never leave (used by the theory checks).
    """
    return base + weight * np.asarray(lock_in_level, dtype=np.float64)
