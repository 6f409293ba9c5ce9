"""Sustained token losses: what a named subsidy covers, and how long a vendor has sold below its floor.

Each month a vendor's MaaS loss (serving cost above token revenue) is drawn from its subsidy
budget first. A month counts against the vendor's patience only when part of the loss was
not covered and its MaaS gross margin was below its floor; `months` such months in a row
and the vendor holds its token price at the floor from then on (sim/model/pricing.py,
`loss_floor_price`). docs/ODD.md, "Firms that respond".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LossBook:
    """Every vendor's subsidy left, loss months in a row, and whether it now holds the floor."""

    subsidy_left: np.ndarray  # yuan, at the start of the month
    months_below: np.ndarray  # consecutive uncovered months below the floor
    holds_floor: np.ndarray  # bool: it prices at or above the floor from now on


def subsidy_draw(subsidy_left: np.ndarray, maas_revenue: np.ndarray, maas_cost: np.ndarray) -> np.ndarray:
    """The part of the month's token loss (cost above revenue) the named subsidy pays, as far as it lasts."""
    return np.minimum(np.maximum(maas_cost - maas_revenue, 0.0), subsidy_left)


def after_month(
    book: LossBook,
    maas_revenue: np.ndarray,
    maas_cost: np.ndarray,
    drawn: np.ndarray,
    maas_margin: np.ndarray,
    floor: np.ndarray,
    patience: np.ndarray,
) -> LossBook:
    """The loss book after one month's token sales, `drawn` (subsidy_draw) paid by the subsidy."""
    uncovered = maas_cost - maas_revenue - drawn > 0.0
    below = uncovered & (maas_margin < floor)
    months_below = np.where(below, book.months_below + 1, 0)
    return LossBook(
        subsidy_left=book.subsidy_left - drawn,
        months_below=months_below,
        holds_floor=book.holds_floor | (months_below >= patience),
    )
