"""A test function with a known answer, to check the calibration pipeline end to end.

`trade_off(x1, x2, x3)` returns `total = x1 + x2` and `first = x1`. Fitted to total = 1
(± 0.05) and first = 0.3 (± 0.1) on the unit square, the plausible sets are exactly those
with x1 in [0.2, 0.4] and x1 + x2 in [0.95, 1.05]: x1 and x2 are pinned, they trade off
(one stands in for the other in the total, a strong negative correlation), and x3, which
moves no output, is not pinned at all. Tests check the calibration recovers all of this.
"""

from __future__ import annotations

from sim.sweep.models import FunctionModel, register_model


def trade_off(values: dict[str, float], seed: int) -> dict[str, float]:
    """Two outputs of three inputs; the seed and x3 are unused (no noise, no effect)."""
    return {"total": values["x1"] + values["x2"], "first": values["x1"]}


TRADE_OFF = register_model(
    FunctionModel("trade_off", trade_off, ("x1", "x2", "x3"), batch_size=64, code_version="trade_off-1")
)
