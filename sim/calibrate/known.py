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


def line(values: dict[str, float], seed: int) -> dict[str, float]:
    """y = x1: fitted to y = 0.4 (tolerance 0.1) its posterior is known in closed form.

    Under the calibration's error model (a tolerance is one standard deviation) and a uniform
    prior on [0, 1], x1's posterior is a normal of mean 0.4 and sd 0.1 (truncation at 0 and 1
    is negligible); with a normal(0.6, 0.1) prior it is a normal of mean 0.5 and sd 0.1 / sqrt 2.
    x2 moves nothing: its posterior is its prior.
    """
    return {"y": values["x1"]}


LINE = register_model(FunctionModel("line", line, ("x1", "x2"), batch_size=64, code_version="line-1"))


def shifted_line(values: dict[str, float], seed: int) -> dict[str, float]:
    """y = 0.7 + x1: a rival explanation of the same figure that can only reach y >= 0.7.

    Fitted to y = 0.4 (tolerance 0.1) under a uniform prior its evidence is
    0.1 * sqrt(2 pi) * (1 - Phi(3)), about 740 times less than `line`'s.
    """
    return {"y": 0.7 + values["x1"]}


SHIFTED_LINE = register_model(
    FunctionModel("shifted_line", shifted_line, ("x1", "x2"), batch_size=64, code_version="shifted_line-2")
)
