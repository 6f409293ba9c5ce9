"""Calibration: fit a scenario's free parameters to public figures, keep every plausible set,
and say which parameters the figures pin down (see docs/calibration.md)."""

from sim.calibrate import known
from sim.calibrate.result import CalibrationResult
from sim.calibrate.runner import calibrate
from sim.calibrate.spec import Calibration, load_calibration

__all__ = ["Calibration", "CalibrationResult", "calibrate", "known", "load_calibration"]
