"""The environment variables `sim` reads, checked in one place.

A value a variable cannot hold is refused like bad input in a file: one line naming the
variable, what it holds and what it may hold (exit code 2 on the command line), never a
silent fallback. This module imports nothing heavy, so every command checks the
environment before it starts.
"""

from __future__ import annotations

import os
from typing import Literal

from sim.scenario.loading import Problem, ScenarioError, quoted

KERNEL_VARIABLE = "SIM_KERNEL"
KERNEL_CHOICES = ("auto", "numba", "numpy")


def kernel_from_environment() -> Literal["auto", "numba", "numpy"]:
    """SIM_KERNEL: `numpy` runs the numpy rule, `numba` the compiled months, `auto` (or the
    variable unset or empty) the compiled months when numba is installed."""
    value = os.environ.get(KERNEL_VARIABLE, "")
    if value == "auto" or not value.strip():
        return "auto"
    if value == "numba":
        return "numba"
    if value == "numpy":
        return "numpy"
    raise ScenarioError(
        [Problem("environment", KERNEL_VARIABLE, f"expected one of {', '.join(KERNEL_CHOICES)} (got {quoted(value)})")]
    )


def check_environment() -> None:
    """Refuse (ScenarioError) any variable `sim` reads that holds a value it cannot use."""
    kernel_from_environment()
