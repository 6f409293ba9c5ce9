"""A finished calibration, as the search and the report both see it.

It sits below both, so that the report (`report.py`) and the runner (`runner.py`) need not
import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.calibrate.identification import Identification
from sim.calibrate.posterior import Posterior, Verdicts
from sim.calibrate.spec import Calibration


@dataclass(frozen=True)
class CalibrationResult:
    """A finished calibration: every candidate, the ensemble, the best set and what the figures pin."""

    calibration: Calibration
    folder: Path
    evaluations: pd.DataFrame
    ensemble: pd.DataFrame
    best: pd.Series | None
    identification: Identification
    fitted: list[str]
    predicted: list[str]  # figures left out of the fit (after `until`): scored as predictions
    moments: dict[str, dict[str, Any]]  # name: target, ends, public
    record: dict[str, Any]
    posterior: Posterior
    verdicts: Verdicts

    @property
    def best_values(self) -> dict[str, float]:
        return {} if self.best is None else {n: float(self.best[n]) for n in self.calibration.names}
